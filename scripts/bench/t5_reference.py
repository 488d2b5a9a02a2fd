#!/usr/bin/python3
"""The Python side of the T5 benchmark: a PyTorch eager transcription of Hugging Face's
T5ForConditionalGeneration (T5 v1.1 / FLAN-T5: RMS LayerNorm, relative position buckets,
gated GELU, untied head) with a key/value cache, and the decoding ReCap's captioner runs:
beam search (4 beams, 4 returned) and nucleus sampling (36 samples, p = 0.9) on a batch of
prompts, as a researcher would run transformers' generate() (transformers is not packaged
by Debian; Debian's python3-torch is). End-of-sequence is forbidden until the last step
(min_new_tokens = max_new_tokens), as recap's side of the benchmark does, so both decode
every position: random weights would otherwise stop at arbitrary points.

  check --model DIR --ids I.npy --decoder-ids D.npy --logits L.npy   recap-lm's teacher-forced logits and PyTorch's
        float32 ones against this model in float64 (max abs difference)
  bench --model DIR --ids I.npy [--beams 4] [--samples 36] [--new-tokens 30] [--threads 2]
        prints one JSON line: seconds of beam search and of sampling, decoder tokens/s
  Both take --device cpu|cuda and --dtype float32|bfloat16|float16 (the model's weights and
  activations; LayerNorm variance and softmax in float32, as transformers does). On cuda,
  float32 runs with TF32 off, as recap does, and bench first decodes one untimed step.
"""
import argparse, json, math, os, sys, time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_mmap import read_safetensors  # noqa: E402



