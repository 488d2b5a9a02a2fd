#!/usr/bin/python3
"""Exact top-k inner-product search with FAISS IndexFlatIP (Debian python3-faiss), the
reference recap's exact search is compared with. Prints one JSON line of timings and
saves the ids for an exactness check."""
import argparse, json, time

import faiss
import numpy as np

p = argparse.ArgumentParser()
p.add_argument("--base", required=True)
p.add_argument("--queries", required=True)
p.add_argument("--k", type=int, default=8)
p.add_argument("--threads", type=int, default=0)
p.add_argument("--ids-out")
a = p.parse_args()
if a.threads:
    faiss.omp_set_num_threads(a.threads)
base = np.load(a.base, mmap_mode="r")
queries = np.ascontiguousarray(np.load(a.queries), dtype=np.float32)
t0 = time.perf_counter()
index = faiss.IndexFlatIP(base.shape[1])
index.add(np.ascontiguousarray(base, dtype=np.float32))
t1 = time.perf_counter()
scores, ids = index.search(queries, a.k)
t2 = time.perf_counter()
if a.ids_out:
    np.save(a.ids_out, ids.astype(np.int64))
n, d, nq = base.shape[0], base.shape[1], queries.shape[0]
print(json.dumps({"tool": "faiss.IndexFlatIP", "add_s": t1 - t0, "search_s": t2 - t1, "base": n, "dim": d,
                  "queries": nq, "k": a.k, "gflops": 2.0 * n * d * nq / (t2 - t1) / 1e9}))
