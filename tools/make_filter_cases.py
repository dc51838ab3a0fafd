"""Random scipy gaussian_filter cases in the golden format, for extra checks.

usage: NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL AVX512_SPR" python tools/make_filter_cases.py OUTDIR N SEED
then: TENSORWIRE_GOLDEN_DIR=OUTDIR cargo test --lib golden
"""
import json, os, sys, struct, warnings
import numpy as np
from scipy import ndimage as ndi

warnings.simplefilter("ignore")
out, N, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(seed)
DT = ["bool", "uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64", "int64",
      "float32", "float64", "complex64", "complex128"]
MODES = ["reflect", "constant", "nearest", "mirror", "wrap", "grid-constant", "grid-mirror", "grid-wrap"]

def hx(v): return "0x%016x" % struct.unpack("<Q", struct.pack("<d", float(v)))[0]
def bits(v): return [hx(x) for x in v] if isinstance(v, list) else hx(v)

def make_input(dt, shape):
    if dt == "bool": return rng.random(shape) < 0.5
    if dt.startswith("complex"):
        return (rng.normal(0, 100, shape) + 1j * rng.normal(0, 100, shape)).astype(dt)
    info = np.iinfo(dt) if "int" in dt else None
    if info is not None:
        lo, hi = (info.min, info.max) if rng.random() < 0.5 else (0, 50)
        return rng.integers(lo, hi, shape, dtype=dt, endpoint=True)
    a = rng.normal(0, 10 ** rng.uniform(-3, 6), shape).astype(dt)
    if rng.random() < 0.2 and a.size:
        a.flat[rng.integers(0, a.size)] = rng.choice([np.nan, np.inf, -np.inf, -0.0])
    return a

i = 0
while i < N:
    rank = int(rng.integers(1, 5))
    dims = [1, 2, 3, 5, 8, 17, 40, 64]
    if os.environ.get("BIG"):
        dims = [1, 3, 7, 40, 130, 257, 700, 2100, 33000, 70001]
    shape = tuple(int(rng.choice(dims)) for _ in range(rank))
    if np.prod(shape) > (300000 if os.environ.get("BIG") else 20000): continue
    dt = str(rng.choice(DT))
    x = make_input(dt, shape)
    naxes = rank
    axes = None
    if rng.random() < 0.3:
        k = int(rng.integers(1, rank + 1))
        axes = [int(a) - (rank if rng.random() < 0.5 else 0) for a in rng.permutation(rank)[:k]]
        naxes = k
    def per(f):
        return f() if rng.random() < 0.5 else [f() for _ in range(naxes)]
    sigma = per(lambda: float(rng.choice([0.0, 0.3, 0.5, 0.7, 1.0, 1.7, 2.5, 4.0, 9.0, 1e-16])))
    order = per(lambda: int(rng.integers(0, 4)))
    mode = per(lambda: str(rng.choice(MODES)))
    truncate = float(rng.choice([4.0, 4.0, 2.0, 1.0, 0.5, 6.3]))
    radius = None
    if rng.random() < 0.2:
        radius = per(lambda: int(rng.integers(0, 30)))
    cval = float(rng.choice([0.0, 1.5, -3.0, 1e5, np.nan]))
    cval_imag = float(rng.choice([0.0, 2.5]))
    output_dtype = None
    if rng.random() < 0.3:
        output_dtype = str(rng.choice(DT if dt.startswith("complex") else DT[:-2]))
    cv = complex(cval, cval_imag) if dt.startswith("complex") else cval
    err = None
    try:
        res = ndi.gaussian_filter(x, sigma, order=order, mode=mode, cval=cv, truncate=truncate,
                                  radius=radius, axes=axes, output=output_dtype)
    except Exception as e:
        err = f"{type(e).__name__}: {e}"
    d = os.path.join(out, "case_%04d" % i)
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, "input.npy"), x)
    if err is None:
        np.save(os.path.join(d, "output.npy"), np.ascontiguousarray(res))
    p = dict(id="case_%04d" % i, dtype=dt, shape=list(shape), sigma=sigma, sigma_bits=bits(sigma),
             order=order, mode=mode, cval=cval if np.isfinite(cval) else str(cval), cval_bits=hx(cval),
             cval_imag=cval_imag if dt.startswith("complex") else None,
             cval_imag_bits=hx(cval_imag) if dt.startswith("complex") else None,
             truncate=truncate, truncate_bits=hx(truncate), radius=radius, axes=axes,
             output_dtype=output_dtype, expected_error=err, passes=[])
    json.dump(p, open(os.path.join(d, "params.json"), "w"), indent=1)
    i += 1
json.dump({"cases": N}, open(os.path.join(out, "manifest.json"), "w"))
