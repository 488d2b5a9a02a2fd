#!/usr/bin/python3
"""Every speed comparison of recap against the engine a user would pick instead, side by
side in one run on this machine, as one Markdown table (also BENCH_DIR/bench-all.md):

  CLIP      recap-embed on preprocessed pixels / token ids (the model alone) against ONNX
            Runtime (onnxruntime-node, same ViT-B/32-shaped weights exported with
            torch.onnx, 2 threads, graph optimisation "all"); float32 and --dtype bfloat16
            with its min cosine against float32, each in 3 rounds in turn with the anchor on 512
            images / 2,000 captions, the median ratio; images/s and texts/s over batch sizes 1..512,
            and ONNX Runtime's at batch 1 against its own default batch, for reference.
  search    retrieval-only recap-caption, 2,000 queries x 566,735 captions, d = 512, whole
            process, against FAISS IndexFlatIP's whole process on the aligned queries (the median
            ratio of 3 pairs of runs in turn after an untimed one of each, 5 pairs for the fit).
  fit       recap-fit Procrustes, 300,000 pairs x 768, whole process, against numpy/scipy.
  T5        ReCap's decoding (16 prompts, 4 beams + 36 nucleus samples, 30 tokens) with recap-lm
            against a PyTorch eager transcription (scripts/bench/t5_reference.py) and against
            ONNX Runtime (its encoder and decoder step with the key/value cache exported from
            that transcription by scripts/bench/onnx_t5.py, the same decoding driven from Node
            by scripts/bench/ort_t5.js, 2 threads, graph optimisation "all"), all on the same
            FLAN-T5-base-shaped weights and ids; recap's and ONNX Runtime's logits are first
            checked against PyTorch's; and recap's decoding rates (bench_t5), float32 and bfloat16.

  captioner recap-caption --lm (configs/coco.json, 15 new tokens, 4 JPEGs, the search datastore) against
            the same pipeline in PyTorch eager + numpy (scripts/bench/caption_pipeline_reference.py),
            both whole processes.

  metrics   with --pycocoevalcap DIR (a checkout of its scorers: not packaged by Debian, so
            not installed here): recap-score's BLEU + ROUGE-L + CIDEr-D against pycocoevalcap's
            Python scorers on 5,000 images (scripts/bench/metrics_speed.py), pre-tokenised and
            with recap's PTB tokenisation included.

  scripts/bench_all.sh [BENCH_DIR] [--pycocoevalcap DIR]      (default bench-data/, ~4 GB)
"""
import argparse, json, os, platform, re, shutil, subprocess, sys, time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench"))
import bench_inputs  # noqa: E402
from bench_inputs import BUILD, DATA, PY, ROOT, THREADS  # noqa: E402


