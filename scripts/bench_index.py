#!/usr/bin/python3
"""FAISS's own Python on the index recap built (scripts/bench_index.sh runs it): the same
file, the same queries and search settings, k = 8 straight from FAISS (no exact rescoring).
Prints one JSON line: queries/s at batch 1 and batch 1,024, recall@1 and recall@8 against
the exact ids recap wrote."""
import argparse
import json
import time

import faiss
import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("--index", required=True)
parser.add_argument("--store", required=True, help="folder with queries.npy and exact_ids.npy")
parser.add_argument("--nprobe", type=int, default=0)
parser.add_argument("--ef-search", type=int, default=0)
parser.add_argument("--single", type=int, default=200)
args = parser.parse_args()

index = faiss.read_index(args.index)
inner = faiss.downcast_index(index)
if args.nprobe:
    faiss.extract_index_ivf(index).nprobe = args.nprobe
if args.ef_search:
    inner.hnsw.efSearch = args.ef_search
queries = np.load(f"{args.store}/queries.npy")
truth = np.load(f"{args.store}/exact_ids.npy")
k = truth.shape[1]

start = time.perf_counter()
for first in range(0, len(queries), 1024):
    _, ids = index.search(queries[first:first + 1024], k)
qps_1024 = len(queries) / (time.perf_counter() - start)
single = min(args.single, len(queries))
start = time.perf_counter()
for q in range(single):
    index.search(queries[q:q + 1], k)
qps_1 = single / (time.perf_counter() - start)
_, ids = index.search(queries, k)
recall_1 = float(np.mean(ids[:, 0] == truth[:, 0]))
recall_8 = float(np.mean([len(set(a) & set(b)) / k for a, b in zip(ids, truth)]))
print(json.dumps({"job": "python", "qps_1024": qps_1024, "qps_1": qps_1, "recall_1": recall_1, "recall_8": recall_8,
                  "faiss": faiss.__version__}))
