#!/usr/bin/python3
"""Side-by-side CLIP benchmark: recap-embed against the PyTorch reference model
(scripts/bench/clip_reference.py, OpenAI's ViT-B/32 written in PyTorch, OpenAI's PIL
preprocessing) on the same ViT-B/32-shaped random weights, the same JPEGs and the same
captions, in one run. Prints a Markdown table (also BENCH_DIR/clip-report.md).

  images/s   decode + preprocess + image encoder, float32, 2 threads
  texts/s    text encoder on token ids of real captions (Flickr30k test), float32, 2 threads
  preprocess decode + resize + crop + normalise alone (PIL: one thread)
  bfloat16   recap-embed --dtype bfloat16: speed and cosine against its float32 embeddings

recap's rates count the embedding phase only (the process's wall time minus the model
load it reports with -v), as the Python side times its loop after loading; the load time
is printed too. Usage: scripts/bench_clip.sh [BENCH_DIR] [--images N] [--texts N]
"""
import argparse, json, os, platform, re, shutil, subprocess, sys, time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("RECAP_BUILD_DIR", os.path.join(ROOT, "build"))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
PY = "/usr/bin/python3"
REFERENCE = os.path.join(ROOT, "scripts", "bench", "clip_reference.py")


def run(cmd, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if p.returncode != 0:
        sys.exit(f"bench_clip: {' '.join(cmd)} failed:\n{p.stderr[-2000:]}")
    return p


def reference(*args, env=None):
    out = run([PY, REFERENCE, *args], env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def recap_embed(model, args, out):
    """Runs recap-embed -v; returns (embedding seconds, load seconds)."""
    start = time.perf_counter()
    p = run([f"{BUILD}/recap-embed", "--clip", model, "--out", out, "--no-cache", "--force", "-v", "--threads", "2",
             *args])
    wall = time.perf_counter() - start
    load = float(re.search(r"loaded in ([0-9.]+) s", p.stderr).group(1))
    return wall - load, load


def prepare(bench, n_images, n_texts):
    clip = os.path.join(bench, "clip")
    weights = os.path.join(clip, "vitb32")
    if not os.path.exists(os.path.join(weights, "openai_vitb32.safetensors")):
        run([PY, REFERENCE, "make", "--out", weights])
    for name in ("vocab.json", "merges.txt"):  # CLIP's real BPE vocabulary, from the golden folder
        if not os.path.exists(os.path.join(weights, name)):
            shutil.copy(os.path.join(SHARED, "golden/clip/tiny-vit/hf", name), weights)
    # COCO-sized JPEGs: the golden preprocessing photos, repeated under distinct names.
    images = os.path.join(clip, f"images-{n_images}")
    if not os.path.isdir(images):
        source = sorted(f for f in os.listdir(os.path.join(SHARED, "golden/preprocess/images"))
                        if f.endswith(".jpg") and not f.startswith("synthetic"))
        os.makedirs(images + ".tmp", exist_ok=True)
        for i in range(n_images):
            f = source[i % len(source)]
            shutil.copy(os.path.join(SHARED, "golden/preprocess/images", f), os.path.join(images + ".tmp", f"{i:05d}_{f}"))
        os.rename(images + ".tmp", images)
    captions = os.path.join(clip, f"captions-{n_texts}.txt")
    if not os.path.exists(captions):
        notes = json.load(open(os.path.join(SHARED, "data/flickr30k-test/annotations.json")))["annotations"]
        with open(captions, "w") as f:
            f.writelines(" ".join(a["caption"].split()) + "\n" for a in notes[:n_texts])
    tokens = os.path.join(clip, f"tokens-{n_texts}.npy")
    if not os.path.exists(tokens):
        run([f"{BUILD}/recap-embed", "--clip", os.path.join(weights, "openai_vitb32.safetensors"), "--texts", captions,
             "--token-ids-out", tokens, "--out", os.path.join(clip, "scratch.npy"), "--no-cache", "--force"])
    return weights, images, tokens


def cosines(a, b):
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bench_dir", nargs="?", default=os.path.join(ROOT, "bench-data"))
    ap.add_argument("--images", type=int, default=224)
    ap.add_argument("--texts", type=int, default=1000)
    a = ap.parse_args()
    bench = os.path.abspath(a.bench_dir)
    weights, images, tokens = prepare(bench, a.images, a.texts)
    model = os.path.join(weights, "openai_vitb32.safetensors")
    scratch = os.path.join(bench, "clip")
    report = []
    say = lambda line="": (print(line, flush=True), report.append(line))
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    say(f"# CLIP benchmark ({time.strftime('%Y-%m-%d')})")
    say()
    say(f"Machine: {cpu}, {os.cpu_count()} cores. ViT-B/32-shaped random weights; {a.images} JPEGs "
        f"(COCO photos, 640x480 and similar); {a.texts} Flickr30k test captions. 2 threads.")
    say()
    rows = []

    # Images: decode + preprocess + model.
    e32 = os.path.join(scratch, "recap-images-fp32.npy")
    recap_img, load = recap_embed(model, ["--images", images, "--batch-size", "32"], e32)
    torch_img = reference("images", "--model", weights, "--images", images, "--threads", "2")["seconds"]
    rows.append(("images/s, decode + preprocess + encode, float32", a.images / recap_img, a.images / torch_img))
    same = reference("compare", "--model", weights, "--images", images, "--embeddings", e32)
    # The same with OpenBLAS forced onto its generic kernel for the Python side: what
    # docs/architecture.md ("The BLAS kernel is part of the product") describes for CPUs OpenBLAS 0.3.21 does not recognise.
    torch_generic = reference("images", "--model", weights, "--images", images, "--threads", "2",
                              env={"OPENBLAS_CORETYPE": "Prescott"})["seconds"]
    rows.append(("images/s, PyTorch on OpenBLAS's generic kernel (fact 6)", a.images / recap_img, a.images / torch_generic))

    # Texts.
    recap_txt, _ = recap_embed(model, ["--token-ids", tokens, "--batch-size", "64"], os.path.join(scratch, "recap-texts.npy"))
    torch_txt = reference("texts", "--model", weights, "--token-ids", tokens, "--threads", "2", "--batch", "64")["seconds"]
    rows.append(("texts/s, encode_text on token ids, float32", a.texts / recap_txt, a.texts / torch_txt))

    # Preprocessing alone.
    out = run([f"{BUILD}/tests/bench/bench_preprocess", "--benchmark_format=json"],
              env={"RECAP_BENCH_IMAGES": images}).stdout
    bench_rows = {r["name"].split("/")[0]: r["images_per_s"] for r in json.loads(out[: out.rindex("}") + 1])["benchmarks"]}
    pil = reference("preprocess", "--images", images)
    pil_rate = pil["items"] / pil["seconds"]
    rows.append(("preprocess images/s, 1 thread (PIL: 1 thread)", bench_rows["BM_Preprocess"], pil_rate))
    rows.append(("preprocess images/s, 2 threads (PIL: 1 thread)", bench_rows["BM_PreprocessTwoThreads"], pil_rate))

    # bfloat16 (recap only): speed against recap float32, accuracy against it.
    ebf = os.path.join(scratch, "recap-images-bf16.npy")
    recap_img_bf, _ = recap_embed(model, ["--images", images, "--batch-size", "32", "--dtype", "bfloat16"], ebf)
    cos_img = cosines(np.load(e32), np.load(ebf))
    tbf = os.path.join(scratch, "recap-texts-bf16.npy")
    recap_txt_bf, _ = recap_embed(model, ["--token-ids", tokens, "--batch-size", "64", "--dtype", "bfloat16"], tbf)
    cos_txt = cosines(np.load(os.path.join(scratch, "recap-texts.npy")), np.load(tbf))
    rows.append(("images/s, recap bfloat16 vs PyTorch float32", a.images / recap_img_bf, a.images / torch_img))
    rows.append(("texts/s, recap bfloat16 vs PyTorch float32", a.texts / recap_txt_bf, a.texts / torch_txt))

    say("| measure | recap | PyTorch / PIL | ratio |")
    say("|---|---:|---:|---:|")
    for name, ours, theirs in rows:
        say(f"| {name} | {ours:.1f} | {theirs:.1f} | {ours / theirs:.2f}x |")
    say()
    say(f"recap-embed model load (excluded above, as on the Python side): {load:.2f} s. Embeddings recap vs "
        f"PyTorch: max abs diff {same['max_abs_diff']:.1e}, min cosine {same['min_cosine']:.7f}.")
    say(f"bfloat16 vs float32 (recap): images {recap_img / recap_img_bf:.2f}x faster, cosine min {cos_img.min():.6f} "
        f"mean {cos_img.mean():.6f}; texts {recap_txt / recap_txt_bf:.2f}x faster, cosine min {cos_txt.min():.6f} "
        f"mean {cos_txt.mean():.6f}.")
    with open(os.path.join(bench, "clip-report.md"), "w") as f:
        f.write("\n".join(report) + "\n")


if __name__ == "__main__":
    main()
