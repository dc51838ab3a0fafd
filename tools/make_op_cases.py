"""scipy.ndimage gaussian_filter1d, gaussian_laplace and gaussian_gradient_magnitude
cases in the golden format (tests/golden_ops/).

    NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL AVX512_SPR" \
        python tools/make_op_cases.py tests/golden_ops

Each case_NNNN/ holds input.npy, output.npy (absent when scipy raised) and
params.json: "op" (the scipy function's name) and the call's keyword
arguments exactly as passed to scipy (floats also as exact f64 bits,
`*_bits`): sigma (scalar or list), axis and order (gaussian_filter1d
only), axes (gaussian_laplace and gaussian_gradient_magnitude: null or a
list, may be negative and unordered), mode (scalar or list), cval
(+ cval_imag: when not null, cval was passed as complex(cval, cval_imag)),
truncate, radius (null, int or list), output_dtype (null = the input's).
Then scipy's exception if any (expected_error, "Type: message"), the
output dtype, and what scipy did, recorded from inside it: for
gaussian_filter1d its one pass ("passes"), for the other two each term
("terms": the gaussian_filter call of one filtered axis, with its sigma
as gaussian_filter got it (per input axis, or ggm's scalar), its order per
input axis, its mode, and the 1-D passes it made, each with axis, sigma,
order, mode and radius). manifest.json lists the cases and
the environment.

The result of gaussian_laplace is the sum of its terms, each stored in the
output dtype, added with NumPy's `output += tmp`; that of
gaussian_gradient_magnitude squares each term in place
(np.multiply(t, t, t)), adds them the same way and ends with
np.sqrt(output, output, casting='unsafe'). The set covers every dtype,
byte order, memory order, mode, order 0-3, axis and axes forms, per-axis
sigma/mode/radius lists, truncate, output dtypes (integer outputs where
the squares and sums wrap, float16, bool, complex), edge values, tiny axes
under long kernels, rank 0 and empty arrays, sigma 0 / negative / NaN /
infinite, and scipy's errors (and which one wins when several apply). The
output is deterministic for a given seed, scipy and numpy.

NPY_DISABLE_CPU_FEATURES keeps numpy's float64 exp on the C library's, as
for tests/golden (see tools/make_filter_cases.py); the manifest records
which exp numpy used and whether numpy's complex multiply is fused.
"""

import json
import math
import os
import random
import sys
from fractions import Fraction

import make_filter_cases as mfc
import numpy as np
from scipy.ndimage import _filters

# make_filter_cases records gaussian_filter's passes from inside scipy; this
# script records its own, so put scipy's functions back.
_filters.gaussian_filter1d = mfc._original_1d
_filters._gaussian_kernel1d = mfc._original_kernel

hx, bits, plain, make_input, pick = mfc.hx, mfc.bits, mfc.plain, mfc.make_input, mfc.pick
DT, MODES = mfc.DT, mfc.MODES
F1D, LAP, GGM = "gaussian_filter1d", "gaussian_laplace", "gaussian_gradient_magnitude"
OPS = (F1D, LAP, GGM)
INTS = ["uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64", "int64"]


# --- What scipy does, recorded from inside it ------------------------------------------

_TERMS = []
_PASSES = []
_original_gf = _filters.gaussian_filter
_original_1d = _filters.gaussian_filter1d
_original_kernel = _filters._gaussian_kernel1d


def _floats(v):
    return [float(s) for s in v] if isinstance(v, (list, tuple)) else float(v)


