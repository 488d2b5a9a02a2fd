#!/usr/bin/python3
"""Exports the PyTorch T5 transcription (scripts/bench/t5_reference.py) to ONNX for the
ONNX Runtime anchor of the T5 benchmark (scripts/bench/ort_t5.js drives the decoding), as two
float32 graphs with a key/value cache, the way an efficient decoder is exported:

  encoder.onnx       input_ids [B, L] -> cross_bias [B, 1, 1, L] (the padding mask, additive)
                     and per decoder layer i cross_key_i, cross_value_i [B, H, L, d_kv]:
                     the cross-attention keys and values, projected once per prompt.
  decoder_step.onnx  tokens [N, 1], cross_bias, cross_key_i / cross_value_i and the self
                     cache past_key_i / past_value_i [N, H, T, d_kv] (T = 0 at the first step)
                     -> logits [N, vocab], probs (their softmax) and present_key_i /
                     present_value_i [N, H, T + 1, d_kv].
                     The position (for the relative position bias) is T, read from the cache's
                     shape. N = B x R: a prompt's R rows (beams or samples) are consecutive and
                     attend to its cross keys/values together (as recap does), so these are
                     never copied per row.

Batch, lengths and R are dynamic; config.json is copied beside the graphs for ort_t5.js.
With --ort (the folder holding node_modules/onnxruntime-node) it then checks ONNX Runtime's
teacher-forced logits (ort_t5.js --decoder-ids, 3 rows per prompt, 6 steps, the first with
the empty past) against t5_reference.py's own decoding path in float32, and ort_t5.js's beam
search against t5_reference.beam_search (4 beams, 6 tokens), and prints one JSON line: the
logits' max abs difference and max |logit|, both sides' max abs difference from the same
model in float64 (random base-size weights amplify float32 rounding to ~1e-2, so that is the
yardstick there; tiny weights agree to ~1e-6 relative), how many beams are the same tokens,
the beam scores' max difference. --check-only skips the export.

  onnx_t5.py --model DIR --out DIR [--ort DIR [--ids I.npy]] [--check-only]
"""
import argparse, json, os, shutil, subprocess, sys, tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import t5_reference  # noqa: E402


class WeightsOf(torch.nn.Module):
    """Registers the selected tensors of t5.w as buffers (the very tensors, so that the tracer
    recognises every use in the reference's code and exports each once as an initializer)."""

    def __init__(self, t5, keep):
        super().__init__()
        self.t5 = t5
        for name, tensor in t5.w.items():
            if keep(name):
                self.register_buffer(name.replace(".", "_"), tensor)


def cross_names(t5):
    return [f"cross_{kind}_{i}" for i in range(t5.dec_layers) for kind in ("key", "value")]


def self_names(t5, when):
    return [f"{when}_{kind}_{i}" for i in range(t5.dec_layers) for kind in ("key", "value")]


class Encoder(WeightsOf):
    """t5_reference.T5.encode and start: the padding mask from the ids, as its bench mode makes it."""

    def __init__(self, t5):
        super().__init__(t5, lambda n: n == "shared.weight" or n.startswith("encoder.") or ".EncDecAttention.k" in n
                         or ".EncDecAttention.v" in n)

    def forward(self, ids):
        t5 = self.t5
        mask = (ids != t5.cfg["pad_token_id"]).long()
        cache = t5.start(t5.encode(ids, mask), mask)
        return (cache["cross_bias"], *[t for kv in cache["cross"] for t in kv])


