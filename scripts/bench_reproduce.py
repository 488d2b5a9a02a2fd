#!/usr/bin/python3
"""How long scripts/reproduce.sh takes per dataset on this machine, estimated from the
per-item rates of each stage measured here on benchmark-shaped models (ViT-B/32- and
FLAN-T5-base-shaped random weights: the real work, none of the real knowledge):

  image embedding     recap-embed, float32, COCO-sized JPEGs              images/s
  caption embedding   recap-embed --texts, float32, Flickr30k captions     texts/s
  fit                 recap-fit procrustes on recap-synth pairs, d = 512   pairs/s
  retrieval           recap-caption retrieval only, 1,000 queries against a COCO-sized
                      datastore (566,735 captions, d = 512)                query x caption/s
  LM captioning       recap-caption --lm with the settings of configs/coco.json (k = 8,
                      4 beams + 36 samples, 30 new tokens), images from files   images/s
  text metrics        recap-score BLEU, ROUGE-L, CIDEr with PTB tokenisation    images/s

Random weights never end a caption early, so the LM generates all 30 tokens of every
candidate: an upper bound (real FLAN-T5 captions end after about 10-15 tokens).
Each dataset's stages are then its sizes (public split sizes) over these rates. Prints a
Markdown table (also BENCH_DIR/reproduce-estimate.md). Needs ~4 GB under BENCH_DIR.

  scripts/bench_reproduce.sh [BENCH_DIR] [--lm-images N]
"""
import argparse, json, os, platform, re, shutil, subprocess, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench"))
import bench_inputs  # noqa: E402
from bench_inputs import BUILD, DATA, PY, ROOT, THREADS  # noqa: E402

# Split sizes: images (videos), training captions, evaluation images, their references.
DATASETS = [
    # name, train images, train captions, eval images, eval references, frames per item
    ("COCO (Karpathy test)", 113287, 566747, 5000, 25010, 1),
    ("Flickr30k (Karpathy test)", 29000, 145000, 1000, 5000, 1),
    ("VizWiz (val)", 23431, 117155, 7750, 38750, 1),
    ("MSR-VTT (official test)", 6513, 130260, 2990, 59800, 8),
]


def run(cmd, env=None):
    start = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if p.returncode != 0:
        sys.exit(f"bench_reproduce: {' '.join(cmd)} failed:\n{p.stderr[-3000:]}")
    return time.perf_counter() - start, p


def tool(name, *args):
    return run([f"{BUILD}/recap-{name}", "--threads", THREADS, *args])


