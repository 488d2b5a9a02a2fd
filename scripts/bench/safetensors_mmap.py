"""Reads a float32 safetensors file into torch tensors through a memory map, as
safetensors.torch.load_file does (Debian has no python3-safetensors): the benchmark
references (clip_reference.py, t5_reference.py, caption_pipeline_reference.py) load their
weights with it, so that no side pays for reading the file twice."""
import json
import struct

import numpy as np
import torch


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        assert meta["dtype"] == "F32", f"{name}: {meta['dtype']}"
        a, b = meta["data_offsets"]
        out[name] = torch.from_numpy(data[a:b].view("<f4").reshape(meta["shape"]).copy())
    return out