class DecoderStep(WeightsOf):
    """t5_reference.T5.step for one position, with the caches as inputs and outputs and the
    cross attention grouped by prompt."""

    def __init__(self, t5):
        super().__init__(t5, lambda n: n in ("shared.weight", "lm_head.weight") or n.startswith("decoder.")
                         and ".EncDecAttention.k" not in n and ".EncDecAttention.v" not in n)

    def cross_attend(self, prefix, x, key, value, bias):
        """x [B*R, 1, D] against key/value [B, H, L, d_kv]: a prompt's R queries in one product."""
        t5 = self.t5
        prompts = key.shape[0]
        q = (x @ t5.w[prefix + "q.weight"].T).view(prompts, -1, t5.heads, t5.d_kv).transpose(1, 2)  # [B, H, R, d_kv]
        scores = q @ key.transpose(-1, -2) + bias  # bias [B, 1, 1, L]
        out = torch.softmax(scores.float(), -1).type_as(value) @ value  # [B, H, R, d_kv]
        return out.transpose(1, 2).reshape(x.shape[0], 1, t5.heads * t5.d_kv) @ t5.w[prefix + "o.weight"].T

    def forward(self, tokens, cross_bias, *caches):
        t5 = self.t5
        n = t5.dec_layers
        past, cross = caches[:2 * n], caches[2 * n:]
        position = past[0].shape[2]
        x = t5.w["shared.weight"][tokens]  # [N, 1, D]
        bias = t5.position_bias("decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", 1,
                                position + 1, False, first_query=position)
        present = []
        for i in range(n):
            b = f"decoder.block.{i}.layer."
            h = t5.norm(x, b + "0.layer_norm.weight")
            k, v = t5.kv(b + "0.SelfAttention.", h)
            k, v = torch.cat([past[2 * i], k], 2), torch.cat([past[2 * i + 1], v], 2)
            present += [k, v]
            x = x + t5.attend(b + "0.SelfAttention.", h, (k, v), bias)
            h = t5.norm(x, b + "1.layer_norm.weight")
            x = x + self.cross_attend(b + "1.EncDecAttention.", h, cross[2 * i], cross[2 * i + 1], cross_bias)
            x = x + t5.ffn(b + "2.DenseReluDense.", t5.norm(x, b + "2.layer_norm.weight"))
        h = t5.norm(x, "decoder.final_layer_norm.weight")[:, 0]
        if t5.cfg.get("tie_word_embeddings", True):
            logits = (h * t5.cfg["d_model"] ** -0.5) @ t5.w["shared.weight"].T
        else:
            logits = h @ t5.w["lm_head.weight"].T
        # The decoding's softmax too, vectorised by ONNX Runtime rather than exp'd per token in
        # JavaScript (V8's Math.exp cost ort_t5.js more than the model's run at small sizes).
        return (logits, torch.softmax(logits, -1), *present)


def export(t5, out):
    ids = torch.randint(2, t5.cfg["vocab_size"], (2, 7))
    encoder = Encoder(t5).eval()
    cross_outputs = encoder(ids)
    # Traced with a non-empty past and 3 rows per prompt, so that no length or count is
    # frozen into the graph as a constant.
    rows, past_length = 6, 2
    past = [torch.randn(rows, t5.heads, past_length, t5.d_kv) for _ in range(2 * t5.dec_layers)]
    tokens = torch.randint(2, t5.cfg["vocab_size"], (rows, 1))
    cross = cross_names(t5)
    torch.onnx.export(encoder, (ids,), os.path.join(out, "encoder.onnx"), input_names=["input_ids"],
                      output_names=["cross_bias", *cross],
                      dynamic_axes={"input_ids": {0: "prompts", 1: "length"}, "cross_bias": {0: "prompts", 3: "length"},
                                    **{c: {0: "prompts", 2: "length"} for c in cross}}, opset_version=14)
    pasts, presents = self_names(t5, "past"), self_names(t5, "present")
    torch.onnx.export(DecoderStep(t5).eval(), (tokens, cross_outputs[0], *past, *cross_outputs[1:]),
                      os.path.join(out, "decoder_step.onnx"), input_names=["tokens", "cross_bias", *pasts, *cross],
                      output_names=["logits", "probs", *presents],
                      dynamic_axes={"tokens": {0: "rows"}, "cross_bias": {0: "prompts", 3: "length"}, "logits": {0: "rows"},
                                    "probs": {0: "rows"},
                                    **{c: {0: "prompts", 2: "length"} for c in cross},
                                    **{p: {0: "rows", 2: "past"} for p in pasts},
                                    **{p: {0: "rows", 2: "past_plus_1"} for p in presents}}, opset_version=14)