def cpu_model():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def prepare(bench, lm_images):
    models = os.path.join(bench, "models")
    clip = bench_inputs.clip_weights(models)
    t5 = os.path.join(models, "flan-t5-base-shape")
    if not os.path.exists(os.path.join(t5, "model.safetensors")):
        run([PY, os.path.join(ROOT, "scripts/bench/make_t5_weights.py"), "--out", t5, "--size", "base"])
    images = bench_inputs.coco_images(os.path.join(bench, "images"), 64)
    lm_dir = os.path.join(bench, f"lm-images-{lm_images}")
    if not os.path.isdir(lm_dir):
        os.makedirs(lm_dir)
        for i in range(lm_images):
            shutil.copy(os.path.join(images, f"{i % 64:05d}.jpg"), os.path.join(lm_dir, f"{i:05d}.jpg"))
    captions = bench_inputs.captions(os.path.join(bench, "captions.txt"), 2000)
    return clip, t5, images, lm_dir, captions


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bench", nargs="?", default=os.path.join(ROOT, "bench-data"))
    ap.add_argument("--lm-images", type=int, default=16)
    a = ap.parse_args()
    os.makedirs(a.bench, exist_ok=True)
    clip, t5, images, lm_dir, captions = prepare(a.bench, a.lm_images)
    scratch = os.path.join(a.bench, "scratch")
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    rates = {}

    # Embedding (the model load, reported with -v, is left out of the rate).
    def embed_rate(args, n):
        seconds, p = tool("embed", "--clip", clip, "--no-cache", "-v", "--out", os.path.join(scratch, "e.npy"), "--force", *args)
        load = float(re.search(r"loaded in ([0-9.]+) s", p.stderr).group(1))
        return n / (seconds - load)
    rates["images/s"] = embed_rate(["--images", images], 64)
    rates["texts/s"] = embed_rate(["--texts", captions], 2000)

    # A COCO-sized synthetic training set: fit, then retrieval against its datastore.
    synth = os.path.join(a.bench, "synth-coco")
    if not os.path.exists(os.path.join(synth, "queries.npy")):
        tool("synth", "--images", "113287", "--captions-per-image", "5", "--queries", "1000", "--dim", "512",
             "--out", synth, "--force")
    run_dir = os.path.join(scratch, "run")
    seconds, _ = tool("fit", "--image-embeddings", f"{synth}/image_embeddings.npy", "--text-embeddings",
                      f"{synth}/text_embeddings.npy", "--pairs", f"{synth}/pairs.npy", "--captions", f"{synth}/captions.jsonl",
                      "--out", run_dir)
    rates["fit pairs/s"] = 566435 / seconds
    seconds, _ = tool("caption", "--run", run_dir, "--image-embeddings", f"{synth}/queries.npy", "--out",
                      os.path.join(scratch, "retrieval.json"))
    rates["retrieval query x caption/s"] = 1000 * 566435 / seconds

    # LM captioning, the settings of configs/coco.json, images from files.
    seconds, _ = tool("caption", "--config", os.path.join(ROOT, "configs/coco.json"), "--run", run_dir, "--clip", clip,
                      "--lm", t5, "--images", lm_dir, "--no-cache", "--out", os.path.join(scratch, "lm.json"))
    rates["LM captioning images/s"] = a.lm_images / seconds

    # Text metrics with PTB tokenisation on the Flickr30k test references (first one as the result).
    refs = json.load(open(os.path.join(DATA, "flickr30k-test/annotations.json")))
    first = {}
    for note in refs["annotations"]:
        first.setdefault(note["image_id"], note["caption"])
    results = os.path.join(scratch, "results.json")
    json.dump([{"image_id": k, "caption": v} for k, v in first.items()], open(results, "w"))
    seconds, _ = tool("score", "--results", results, "--refs", os.path.join(DATA, "flickr30k-test/annotations.json"))
    rates["text metrics images/s"] = len(first) / seconds

    lines = [f"Machine: {cpu_model()}, {os.cpu_count()} cores, {THREADS} threads; "
             f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}; {time.strftime('%Y-%m-%d')}", "",
             "| stage | measured rate |", "|---|---:|"]
    lines += [f"| {k} | {v:,.3f} |" if v < 10 else f"| {k} | {v:,.1f} |" for k, v in rates.items()]
    lines += ["", "| dataset | fit: embed train images | embed train captions | solve W | caption: embed eval | "
              "retrieval | LM captioning | score (CLIP embeddings + text metrics) | total |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]

    def hours(s):
        return f"{s / 3600:.1f} h" if s >= 3600 else f"{s / 60:.1f} min" if s >= 60 else f"{s:.0f} s"
    for name, n_train, n_captions, n_eval, n_refs, frames in DATASETS:
        stages = [n_train * frames / rates["images/s"], n_captions / rates["texts/s"], n_captions / rates["fit pairs/s"],
                  n_eval * frames / rates["images/s"], n_eval * n_captions / rates["retrieval query x caption/s"],
                  n_eval / rates["LM captioning images/s"],
                  (2 * n_eval + n_refs) / rates["texts/s"] + 2 * n_eval / rates["text metrics images/s"]]
        lines.append(f"| {name} | " + " | ".join(hours(s) for s in stages) + f" | **{hours(sum(stages))}** |")
    report = "\n".join(lines) + "\n"
    print(report)
    open(os.path.join(a.bench, "reproduce-estimate.md"), "w").write(report)


if __name__ == "__main__":
    main()
