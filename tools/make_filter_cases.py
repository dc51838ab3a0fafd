"""scipy.ndimage.gaussian_filter cases in the golden format (tests/golden/).

Two uses:

    # the repository's own golden cases (what tests/golden/ holds):
    NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL AVX512_SPR" \
        python tools/make_filter_cases.py tests/golden
    # N extra random cases, for a check beyond the committed ones:
    NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL AVX512_SPR" \
        python tools/make_filter_cases.py OUTDIR --random N SEED
    then: TENSORWIRE_GOLDEN_DIR=OUTDIR cargo test --lib golden
    # the cases whose results change under numpy's AVX-512 exp (tests/golden_avx512/),
    # here with tensorwire's emulation of it in place of numpy.exp:
    NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL AVX512_SPR" \
        python tools/make_filter_cases.py tests/golden_avx512 \
        --emulate-avx512-exp LIBPATH --only-differing tests/golden

Options (after OUTDIR, with or without --random):
    --emulate-avx512-exp LIBPATH  for the whole run, numpy.exp on a contiguous
        float64 array is tools/numpy_exp_lib's emulation of numpy's AVX-512
        exp (LIBPATH: the built libtensorwire_numpy_exp.so); anything else
        still goes to the real numpy.exp
    --only-differing REFDIR  after making every case, keep only those whose
        output.npy, expected_error or kernel bits (params.json "passes")
        differ from the case of the same id in REFDIR

Each case_NNNN/ holds input.npy, output.npy (absent when scipy raised) and
params.json: the call (floats also as exact f64 bits, `*_bits`), scipy's
exception if any, and the 1-D passes scipy made with each kernel's bits,
recorded from inside scipy. manifest.json lists the cases and the
environment. The committed set covers every dtype (bool ... complex128,
float16, big-endian, Fortran order), every mode, orders 0-3, per-axis
lists, radius, axes (negative, unordered), truncate, output_dtype, edge
values (integer extremes, NaN, inf, -0.0, huge cval), tiny axes under
long kernels, empty and rank-0 arrays, and scipy's errors. The output is
deterministic for a given seed, scipy and numpy.

NPY_DISABLE_CPU_FEATURES keeps numpy's float64 exp on the C library's
(numpy's AVX-512 exp differs in the last bit for some arguments, and
scipy's kernels with it); the manifest records which exp numpy used
("numpy_exp") and whether it agrees with the C library's.
"""

import ctypes
import filecmp
import json
import math
import os
import platform
import shutil
import struct
import sys
import warnings
from fractions import Fraction

import numpy as np
import scipy
from scipy.ndimage import _filters

warnings.simplefilter("ignore")

DT = [
    "bool",
    "uint8",
    "int8",
    "uint16",
    "int16",
    "uint32",
    "int32",
    "uint64",
    "int64",
    "float32",
    "float64",
    "complex64",
    "complex128",
]
MODES = [
    "reflect",
    "constant",
    "nearest",
    "mirror",
    "wrap",
    "grid-constant",
    "grid-mirror",
    "grid-wrap",
]


def hx(v):
    """The f64 bit pattern of v, as 0x-prefixed hex."""
    return f"0x{struct.unpack('<Q', struct.pack('<d', float(v)))[0]:016x}"


def bits(v):
    """hx of a scalar, or of each item of a list."""
    return [hx(x) for x in v] if isinstance(v, (list, tuple)) else hx(v)


def plain(v):
    """A float as JSON can hold it (NaN and infinities as strings)."""
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return v


# --- Which exp numpy uses ----------------------------------------------------------------

_real_exp = np.exp
EMULATED_EXP = "numpy-avx512 (emulated: tools/numpy_exp_lib)"
_exp_used = None  # None: numpy's own; else EMULATED_EXP


def emulate_avx512_exp(libpath):
    """Puts tools/numpy_exp_lib's emulation of numpy's AVX-512 float64 exp in
    place of numpy.exp for the rest of the run. scipy's _gaussian_kernel1d
    looks up np.exp at each call, so it gets this one; a call it cannot take
    (not a C-contiguous float64 ndarray, or extra arguments) goes to the
    real numpy.exp."""
    global _exp_used
    lib = ctypes.CDLL(os.path.abspath(libpath))
    fn = lib.tensorwire_numpy_avx512_exp_array
    fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    fn.restype = None

    def exp(x, *args, **kwargs):
        if (
            args
            or kwargs
            or type(x) is not np.ndarray
            or x.dtype != np.float64
            or not x.flags.c_contiguous
        ):
            return _real_exp(x, *args, **kwargs)
        out = np.empty_like(x)
        fn(x.ctypes.data, out.ctypes.data, x.size)
        return out

    np.exp = exp
    _exp_used = EMULATED_EXP


