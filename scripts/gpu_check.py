#!/usr/bin/env python3
"""The measuring half of scripts/gpu_check.sh (which checks the machine and builds first):
golden tests on the GPU, then CLIP images/s and texts/s and T5 decoder tokens/s with recap
and with PyTorch in Python on the same device, weights and inputs, into one Markdown report.
Every step has a time budget and the whole run a deadline; a step that fails or runs out
of time is written into the report as such, and the report is always written.

  gpu_check.py --build DIR --out DIR [--device cuda] [--small] [--deadline EPOCH_SECONDS]
               [--machine TEXT] [--configure TEXT]

--device cpu --small runs the same steps on tiny inputs on a CPU (a test of this script).
Run it with the python whose PyTorch has CUDA; weights are random ViT-B/32- and
FLAN-T5-base-shaped ones made here (scripts/bench/), so nothing is downloaded.
"""
import argparse, json, os, re, shutil, subprocess, sys, time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "bench"))
import bench_inputs  # noqa: E402  (pure Python: the shared COCO images and captions)

PY = sys.executable
LOG = []       # (step, seconds, outcome) for the report
ROWS = []      # (job, recap, pytorch, unit)
NOTES = []


class StepFailed(Exception):
    pass


def run(cmd, budget, env=None, what=None):
    """stdout + stderr of `cmd`, within `budget` seconds and the run's deadline."""
    left = min(budget, DEADLINE - time.time())
    if left < 5:
        raise StepFailed(f"{what or cmd[0]}: skipped, the run's 8-minute deadline is near")
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=left, env={**os.environ, **(env or {})})
    except subprocess.TimeoutExpired:
        raise StepFailed(f"{what or os.path.basename(cmd[0])}: timed out after {left:.0f} s")
    if p.returncode != 0:
        tail = (p.stderr or p.stdout).strip().splitlines()[-3:]
        raise StepFailed(f"{what or os.path.basename(cmd[0])}: exit {p.returncode}: {' | '.join(tail)}")
    return p.stdout + p.stderr


