#!/usr/bin/python3
"""The reference fit in numpy/scipy, as a researcher would write it: load both matrices,
L2-normalise the rows, form the normal equations (or XᵀY for Procrustes) and solve.
Prints one JSON line with the seconds of each phase and the mapping's checksum."""
import argparse, json, time

import numpy as np
import scipy.linalg

p = argparse.ArgumentParser()
p.add_argument("--x", required=True)
p.add_argument("--y", required=True)
p.add_argument("--method", choices=["procrustes", "ols", "ridge"], default="procrustes")
p.add_argument("--lam", type=float, default=0.0)
p.add_argument("--out", help="save W here (.npy) for comparison")
a = p.parse_args()

t0 = time.perf_counter()
x = np.load(a.x)
y = np.load(a.y)
x /= np.linalg.norm(x, axis=1, keepdims=True)
y /= np.linalg.norm(y, axis=1, keepdims=True)
t1 = time.perf_counter()
if a.method == "procrustes":
    u, _, vt = np.linalg.svd(x.T @ y)
    w = u @ vt
else:
    g = x.T @ x
    if a.method == "ridge":
        g += a.lam * np.eye(g.shape[0], dtype=g.dtype)
    w = scipy.linalg.solve(g, x.T @ y, assume_a="pos")
t2 = time.perf_counter()
if a.out:
    np.save(a.out, w.astype(np.float32))
print(json.dumps({"load_normalize_s": t1 - t0, "fit_s": t2 - t1, "total_s": t2 - t0}))
