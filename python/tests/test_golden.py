"""The repository's golden cases (tests/golden/, made by scipy) through
``Client.gaussian_filter`` and ``tensorwire.ndimage.gaussian_filter``: every
result equal to the scipy of this process bit for bit (any NaN equals any
NaN), and to the stored output where this NumPy's ``exp`` is the one the
cases were made with, every case scipy
refuses refused with ``tw.InvalidArgument`` — except float16 input, which
scipy refuses and tensorwire filters in float32, returning float16."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from conftest import GOLDEN, assert_same_bits, need, numpy_exp_is_libm

import tensorwire as tw
from tensorwire import ndimage


def _cases() -> list[str]:
    manifest = GOLDEN / "manifest.json"
    if not manifest.exists():
        pytest.fail(f"{manifest} is missing: the golden cases belong in tests/golden/")
    return [case["id"] for case in json.loads(manifest.read_text())["cases"]]


def _f64(bits):
    """A float (or list of floats) from its exact hex bit pattern(s)."""
    if bits is None:
        return None
    if isinstance(bits, list):
        return [_f64(b) for b in bits]
    return struct.unpack("<d", int(bits, 16).to_bytes(8, "little"))[0]


def load(case_id: str):
    """(input, kwargs of gaussian_filter, expected output or None, params)."""
    folder = GOLDEN / case_id
    p = json.loads((folder / "params.json").read_text())
    cval = _f64(p["cval_bits"])
    if p.get("cval_imag_bits") is not None:
        cval = complex(cval, _f64(p["cval_imag_bits"]))
    kwargs = dict(
        sigma=_f64(p["sigma_bits"]),
        order=p["order"],
        mode=p["mode"],
        cval=cval,
        truncate=_f64(p["truncate_bits"]),
        radius=p["radius"],
        axes=p["axes"],
        output=np.dtype(p["output_dtype"]) if p["output_dtype"] else None,
    )
    expected = np.load(folder / "output.npy") if (folder / "output.npy").exists() else None
    return np.load(folder / "input.npy"), kwargs, expected, p


def check(filter_fn, case_id: str) -> None:
    """The result equals the scipy of this process; and the stored output
    too where it was made with the same ``exp`` (the C library's: see
    tests/golden/README.md), which the run's header names."""
    array, kwargs, expected, p = load(case_id)
    if p["expected_error"] and array.dtype != np.float16:
        with pytest.raises(tw.InvalidArgument):
            filter_fn(array, **kwargs)
        return
    result = filter_fn(array, **kwargs)
    scipy_ndimage = need("scipy.ndimage")
    if expected is None:  # float16: scipy refuses; the service filters in float32
        wide = scipy_ndimage.gaussian_filter(array.astype(np.float32), **kwargs)
        assert_same_bits(result, wide.astype(np.float16))
        return
    assert_same_bits(result, scipy_ndimage.gaussian_filter(array, **kwargs))
    if numpy_exp_is_libm():
        assert_same_bits(result, expected)


@pytest.mark.parametrize("case_id", _cases())
def test_client_equals_scipy(client: tw.Client, case_id: str) -> None:
    check(client.gaussian_filter, case_id)


@pytest.mark.parametrize("case_id", _cases())
def test_ndimage_equals_scipy(address: str, monkeypatch, case_id: str) -> None:
    monkeypatch.setenv("TENSORWIRE_SERVER", address)
    check(ndimage.gaussian_filter, case_id)