def step(name, fn):
    start = time.time()
    try:
        result = fn()
        LOG.append((name, time.time() - start, "ok"))
        return result
    except StepFailed as e:
        LOG.append((name, time.time() - start, str(e)))
        print(f"gpu_check: {e}", file=sys.stderr, flush=True)
    except Exception as e:  # a parsing or file error: report it, keep measuring the rest
        LOG.append((name, time.time() - start, f"{type(e).__name__}: {e}"))
        print(f"gpu_check: {name}: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
    return None


def json_line(text):
    return json.loads([line for line in text.splitlines() if line.startswith("{")][-1])


def model_seconds(text, pattern):
    m = re.search(pattern, text)
    if not m:
        raise StepFailed(f"no model time in the output ({pattern})")
    return float(m.group(1))


def make_weights(bench, small):
    clip = os.path.join(bench, "models", "vitb32")
    if not os.path.exists(os.path.join(clip, "openai_vitb32.safetensors")):
        run([PY, os.path.join(HERE, "bench/clip_reference.py"), "make", "--out", clip], 120, what="CLIP weights")
    for name in ("vocab.json", "merges.txt"):
        shutil.copy(os.path.join(bench_inputs.DATA, "golden/clip/tiny-vit/hf", name), clip)
    t5 = os.path.join(bench, "models", "flan-t5-base-shape")
    if not os.path.exists(os.path.join(t5, "model.safetensors")):
        run([PY, os.path.join(HERE, "bench/make_t5_weights.py"), "--out", t5, "--threads", str(os.cpu_count())], 150,
            what="T5 weights")
    return os.path.join(clip, "openai_vitb32.safetensors"), t5


def make_inputs(build, bench, weights, images, texts):
    """`images` preprocessed COCO photos (the 128 of tests/data, repeated) and `texts`
    tokenised Flickr30k captions, as .npy: the models' inputs on both sides."""
    folder = bench_inputs.coco_images(os.path.join(bench, "images-128"), 128)
    captions = bench_inputs.captions(os.path.join(bench, "captions.txt"), min(texts, 5000))
    px128, ids = os.path.join(bench, "pixels-128.npy"), os.path.join(bench, "tokens-base.npy")
    scratch = os.path.join(bench, "scratch.npy")
    run([f"{build}/recap-embed", "--clip", weights, "--images", folder, "--pixels-out", px128, "--out", scratch,
         "--no-cache", "--force"], 90, what="preprocessing")
    run([f"{build}/recap-embed", "--clip", weights, "--texts", captions, "--token-ids-out", ids, "--out", scratch,
         "--no-cache", "--force"], 90, what="tokenising")
    pixels, tokens = os.path.join(bench, f"pixels-{images}.npy"), os.path.join(bench, f"tokens-{texts}.npy")
    p = np.load(px128)
    np.save(pixels, np.concatenate([p] * (images // len(p) + 1))[:images])
    t = np.load(ids)
    np.save(tokens, np.concatenate([t] * (texts // len(t) + 1))[:texts])
    return pixels, tokens


def golden_tests(build):
    lines = []
    for name in ("golden_clip", "golden_t5"):
        try:
            out = run([f"{build}/tests/{name}", "--gtest_color=no"], 150, what=name)
        except StepFailed as e:
            lines.append(f"- `{name}`: FAILED: {e}")
            continue
        passed = re.search(r"\[  PASSED  \] (\d+) test", out)
        skipped = re.search(r"\[  SKIPPED \] (\d+) test", out)
        lines.append(f"- `{name}`: passed {passed.group(1) if passed else '?'}"
                     f"{', skipped ' + skipped.group(1) if skipped else ''}")
        lines += [f"  - {line.strip()}" for line in out.splitlines() if "on cuda" in line]
        # GoogleTest names each skipped test twice (as it runs and in the summary): once here.
        lines += sorted({f"  - skipped: {m.group(1)}" for m in re.finditer(r"\[  SKIPPED \] (\S+\.\S+)", out)})
    return lines


def cosine_and_diff(a, b):
    x, y = np.load(a).astype(np.float64), np.load(b).astype(np.float64)
    cos = (x * y).sum(1) / np.linalg.norm(x, axis=1) / np.linalg.norm(y, axis=1)
    return float(np.abs(x - y).max()), float(cos.min())


def clip_rates(build, bench, weights, pixels, tokens, device, dtypes, batch):
    clip_dir = os.path.dirname(weights)
    for kind, source, flag, unit in (("images", pixels, "--pixels", "images/s"), ("texts", tokens, "--token-ids", "texts/s")):
        items = len(np.load(source, mmap_mode="r"))
        for dtype in dtypes:
            mine, theirs = os.path.join(bench, f"r-{kind}-{dtype}.npy"), os.path.join(bench, f"t-{kind}-{dtype}.npy")
            out = run([f"{build}/recap-embed", "--clip", weights, flag, source, "--batch-size", str(batch), "--device",
                       device, "--dtype", dtype, "--out", mine, "--no-cache", "--force", "-v"], 60,
                      what=f"recap-embed {kind} {dtype}")
            recap = items / model_seconds(out, r"encoded \d+ \w+ in ([0-9.]+) s of model time")
            ref = json_line(run([PY, os.path.join(HERE, "bench/clip_reference.py"), "pixels" if kind == "images" else "texts",
                                 "--model", clip_dir, flag, source, "--batch", str(batch), "--device", device, "--dtype",
                                 dtype, "--threads", str(os.cpu_count()), "--out", theirs], 90,
                                what=f"PyTorch CLIP {kind} {dtype}"))
            diff, cos = cosine_and_diff(mine, theirs)
            ROWS.append((f"CLIP {kind}, {dtype}, batch {batch} ({items} items; recap vs PyTorch: max abs diff "
                         f"{diff:.1e}, min cosine {cos:.6f})", recap, ref["rate"], unit))


def t5_rates(build, bench, model, device, dtypes, prompts, small):
    ids, dec, logits = (os.path.join(bench, n) for n in ("t5-ids.npy", "t5-decoder-ids.npy", "t5-logits.npy"))
    i = np.arange(prompts * 64)
    np.save(ids, (3 + (i * 7919) % 500).reshape(prompts, 64).astype(np.int64))
    np.save(dec, np.array([[0, 17, 1234, 29000, 5]] * 2, dtype=np.int64))
    np.save(ids + ".2.npy", np.load(ids)[:2])
    run([f"{build}/recap-lm", "--lm", model, "--input-ids", ids + ".2.npy", "--decoder-input-ids", dec, "--logits-out",
         logits, "--force", "--device", device], 60, what="recap-lm logits")
    check = json_line(run([PY, os.path.join(HERE, "bench/t5_reference.py"), "check", "--model", model, "--ids",
                           ids + ".2.npy", "--decoder-ids", dec, "--logits", logits, "--device", device], 90,
                          what="PyTorch T5 check"))
    NOTES.append(f"T5 teacher-forced logits against the same model in float64 on {device}: recap float32 "
                 f"{check['recap_vs_float64']:.1e}, PyTorch float32 {check['pytorch_float32_vs_float64']:.1e} "
                 f"(max |logit| {check['max_abs_logit']:.1f}).")
    new_tokens, samples, beams = (4, 4, 2) if small else (30, 36, 4)
    common = ["--lm", model, "--input-ids", ids, "--max-new-tokens", str(new_tokens), "--min-new-tokens",
              str(new_tokens), "--batch-size", str(prompts), "--force", "--device", device, "-v"]
    tokens = prompts * (beams + samples) * new_tokens
    for dtype in dtypes:
        beam = model_seconds(run([f"{build}/recap-lm", *common, "--dtype", dtype, "--num-beams", str(beams),
                                  "--num-return-sequences", str(beams), "--out", os.path.join(bench, "t5-beam.json")], 90,
                                 what=f"recap-lm beam {dtype}"), r"in ([0-9.]+) s of model time")
        sample = model_seconds(run([f"{build}/recap-lm", *common, "--dtype", dtype, "--decoding", "nucleus", "--top-p", "0.9",
                                    "--num-return-sequences", str(samples), "--out", os.path.join(bench, "t5-sample.json")],
                                   90, what=f"recap-lm sampling {dtype}"), r"in ([0-9.]+) s of model time")
        ref = json_line(run([PY, os.path.join(HERE, "bench/t5_reference.py"), "bench", "--model", model, "--ids", ids,
                             "--beams", str(beams), "--samples", str(samples), "--new-tokens", str(new_tokens), "--device",
                             device, "--dtype", dtype, "--threads", str(os.cpu_count())], 120,
                            what=f"PyTorch T5 decoding {dtype}"))
        ROWS.append((f"T5 ReCap decoding, {dtype}: {prompts} prompts x ({beams} beams + {samples} nucleus samples) x "
                     f"{new_tokens} tokens (recap beam {beam:.2f} s + sampling {sample:.2f} s; PyTorch "
                     f"{ref['beam_seconds']:.2f} s + {ref['sample_seconds']:.2f} s)", tokens / (beam + sample),
                     ref["decoder_tokens_per_s"], "decoder tokens/s"))


def bench_t5(build, device, dtypes, small):
    """recap's decoding rates on their own (bench_t5: random FLAN-T5-base weights, 16 prompts of 64 tokens, 16 new tokens)."""
    name = "tiny" if small else "flan_t5_base_shape"
    for dtype in dtypes:
        out = run([f"{build}/tests/bench/bench_t5", f"--benchmark_filter={name}/batch:16/beams:[14]/kv_cache:1",
                   "--benchmark_format=json", "--benchmark_min_time=0.2"], 90,
                  env={"RECAP_BENCH_DEVICE": device, "RECAP_BENCH_DTYPE": dtype}, what=f"bench_t5 {dtype}")
        for r in json.loads(out[out.index("{"): out.rindex("}") + 1])["benchmarks"]:
            ROWS.append((f"T5 decoder tokens/s, {dtype}, {r['name'].split('/', 1)[1]} (bench_t5)", r["decoder_tokens/s"],
                         None, "decoder tokens/s"))


def report(a, golden, started):
    lines = [f"# recap on {a.device}: gpu_check ({time.strftime('%Y-%m-%d %H:%M')})", "",
             f"Machine: {a.machine or 'not given'}.", f"Build: {a.configure or 'not given'}.",
             f"Total time: {time.time() - started:.0f} s of the 480 s budget.", "", "## Golden tests", ""]
    lines += golden or ["- not run"]
    lines += ["", "## Speed (recap against PyTorch eager in Python, same device, weights and inputs)", "",
              "| job | recap | PyTorch | recap / PyTorch | unit |", "|---|---:|---:|---:|---|"]
    for job, recap, torch_rate, unit in ROWS:
        ratio = f"{recap / torch_rate:.2f}x" if torch_rate else ""
        lines.append(f"| {job} | {recap:,.1f} | {'' if torch_rate is None else f'{torch_rate:,.1f}'} | {ratio} | {unit} |")
    lines += [""] + NOTES + ["", "## Steps", "", "| step | seconds | outcome |", "|---|---:|---|"]
    lines += [f"| {name} | {seconds:.1f} | {outcome} |" for name, seconds, outcome in LOG]
    text = "\n".join(lines) + "\n"
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "gpu-report.md"), "w") as f:
        f.write(text)
    print(text)


def main():
    global DEADLINE
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--small", action="store_true", help="tiny inputs (a test of this script, e.g. with --device cpu)")
    ap.add_argument("--deadline", type=float, default=time.time() + 420, help="epoch seconds by which to finish")
    ap.add_argument("--machine", default="")
    ap.add_argument("--configure", default="")
    a = ap.parse_args()
    DEADLINE = a.deadline - 15  # the report's own seconds
    started = time.time()
    build, bench = os.path.abspath(a.build), os.path.abspath(os.path.join(a.out, "data"))
    os.makedirs(bench, exist_ok=True)
    dtypes = ["float32", "bfloat16", "float16"] if a.device == "cuda" else ["float32", "bfloat16"]
    golden = step("golden tests", lambda: golden_tests(build))
    made = step("weights", lambda: make_weights(bench, a.small))
    if made:
        weights, t5 = made
        images, texts = (16, 64) if a.small else (2048, 8192)
        inputs = step("inputs", lambda: make_inputs(build, bench, weights, images, texts))
        if inputs:
            step("CLIP", lambda: clip_rates(build, bench, weights, *inputs, a.device, dtypes, 8 if a.small else 256))
        step("T5 against PyTorch", lambda: t5_rates(build, bench, t5, a.device, dtypes[:2], 2 if a.small else 16, a.small))
        step("bench_t5", lambda: bench_t5(build, a.device, dtypes[:2], a.small))
    report(a, golden, started)


DEADLINE = 0.0
if __name__ == "__main__":
    main()
