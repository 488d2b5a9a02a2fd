#!/usr/bin/python3
"""Exports the PyTorch CLIP reference (scripts/bench/clip_reference.py, ViT-B/32-shaped
weights) to ONNX for ONNX Runtime, the engine a user would otherwise pick on a CPU:
image.onnx (pixels N x 3 x 224 x 224 -> N x 512) and text.onnx (token ids N x L -> N x 512,
L up to 77, so that rows sorted by length can be trimmed as recap trims them). Checks the
exported graphs against the PyTorch model on random inputs and prints the largest difference.

  onnx_clip.py --model DIR --out DIR
"""
import argparse, json, os, sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clip_reference  # noqa: E402


class ImageEncoder(torch.nn.Module):
    def __init__(self, clip):
        super().__init__()
        self.clip = clip

    def forward(self, pixels):
        return self.clip.encode_image(pixels)


class TextEncoder(torch.nn.Module):
    """encode_text for any length L <= 77: the causal mask and positions cut to L."""

    def __init__(self, clip):
        super().__init__()
        self.clip = clip

    def forward(self, ids):
        c = self.clip
        length = ids.shape[1]
        x = c.token_embedding(ids) + c.positional_embedding[:length]
        mask = torch.full((length, length), float("-inf")).triu(1)
        x = x.permute(1, 0, 2)
        for block in c.transformer.resblocks:
            y = block.ln_1(x)
            x = x + block.attn(y, y, y, need_weights=False, attn_mask=mask)[0]
            x = x + block.mlp(block.ln_2(x))
        x = c.ln_final(x.permute(1, 0, 2))
        return x[torch.arange(x.shape[0]), ids.argmax(dim=-1)] @ c.text_projection


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    clip = clip_reference.load_model(a.model)
    torch.manual_seed(0)
    pixels = torch.randn(2, 3, 224, 224)
    ids = torch.randint(1, 49405, (2, 20))
    ids[:, 0], ids[:, -1] = 49406, 49407
    with torch.no_grad():
        image, text = ImageEncoder(clip).eval(), TextEncoder(clip).eval()
        torch.onnx.export(image, (pixels,), os.path.join(a.out, "image.onnx"), input_names=["pixels"],
                          output_names=["embeddings"], dynamic_axes={"pixels": {0: "n"}, "embeddings": {0: "n"}},
                          opset_version=14)
        torch.onnx.export(text, (ids,), os.path.join(a.out, "text.onnx"), input_names=["ids"], output_names=["embeddings"],
                          dynamic_axes={"ids": {0: "n", 1: "length"}, "embeddings": {0: "n"}}, opset_version=14)
        # The length-generic text encoder equals the reference's fixed-77 one on padded ids.
        padded = torch.zeros(2, 77, dtype=torch.long)
        padded[:, :20] = ids
        reference = clip.encode_text(padded)
        trimmed = text(ids)
        diff = float((reference - trimmed).abs().max())
    print(json.dumps({"text_trim_max_abs_diff": diff}))


if __name__ == "__main__":
    main()