def check(t5, onnx, ort, ids_path):
    """ONNX Runtime's teacher-forced logits against t5_reference.py's decoding path (the
    per-row cross attention of its bench mode), 3 rows per prompt with different tokens; and
    ort_t5.js's beam search (4 beams, 6 tokens) against t5_reference.beam_search's."""
    ids = torch.from_numpy(np.load(ids_path)).long()
    per_prompt, steps, beams = 3, 6, 4
    generator = torch.Generator().manual_seed(0)
    dec = torch.randint(2, t5.cfg["vocab_size"], (ids.shape[0] * per_prompt, steps), generator=generator)
    dec[:, 0] = t5.cfg["decoder_start_token_id"]
    node = ["node", os.path.join(os.path.dirname(os.path.abspath(__file__)), "ort_t5.js"), "--ort", ort, "--model", onnx,
            "--ids", ids_path, "--threads", str(torch.get_num_threads())]
    with tempfile.TemporaryDirectory() as tmp:
        e = lambda name: os.path.join(tmp, name)
        np.save(e("dec.npy"), dec.numpy())
        subprocess.run([*node, "--decoder-ids", e("dec.npy"), "--logits-out", e("logits.npy")], check=True)
        subprocess.run([*node, "--beams", str(beams), "--samples", "0", "--new-tokens", str(steps), "--beams-out",
                        e("beams.npy")], check=True, stdout=subprocess.DEVNULL)
        theirs = torch.from_numpy(np.load(e("logits.npy")))
        their_beams, their_scores = np.load(e("beams.npy")), np.load(e("beams.scores.npy"))
    mask = (ids != t5.cfg["pad_token_id"]).long()

    def logits():
        cache = t5.start(t5.encode(ids, mask), mask)
        t5_reference.repeat_cache(t5, cache, per_prompt)
        return torch.stack([t5.step(dec[:, t], cache) for t in range(steps)], 1).double()

    with torch.inference_mode():
        our_beams, our_scores = t5_reference.beam_search(t5, ids, mask, beams, steps)
        ours = logits()
        # Random weights amplify float32 rounding through the layers (at base size engines
        # differ by ~1e-2, see t5_reference.py's check), so the float64 model is the yardstick
        # too: ONNX Runtime should be as close to it as PyTorch float32 is.
        float32 = t5.w
        t5.w = {k: v.double() for k, v in float32.items()}
        exact = logits()
        t5.w = float32
    theirs = theirs.double()
    diff = float((ours - theirs).abs().max())
    scale = float(exact.abs().max())
    return {"ort_vs_pytorch_max_abs": diff, "max_abs_logit": scale, "relative": diff / scale,
            "ort_vs_float64": float((theirs - exact).abs().max()), "pytorch_vs_float64": float((ours - exact).abs().max()),
            "same_beams": int((our_beams.numpy() == their_beams).all(1).sum()), "beams": int(our_beams.shape[0]),
            "beam_score_max_abs": float(np.abs(our_scores.numpy() - their_scores).max())}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True, help="the folder of encoder.onnx and decoder_step.onnx")
    ap.add_argument("--ort", help="check with the onnxruntime-node under this folder")
    ap.add_argument("--ids", help="prompts for the check (default: 2 random ones of 9 tokens, one padded)")
    ap.add_argument("--check-only", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    t5 = t5_reference.T5(a.model)
    if not a.check_only:
        os.makedirs(a.out, exist_ok=True)
        shutil.copy(os.path.join(a.model, "config.json"), a.out)  # ort_t5.js reads the special tokens from it
        with torch.no_grad():  # decoder_step.onnx last: bench_all.py takes it as the sign of a finished export
            export(t5, a.out)
    if a.ort:
        with tempfile.TemporaryDirectory() as tmp:
            ids = a.ids
            if not ids:
                ids = os.path.join(tmp, "ids.npy")
                prompts = torch.randint(2, t5.cfg["vocab_size"], (2, 9), generator=torch.Generator().manual_seed(1))
                prompts[1, 6:] = t5.cfg["pad_token_id"]  # the padding mask is part of what is checked
                np.save(ids, prompts.numpy())
            print(json.dumps(check(t5, a.out, a.ort, ids)))


if __name__ == "__main__":
    main()