def _recording_gf(
    input,
    sigma,
    order=0,
    output=None,
    mode="reflect",
    cval=0.0,
    truncate=4.0,
    *,
    radius=None,
    axes=None,
):
    """gaussian_filter as gaussian_laplace's and gaussian_gradient_magnitude's
    derivative calls it: one term."""
    s = _floats(sigma)
    _TERMS.append(
        {
            "axis": [i for i, o in enumerate(order) if o][0],
            "sigma": plain(s),
            "sigma_bits": bits(s),
            "order": list(order),
            "mode": mode,
            "first_pass": len(_PASSES),
        }
    )
    return _original_gf(input, sigma, order, output, mode, cval, truncate, radius=radius, axes=axes)


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
    try:
        s = float(sigma)
    except TypeError:  # scipy raises it too, at the same float(sigma)
        s = None
    _PASSES.append({"axis": axis, "sigma": plain(s), "sigma_bits": None if s is None else hx(s)})
    _PASSES[-1].update({"order": order, "mode": mode})
    return _original_1d(input, sigma, axis, order, output, mode, cval, truncate, radius=radius)


def _recording_kernel(sigma, order, radius):
    _PASSES[-1]["radius"] = int(radius)
    return _original_kernel(sigma, order, radius)


_filters.gaussian_filter = _recording_gf
_filters.gaussian_filter1d = _recording_1d
_filters._gaussian_kernel1d = _recording_kernel
FUNCTIONS = {
    F1D: _recording_1d,
    LAP: _filters.gaussian_laplace,
    GGM: _filters.gaussian_gradient_magnitude,
}


def run_case(
    out,
    idx,
    category,
    op,
    x,
    sigma=1.0,
    order=0,
    axis=-1,
    axes=None,
    mode="reflect",
    cval=0.0,
    cval_imag=None,
    truncate=4.0,
    radius=None,
    output_dtype=None,
):
    """Runs scipy on one call and writes case_<idx>; returns its manifest row.
    cval_imag: for complex input, 0.0 when not given; for real input, None
    unless given (then scipy gets a complex cval, which it refuses)."""
    dt = x.dtype
    if dt.kind == "c" and cval_imag is None:
        cval_imag = 0.0
    cv = cval if cval_imag is None else complex(cval, cval_imag)
    kw = {"output": output_dtype, "mode": mode, "cval": cv, "truncate": truncate}
    if op == F1D:
        kw.update(axis=axis, order=order)
    else:
        kw["axes"] = axes
    _TERMS.clear()
    _PASSES.clear()
    err, res = None, None
    try:
        res = FUNCTIONS[op](x, sigma, radius=radius, **kw)
    except Exception as e:  # noqa: BLE001 - scipy's exception is the expected result
        err = f"{type(e).__name__}: {e}"
    cid = f"case_{idx:04d}"
    d = os.path.join(out, cid)
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, "input.npy"), x)
    if err is None:
        # C order, native byte order; rank 0 stays rank 0.
        np.save(os.path.join(d, "output.npy"), res.astype(res.dtype.newbyteorder("="), order="C"))
    p = {"id": cid, "op": op, "category": category, "dtype": dt.name, "shape": list(x.shape)}
    s = _floats(sigma) if not isinstance(sigma, str) else sigma
    p.update(sigma=plain(s), sigma_bits=None if isinstance(s, str) else bits(s))
    if op == F1D:
        p.update(axis=axis, order=order)
    else:
        p["axes"] = axes
    p.update(
        {
            "mode": mode,
            "cval": plain(cval),
            "cval_bits": hx(cval),
            "cval_imag": plain(cval_imag),
            "cval_imag_bits": None if cval_imag is None else hx(cval_imag),
            "truncate": plain(truncate),
            "truncate_bits": hx(truncate),
            "radius": radius,
            "output_dtype": output_dtype,
            "input_byteorder": dt.byteorder,
            "input_fortran_order": bool(x.flags.f_contiguous and not x.flags.c_contiguous),
            "expected_error": err,
            "output_dtype_actual": None if res is None else res.dtype.name,
        }
    )
    if err is None:
        if op == F1D:
            p["passes"] = [dict(q) for q in _PASSES]
        else:
            ends = [t["first_pass"] for t in _TERMS[1:]] + [len(_PASSES)] * bool(_TERMS)
            p["terms"] = []
            for t, end in zip(_TERMS, ends, strict=True):
                term = {k: v for k, v in t.items() if k != "first_pass"}
                term["passes"] = [dict(q) for q in _PASSES[t["first_pass"] : end]]
                p["terms"].append(term)
    with open(os.path.join(d, "params.json"), "w") as f:
        json.dump(p, f, indent=1)
    return {
        "id": cid,
        "op": op,
        "category": category,
        "dtype": dt.name,
        "shape": list(x.shape),
        "error": err is not None,
    }


