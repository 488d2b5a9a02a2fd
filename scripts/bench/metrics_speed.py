#!/usr/bin/python3
"""Speed of recap-score's BLEU + ROUGE-L + CIDEr-D against pycocoevalcap's Python scorers,
same data, same run: on pre-tokenised text, and with recap's PTB tokenisation included.
Each side's time is the best of 3 runs. The data: the golden Flickr30k test captions
(already tokenised) replicated to 5,000 images. pycocoevalcap is not part of this project: point --pycocoevalcap
at a checkout (the folder holding bleu/, rouge/, cider/).

Usage: scripts/bench/metrics_speed.py --pycocoevalcap DIR [--copies 5] [--build build] [--json]
(--json: one JSON line of the figures instead of the sentences, for scripts/bench_all.py)
"""
import argparse, json, os, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
p = argparse.ArgumentParser()
p.add_argument("--pycocoevalcap", required=True)
p.add_argument("--copies", type=int, default=5)
p.add_argument("--build", default=os.path.join(ROOT, "build"))
p.add_argument("--json", action="store_true")
a = p.parse_args()

golden = os.path.join(ROOT, "tests", "data", "golden", "metrics", "flickr30k-test")
refs = json.load(open(os.path.join(golden, "refs.json")))["annotations"]
results = json.load(open(os.path.join(golden, "results.json")))
gts, res, annotations, replicated = {}, {}, [], []
for c in range(a.copies):
    for r in refs:
        key = f"{c}_{r['image_id']}"
        gts.setdefault(key, []).append(r["caption"])
        annotations.append({"image_id": key, "caption": r["caption"]})
    for r in results:
        key = f"{c}_{r['image_id']}"
        res[key] = [r["caption"]]
        replicated.append({"image_id": key, "caption": r["caption"]})

sys.path.insert(0, a.pycocoevalcap)
from bleu.bleu import Bleu  # noqa: E402  (from the user's checkout)
from rouge.rouge import Rouge  # noqa: E402
from cider.cider import Cider  # noqa: E402

python_s = float("inf")
for _ in range(3):
    start = time.perf_counter()
    py = {}
    b, _ = Bleu(4).compute_score(gts, res, verbose=0)
    py.update({f"Bleu_{i + 1}": v for i, v in enumerate(b)})
    py["ROUGE_L"], _ = Rouge().compute_score(gts, res)
    py["CIDEr"], _ = Cider().compute_score(gts, res)
    python_s = min(python_s, time.perf_counter() - start)

def time_recap(tmp, *flags):
    """The best of 3 whole recap-score processes (start-up included) and their scores."""
    cmd = [os.path.join(a.build, "recap-score"), "--results", os.path.join(tmp, "results.json"), "--refs",
           os.path.join(tmp, "refs.json"), *flags, "--json", os.path.join(tmp, "s.json"), "--force"]
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        best = min(best, time.perf_counter() - start)
    return best, json.load(open(os.path.join(tmp, "s.json")))


with tempfile.TemporaryDirectory() as tmp:
    json.dump({"annotations": annotations}, open(os.path.join(tmp, "refs.json"), "w"))
    json.dump(replicated, open(os.path.join(tmp, "results.json"), "w"))
    recap_s, ours = time_recap(tmp, "--no-tokenize")
    # The same captions through recap's PTB tokenizer first (pycocoevalcap's Java
    # tokenizer is not part of the Python side: the goal is against the scorers alone).
    ptb_s, _ = time_recap(tmp)

diff = max(abs(ours[k] - float(py[k])) for k in py)
if a.json:
    print(json.dumps({"images": len(res), "pycocoevalcap_s": python_s, "recap_s": recap_s, "recap_ptb_s": ptb_s,
                      "max_difference": diff}))
    sys.exit(0)
print(f"images: {len(res)}  pycocoevalcap: {python_s:.2f} s  recap-score: {recap_s:.2f} s  "
      f"speed-up: {python_s / recap_s:.1f}x  max |difference|: {diff:.1e}")
print(f"recap-score with PTB tokenisation: {ptb_s:.2f} s  speed-up over the scorers alone: {python_s / ptb_s:.1f}x")
