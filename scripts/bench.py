#!/usr/bin/python3
"""Side-by-side benchmarks of recap against the Python references as Debian installs them
(numpy/scipy for the fit, FAISS IndexFlatIP for exact search): same data, same machine,
same run. Prints a Markdown report (also written to BENCH_DIR/report.md) with times,
peak RSS (/usr/bin/time -v), ratios and GFLOP/s as a fraction of the measured GEMM peak.

Usage: scripts/bench.sh [BENCH_DIR]   (setup + build, then this script)
"""
import json, os, platform, re, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("RECAP_BUILD_DIR", os.path.join(ROOT, "build"))
BENCH_DIR = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "bench-data"))
PY = "/usr/bin/python3"
N, D_FIT, QUERIES, K = 566747, 768, 5000, 8


def timed(cmd, env=None):
    """Runs cmd under /usr/bin/time -v; returns (stdout, wall seconds, peak RSS MiB)."""
    full = ["/usr/bin/time", "-v"] + cmd
    start = time.perf_counter()
    p = subprocess.run(full, capture_output=True, text=True, env={**os.environ, **(env or {})})
    wall = time.perf_counter() - start
    if p.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed:\n{p.stderr[-2000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) / 1024
    return p.stdout, wall, rss


def dataset(dim):
    path = os.path.join(BENCH_DIR, f"synthetic-{dim}")
    if not os.path.exists(os.path.join(path, "queries.npy")):
        subprocess.run([f"{BUILD}/recap-synth", "--images", str(N), "--captions-per-image", "1", "--queries",
                        str(QUERIES), "--dim", str(dim), "--concepts", "20000", "--no-texts", "--seed", "7",
                        "--out", path, "--force"], check=True)
    return path


def gemm_peak():
    out = subprocess.run([f"{BUILD}/tests/bench/bench_gemm", "--benchmark_format=json"], capture_output=True,
                         text=True, check=True).stdout
    rows = json.loads(out[: out.rindex("}") + 1])["benchmarks"]
    peak = {r["name"].split("/")[0] + "/" + r["name"].split("/")[1]: r["GFLOPs"] for r in rows}
    return peak, rows


def main():
    os.makedirs(BENCH_DIR, exist_ok=True)
    report = []
    say = lambda line="": (print(line, flush=True), report.append(line))
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    say(f"# recap benchmarks ({time.strftime('%Y-%m-%d')})")
    say()
    say(f"Machine: {cpu}, {os.cpu_count()} cores, {platform.machine()}; Python references from Debian "
        f"(numpy/scipy/faiss on the system OpenBLAS).")
    peak, rows = gemm_peak()
    sgemm, dgemm = peak["BM_Sgemm/4096"], peak["BM_Dgemm/4096"]
    say(f"Measured GEMM peak: SGEMM {sgemm:.0f} GFLOP/s, DGEMM {dgemm:.0f} GFLOP/s (OpenBLAS {rows[0]['label']}), "
        f"bf16 matmul {peak['BM_Bf16Matmul/768']:.0f} GFLOP/s (oneDNN {rows[2]['label']}, d=768).")
    say()

    # --- Fit -------------------------------------------------------------------------
    data = dataset(D_FIT)
    x, y = os.path.join(data, "image_embeddings.npy"), os.path.join(data, "text_embeddings.npy")
    say(f"## Fit: {N} pairs, d={D_FIT}, float32, rows L2-normalised")
    say()
    say("| method | numpy/scipy s | numpy RSS MiB | recap-fit s | recap RSS MiB | speed-up | recap GFLOP/s | of SGEMM peak |")
    say("|---|---|---|---|---|---|---|---|")
    for method in ["procrustes", "ols"]:
        _, np_wall, np_rss = timed([PY, os.path.join(ROOT, "scripts/bench/numpy_fit.py"), "--x", x, "--y", y,
                                    "--method", method])
        out_dir = os.path.join(BENCH_DIR, f"run-{method}")
        _, rc_wall, rc_rss = timed([f"{BUILD}/recap-fit", "--image-embeddings", x, "--text-embeddings", y,
                                    "--method", method, "--out", out_dir, "--force"])
        acc = json.load(open(os.path.join(out_dir, "mapping.json")))["timings_s"]["read_and_accumulate"]
        flops = 2.0 * N * D_FIT * D_FIT * (1.0 if method == "procrustes" else 1.5)  # XᵀY, plus syrk XᵀX
        gf = flops / acc / 1e9
        say(f"| {method} | {np_wall:.1f} | {np_rss:.0f} | {rc_wall:.1f} | {rc_rss:.0f} | {np_wall / rc_wall:.2f}x | "
            f"{gf:.0f} | {gf / sgemm:.0%} |")
    say()

    # --- Retrieval -------------------------------------------------------------------
    say(f"## Exact top-{K} retrieval: {QUERIES} queries against {N} captions")
    say()
    say("| d | FAISS IndexFlatIP s | FAISS RSS MiB | recap s | recap RSS MiB | speed-up | same ids | recap kernel | "
        "effective GFLOP/s | of bf16 peak | of SGEMM peak |")
    say("|---|---|---|---|---|---|---|---|---|---|---|")
    for dim in [768, 512]:
        data = dataset(dim)
        base, queries = os.path.join(data, "text_embeddings.npy"), os.path.join(data, "queries.npy")
        faiss_ids, recap_ids = os.path.join(BENCH_DIR, f"faiss-{dim}.npy"), os.path.join(BENCH_DIR, f"recap-{dim}.npy")
        out, fa_wall, fa_rss = timed([PY, os.path.join(ROOT, "scripts/bench/faiss_search.py"), "--base", base,
                                      "--queries", queries, "--k", str(K), "--ids-out", faiss_ids])
        fa_search = json.loads(out.strip().splitlines()[-1])["search_s"]
        out, _, rc_rss = timed([f"{BUILD}/tests/bench/bench_search", "--benchmark_format=json"],
                               env={"RECAP_BENCH_BASE": base, "RECAP_BENCH_QUERIES": queries, "RECAP_BENCH_K": str(K),
                                    "RECAP_BENCH_IDS_OUT": recap_ids})
        bench = json.loads(out)["benchmarks"][0]
        rc_search = bench["real_time"]  # seconds (Unit kSecond)
        same = subprocess.run([PY, "-c", f"import numpy as n; a=n.load('{faiss_ids}'); b=n.load('{recap_ids}'); "
                                         "print(f'{(a==b).all(1).mean():.4f}')"], capture_output=True, text=True).stdout.strip()
        gf = 2.0 * N * dim * QUERIES / rc_search / 1e9
        bf16_peak = peak.get(f"BM_Bf16Matmul/{dim}", peak["BM_Bf16Matmul/768"])
        say(f"| {dim} | {fa_search:.1f} | {fa_rss:.0f} | {rc_search:.1f} | {rc_rss:.0f} | {fa_search / rc_search:.2f}x | "
            f"{same} | {bench['label']} | {gf:.0f} | {gf / bf16_peak:.0%} | {gf / sgemm:.0%} |")
    say()
    say("Times are search only for both (index build / data loading excluded; recap's time includes converting the "
        "base to bfloat16). 'same ids' is the fraction of queries whose top-k ids equal FAISS's exactly.")
    with open(os.path.join(BENCH_DIR, "report.md"), "w") as f:
        f.write("\n".join(report) + "\n")


if __name__ == "__main__":
    main()
