"""Regenerate src/filter/numpy_exp_samples.txt from NumPy's own AVX-512 float64 exp.

Usage (on a CPU with AVX-512, i.e. x86-64-v4, with a default NumPy 2.x wheel):

    python tools/numpy_exp_samples.py src/filter/numpy_exp_samples.txt

The file holds (argument, np.exp(argument)) pairs as two 16-digit hex bit
patterns per line; `#` lines are comments. The unit tests of
src/filter/numpy_exp.rs check `numpy_avx512_exp` against every pair.

On such a CPU a default Linux x86-64 NumPy wheel computes float64 `np.exp`
with Intel SVML's `__svml_exp8_ha` (the X86_V4 build of `DOUBLE_exp`). On any
other CPU, or with NPY_DISABLE_CPU_FEATURES naming X86_V4 (or AVX512F /
AVX512_SKX on older NumPy), NumPy calls the C library's `exp` instead; the
script refuses to run then, since it would record the wrong function.

The arguments are deterministic (fixed seed, fixed lists): special values and
every threshold of the algorithm with their neighbours, the arguments scipy's
Gaussian kernels use, arguments where NumPy's result differs from the C
library's `exp` (Python's `math.exp`), and random ones. Regenerating on an
AVX-512 machine must reproduce the committed pairs line for line (only the
`# source:` comment line names the machine).
"""

import math
import os
import platform
import struct
import sys

import numpy as np

TOTAL = 2000
DIFFERING = 800
SEED = 20260107

# Bit patterns of the thresholds inside __svml_exp8_ha and its scalar fallback.
THRESHOLDS = [
    0x40861DA04CBAFE44,  # |x| >= this leaves the main path (about 1021 ln 2)
    0xC0861DA04CBAFE44,
    0x40862E42FEFA39EF,  # overflow above (ln of the largest double)
    0xC086232BDD7ABCD2,  # subnormal results below (about -1022 ln 2)
    0xC0874910D52D3051,  # +0 below (about -1075 ln 2)
    0x3C90000000000000,  # 2**-54
    0xBC90000000000000,
]
SPECIALS = [
    0x7FF8000000000000,  # nan
    0xFFF8000000000000,  # -nan
    0x7FF0000000000001,  # signalling nan
    0x7FF0000000000000,  # inf
    0xFFF0000000000000,  # -inf
    0x0000000000000000,  # 0
    0x8000000000000000,  # -0
    0x0000000000000001,  # smallest subnormal
    0x8000000000000001,
    0x000FFFFFFFFFFFFF,  # largest subnormal
    0x0010000000000000,  # smallest normal
    0x7FEFFFFFFFFFFFFF,  # largest double
    0xFFEFFFFFFFFFFFFF,
    0x3FF0000000000000,  # 1
    0xBFF0000000000000,  # -1
]
BASE_SIGMAS = [0.5, 1.0, 1.5, 2.0, 3.0, 8.0]


def bits_to_f64(bits: list[int]) -> np.ndarray:
    return np.array(bits, dtype=np.uint64).view(np.float64)


def c_exp_bits(x: float) -> int:
    """The C library's exp (Python's math.exp), as a bit pattern."""
    try:
        y = math.exp(x)
    except OverflowError:
        y = math.inf
    if math.isnan(y):
        return struct.unpack("<Q", struct.pack("<d", x))[0] | 0x0008000000000000
    return struct.unpack("<Q", struct.pack("<d", y))[0]


def check_numpy_uses_avx512_exp() -> str:
    """Return a description of the CPU path, or exit if it is not AVX-512."""
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    disabled = os.environ.get("NPY_DISABLE_CPU_FEATURES", "").replace(",", " ").split()
    names = {"X86_V4", "AVX512F", "AVX512_SKX"}
    if names & set(disabled):
        sys.exit(f"NPY_DISABLE_CPU_FEATURES={' '.join(disabled)} disables NumPy's AVX-512 exp")
    feature = "X86_V4" if "X86_V4" in __cpu_features__ else "AVX512_SKX"
    if not __cpu_features__.get(feature) or not __cpu_features__.get("AVX512F"):
        sys.exit(f"this CPU lacks {feature}/AVX512F: NumPy's exp is the C library's here")
    if feature not in __cpu_dispatch__:
        sys.exit(f"this NumPy was built without a {feature} dispatch target")
    # Both paths agree on most arguments; they must disagree on some of these.
    probe = np.linspace(-10.0, 0.0, 10001)
    got = np.exp(probe).view(np.uint64).tolist()
    if got == [c_exp_bits(x) for x in probe.tolist()]:
        sys.exit("np.exp equals the C library's exp on every probe: not the AVX-512 exp")
    return f"NumPy {np.__version__} np.exp, {feature}, {platform.machine()}"