def numpy_exp_kind():
    """Which float64 exp numpy's calls give: the C library's, numpy's AVX-512
    one, or this script's emulation of the latter."""
    if _exp_used is not None:
        return _exp_used
    from numpy.lib.introspect import opt_func_info

    current = opt_func_info(func_name="^exp$", signature="float64")["exp"]["dd"]["current"]
    return "numpy-avx512" if "X86_V4" in current or "AVX512" in current else "libm"


# --- What scipy does, recorded from inside it ------------------------------------------

_PASSES = []
_original_1d = _filters.gaussian_filter1d
_original_kernel = _filters._gaussian_kernel1d


def _recording_1d(
    input,
    sigma,
    axis=-1,
    order=0,
    output=None,
    mode="reflect",
    cval=0.0,
    truncate=4.0,
    *,
    radius=None,
):
    _PASSES.append(
        {
            "axis": int(axis),
            "sigma": float(sigma),
            "sigma_bits": hx(sigma),
            "order": int(order),
            "mode": mode,
        }
    )
    return _original_1d(input, sigma, axis, order, output, mode, cval, truncate, radius=radius)


def _recording_kernel(sigma, order, radius):
    k = _original_kernel(sigma, order, radius)
    w = k[::-1]  # what correlate1d receives
    half = len(w) // 2
    if all(w[half + j] == w[half - j] for j in range(1, half + 1)):
        symmetry = 1
    elif all(w[half + j] == -w[half - j] for j in range(1, half + 1)):
        symmetry = -1
    else:
        symmetry = 0
    _PASSES[-1].update(
        {"radius": int(radius), "symmetry": symmetry, "kernel_bits": [hx(x) for x in k]}
    )
    return k


_filters.gaussian_filter1d = _recording_1d
_filters._gaussian_kernel1d = _recording_kernel


def run_case(
    out,
    idx,
    category,
    x,
    sigma=1.0,
    order=0,
    mode="reflect",
    cval=0.0,
    cval_imag=None,
    truncate=4.0,
    radius=None,
    axes=None,
    output_dtype=None,
):
    """Runs scipy on one call and writes case_<idx>; returns its manifest row."""
    dt = x.dtype
    complex_in = dt.kind == "c"
    if complex_in and cval_imag is None:
        cval_imag = 0.0
    if not complex_in:
        cval_imag = None
    cv = complex(cval, cval_imag) if complex_in else cval
    _PASSES.clear()
    err, res = None, None
    try:
        res = _filters.gaussian_filter(
            x,
            sigma,
            order=order,
            mode=mode,
            cval=cv,
            truncate=truncate,
            radius=radius,
            axes=axes,
            output=output_dtype,
        )
    except Exception as e:  # noqa: BLE001 - scipy's exception is the expected result
        err = f"{type(e).__name__}: {e}"
    cid = f"case_{idx:04d}"
    d = os.path.join(out, cid)
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, "input.npy"), x)
    if err is None:
        # C order, native byte order; rank 0 stays rank 0 (np.ascontiguousarray
        # would make it 1-D).
        np.save(os.path.join(d, "output.npy"), res.astype(res.dtype.newbyteorder("="), order="C"))
    p = {
        "id": cid,
        "category": category,
        "dtype": dt.name,
        "shape": list(x.shape),
        "sigma": plain(sigma),
        "sigma_bits": bits(sigma),
        "order": order,
        "mode": mode,
        "cval": plain(cval),
        "cval_bits": hx(cval),
        "cval_imag": plain(cval_imag),
        "cval_imag_bits": None if cval_imag is None else hx(cval_imag),
        "truncate": plain(truncate),
        "truncate_bits": hx(truncate),
        "radius": radius,
        "axes": axes,
        "output_dtype": output_dtype,
        "input_byteorder": dt.byteorder,
        "input_fortran_order": bool(x.flags.f_contiguous and not x.flags.c_contiguous),
        "expected_error": err,
        "output_dtype_actual": None if res is None else res.dtype.name,
    }
    if err is None:
        p["passes"] = [dict(q) for q in _PASSES]
    with open(os.path.join(d, "params.json"), "w") as f:
        json.dump(p, f, indent=1)
    return {
        "id": cid,
        "category": category,
        "dtype": dt.name,
        "shape": list(x.shape),
        "error": err is not None,
    }