# --- Inputs ---------------------------------------------------------------------------


def big_input(rng, dt, shape):
    """Values near the type's extremes, of both signs: the terms' squares and
    sums wrap in an integer output of the same or a narrower dtype."""
    dt = np.dtype(dt)
    if dt.kind == "b":
        return rng.random(shape) < 0.5
    if dt.kind in "iu":
        info = np.iinfo(dt)
        return rng.integers(info.min, info.max, shape, dtype=dt, endpoint=True)
    if dt.kind == "c":
        part = np.float32 if dt.itemsize == 8 else np.float64
        return (big_input(rng, part, shape) + 1j * big_input(rng, part, shape)).astype(dt)
    scale = float(pick(rng, [200.0, 3e4, 1e5, 3e9, 1e19]))
    return (rng.uniform(-scale, scale, shape)).astype(dt)


def ramp(dt, shape, step=37.0, start=-500.0):
    """A steep ramp (large first and second differences)."""
    n = int(np.prod(shape))
    return (start + step * np.arange(n, dtype=np.float64)).reshape(shape).astype(dt)


# --- The committed set ----------------------------------------------------------------


def curated(out, seed):
    rng = np.random.default_rng(seed)
    rows = []

    def case(category, op, x, **kw):
        rows.append(run_case(out, len(rows), category, op, x, **kw))

    def cplx(dt, kw, choices=(0.0, 1.5, -0.5)):
        if dt.startswith("complex") and "cval_imag" not in kw:
            kw["cval_imag"] = pick(rng, list(choices))
        return kw

    # A: every dtype under each op, the modes in turn, filter1d's orders 0-3 and axes.
    for op in OPS:
        for i, dt in enumerate(DT):
            for j in range(2):
                mode = MODES[(2 * i + j + 3 * OPS.index(op)) % len(MODES)]
                shape = pick(rng, [(7,), (5, 6), (4, 7), (3, 4, 5), (9,), (6, 3)])
                kw = {"mode": mode, "sigma": pick(rng, [0.7, 1.0, 1.3, 1.5, 2.0, 2.5])}
                if "constant" in mode and rng.random() < 0.7:
                    kw["cval"] = pick(rng, [0.75, -3.25, 7.5, 300.0, math.inf, math.nan])
                if op == F1D:
                    kw["order"] = (i + j) % 4
                    kw["axis"] = int(rng.integers(-len(shape), len(shape)))
                case("A_dtype_mode", op, make_input(rng, dt, shape), **cplx(dt, kw))

    # C: gaussian_filter1d: orders 0-3 on every axis (negative too), truncate, radius.
    for order in range(4):
        for axis in [(0, 1, 2, -1, -2, -3)[(3 * order + k) % 6] for k in range(3)]:
            dt = pick(rng, ["float64", "float32", "int32", "uint16", "complex64"])
            case(
                "C_filter1d_axis_order",
                F1D,
                make_input(rng, dt, (4, 5, 6)),
                sigma=pick(rng, [0.8, 1.2, 1.7, 2.2]),
                order=order,
                axis=axis,
                mode=pick(rng, MODES),
                truncate=pick(rng, [4.0, 2.0, 1.0, 3.5]),
                radius=pick(rng, [None, None, 1, 4]),
                **cplx(dt, {}),
            )
    case("C_filter1d_axis_order", F1D, make_input(rng, "float64", (12,)), sigma=1.0, order=4)
    case("C_filter1d_axis_order", F1D, make_input(rng, "float64", (12,)), sigma=1.5, order=5)

    # D: laplace / ggm: sigma, mode and radius lists, axes subsets (one axis,
    # negative, unordered), truncate. A mode list has one mode per filtered
    # axis (a term's mode, for all its passes); laplace's sigma list is per
    # filtered axis, ggm's (passed to gaussian_filter as is) and both ops'
    # radius list (a gaussian_filter keyword) per input axis.
    shapes = [(5, 6), (4, 5, 3), (3, 4, 2, 3), (7, 4), (3, 5, 4), (6, 7)]
    for i in range(24):
        op = (LAP, GGM)[i % 2]
        shape = pick(rng, shapes)
        rank = len(shape)
        dt = DT[(i // 2) % len(DT)]
        axes = None
        naxes = rank
        if rng.random() < 0.5:
            k = int(rng.integers(1, rank + 1))
            axes = [int(a) - (rank if rng.random() < 0.5 else 0) for a in rng.permutation(rank)[:k]]
            naxes = k
        nsigma = naxes if op == LAP else rank

        def per(f, n):
            return f() if rng.random() < 0.4 else [f() for _ in range(n)]

        radius = None
        if rng.random() < 0.3:
            radius = per(lambda: int(rng.integers(0, 6)), rank)
        case(
            "D_lists_axes",
            op,
            make_input(rng, dt, shape),
            sigma=per(lambda: pick(rng, [0.5, 0.7, 1.0, 1.3, 2.0, 2.5, 0.0]), nsigma),
            mode=per(lambda: pick(rng, MODES), naxes),
            cval=pick(rng, [0.0, 2.5, -3.25, 1000.0, math.nan]),
            truncate=pick(rng, [4.0, 4.0, 2.5, 1.0, 3.0]),
            radius=radius,
            axes=axes,
            **cplx(dt, {}),
        )
    for op in (LAP, GGM):
        x = make_input(rng, "float64", (4, 5, 6))
        for axes in ([1], [-1], [2, 0], [-1, -3, 1], [0, 1, 2], []):
            sigma = [1.0, 1.5, 2.0][: len(axes)] if op == LAP else [1.0, 1.5, 2.0]
            case("D_lists_axes", op, x, sigma=sigma, axes=axes, mode="nearest")

    # E: integer outputs where the squares and sums wrap (and the sqrt of a
    # negative wrapped sum), float16 output, default outputs of big inputs.
    for op in (LAP, GGM):
        for out_dt in INTS:
            in_dt = pick(rng, ["float64", "float32", "int64", out_dt])
            case(
                "E_output_wraps",
                op,
                big_input(rng, in_dt, (6, 7)),
                sigma=pick(rng, [0.7, 1.0, 1.5]),
                mode=pick(rng, MODES),
                output_dtype=out_dt,
            )
        for in_dt in INTS + ["bool"]:
            x = big_input(rng, in_dt, (5, 6))
            case("E_output_wraps", op, x, sigma=pick(rng, [0.8, 1.0, 1.2]))
        # bool terms are True only where |value| >= 1 (scipy's cast truncates)
        case("E_output_wraps", op, big_input(rng, "bool", (6, 5)), sigma=0.5)
        x = big_input(rng, "bool", (6, 5))
        case("E_output_wraps", op, x, sigma=1.0, mode="constant", cval=40.0)
        for out_dt in ("int8", "int16", "int32", "int64"):  # steep ramps: large derivatives
            case("E_output_wraps", op, ramp("float64", (5, 7), 4e3), sigma=0.6, output_dtype=out_dt)
        case("E_output_wraps", op, ramp("float64", (5, 7), 3e9), sigma=0.6, output_dtype="int64")
        case("E_output_wraps", op, ramp("float64", (5, 7), 1e5), sigma=0.6, output_dtype="uint64")
    for dt in ("uint8", "int8", "int16", "int32"):
        case("E_output_wraps", F1D, big_input(rng, "float64", (9,)), order=1, output_dtype=dt)

    # F: edge values: integer extremes, NaN, inf, -0.0, huge cval.
    for op in OPS:
        for dt in ("float64", "float32", "complex128", "complex64", "int64", "uint64", "int8"):
            shape = pick(rng, [(12,), (5, 6), (4, 7), (3, 3, 3)])
            kw = {
                "sigma": pick(rng, [0.7, 1.0, 1.3]),
                "mode": pick(rng, MODES + ["constant"] * 3),
                "cval": pick(rng, [0.0, 1e30, -1e30, math.nan, math.inf, -0.0]),
            }
            if op == F1D:
                kw["order"] = int(rng.integers(0, 4))
                kw["axis"] = int(rng.integers(-len(shape), len(shape)))
            case("F_edge_values", op, make_input(rng, dt, shape, edge=True), **cplx(dt, kw))
        neg_zero = np.full((3, 4), -0.0)
        case("F_edge_values", op, neg_zero, sigma=1.0, mode="constant", cval=-0.0)
        case("F_edge_values", op, neg_zero, sigma=0.0)

    # G: sigma and the kernel: 0, tiny, negative, NaN, inf, huge; truncate; radius.
    def line(n=16, dt="float64"):
        return make_input(rng, dt, (n,))

    for sigma, kw in (
        (0.0, {}),
        (0.0, {"radius": 2}),
        (-0.0, {}),
        (1e-16, {}),
        (1e-16, {"order": 1}),
        (1e-15, {}),
        (1e-160, {}),  # sigma * sigma is subnormal
        (1e-200, {}),  # sigma * sigma is 0: ZeroDivisionError
        (-1.0, {}),  # int(4 * -1 + 0.5) = -3: a negative radius
        (-0.1, {}),  # int(-0.4 + 0.5) = 0: radius 0
        (-2.0, {"radius": 3}),
        (-2.0, {"radius": 3, "order": 1}),
        (-1.0, {"truncate": -4.0}),  # radius int(4.5) = 4
        (math.inf, {}),
        (math.inf, {"radius": 2}),  # int(truncate * sigma) is computed first
        (math.nan, {"radius": 2}),
        (1.0, {"truncate": math.nan}),
        (1e9, {"radius": 3}),
        (1e9, {"radius": 2, "order": 2}),
        (2.0, {"truncate": 0.1}),
        (2.0, {"truncate": -1.0}),
        (1.0, {"radius": 0, "order": 1}),
        (3.0, {"radius": 0, "order": 2}),
        (40.0, {}),
    ):
        n = 300 if sigma == 40.0 else 16
        case("G_sigma_kernel", F1D, line(n), sigma=sigma, **kw)
    for op in (LAP, GGM):
        x = make_input(rng, "float64", (4, 5))
        for sigma in (0.0, -1.0, 1e-15, 2e-15, [0.0, 1.5], [1.5, 0.0], 1e9, math.nan, math.inf):
            kw = {"radius": 2} if sigma == 1e9 else {}
            case("G_sigma_kernel", op, x, sigma=sigma, **kw)
        case("G_sigma_kernel", op, x, sigma=1.0, radius=[0, 3])
        case("G_sigma_kernel", op, x, sigma=1.3, truncate=1.5)
        # sigma 0 everywhere: each term is a copy, made without scipy's dtype
        # or mode checks (float16 and an unknown mode pass).
        case("G_sigma_kernel", op, make_input(rng, "float16", (3, 4)), sigma=0.0)
        case("G_sigma_kernel", op, make_input(rng, "int8", (3, 4), edge=True), sigma=0.0)
        case("G_sigma_kernel", op, make_input(rng, "bool", (3, 4)), sigma=0.0)
        case("G_sigma_kernel", op, x, sigma=0.0, mode="bogus")
        case("G_sigma_kernel", op, make_input(rng, "float64", (300,)), sigma=40.0)

    # H: axes of 1-3 under kernels longer than the axis, every mode.
    for i, mode in enumerate(MODES):
        for op in OPS:
            shape = pick(rng, [(1,), (2,), (3,), (1, 3), (2, 1), (3, 2, 1), (1, 1)])
            dt = pick(rng, ["float64", "int16", "uint8", "complex128"])
            kw = {"sigma": pick(rng, [3.0, 4.5, 2.0]), "mode": mode, "cval": 1.25}
            if op == F1D:
                kw.update(order=i % 4, axis=int(rng.integers(0, len(shape))))
            if i % 3 == 0:
                kw["radius"] = pick(rng, [5, 9]) if op == F1D else [pick(rng, [5, 9])] * len(shape)
            case("H_tiny_axis", op, make_input(rng, dt, shape), **cplx(dt, kw))

    # I: byte order and memory order.
    for i, dt in enumerate((">i2", ">f8", ">u4", ">c16", ">f4", ">i8", ">c8", ">u2", ">i4")):
        kw = {"order": i % 4, "axis": i % 2} if OPS[i % 3] == F1D else {}
        case("I_layout", OPS[i % 3], make_input(rng, dt, (5, 6)), sigma=1.0, **kw)
    for i, dt in enumerate(("float32", "int64", ">f8", "complex64", "uint8", "int16")):
        x = np.asfortranarray(make_input(rng, dt, (5, 6, 3)))
        kw = {"order": 1, "axis": i % 3} if OPS[i % 3] == F1D else {}
        case("I_layout", OPS[i % 3], x, sigma=[1.0, 0.5, 2.0] if kw == {} else 1.0, **kw)

    # J: output dtypes (widening, narrowing, float16, bool, complex).
    for op in OPS:
        for in_dt, out_dt in (
            ("uint8", "float64"),
            ("uint8", "float32"),
            ("float64", "float32"),
            ("int16", "int32"),
            ("float64", "uint8"),
            ("complex128", "complex64"),
            ("float64", "float16"),
            ("float64", "bool"),
            ("float64", "complex128"),
            ("complex128", "float64"),
        ):
            kw = {"order": 1} if op == F1D else {}
            case("J_output_dtype", op, make_input(rng, in_dt, (6, 5)), output_dtype=out_dt, **kw)

    # K: degenerate shapes: rank 0, empty axes, 4-D, no filtered axis.
    for op in OPS:
        case("K_degenerate", op, np.array(2.5), sigma=1.0)
        case("K_degenerate", op, np.zeros((0, 5)), sigma=1.0)
        case("K_degenerate", op, np.zeros((3, 0), dtype=np.int16), sigma=1.0)
        x = make_input(rng, "float32", (3, 2, 4, 3))
        case("K_degenerate", op, x, sigma=pick(rng, [0.8, 1.1]), mode="mirror")
    case("K_degenerate", F1D, np.array(2.5), sigma=1.0, axis=0)
    for op in (LAP, GGM):
        case("K_degenerate", op, make_input(rng, "int32", (3, 4)), sigma=1.0, axes=[])

    # L: calls scipy refuses, one fault each, then several at once (which wins).
    f64 = make_input(rng, "float64", (3, 4))
    f1d_faults = (
        {"axis": 2},
        {"axis": -3},
        {"order": -1},
        {"sigma": [1.0, 2.0]},
        {"mode": ["reflect", "wrap"]},
        {"mode": "bogus"},
        {"radius": -1},
        {"truncate": -2.0},
        {"cval": 1.5, "cval_imag": 0.5},
        {"output_dtype": "complex64"},
        # several at once
        {"axis": 5, "order": -1},
        {"axis": 5, "mode": "bogus"},
        {"order": -1, "radius": -1},
        {"order": -1, "sigma": 0.0},
        {"sigma": 0.0, "axis": 5},
        {"sigma": 0.0, "output_dtype": "bool"},
        {"output_dtype": "bool", "axis": 5},
        {"axis": 5, "output_dtype": "float16"},
        {"mode": "bogus", "output_dtype": "float16"},
        {"sigma": math.nan, "radius": -1},
    )
    for kw in f1d_faults:
        case("L_error", F1D, f64, **kw)
    case("L_error", F1D, make_input(rng, "float16", (6,)), sigma=1.0)
    case("L_error", F1D, make_input(rng, "complex128", (6,)), output_dtype="float64")
    for op in (LAP, GGM):
        x3 = make_input(rng, "float64", (3, 4, 2))
        faults = [
            {"axes": [0, 3]},
            {"axes": [-4]},
            {"axes": [0, -3]},
            {"sigma": [1.0, 2.0]},
            {"sigma": [1.0, 2.0, 3.0, 4.0]},
            {"mode": ["reflect", "wrap"]},
            {"axes": [0, 2], "mode": ["reflect", "wrap", "nearest"]},
            {"axes": [0, 2], "radius": [1, 2]},
            {"axes": [1], "radius": [1, 2, 3]},  # the radius list is per input axis
            {"mode": "bogus"},
            {"radius": -1},
            {"truncate": -1.0},  # radius int(-1.0 * 1.0 + 0.5) = 0
            {"truncate": -2.0},
            {"output_dtype": "float16"},
            {"output_dtype": "bool"},
            {"cval": 1.5, "cval_imag": 0.5},
            # several at once
            {"axes": [0, 0], "sigma": [1.0]},
            {"sigma": [1.0], "output_dtype": "bool"},
            {"output_dtype": "bool", "axes": [7]},
            {"output_dtype": "bool", "mode": ["reflect"]},
            {"mode": ["reflect"], "radius": -1},
            {"sigma": [1.0], "mode": "bogus"},
            {"axes": [0, 0], "output_dtype": "bool"},
            {"radius": -1, "mode": "bogus"},
            {"output_dtype": "float16", "mode": "bogus"},
        ]
        if op == LAP:
            faults.append({"axes": [1], "sigma": [1.0, 2.0, 3.0]})
        else:
            faults.append({"axes": [1], "sigma": [1.0]})  # ggm's sigma list is per input axis
        for kw in faults:
            case("L_error", op, x3, **kw)
        case("L_error", op, make_input(rng, "float16", (3, 4)), sigma=1.0)
        case("L_error", op, make_input(rng, "complex64", (3, 4)), output_dtype="float32")
    return rows


def complex_multiply_fused():
    """Whether numpy's complex128 multiply (an in-place square, as
    generic_gradient_magnitude makes it) rounds like fused multiply-adds,
    re = fma(a, a, -(b*b)), im = fma(a, b, b*a), or like the plain formula
    (a*a - b*b, a*b + b*a); None if neither."""
    r = random.Random(1)
    z = np.array([complex(r.uniform(-9, 9), r.uniform(-9, 9)) for _ in range(997)])
    sq = z.copy()
    np.multiply(sq, sq, sq)
    fused = plain_ = True
    for v, s in zip(z.tolist(), sq.tolist(), strict=True):
        a, b = Fraction(v.real), Fraction(v.imag)
        re = float(a * a - Fraction(v.imag * v.imag))
        im = float(a * b + Fraction(v.imag * v.real))
        fused &= (s.real, s.imag) == (re, im)
        plain_ &= (s.real, s.imag) == (v.real * v.real - v.imag * v.imag, 2 * (v.real * v.imag))
    return True if fused else (False if plain_ else None)


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__)
    out = argv[1]
    os.makedirs(out, exist_ok=True)
    seed = 0
    rows = curated(out, seed)
    manifest = mfc.environment(seed)
    manifest["complex_multiply_uses_fma"] = complex_multiply_fused()
    manifest["cases"] = rows
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print(
        f"{len(rows)} cases in {out}; numpy exp: {manifest['numpy_exp']}, "
        f"equals libm: {manifest['numpy_exp_equals_libm_exp']}"
    )


if __name__ == "__main__":
    main(sys.argv)