def kernel_arguments(rng: np.random.Generator) -> np.ndarray:
    """What scipy.ndimage._gaussian_kernel1d passes to np.exp."""
    # math.exp (the C library's), not np.exp: the arguments must not depend
    # on the exp being recorded, or each CPU would draw other sigmas.
    logs = rng.uniform(math.log(0.3), math.log(12.0), 10)
    sigmas = BASE_SIGMAS + [math.exp(float(v)) for v in logs]
    args = []
    for sigma in sigmas:
        radius = int(4.0 * sigma + 0.5)
        x = np.arange(-radius, radius + 1)
        args.append(-0.5 / (sigma * sigma) * x**2)
    return np.concatenate(args)


def build_pairs(exp) -> list[tuple[int, int]]:
    """Choose the arguments and evaluate them with `exp` (array -> array)."""
    rng = np.random.default_rng(SEED)
    parts = [bits_to_f64(SPECIALS)]
    offsets = np.arange(-3, 4, dtype=np.int64)
    for t in THRESHOLDS:
        parts.append((bits_to_f64([t]).view(np.int64) + offsets).view(np.float64))
    parts.append(np.linspace(-745.2, -708.3, 60))  # subnormal results
    parts.append(np.linspace(707.5, 709.9, 20))  # scalar fallback, overflow
    parts.append(kernel_arguments(rng))
    chosen = np.concatenate(parts)

    # Arguments where np.exp differs from the C library's exp.
    pool = np.concatenate(
        [
            rng.uniform(-746.0, 710.0, 60000),
            rng.uniform(-10.0, 0.0, 60000),
            # math.exp2 (the C library's), not np.exp2, for the same reason.
            np.array([math.exp2(float(v)) for v in rng.uniform(-60.0, 0.0, 20000)])
            * rng.choice([-1.0, 1.0], 20000),
        ]
    )
    rng.shuffle(pool)
    values = exp(pool).view(np.uint64).tolist()
    differs = [i for i, x in enumerate(pool.tolist()) if values[i] != c_exp_bits(x)][:DIFFERING]
    chosen = np.concatenate([chosen, pool[differs]])

    # Random arguments (uniform, then random bit patterns) up to TOTAL.
    seen: set[int] = set()
    unique = []
    for b in chosen.view(np.uint64).tolist():
        if b not in seen:
            seen.add(b)
            unique.append(b)
    fill = np.concatenate(
        [
            rng.uniform(-746.0, 710.0, TOTAL),
            rng.integers(0, 2**64, TOTAL, dtype=np.uint64).view(np.float64),
        ]
    )
    rng.shuffle(fill)
    for b in fill.view(np.uint64).tolist():
        if len(unique) >= TOTAL:
            break
        if b not in seen:
            seen.add(b)
            unique.append(b)
    args = bits_to_f64(unique)
    results = exp(args).view(np.uint64)
    return list(zip(unique, results.tolist(), strict=True))


def write_pairs(path: str, pairs: list[tuple[int, int]], source: str) -> None:
    with open(path, "w", encoding="ascii") as f:
        f.write("# (argument, np.exp(argument)) as f64 bit patterns, NumPy's AVX-512 exp.\n")
        f.write("# Written by tools/numpy_exp_samples.py; read by src/filter/numpy_exp.rs.\n")
        f.write(f"# source: {source}\n")
        for x, y in pairs:
            f.write(f"{x:016x} {y:016x}\n")


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    source = check_numpy_uses_avx512_exp()
    with np.errstate(all="ignore"):
        pairs = build_pairs(np.exp)
    write_pairs(sys.argv[1], pairs, source)
    differ = sum(1 for x, y in pairs if y != c_exp_bits(float(bits_to_f64([x])[0])))
    print(f"{len(pairs)} pairs, {differ} differ from math.exp", file=sys.stderr)


if __name__ == "__main__":
    main()
