#!/usr/bin/python3
"""Checks a Slurm pipeline's results against the single-process run (tests/scripts/slurm_pipeline_test.sh).

  slurm_compare.py REF_RUN REF_CAPTIONS REF_SCORES OUT SHARDS

- W: OUT/run/mapping.npy equals REF_RUN/mapping.npy within 1e-6 (max abs difference);
- captions: the SHARDS files OUT/captions/captions-I-of-SHARDS.json hold disjoint image ids that
  together are those of REF_CAPTIONS, each with the same caption;
- scores: OUT/scores.json holds the metrics of REF_SCORES, each within 1e-6 (aCLIP-S goes through W).
Prints one line of figures; exits 1 with the first difference. Standard library only (the
build's python3-minimal, no numpy).
"""
import array
import ast
import json
import struct
import sys


def fail(message):
    print(f"slurm_compare: {message}", file=sys.stderr)
    sys.exit(1)


def load_npy(path):
    """A float32 C-order .npy as (shape, flat array)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] != b"\x93NUMPY":
        fail(f"{path}: not a .npy file")
    if data[6] == 1:
        (length,), start = struct.unpack("<H", data[8:10]), 10
    else:
        (length,), start = struct.unpack("<I", data[8:12]), 12
    header = ast.literal_eval(data[start:start + length].decode("latin1"))
    if header["descr"] != "<f4" or header["fortran_order"]:
        fail(f"{path}: expected little-endian float32 in C order, got {header}")
    values = array.array("f")
    values.frombytes(data[start + length:])
    return tuple(header["shape"]), values


def main():
    if len(sys.argv) != 6:
        fail("usage: slurm_compare.py REF_RUN REF_CAPTIONS REF_SCORES OUT SHARDS")
    ref_run, ref_captions, ref_scores, out, shards = sys.argv[1:5] + [int(sys.argv[5])]

    ref_shape, ref_w = load_npy(f"{ref_run}/mapping.npy")
    shape, w = load_npy(f"{out}/run/mapping.npy")
    if shape != ref_shape:
        fail(f"W is {shape}, the single-process run's {ref_shape}")
    difference = max(abs(a - b) for a, b in zip(w, ref_w))
    if difference > 1e-6:
        fail(f"W differs from the single-process run's by {difference:.3g} (max abs), more than 1e-6")

    with open(ref_captions) as f:
        expected = {r["image_id"]: r["caption"] for r in json.load(f)}
    got, sizes = {}, []
    for i in range(shards):
        path = f"{out}/captions/captions-{i}-of-{shards}.json"
        with open(path) as f:
            results = json.load(f)
        sizes.append(len(results))
        for r in results:
            if r["image_id"] in got:
                fail(f"{path}: image {r['image_id']} is in two shards")
            got[r["image_id"]] = r["caption"]
    if got.keys() != expected.keys():
        fail(f"the shards captioned {len(got)} images, the single-process run {len(expected)}; "
             f"missing {sorted(expected.keys() - got.keys())[:5]}, extra {sorted(got.keys() - expected.keys())[:5]}")
    differ = [image for image in expected if got[image] != expected[image]]
    if differ:
        image = differ[0]
        fail(f"{len(differ)} of {len(expected)} captions differ, e.g. {image}: "
             f"{got[image]!r} instead of {expected[image]!r}")

    with open(ref_scores) as f:
        expected_scores = json.load(f)
    with open(f"{out}/scores.json") as f:
        scores = json.load(f)
    if scores.keys() != expected_scores.keys():
        fail(f"scores.json has {sorted(scores)}, the single-process run {sorted(expected_scores)}")
    for name, value in expected_scores.items():
        if isinstance(value, (int, float)) and abs(scores[name] - value) > 1e-6:
            fail(f"scores.json: {name} is {scores[name]}, the single-process run's {value}")

    print(f"slurm_compare: W max abs difference {difference:.3g}; {len(got)} captions in {shards} shards "
          f"({'+'.join(map(str, sizes))}) equal to the single-process run's; {len(scores)} scores equal "
          f"(CIDEr {scores.get('CIDEr', float('nan')):.3f})")


if __name__ == "__main__":
    main()