class T5:
    def __init__(self, folder, device="cpu", dtype=torch.float32):
        self.cfg = json.load(open(os.path.join(folder, "config.json")))
        self.device = torch.device(device)
        self.w = {k: v.to(self.device, dtype) for k, v in read_safetensors(os.path.join(folder, "model.safetensors")).items()}
        self.heads, self.d_kv = self.cfg["num_heads"], self.cfg["d_kv"]
        self.eps = self.cfg.get("layer_norm_epsilon", 1e-6)
        self.layers = self.cfg["num_layers"]
        self.dec_layers = self.cfg.get("num_decoder_layers", self.layers)

    def norm(self, x, name):
        var = x.float().pow(2).mean(-1, keepdim=True)
        return self.w[name] * (x * torch.rsqrt(var + self.eps)).to(self.w[name].dtype)

    def split(self, x):  # [B, L, H*dk] -> [B, H, L, dk]
        return x.view(x.shape[0], -1, self.heads, self.d_kv).transpose(1, 2)

    def bucket(self, relative, bidirectional):
        buckets, max_distance = self.cfg["relative_attention_num_buckets"], self.cfg["relative_attention_max_distance"]
        out = torch.zeros_like(relative)
        if bidirectional:
            buckets //= 2
            out += (relative > 0).long() * buckets
            relative = relative.abs()
        else:
            relative = -torch.clamp(relative, max=0)
        exact = buckets // 2
        small = relative < exact
        large = exact + (torch.log(relative.float().clamp(min=1) / exact) / math.log(max_distance / exact)
                         * (buckets - exact)).long()
        large = torch.clamp(large, max=buckets - 1)
        return out + torch.where(small, relative, large)

    def position_bias(self, table, queries, keys, bidirectional, first_query=0):
        q = torch.arange(first_query, first_query + queries, device=self.device)[:, None]
        k = torch.arange(keys, device=self.device)[None, :]
        values = self.w[table][self.bucket(k - q, bidirectional)]  # [Lq, Lk, H]
        return values.permute(2, 0, 1).unsqueeze(0)  # [1, H, Lq, Lk]

    def attend(self, prefix, x, kv, bias):
        q = self.split(x @ self.w[prefix + "q.weight"].T)
        k, v = kv
        scores = q @ k.transpose(-1, -2) + bias  # T5 folds 1/sqrt(d_kv) into its initialisation
        out = torch.softmax(scores.float(), -1).type_as(v) @ v
        return out.transpose(1, 2).reshape(x.shape[0], -1, self.heads * self.d_kv) @ self.w[prefix + "o.weight"].T

    def kv(self, prefix, x):
        return self.split(x @ self.w[prefix + "k.weight"].T), self.split(x @ self.w[prefix + "v.weight"].T)

    def ffn(self, prefix, x):
        gelu = torch.nn.functional.gelu(x @ self.w[prefix + "wi_0.weight"].T, approximate="tanh")
        return (gelu * (x @ self.w[prefix + "wi_1.weight"].T)) @ self.w[prefix + "wo.weight"].T

    def encode(self, ids, mask):
        x = self.w["shared.weight"][ids]
        extended = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        bias = self.position_bias("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
                                  ids.shape[1], ids.shape[1], True) + extended
        for i in range(self.layers):
            b = f"encoder.block.{i}.layer."
            h = self.norm(x, b + "0.layer_norm.weight")
            x = x + self.attend(b + "0.SelfAttention.", h, self.kv(b + "0.SelfAttention.", h), bias)
            x = x + self.ffn(b + "1.DenseReluDense.", self.norm(x, b + "1.layer_norm.weight"))
        return self.norm(x, "encoder.final_layer_norm.weight")

    def start(self, states, mask):
        """Per decoder layer: the cross-attention keys/values (fixed) and an empty self cache."""
        cross = [self.kv(f"decoder.block.{i}.layer.1.EncDecAttention.", states) for i in range(self.dec_layers)]
        extended = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        return {"cross": cross, "cross_bias": extended, "self": [None] * self.dec_layers, "length": 0}

    def step(self, tokens, cache):
        """One decoder position for every row: logits [rows, vocab]."""
        x = self.w["shared.weight"][tokens][:, None, :]
        pos = cache["length"]
        bias = self.position_bias("decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", 1, pos + 1,
                                  False, first_query=pos)
        for i in range(self.dec_layers):
            b = f"decoder.block.{i}.layer."
            h = self.norm(x, b + "0.layer_norm.weight")
            k, v = self.kv(b + "0.SelfAttention.", h)
            if cache["self"][i] is not None:
                k, v = torch.cat([cache["self"][i][0], k], 2), torch.cat([cache["self"][i][1], v], 2)
            cache["self"][i] = (k, v)
            x = x + self.attend(b + "0.SelfAttention.", h, (k, v), bias)
            h = self.norm(x, b + "1.layer_norm.weight")
            x = x + self.attend(b + "1.EncDecAttention.", h, cache["cross"][i], cache["cross_bias"])
            x = x + self.ffn(b + "2.DenseReluDense.", self.norm(x, b + "2.layer_norm.weight"))
        cache["length"] = pos + 1
        h = self.norm(x, "decoder.final_layer_norm.weight")[:, 0]
        if self.cfg.get("tie_word_embeddings", True):
            return (h * self.cfg["d_model"] ** -0.5) @ self.w["shared.weight"].T
        return h @ self.w["lm_head.weight"].T

    def reorder(self, cache, rows):
        cache["self"] = [(k[rows], v[rows]) for k, v in cache["self"]]


def repeat_cache(model, cache, times):
    cache["cross"] = [(k.repeat_interleave(times, 0), v.repeat_interleave(times, 0)) for k, v in cache["cross"]]
    cache["cross_bias"] = cache["cross_bias"].repeat_interleave(times, 0)