def run(cmd, env=None):
    """(seconds, stdout, stderr, peak RSS MiB) of a whole process under /usr/bin/time -v."""
    start = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, env={**os.environ, **(env or {})})
    seconds = time.perf_counter() - start
    if p.returncode != 0:
        sys.exit(f"bench_all: {' '.join(cmd)} failed:\n{p.stderr[-3000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) / 1024
    return seconds, p.stdout, p.stderr, rss


def median(values):
    return sorted(values)[len(values) // 2]


def in_turn(a, b, b_env=None, pairs=3):
    """Runs the whole processes a and b in turn (a b a b ...), `pairs` times, after one
    untimed run of each: both read gigabytes of .npy files, and a first run may wait on the
    disk where the next finds the page cache. Returns the median of the pair-by-pair ratios
    a/b (pairing keeps the ratio meaningful while the machine's speed drifts), each side's
    median seconds and largest peak RSS MiB, and a's last stderr."""
    run(a)
    run(b, b_env)
    times, ratios, rss, err = {"a": [], "b": []}, [], {"a": 0.0, "b": 0.0}, ""
    for _ in range(pairs):
        seconds_a, _, err, rss_a = run(a)
        seconds_b, _, _, rss_b = run(b, b_env)
        times["a"].append(seconds_a)
        times["b"].append(seconds_b)
        ratios.append(seconds_a / seconds_b)
        rss = {"a": max(rss["a"], rss_a), "b": max(rss["b"], rss_b)}
    return {"ratio": median(ratios), "a": median(times["a"]), "b": median(times["b"]), "a_rss": rss["a"],
            "b_rss": rss["b"], "a_err": err, "ratios": ratios}


def machine():
    flags, model = "", platform.processor()
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
        if line.startswith("flags"):
            have = set(line.split(":", 1)[1].split())
            flags = " ".join(f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in have)
            break
    env = " ".join(f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith("OPENBLAS_")) or "none"
    return f"{model}, {os.cpu_count()} cores ({flags}); environment presets: {env}"


def prepare(bench):
    weights = bench_inputs.clip_weights(os.path.join(bench, "models"))
    clip = os.path.dirname(weights)
    onnx = os.path.join(bench, "onnx")
    if not os.path.exists(os.path.join(onnx, "text.onnx")):
        run([PY, os.path.join(ROOT, "scripts/bench/onnx_clip.py"), "--model", clip, "--out", onnx])
    ort = os.path.join(bench, "ort")
    if not os.path.isdir(os.path.join(ort, "node_modules", "onnxruntime-node")):
        # The CPU binaries ship in the package; its install script downloads GPU ones and
        # fails offline, hence --ignore-scripts.
        os.makedirs(ort, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", ort, "--ignore-scripts", "--no-audit", "--no-fund",
                        "onnxruntime-node"], check=True, capture_output=True)
    images = bench_inputs.coco_images(os.path.join(bench, "images-128"), 128)
    captions = bench_inputs.captions(os.path.join(bench, "captions-2000.txt"), 2000)
    pixels, tokens = os.path.join(bench, "pixels-128.npy"), os.path.join(bench, "tokens-2000.npy")
    scratch = os.path.join(bench, "scratch.npy")
    run([f"{BUILD}/recap-embed", "--clip", weights, "--images", images, "--pixels-out", pixels, "--out", scratch,
         "--no-cache", "--force"])
    run([f"{BUILD}/recap-embed", "--clip", weights, "--texts", captions, "--token-ids-out", tokens, "--out", scratch,
         "--no-cache", "--force"])
    return weights, onnx, ort, pixels, tokens


GEMM_CHOICE = {}  # recap-embed --verbose: the engine of the models' float32 products


def recap_rate(weights, args, items, out, dtype="float32"):
    """Items/s of recap-embed's model time (first batch to last), as ort_clip.js times
    ONNX Runtime's session.run calls: loading, reading and writing are left out on both."""
    _, _, err, _ = run([f"{BUILD}/recap-embed", "--clip", weights, "--no-cache", "--force", "-v", "--threads", THREADS,
                        "--dtype", dtype, "--out", out, *args])
    m = re.search(r"encoded (\d+) \w+ in ([0-9.]+) s of model time", err)
    assert int(m.group(1)) == items, err
    GEMM_CHOICE[dtype] = re.search(r"model float32 products: ([^;]+);", err).group(1)
    return items / float(m.group(2))


def ort_rate(ort, model, args, out):
    _, stdout, _, _ = run(["node", os.path.join(ROOT, "scripts/bench/ort_clip.js"), "--ort", ort, "--model", model,
                           "--threads", THREADS, "--out", out, *args])
    return json.loads(stdout.strip().splitlines()[-1])["rate"]


def min_cosine(a, b):
    x, y = np.load(a), np.load(b)
    return float(((x * y).sum(1) / np.linalg.norm(x, axis=1) / np.linalg.norm(y, axis=1)).min())


def clip_rows(bench, weights, onnx, ort, pixels, tokens):
    e = lambda name: os.path.join(bench, name)
    rows = []
    # The images are repeated to 512: a run's first batches are slow on both sides (kernels
    # generated, pages faulted in), which 128 images do not amortise; and the goal covers
    # batch sizes up to 512, which must be one call of 512, not of the 128 there are.
    # Written afresh from this run's pixels, as prepare() writes those.
    pixels_512 = e("pixels-512.npy")
    np.save(pixels_512, np.concatenate([np.load(pixels)] * 4))
    # Each anchor is measured in turn with recap's float32 and bfloat16, 3 rounds; each
    # ratio is the median of the rounds' ratios (the machine's speed drifts between runs).
    def in_rounds(recap_args, items, recap_out, ort_model, ort_args, ort_out, rounds=3):
        r32, r16, anchor = [], [], []
        for _ in range(rounds):
            r32.append(recap_rate(weights, recap_args, items, e(f"{recap_out}32.npy")))
            r16.append(recap_rate(weights, recap_args, items, e(f"{recap_out}16.npy"), "bfloat16"))
            anchor.append(ort_rate(ort, os.path.join(onnx, ort_model), ort_args, e(ort_out)))
        return (median(r32), median(r16), median(anchor), median([a / b for a, b in zip(r32, anchor)]),
                median([a / b for a, b in zip(r16, anchor)]))
    img32, img16, ort_img, img32_ratio, img16_ratio = in_rounds(
        ["--pixels", pixels_512, "--batch-size", "32"], 512, "r-img", "image.onnx", ["--pixels", pixels_512, "--batch", "32"],
        "o-img.npy")
    txt32, txt16, ort_txt, txt32_ratio, txt16_ratio = in_rounds(
        ["--token-ids", tokens], 2000, "r-txt", "text.onnx", ["--token-ids", tokens, "--batch", "64"], "o-txt.npy")
    diff = max(float(np.abs(np.load(e("r-img32.npy")) - np.load(e("o-img.npy"))).max()),
               float(np.abs(np.load(e("r-txt32.npy")) - np.load(e("o-txt.npy"))).max()))
    rows.append(("CLIP images/s, float32, batch 32, 512 images, median of 3 rounds", img32, f"ONNX Runtime {ort_img:.1f}",
                 img32_ratio, "1.0x"))
    rows.append((f"CLIP images/s, bfloat16 (min cosine {min_cosine(e('r-img16.npy'), e('r-img32.npy')):.6f})", img16,
                 f"ONNX Runtime float32 {ort_img:.1f}", img16_ratio, "2x"))
    rows.append(("CLIP texts/s, float32, default batch, 2,000 captions, median of 3 rounds", txt32,
                 f"ONNX Runtime {ort_txt:.1f}", txt32_ratio, "1.0x"))
    rows.append((f"CLIP texts/s, bfloat16 (min cosine {min_cosine(e('r-txt16.npy'), e('r-txt32.npy')):.6f})", txt16,
                 f"ONNX Runtime float32 {ort_txt:.1f}", txt16_ratio, "2x"))
    at_batch_1 = {}
    for kind, args, items, batches in (("images", ["--pixels", pixels_512], 512, (1, 2, 8, 32, 128, 512)),
                                       ("texts", ["--token-ids", tokens], 2000, (1, 2, 8, 64, 256, 512))):
        sweep = {b: recap_rate(weights, [*args, "--batch-size", str(b)], items, e("r-sweep.npy")) for b in batches}
        at_batch_1[kind] = sweep[1]
        best = max(sweep.values())
        rows.append((f"CLIP {kind}/s by batch size: " + ", ".join(f"{b}: {r:.1f}" for b, r in sweep.items()),
                     min(sweep.values()), f"best {best:.1f}", min(sweep.values()) / best, "0.8x of best"))
    # The anchor's own batch 1 against its batch above, on the same inputs: how much of the
    # loss at batch 1 is the model's (each call streams all the weights for one item)
    # rather than recap's. For reference; no goal.
    for kind, model, args, batch, rate in (("images", "image.onnx", ["--pixels", pixels], 32, ort_img),
                                          ("texts", "text.onnx", ["--token-ids", tokens], 64, ort_txt)):
        one = ort_rate(ort, os.path.join(onnx, model), [*args, "--batch", "1"], e("o-sweep.npy"))
        rows.append((f"ONNX Runtime {kind}/s at batch 1, for reference (recap's batch 1 runs "
                     f"{at_batch_1[kind] / one:.2f}x this)", one,
                     f"its batch {batch}: {rate:.1f}", one / rate, "none (the anchor's own ratio)"))
    return rows, diff


def search_rows(bench):
    synth = os.path.join(bench, "synth-search")
    if not os.path.exists(os.path.join(synth, "queries.npy")):
        run([f"{BUILD}/recap-synth", "--images", "113347", "--captions-per-image", "5", "--queries", "2000", "--dim", "512",
             "--out", synth, "--force"])
    run_dir = os.path.join(bench, "search-run")
    if not os.path.exists(os.path.join(run_dir, "run.json")):
        run([f"{BUILD}/recap-fit", "--image-embeddings", f"{synth}/image_embeddings.npy", "--text-embeddings",
             f"{synth}/text_embeddings.npy", "--pairs", f"{synth}/pairs.npy", "--captions", f"{synth}/captions.jsonl",
             "--out", run_dir])
    # FAISS searches what recap searches: the aligned queries against the datastore rows.
    w = np.load(os.path.join(run_dir, "mapping.npy"))
    q = np.load(f"{synth}/queries.npy")
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    aligned = q @ w
    aligned /= np.linalg.norm(aligned, axis=1, keepdims=True)
    np.save(os.path.join(bench, "aligned.npy"), aligned.astype(np.float32))
    t = in_turn([f"{BUILD}/recap-caption", "--run", run_dir, "--image-embeddings", f"{synth}/queries.npy", "--out",
                 os.path.join(bench, "search.json"), "--force", "--threads", THREADS],
                [PY, os.path.join(ROOT, "scripts/bench/faiss_search.py"), "--base",
                 os.path.join(run_dir, "datastore", "embeddings.npy"), "--queries", os.path.join(bench, "aligned.npy"),
                 "--threads", THREADS])
    return [(f"retrieval-only recap-caption, 2,000 x 566,735, d = 512, whole process s, median of {len(t['ratios'])} "
             f"runs in turn (RSS {t['a_rss']:.0f} MiB)", t["a"], f"FAISS IndexFlatIP {t['b']:.1f} s (RSS {t['b_rss']:.0f} MiB)",
             t["ratio"], "at most 0.5x")]


def fit_rows(bench):
    synth = os.path.join(bench, "synth-fit")
    if not os.path.exists(os.path.join(synth, "text_embeddings.npy")):
        run([f"{BUILD}/recap-synth", "--images", "300000", "--captions-per-image", "1", "--queries", "0", "--dim", "768",
             "--no-texts", "--out", synth, "--force"])
    t = in_turn([f"{BUILD}/recap-fit", "--image-embeddings", f"{synth}/image_embeddings.npy", "--text-embeddings",
                 f"{synth}/text_embeddings.npy", "--out", os.path.join(bench, "fit-run"), "--force", "--threads", THREADS, "-v"],
                [PY, os.path.join(ROOT, "scripts/bench/numpy_fit.py"), "--x", f"{synth}/image_embeddings.npy", "--y",
                 f"{synth}/text_embeddings.npy"], b_env={"OMP_NUM_THREADS": THREADS}, pairs=5)
    GEMM_CHOICE["fit and search"] = re.search(r"fit and search float32 products: (.+)", t["a_err"]).group(1)
    return [(f"recap-fit Procrustes, 300,000 x 768, whole process s, median of {len(t['ratios'])} runs in turn "
             f"(RSS {t['a_rss']:.0f} MiB; ratios {min(t['ratios']):.2f}-{max(t['ratios']):.2f})", t["a"],
             f"numpy/scipy {t['b']:.2f} s (RSS {t['b_rss']:.0f} MiB)", t["ratio"], "at most 0.4x")]


def t5_weights(bench):
    folder = os.path.join(bench, "models", "flan-t5-base-shape")
    if not os.path.exists(os.path.join(folder, "model.safetensors")):
        run([PY, os.path.join(ROOT, "scripts/bench/make_t5_weights.py"), "--out", folder])
    return folder


def t5_compare_rows(bench, ort):
    """ReCap's decoding on FLAN-T5-base-shaped weights: 16 prompts of 64 tokens, 4 beams (4
    returned) + 36 nucleus samples (p = 0.9) each, 30 new tokens, against the PyTorch eager
    transcription (scripts/bench/t5_reference.py) and ONNX Runtime float32 (its graphs exported
    once from that transcription into BENCH/onnx-t5, the decoding in scripts/bench/ort_t5.js)
    on the same weights and ids. Each side's generation alone is timed (recap-lm -v's model
    time; the models loaded and the sessions created first); recap's whole processes are
    shown beside."""
    model = t5_weights(bench)
    onnx = os.path.join(bench, "onnx-t5")
    if not os.path.exists(os.path.join(onnx, "decoder_step.onnx")):
        run([PY, os.path.join(ROOT, "scripts/bench/onnx_t5.py"), "--model", model, "--out", onnx])
    ids, dec, logits = (os.path.join(bench, n) for n in ("t5-ids.npy", "t5-decoder-ids.npy", "t5-logits.npy"))
    i = np.arange(16 * 64)
    np.save(ids, (3 + (i * 7919) % 500).reshape(16, 64).astype(np.int64))
    np.save(dec, np.array([[0, 17, 1234, 29000, 5]] * 2, dtype=np.int64))
    np.save(ids + ".2.npy", np.load(ids)[:2])
    run([f"{BUILD}/recap-lm", "--lm", model, "--input-ids", ids + ".2.npy", "--decoder-input-ids", dec, "--logits-out",
         logits, "--force", "--threads", THREADS])
    _, out, _, _ = run([PY, os.path.join(ROOT, "scripts/bench/t5_reference.py"), "check", "--model", model, "--ids",
                        ids + ".2.npy", "--decoder-ids", dec, "--logits", logits, "--threads", THREADS])
    check = json.loads(out.strip().splitlines()[-1])
    _, out, _, _ = run([PY, os.path.join(ROOT, "scripts/bench/onnx_t5.py"), "--model", model, "--out", onnx, "--check-only",
                        "--ort", ort, "--ids", ids + ".2.npy", "--threads", THREADS])
    ort_check = json.loads(out.strip().splitlines()[-1])
    common = ["--lm", model, "--input-ids", ids, "--max-new-tokens", "30", "--min-new-tokens", "30", "--batch-size", "16",
              "--force", "--threads", THREADS]
    def generation(args, out):
        # (whole process s, generation s): recap-lm -v prints its generate() calls' time, what
        # t5_reference.py and ort_t5.js time on their side.
        seconds, _, err, _ = run([f"{BUILD}/recap-lm", *common, "-v", *args, "--out", os.path.join(bench, out)])
        return seconds, float(re.search(r"in ([0-9.]+) s of model time", err).group(1))

    rows = []
    for dtype in ("float32", "bfloat16"):
        beam = generation(["--dtype", dtype, "--num-beams", "4", "--num-return-sequences", "4"], "t5-beam.json")
        sample = generation(["--dtype", dtype, "--decoding", "nucleus", "--top-p", "0.9", "--num-return-sequences", "36"],
                            "t5-sample.json")
        rows.append((dtype, beam, sample))
    _, out, _, _ = run([PY, os.path.join(ROOT, "scripts/bench/t5_reference.py"), "bench", "--model", model, "--ids", ids,
                        "--threads", THREADS])
    torch_s = json.loads(out.strip().splitlines()[-1])
    _, out, _, _ = run(["node", os.path.join(ROOT, "scripts/bench/ort_t5.js"), "--ort", ort, "--model", onnx, "--ids", ids,
                        "--threads", THREADS])
    ort_s = json.loads(out.strip().splitlines()[-1])
    tokens = 16 * 40 * 30
    table = []
    for dtype, beam, sample in rows:
        job = (f"T5 ReCap decoding, {dtype}: 16 prompts x (4 beams + 36 nucleus samples) x 30 tokens, decoder "
               f"tokens/s of generation (beam {beam[1]:.0f} s + sampling {sample[1]:.0f} s; whole processes "
               f"{beam[0]:.0f} s + {sample[0]:.0f} s)")
        rate = tokens / (beam[1] + sample[1])
        for name, anchor, goal in (("PyTorch eager", torch_s, "2x"), ("ONNX Runtime", ort_s, "1.0x")):
            table.append((job, rate, f"{name} float32 {anchor['decoder_tokens_per_s']:.1f} (beam {anchor['beam_seconds']:.0f} s "
                          f"+ sampling {anchor['sample_seconds']:.0f} s)", rate / anchor["decoder_tokens_per_s"], goal))
    note = (f"T5 logits against the same model in float64: recap {check['recap_vs_float64']:.1e}, PyTorch float32 "
            f"{check['pytorch_float32_vs_float64']:.1e} (max |logit| {check['max_abs_logit']:.1f}); ONNX Runtime's "
            f"(onnx_t5.py, 3 rows per prompt, 6 steps) {ort_check['ort_vs_float64']:.1e}, PyTorch float32's on the same rows "
            f"{ort_check['pytorch_vs_float64']:.1e}, ONNX Runtime's against PyTorch float32's "
            f"{ort_check['ort_vs_pytorch_max_abs']:.1e}; beam search, 6 tokens: {ort_check['same_beams']}/"
            f"{ort_check['beams']} beams the same tokens.")
    return table, note


CAPTION_IMAGES = 4  # whole captioner: images per run (2 runs of each side: 6.5 min on the busy 2-core machine)


def caption_compare_rows(bench, weights):
    """The whole captioner: recap-caption --lm with configs/coco.json's settings (k = 8, 4
    beams + 36 nucleus samples at p = 0.9) and --max-new-tokens 15, on COCO-sized JPEGs with
    the ViT-B/32- and FLAN-T5-base-shaped weights and search_rows' COCO-sized datastore,
    against scripts/bench/caption_pipeline_reference.py (PyTorch eager + numpy, the same
    steps, all prompts of a batch in one generate call). Both whole processes (loading
    included), run in turn A B A B; the ratio is the median of the pairs'. Checked: the same
    retrieved captions per image and the beam candidates that agree."""
    import importlib.util
    if importlib.util.find_spec("sentencepiece") is None:
        return [("whole captioner images per minute", float("nan"), "(python3-sentencepiece is not installed)", None, "3x")]
    model = t5_weights(bench)
    images = os.path.join(bench, f"lm-images-{CAPTION_IMAGES}")
    if not os.path.isdir(images):
        source = bench_inputs.coco_images(os.path.join(bench, "images-128"), 128)
        os.makedirs(images)
        for i in range(CAPTION_IMAGES):
            shutil.copy(os.path.join(source, f"{i:05d}.jpg"), images)
    run_dir, config = os.path.join(bench, "search-run"), os.path.join(ROOT, "configs", "coco.json")
    e = lambda name: os.path.join(bench, name)
    recap_cmd = [f"{BUILD}/recap-caption", "--config", config, "--run", run_dir, "--clip", weights, "--lm", model,
                 "--images", images, "--no-cache", "--max-new-tokens", "15", "--threads", THREADS, "--force",
                 "--out", e("caption-recap.json"), "--details", e("caption-recap.jsonl")]
    python_cmd = [PY, os.path.join(ROOT, "scripts/bench/caption_pipeline_reference.py"), "--config", config, "--run",
                  run_dir, "--clip", os.path.dirname(weights), "--lm", model, "--images", images, "--max-new-tokens", "15",
                  "--threads", THREADS, "--out", e("caption-python.json"), "--details", e("caption-python.jsonl")]
    recap_s, python_s, stats = [], [], None
    for _ in range(2):
        recap_s.append(run(recap_cmd)[0])
        seconds, out, _, _ = run(python_cmd)
        python_s.append(seconds)
        stats = json.loads(out.strip().splitlines()[-1])
    ours = [json.loads(line) for line in open(e("caption-recap.jsonl"))]
    theirs = {d["image_id"]: d for d in map(json.loads, open(e("caption-python.jsonl")))}
    same_retrieved = sum([r["index"] for r in d["retrieved"]] == [r["index"] for r in theirs[d["image_id"]]["retrieved"]]
                         for d in ours)
    beams = lambda d: [c["text"] for c in d["candidates"] if c["source"] == "beam"]
    same_beams = sum(beams(d) == beams(theirs[d["image_id"]]) for d in ours)
    ratios = sorted(p / r for r, p in zip(recap_s, python_s))
    recap_rate, python_rate = 60 * CAPTION_IMAGES / min(recap_s), 60 * CAPTION_IMAGES / min(python_s)  # per minute
    phases = ", ".join(f"{k} {v:.0f}" for k, v in stats["phases_s"].items())
    return [(f"whole captioner images per minute, float32: recap-caption --lm, {CAPTION_IMAGES} JPEGs, k = 8, 4 beams + 36 "
             f"nucleus samples, 15 new tokens, 566,735-caption datastore; whole processes, best of 2 "
             f"(recap {' / '.join(f'{s:.0f}' for s in recap_s)} s); same retrieved captions {same_retrieved}/"
             f"{len(ours)} images, same beam candidates {same_beams}/{len(ours)}", recap_rate,
             f"PyTorch eager + numpy pipeline {python_rate:.2f} ({' / '.join(f'{s:.0f}' for s in python_s)} s; "
             f"{stats['tokens_generated']} tokens generated; s: {phases})", sum(ratios) / len(ratios), "3x")]


def t5_rows():
    """bench_t5 on FLAN-T5-base-shaped random weights: a batch of 16 prompts of 64 tokens,
    16 new tokens, greedy and beam-4, float32 and bfloat16."""
    rows = []
    for dtype in ("float32", "bfloat16"):
        _, out, _, _ = run([os.path.join(BUILD, "tests", "bench", "bench_t5"),
                            "--benchmark_filter=flan_t5_base_shape/batch:16/beams:[14]/kv_cache:1", "--benchmark_format=json"],
                           env={"RECAP_BENCH_THREADS": THREADS, "RECAP_BENCH_DTYPE": dtype})
        for r in json.loads(out[out.index("{"): out.rindex("}") + 1])["benchmarks"]:
            rows.append((f"T5 decoder tokens/s, {dtype}, {r['name'].split('/', 1)[1]}", r["decoder_tokens/s"],
                         "(ONNX Runtime: see the T5 ReCap decoding rows)", None, ""))
    return rows


def metrics_rows(pycocoevalcap):
    _, stdout, _, _ = run([PY, os.path.join(ROOT, "scripts/bench/metrics_speed.py"), "--pycocoevalcap", pycocoevalcap,
                           "--build", BUILD, "--json"])
    m = json.loads(stdout.strip().splitlines()[-1])
    scorers = f"pycocoevalcap's scorers {m['pycocoevalcap_s']:.2f} s (max |difference| {m['max_difference']:.1e})"
    return [(f"recap-score BLEU + ROUGE-L + CIDEr-D, {m['images']:,} images, pre-tokenised, whole process s",
             m["recap_s"], scorers, m["pycocoevalcap_s"] / m["recap_s"], "at least 25x (speed-up)"),
            ("the same with recap's PTB tokenisation included, whole process s", m["recap_ptb_s"], scorers,
             m["pycocoevalcap_s"] / m["recap_ptb_s"], "at least 10x (speed-up)")]


def main():
    p = argparse.ArgumentParser(description="every speed comparison, one Markdown table")
    p.add_argument("bench_dir", nargs="?", default=os.path.join(ROOT, "bench-data"))
    p.add_argument("--pycocoevalcap", help="a checkout of pycocoevalcap (the folder holding bleu/, rouge/, cider/)")
    args = p.parse_args()
    if args.pycocoevalcap and not os.path.isdir(os.path.join(args.pycocoevalcap, "cider")):
        sys.exit(f"bench_all: {args.pycocoevalcap}: not a pycocoevalcap checkout (no cider/ folder)")
    bench = os.path.abspath(args.bench_dir)
    os.makedirs(bench, exist_ok=True)
    weights, onnx, ort, pixels, tokens = prepare(bench)
    rows, diff = clip_rows(bench, weights, onnx, ort, pixels, tokens)
    t5_table, t5_note = t5_compare_rows(bench, ort)
    rows += search_rows(bench) + fit_rows(bench) + t5_table + t5_rows() + caption_compare_rows(bench, weights)
    if args.pycocoevalcap:
        rows += metrics_rows(os.path.abspath(args.pycocoevalcap))
    lines = [f"Machine: {machine()}; {THREADS} threads each side; {time.strftime('%Y-%m-%d')}. recap against ONNX "
             f"Runtime on the same weights and inputs: max abs difference {diff:.1e}. {t5_note} "
             f"recap's model float32 products: {GEMM_CHOICE.get('float32', 'unknown')}; its fit and search float32 "
             f"products: {GEMM_CHOICE.get('fit and search', 'unknown')}.", "",
             "| job | recap | anchor | ratio | goal |", "|---|---:|---|---:|---|"]
    for job, value, anchor, ratio, goal in rows:
        lines.append(f"| {job} | {value:,.2f} | {anchor} | {'' if ratio is None else f'{ratio:.2f}x'} | {goal} |")
    report = "\n".join(lines) + "\n"
    print(report)
    open(os.path.join(bench, "bench-all.md"), "w").write(report)


if __name__ == "__main__":
    main()
