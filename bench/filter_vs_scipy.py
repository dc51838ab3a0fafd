"""Half of bench/filter_vs_scipy.sh: makes the inputs, times a
scipy.ndimage operation on them (gaussian_filter unless OP is given), and
compares tensorwire's outputs with scipy's byte for byte.

usage: python filter_vs_scipy.py prepare DIR
       python filter_vs_scipy.py scipy DIR NAME SIGMA RUNS [OP]   (prints median ms)
       python filter_vs_scipy.py compare DIR NAME [OP]            (exit 1 if outputs differ)

Outputs are DIR/NAME.OP.scipy.npy and DIR/NAME.OP.tensorwire.npy.
"""

import sys
import time

import numpy as np
from scipy import ndimage


def prepare(d):
    rng = np.random.default_rng(0)
    np.save(f"{d}/seed.npy", rng.integers(0, 256, (1024, 768, 3)).astype(np.int32))
    np.save(f"{d}/big.npy", rng.random((4096, 4096)))
    np.save(f"{d}/f32.npy", rng.random((2048, 2048)).astype(np.float32))


def time_scipy(d, name, sigma, runs, op):
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
        op = sys.argv[6] if len(sys.argv) > 6 else "gaussian_filter"
        time_scipy(d, sys.argv[3], float(sys.argv[4]), int(sys.argv[5]), op)
    else:
        compare(d, sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else "gaussian_filter")
