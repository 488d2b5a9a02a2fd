#!/usr/bin/python3
"""FLAN-T5-shaped random weights in the Hugging Face layout recap-lm and recap-caption
--lm load (config.json, model.safetensors, spiece.model), for benchmarks: the shapes and
the decoding work of the real model, none of its knowledge. numpy only; the 32,000-piece
sentencepiece vocabulary is trained with Debian's spm_train on generated words.

  make_t5_weights.py --out DIR [--size tiny|base|large] [--seed 0]
"""
import argparse, json, os, random, shutil, string, struct, subprocess, sys

import numpy as np

SIZES = {  # FLAN-T5 (T5 v1.1): gated GELU, untied head; "tiny" for quick tests of the benchmark scripts
    "tiny": dict(d_model=64, d_ff=128, d_kv=16, num_heads=4, num_layers=2),
    "base": dict(d_model=768, d_ff=2048, d_kv=64, num_heads=12, num_layers=12),
    "large": dict(d_model=1024, d_ff=2816, d_kv=64, num_heads=16, num_layers=24),
}
PIECES = 32000  # sentencepiece pieces of the real T5 vocabulary; + 100 extra ids, padded to 32,128


def tensors(shape, seed):
    rng = np.random.default_rng(seed)
    d, ff, kv, heads, layers = (shape[k] for k in ("d_model", "d_ff", "d_kv", "num_heads", "num_layers"))
    inner = kv * heads
    out = {}

    def w(name, rows, cols, std):
        out[name] = (rng.standard_normal((rows, cols), dtype=np.float32) * std).astype(np.float32)

    def ones(name, n):
        out[name] = np.ones(n, dtype=np.float32)

    vocab = 32128
    w("shared.weight", vocab, d, 1.0)
    w("lm_head.weight", vocab, d, d ** -0.5)
    for side in ("encoder", "decoder"):
        for i in range(layers):
            b = f"{side}.block.{i}.layer."
            for proj in "qkvo":
                rows, cols = (d, inner) if proj == "o" else (inner, d)
                w(f"{b}0.SelfAttention.{proj}.weight", rows, cols, d ** -0.5)
            if i == 0:
                w(f"{b}0.SelfAttention.relative_attention_bias.weight", 32, heads, 0.1)
            ones(f"{b}0.layer_norm.weight", d)
            ffn = 1
            if side == "decoder":
                for proj in "qkvo":
                    rows, cols = (d, inner) if proj == "o" else (inner, d)
                    w(f"{b}1.EncDecAttention.{proj}.weight", rows, cols, d ** -0.5)
                ones(f"{b}1.layer_norm.weight", d)
                ffn = 2
            w(f"{b}{ffn}.DenseReluDense.wi_0.weight", ff, d, d ** -0.5)
            w(f"{b}{ffn}.DenseReluDense.wi_1.weight", ff, d, d ** -0.5)
            w(f"{b}{ffn}.DenseReluDense.wo.weight", d, ff, ff ** -0.5)
            ones(f"{b}{ffn}.layer_norm.weight", d)
        ones(f"{side}.final_layer_norm.weight", d)
    return out


def write_safetensors(path, arrays):
    header, offset = {}, 0
    for name, a in arrays.items():
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    blob = json.dumps(header).encode()
    blob += b" " * (-len(blob) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for a in arrays.values():
            f.write(a.tobytes())
    os.replace(path + ".tmp", path)


def train_vocabulary(folder, seed, threads=2):
    """spm_train on generated words: enough distinct strings for 32,000 unigram pieces."""
    rng = random.Random(seed)
    corpus = os.path.join(folder, "corpus.txt")
    with open(corpus, "w") as f:
        for _ in range(60000):
            f.write(" ".join("".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(2, 9)))
                             for _ in range(12)) + "\n")
    flags = [f"--input={corpus}", f"--model_prefix={os.path.join(folder, 'spiece')}",
             f"--vocab_size={PIECES}", "--model_type=unigram", "--character_coverage=1.0",
             "--pad_id=0", "--eos_id=1", "--unk_id=2", "--bos_id=-1", f"--num_threads={threads}",
             "--input_sentence_size=60000", "--minloglevel=2"]
    if shutil.which("spm_train"):  # Debian's sentencepiece tools
        subprocess.run(["spm_train", *flags], check=True)
    else:  # a machine with pip's sentencepiece module only (the same trainer)
        import sentencepiece
        sentencepiece.SentencePieceTrainer.train(" ".join(flags))
    os.remove(corpus)
    os.remove(os.path.join(folder, "spiece.vocab"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--size", choices=sorted(SIZES), default="base")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2, help="sentencepiece training threads")
    a = ap.parse_args()
    shape = SIZES[a.size]
    os.makedirs(a.out, exist_ok=True)
    if not os.path.exists(os.path.join(a.out, "spiece.model")):
        train_vocabulary(a.out, a.seed, a.threads)
    config = dict(architectures=["T5ForConditionalGeneration"], model_type="t5", vocab_size=32128,
                  d_model=shape["d_model"], d_ff=shape["d_ff"], d_kv=shape["d_kv"], num_heads=shape["num_heads"],
                  num_layers=shape["num_layers"], num_decoder_layers=shape["num_layers"],
                  feed_forward_proj="gated-gelu", dense_act_fn="gelu_new", is_gated_act=True,
                  tie_word_embeddings=False, relative_attention_num_buckets=32, relative_attention_max_distance=128,
                  layer_norm_epsilon=1e-6, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
                  is_encoder_decoder=True, use_cache=True)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    write_safetensors(os.path.join(a.out, "model.safetensors"), tensors(shape, a.seed))
    print(f"make_t5_weights: FLAN-T5-{a.size}-shaped random weights in {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
