"""tensorwire's NumPy AVX-512 ``exp`` (``src/filter/numpy_exp.rs``, built as
``tools/numpy_exp_lib``) against NumPy's own, on millions of arguments.

It can only be compared where NumPy runs its AVX-512 code: on a CPU without
AVX-512 (or with ``NPY_DISABLE_CPU_FEATURES`` disabling it) the test is
skipped with a reason that says so and names what NumPy runs instead, and
the port is then checked only by ``cargo test`` against the committed
samples (``src/filter/numpy_exp_samples.txt``).
"""

import ctypes
import os
import platform

import numpy as np
import pytest
from numpy.lib.introspect import opt_func_info

ARGUMENTS = 12_000_000


def _numpy_exp_target() -> str:
    return opt_func_info(func_name="^exp$", signature="float64")["exp"]["dd"]["current"]


def _library():
    path = os.environ.get("TENSORWIRE_NUMPY_EXP_LIB")
    if not path:
        pytest.skip("NOT CHECKED: TENSORWIRE_NUMPY_EXP_LIB is not set (.ci/run builds it)")
    lib = ctypes.CDLL(path)
    lib.tensorwire_numpy_avx512_exp_array.argtypes = [
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.c_size_t,
    ]
    return lib


def _ours(lib, x: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float64)
    out = np.empty_like(x)
    lib.tensorwire_numpy_avx512_exp_array(x.ctypes.data, out.ctypes.data, x.size)
    return out


def _arguments() -> np.ndarray:
    rng = np.random.default_rng(27)
    kernel = []
    for sigma in np.concatenate([[0.5, 1.0, 1.5, 2.0, 3.0, 8.0], rng.uniform(0.05, 60, 3000)]):
        x = np.arange(-int(4 * sigma + 0.5), int(4 * sigma + 0.5) + 1)
        kernel.append(-0.5 / (sigma * sigma) * x**2)
    bits = rng.integers(0, 2**64, ARGUMENTS // 4, dtype=np.uint64).view(np.float64)
    return np.concatenate(
        [
            *kernel,
            rng.uniform(-746.0, 710.0, ARGUMENTS // 2),
            rng.uniform(-10.0, 0.0, ARGUMENTS // 4),
            bits,
        ]
    )


def test_numpy_avx512_exp_equals_numpys_own() -> None:
    lib = _library()
    target = _numpy_exp_target()
    if "X86_V4" not in target and "AVX512" not in target:
        pytest.skip(
            f"NOT CHECKED: NumPy {np.__version__} runs float64 exp as {target} on this CPU "
            f"({platform.processor() or platform.machine()}), not its AVX-512 code; "
            "the port was compared with the committed samples only (cargo test)"
        )
    x = _arguments()
    want = np.exp(x)
    got = _ours(lib, x)
    same = (want.view(np.uint64) == got.view(np.uint64)) | (np.isnan(want) & np.isnan(got))
    print(f"compared {x.size} arguments with NumPy {np.__version__}'s exp ({target})")
    assert same.all(), (
        f"{int((~same).sum())} of {x.size} differ, first at {x[~same][:5].tolist()}: "
        f"{got[~same][:5].tolist()} != {want[~same][:5].tolist()}"
    )