def beam_search(model, ids, mask, beams, new_tokens):
    batch, eos = ids.shape[0], model.cfg["eos_token_id"]
    cache = model.start(model.encode(ids, mask), mask)
    repeat_cache(model, cache, beams)
    device = model.device
    tokens = torch.full((batch * beams,), model.cfg["decoder_start_token_id"], dtype=torch.long, device=device)
    scores = torch.full((batch, beams), -1e9, device=device)
    scores[:, 0] = 0  # only the first beam is live at the start
    history = tokens[:, None]
    for _ in range(new_tokens):
        logp = torch.log_softmax(model.step(tokens, cache).float(), -1)
        logp[:, eos] = -math.inf  # min_new_tokens = max_new_tokens
        vocab = logp.shape[1]
        total = (logp.view(batch, beams, vocab) + scores[:, :, None]).view(batch, beams * vocab)
        scores, flat = total.topk(beams, 1)
        source = (flat // vocab + torch.arange(batch, device=device)[:, None] * beams).view(-1)
        tokens = (flat % vocab).view(-1)
        model.reorder(cache, source)
        history = torch.cat([history[source], tokens[:, None]], 1)
    return history, scores / new_tokens  # length penalty 1


def nucleus(model, ids, mask, samples, new_tokens, top_p, seed):
    gen = torch.Generator(device=model.device).manual_seed(seed)
    eos = model.cfg["eos_token_id"]
    cache = model.start(model.encode(ids, mask), mask)
    repeat_cache(model, cache, samples)
    tokens = torch.full((ids.shape[0] * samples,), model.cfg["decoder_start_token_id"], dtype=torch.long,
                        device=model.device)
    history = [tokens]
    for _ in range(new_tokens):
        logits = model.step(tokens, cache).float()
        logits[:, eos] = -math.inf
        probs = torch.softmax(logits, -1)
        sorted_p, order = probs.sort(-1, descending=True)
        cumulative = sorted_p.cumsum(-1)
        sorted_p[(cumulative - sorted_p) > top_p] = 0  # keep the smallest prefix reaching top_p
        choice = torch.multinomial(sorted_p, 1, generator=gen)
        tokens = order.gather(1, choice)[:, 0]
        history.append(tokens)
    return torch.stack(history, 1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["check", "bench"])
    p.add_argument("--model", required=True)
    p.add_argument("--ids", required=True)
    p.add_argument("--decoder-ids")
    p.add_argument("--logits")
    p.add_argument("--beams", type=int, default=4)
    p.add_argument("--samples", type=int, default=36)
    p.add_argument("--new-tokens", type=int, default=30)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    if a.device == "cuda":
        if not torch.cuda.is_available():
            raise SystemExit("t5_reference.py: --device cuda: this PyTorch sees no GPU")
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    model = T5(a.model, a.device, getattr(torch, a.dtype))
    ids = torch.from_numpy(np.load(a.ids)).long().to(a.device)
    mask = (ids != model.cfg["pad_token_id"]).long()
    with torch.inference_mode():
        if a.mode == "check":
            # Random weights amplify rounding through 24 layers (float32 engines differ from
            # one another by ~1e-2 in the logits), so both float32 sides are measured against
            # this model in float64: recap should be as close to it as PyTorch float32 is.
            dec = torch.from_numpy(np.load(a.decoder_ids)).long().to(a.device)

            def logits():
                cache = model.start(model.encode(ids, mask), mask)
                return torch.stack([model.step(dec[:, t], cache) for t in range(dec.shape[1])], 1).double()

            torch32 = logits()
            model.w = {k: v.double() for k, v in model.w.items()}
            exact = logits()
            recap = torch.from_numpy(np.load(a.logits)).double().to(a.device)
            print(json.dumps({"recap_vs_float64": float((recap - exact).abs().max()),
                              "pytorch_float32_vs_float64": float((torch32 - exact).abs().max()),
                              "max_abs_logit": float(exact.abs().max())}))
            return
        sync = torch.cuda.synchronize if a.device == "cuda" else (lambda: None)
        if a.device == "cuda":  # cuBLAS's set-up, as recap does at load
            beam_search(model, ids[:1], mask[:1], 1, 1)
            sync()
        start = time.perf_counter()
        beam_search(model, ids, mask, a.beams, a.new_tokens)
        sync()
        beam_s = time.perf_counter() - start
        start = time.perf_counter()
        nucleus(model, ids, mask, a.samples, a.new_tokens, 0.9, 0)
        sync()
        sample_s = time.perf_counter() - start
    rows = ids.shape[0] * (a.beams + a.samples)
    print(json.dumps({"beam_seconds": beam_s, "sample_seconds": sample_s, "seconds": beam_s + sample_s,
                      "decoder_tokens_per_s": rows * a.new_tokens / (beam_s + sample_s)}))


if __name__ == "__main__":
    main()
