"""Half of bench/ops_vs_scipy.sh: makes the inputs, times scipy's
gaussian_filter1d, gaussian_laplace and gaussian_gradient_magnitude on them,
and compares tensorwire's outputs with scipy's byte for byte.

usage: python ops_vs_scipy.py prepare DIR
       python ops_vs_scipy.py scipy DIR NAME OP SIGMA RUNS   (prints median ms)
       python ops_vs_scipy.py compare DIR NAME OP            (exit 1 if outputs differ)
"""

import sys
import time

import numpy as np
from scipy import ndimage


def prepare(d):
    rng = np.random.default_rng(0)
    np.save(f"{d}/seed.npy", rng.integers(0, 256, (1024, 768, 3)).astype(np.int32))
    np.save(f"{d}/f32.npy", rng.random((2048, 2048)).astype(np.float32))


def time_scipy(d, name, op, sigma, runs):
    a = np.load(f"{d}/{name}.npy")
    f = getattr(ndimage, op)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        out = f(a, sigma)
        times.append((time.perf_counter() - t) * 1e3)
    np.save(f"{d}/{name}.{op}.scipy.npy", out)
    print(f"{sorted(times)[len(times) // 2]:.3f}")


def compare(d, name, op):
    a = np.load(f"{d}/{name}.{op}.scipy.npy")
    b = np.load(f"{d}/{name}.{op}.tensorwire.npy")
    same = a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    print("byte-equal" if same else "DIFFERENT")
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    cmd, d = sys.argv[1], sys.argv[2]
    if cmd == "prepare":
        prepare(d)
    elif cmd == "scipy":
        time_scipy(d, sys.argv[3], sys.argv[4], float(sys.argv[5]), int(sys.argv[6]))
    else:
        compare(d, sys.argv[3], sys.argv[4])