# --- Inputs ---------------------------------------------------------------------------


def make_input(rng, dt, shape, edge=False):
    """Random data of dtype dt; edge=True puts the type's extremes in."""
    dt = np.dtype(dt)
    if dt.byteorder not in "=|":
        return make_input(rng, dt.newbyteorder("="), shape, edge).astype(dt)
    if dt.kind == "b":
        return rng.random(shape) < 0.5
    if dt.kind == "c":
        part = np.float32 if dt.itemsize == 8 else np.float64
        re = make_input(rng, part, shape, edge)
        im = make_input(rng, part, shape, edge)
        return (re + 1j * im).astype(dt)
    if dt.kind in "iu":
        info = np.iinfo(dt)
        if edge:
            a = rng.choice(
                np.array(
                    [info.min, info.max, 0, 1, info.max - 1, info.min + 1 if info.min else 2],
                    dtype=dt,
                ),
                shape,
            )
            return a.astype(dt)
        lo, hi = (info.min, info.max) if rng.random() < 0.5 else (0, 50)
        return rng.integers(lo, hi, shape, dtype=dt, endpoint=True)
    a = rng.normal(0, 10 ** rng.uniform(-3, 6), shape).astype(dt)
    if edge and a.size:
        specials = [
            np.nan,
            np.inf,
            -np.inf,
            -0.0,
            0.0,
            np.finfo(dt).max,
            -np.finfo(dt).max,
            np.finfo(dt).tiny,
            np.finfo(dt).smallest_subnormal,
        ]
        for _ in range(max(1, a.size // 4)):
            a.flat[rng.integers(0, a.size)] = rng.choice(specials)
    return a


def pick(rng, items):
    return items[int(rng.integers(0, len(items)))]


# --- The committed set ----------------------------------------------------------------


def curated(out, seed):
    rng = np.random.default_rng(seed)
    rows = []

    def case(category, x, **kw):
        rows.append(run_case(out, len(rows), category, x, **kw))

    # A: every dtype x mode x order 0-2, 1-D, sometimes a non-zero cval.
    for dt in DT:
        for mode in MODES:
            for order in (0, 1, 2):
                shape = (pick(rng, [1, 2, 3, 5, 8, 13, 21]),)
                cval = 0.0
                if "constant" in mode and rng.random() < 0.7:
                    cval = pick(
                        rng, [0.75, 1.0, 1000.0, 300.0, 7.5, -3.25, -1.75, 2.5, math.inf, math.nan]
                    )
                kw = {}
                if dt.startswith("complex"):
                    kw["cval_imag"] = pick(rng, [0.0, 1.5])
                case(
                    "A_dtype_mode_order",
                    make_input(rng, dt, shape),
                    sigma=pick(rng, [2.5, 0.7, 1.0, 3.7, 2.0, 1.5, 1.3, 0.5]),
                    order=order,
                    mode=mode,
                    cval=cval,
                    **kw,
                )

    # B: axes of 1-3 under kernels longer than the axis, every mode.
    for dt in ("float64", "int16", "uint8"):
        for n in (1, 2, 3):
            for mode in MODES:
                case(
                    "B_tiny_axis_large_radius",
                    make_input(rng, dt, (n,)),
                    sigma=1.5,
                    order=int(rng.integers(0, 3)),
                    mode=mode,
                    cval=pick(rng, [0.0, 1.25, -2.5]),
                    radius=pick(rng, [None, 4, 5, 9, 17]),
                )
    for shape in ((1, 4), (2, 4), (3, 4), (1, 2, 3), (2, 1), (3, 1, 2, 1), (1, 1)):
        for dt in ("float64", "float32", "int32", "complex128"):
            rank = len(shape)
            case(
                "B_tiny_axis_large_radius",
                make_input(rng, dt, shape),
                sigma=[pick(rng, [6.0, 0.9, 3.0]) for _ in range(rank)],
                order=int(rng.integers(0, 3)),
                mode=pick(rng, MODES),
                cval=0.5,
                radius=[pick(rng, [3, 6, 11]) for _ in range(rank)],
            )

    # C: 2-4-D, per-axis lists, axes subsets (negative, unordered), truncate, radius.
    shapes = [(3, 4, 5), (3, 4, 2, 5), (6, 5, 4), (2, 3, 4, 3), (7, 5), (16, 12), (4, 9)]
    for i in range(160):
        shape = pick(rng, shapes)
        rank = len(shape)
        dt = DT[i % len(DT)]
        axes = None
        naxes = rank
        if rng.random() < 0.35:
            k = int(rng.integers(1, rank + 1))
            axes = [int(a) - (rank if rng.random() < 0.5 else 0) for a in rng.permutation(rank)[:k]]
            naxes = k

        def per(f, naxes=naxes):
            return f() if rng.random() < 0.5 else [f() for _ in range(naxes)]

        kw = {}
        if dt.startswith("complex"):
            kw["cval_imag"] = pick(rng, [0.0, -0.5])
        radius = None
        if rng.random() < 0.25:
            radius = per(lambda: int(rng.integers(0, 7)))
        case(
            "C_multi_dim",
            make_input(rng, dt, shape),
            sigma=per(lambda: pick(rng, [0.5, 0.7, 1.0, 1.3, 1.5, 2.0, 2.5, 3.7, 4.5, 0.0])),
            order=per(lambda: int(rng.integers(0, 4))),
            mode=per(lambda: pick(rng, MODES)),
            cval=pick(
                rng, [0.0, 2.5, -3.25, 7.5, 0.75, -1.75, math.nan, 1.0, 300.0, 1000.0, math.inf]
            ),
            truncate=pick(rng, [4.0, 4.0, 2.5, 1.0, 3.0]),
            radius=radius,
            axes=axes,
            **kw,
        )

    # D: edge values: integer extremes (casts that wrap), NaN, inf, -0.0, huge cval.
    for dt in DT:
        for _ in range(7):
            shape = pick(rng, [(12,), (6, 7), (5, 8), (10,), (9, 7), (11,)])
            case(
                "D_edge_values",
                make_input(rng, dt, shape, edge=True),
                sigma=pick(rng, [1.0, 1.1, 1.2, 0.9, 1.3, 2.5, 0.7]),
                order=int(rng.integers(0, 3)),
                mode=pick(rng, MODES + ["constant"] * 4),
                cval=pick(rng, [0.0, 1e30, -1e30, math.nan, math.inf, -1.75, -0.0]),
            )

    # E: the kernel itself: tiny, zero, negative and huge sigma, order 3, truncate, radius 0.
    def line(n=40, dt="float64"):
        return make_input(rng, dt, (n,))

    for sigma in (0.0, 1e-15, 2e-15, -1.0, 0.001, 0.05, 0.3, 1.0, 2.0, 3.0):
        case("E_kernel", line(), sigma=sigma)
    case("E_kernel", line(), sigma=0.05, order=2, radius=9)
    for order, radius in ((1, 2), (0, 3)):  # a huge sigma needs a radius
        case("E_kernel", line(), sigma=1e9, order=order, radius=radius)
    for order in (0, 1, 2):
        case("E_kernel", line(), sigma=3.0, order=order, radius=0)
    for order in (1, 2, 3):
        for sigma in (1.0, 3.0):
            case("E_kernel", line(), sigma=sigma, order=order, mode=pick(rng, MODES))
    case(
        "E_kernel", make_input(rng, "float64", (7, 6)), sigma=[1.5, 2.0], order=[3, 1], mode="wrap"
    )
    case("E_kernel", make_input(rng, "float64", (7, 6)), sigma=1.3, order=[2, 1], mode="grid-wrap")
    for truncate in (-1.0, 0.1, 1.5, 6.3):  # radius int(truncate * sigma + 0.5) >= 0
        case("E_kernel", line(), sigma=1.0 if truncate < 0 else 2.0, truncate=truncate)
    for radius in (0, 2, 3, 9):
        case("E_kernel", line(), sigma=1.0, radius=radius, mode="grid-mirror", cval=0.5)
    case("E_kernel", line(300), sigma=40.0)  # a kernel of 321 taps (numpy's pairwise sum)
    case("E_kernel", line(200, "float32"), sigma=20.0, order=1)
    case("E_kernel", line(400, "uint16"), sigma=50.0, order=2, mode="constant")

    # F: byte order, memory order, output dtypes, degenerate shapes.
    for dt in (">i2", ">f8", ">u4", ">c16", ">f4", ">i8", ">c8", ">u2"):
        case("F_big_endian", make_input(rng, dt, (5, 6)), sigma=1.0)
    for dt in ("float32", "int64", ">f8", "complex64", "uint8"):
        x = np.asfortranarray(make_input(rng, dt, (5, 6, 3)))
        case("F_fortran_order", x, sigma=[1.0, 0.5, 2.0])
    for dt, out_dt, sigma, order in (
        ("uint8", "float64", 1.3, 0),
        ("uint8", "float32", 1.3, 0),
        ("float64", "int16", 1.3, 1),
        ("int32", "float64", 0.0, 0),
        ("float32", "float64", 1.3, 0),
        ("float64", "uint8", 1.3, 0),
        ("int16", "int32", 2.0, 1),
        ("float64", "complex128", 1.0, 0),
        ("uint16", "bool", 1.0, 0),
        ("float64", "float32", 1.0, 2),
        ("bool", "float64", 1.0, 0),
        ("int64", "uint64", 1.0, 1),
    ):
        case(
            "F_output_dtype",
            make_input(rng, dt, (8, 9)),
            sigma=sigma,
            order=order,
            output_dtype=out_dt,
        )
    case("F_degenerate", np.zeros((0, 5)), sigma=1.0)
    case("F_degenerate", np.zeros((3, 0), dtype=np.float32), sigma=1.0)
    case("F_degenerate", np.array(2.5), sigma=1.0)
    case("F_degenerate", make_input(rng, "int8", (6,)), sigma=0.0)
    case("F_degenerate", make_input(rng, "float64", (4, 5)), sigma=[0.0, 0.0])

    # G: calls scipy refuses (float16: tensorwire filters it in float32).
    case("G_error", make_input(rng, "float16", (5,)), sigma=1.0)
    case("G_error", make_input(rng, "float64", (3, 3)), sigma=[1.0, 2.0, 3.0])
    case("G_error", make_input(rng, "float64", (3, 3)), axes=[0, -2])
    case("G_error", make_input(rng, "float64", (3, 3)), axes=[2])
    case("G_error", make_input(rng, "float64", (9,)), radius=-1)
    case("G_error", make_input(rng, "float64", (9,)), truncate=-2.0)
    case("G_error", make_input(rng, "float64", (9,)), order=-1)
    case("G_error", make_input(rng, "float64", (9,)), mode="bogus")
    case("G_error", make_input(rng, "float64", (3, 3)), order=[0, 1, 2])
    # (A one-item list is not here: the proto cannot tell it from a scalar.)
    case("G_error", make_input(rng, "float64", (3, 3, 3)), mode=["reflect", "wrap"])
    return rows


# --- Random cases (the tool's first use) ----------------------------------------------


def random_cases(out, n, seed):
    rng = np.random.default_rng(seed)
    big = bool(os.environ.get("BIG"))
    rows = []
    while len(rows) < n:
        rank = int(rng.integers(1, 5))
        dims = (
            [1, 3, 7, 40, 130, 257, 700, 2100, 33000, 70001] if big else [1, 2, 3, 5, 8, 17, 40, 64]
        )
        shape = tuple(int(rng.choice(dims)) for _ in range(rank))
        if np.prod(shape) > (300000 if big else 20000):
            continue
        dt = str(rng.choice(DT))
        naxes, axes = rank, None
        if rng.random() < 0.3:
            k = int(rng.integers(1, rank + 1))
            axes = [int(a) - (rank if rng.random() < 0.5 else 0) for a in rng.permutation(rank)[:k]]
            naxes = k

        def per(f, naxes=naxes):
            return f() if rng.random() < 0.5 else [f() for _ in range(naxes)]

        radius = per(lambda: int(rng.integers(0, 30))) if rng.random() < 0.2 else None
        output_dtype = None
        if rng.random() < 0.3:
            output_dtype = str(rng.choice(DT if dt.startswith("complex") else DT[:-2]))
        rows.append(
            run_case(
                out,
                len(rows),
                "random",
                make_input(rng, dt, shape),
                sigma=per(
                    lambda: float(rng.choice([0.0, 0.3, 0.5, 0.7, 1.0, 1.7, 2.5, 4.0, 9.0, 1e-16]))
                ),
                order=per(lambda: int(rng.integers(0, 4))),
                mode=per(lambda: str(rng.choice(MODES))),
                cval=float(rng.choice([0.0, 1.5, -3.0, 1e5, np.nan])),
                cval_imag=float(rng.choice([0.0, 2.5])),
                truncate=float(rng.choice([4.0, 4.0, 2.0, 1.0, 0.5, 6.3])),
                radius=radius,
                axes=axes,
                output_dtype=output_dtype,
            )
        )
    return rows


def environment(seed):
    """The versions and the two numerical facts the cases depend on."""
    xs = np.linspace(-60.0, 0.0, 20001)
    exp_ok = all(float(a) == math.exp(float(b)) for a, b in zip(np.exp(xs), xs, strict=True))
    got, fused, unfused = [], [], []
    for sigma in (0.7, 1.3, 1.5, 2.5, 3.7):
        radius = int(4 * sigma + 0.5)
        phi = _original_kernel(sigma, 0, radius)
        c = -1.0 / (sigma * sigma)
        got += [float(v) for v in _original_kernel(sigma, 2, radius)]
        for x, p in zip(range(-radius, radius + 1), phi, strict=True):
            fused.append(float(Fraction(float(x * x)) * Fraction(c * c) + Fraction(c)) * p)
            unfused.append((float(x * x) * (c * c) + c) * p)
    return {
        "scipy": scipy.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "seed": seed,
        "NPY_DISABLE_CPU_FEATURES": os.environ.get("NPY_DISABLE_CPU_FEATURES"),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "numpy_exp": numpy_exp_kind(),
        "numpy_exp_equals_libm_exp": exp_ok,
        "order2_kernel_uses_fma": got == fused,
        "order2_kernel_plain": got == unfused,
    }


def _json(path):
    with open(path) as f:
        return json.load(f)


def keep_differing(out, rows, refdir):
    """Deletes the cases of out whose results equal those of the same id in
    refdir (output.npy, expected_error and the passes' kernel bits); returns
    the rows of the others. The call itself (input.npy and params.json less
    the results) must be the same, or the ids would not match."""
    results = ("expected_error", "output_dtype_actual", "passes")
    kept = []
    for row in rows:
        mine, ref = os.path.join(out, row["id"]), os.path.join(refdir, row["id"])
        p, q = _json(os.path.join(mine, "params.json")), _json(os.path.join(ref, "params.json"))
        call_p = {k: v for k, v in p.items() if k not in results}
        call_q = {k: v for k, v in q.items() if k not in results}
        same_input = filecmp.cmp(
            os.path.join(mine, "input.npy"), os.path.join(ref, "input.npy"), shallow=False
        )
        if call_p != call_q or not same_input:
            sys.exit(f"{row['id']}: not the same call as in {refdir}")
        outputs = [os.path.join(d, "output.npy") for d in (mine, ref)]
        if all(os.path.exists(o) for o in outputs):
            same_output = filecmp.cmp(*outputs, shallow=False)
        else:
            same_output = not any(os.path.exists(o) for o in outputs)
        if same_output and all(p.get(k) == q.get(k) for k in results):
            shutil.rmtree(mine)
        else:
            kept.append(row)
    return kept


def main(argv):
    argv, opts = list(argv), {}
    for opt in ("--emulate-avx512-exp", "--only-differing"):
        if opt in argv:
            i = argv.index(opt)
            if i + 1 >= len(argv) or opt in argv[i + 1 :]:
                sys.exit(__doc__)
            opts[opt] = argv[i + 1]
            del argv[i : i + 2]
    if len(argv) not in (2, 5) or (len(argv) == 5 and argv[2] != "--random"):
        sys.exit(__doc__)
    if "--emulate-avx512-exp" in opts:
        emulate_avx512_exp(opts["--emulate-avx512-exp"])
    out = argv[1]
    os.makedirs(out, exist_ok=True)
    if len(argv) == 5:
        seed = int(argv[4])
        rows = random_cases(out, int(argv[3]), seed)
    else:
        seed = 0
        rows = curated(out, seed)
    manifest = environment(seed)
    if "--only-differing" in opts:
        refdir = opts["--only-differing"]
        manifest["differing_from"] = os.path.normpath(refdir)
        manifest["cases_made"] = len(rows)
        rows = keep_differing(out, rows, refdir)
    manifest["cases"] = rows
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print(
        f"{len(rows)} cases in {out}; numpy exp: {manifest['numpy_exp']}, "
        f"equals libm: {manifest['numpy_exp_equals_libm_exp']}"
    )


if __name__ == "__main__":
    main(sys.argv)
