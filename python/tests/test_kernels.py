"""The package equals the caller's own scipy, whatever NumPy's ``exp`` is.

scipy makes its Gaussian kernels with the caller's NumPy (whose float64
``exp`` takes AVX-512 code on CPUs that have it), so the package makes them
the same way and sends them. These tests run against the scipy installed
beside the package, in this process; CI runs them twice, with NumPy's
default CPU features and with ``NPY_DISABLE_CPU_FEATURES``. The header of
the pytest run says which ``exp`` this process's NumPy uses.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_same_bits, need

import tensorwire as tw
from tensorwire import kernels, ndimage

scipy_ndimage = need("scipy.ndimage")
scipy_filters = need("scipy.ndimage._filters")

#: The sigmas of the issue's table: on an AVX-512 machine with default
#: NumPy, 2.0 and 8.0 make kernels that differ from the C library's exp.
TABLE_SIGMAS = [0.5, 1.0, 1.5, 2.0, 3.0, 8.0]


def test_kernels_equal_scipys_own_bit_for_bit() -> None:
    rng = np.random.default_rng(7)
    sigmas = [*TABLE_SIGMAS, *rng.uniform(0.05, 25.0, 400), np.float32(1.7), 2]
    for sigma in sigmas:
        radius = int(4.0 * float(sigma) + 0.5)
        for order in range(4):
            ours = kernels.gaussian_kernel1d(sigma, order, radius)
            theirs = scipy_filters._gaussian_kernel1d(sigma, order, radius)
            assert ours.tobytes() == theirs.tobytes(), (sigma, order)


@pytest.mark.parametrize("sigma", TABLE_SIGMAS)
@pytest.mark.parametrize("mode", ["reflect", "wrap", "nearest"])
def test_the_issues_table_equals_scipy_in_this_process(
    address: str, monkeypatch, sigma: float, mode: str
) -> None:
    monkeypatch.setenv("TENSORWIRE_SERVER", address)
    x = np.random.default_rng(1).random((64, 24, 3))
    assert_same_bits(
        ndimage.gaussian_filter(x, sigma, mode=mode),
        scipy_ndimage.gaussian_filter(x, sigma, mode=mode),
    )


@pytest.mark.parametrize("order", [0, 1, 2, 3, [0, 3, 1]])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int16, np.complex128])
def test_orders_and_dtypes_equal_scipy_in_this_process(client: tw.Client, order, dtype) -> None:
    rng = np.random.default_rng(3)
    x = (rng.random((40, 30, 3)) * 100).astype(dtype)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * (rng.random(x.shape) * 50)
    for sigma in (2.0, [8.0, 2.0, 1.5], [2.0, 0.0, 3.0]):
        assert_same_bits(
            client.gaussian_filter(x, sigma, order=order, truncate=3.5),
            scipy_ndimage.gaussian_filter(x, sigma, order=order, truncate=3.5),
        )
    assert_same_bits(
        client.gaussian_filter(x, 2.0, order=order, radius=[3, 9, 1], axes=[2, 0, 1]),
        scipy_ndimage.gaussian_filter(x, 2.0, order=order, radius=[3, 9, 1], axes=[2, 0, 1]),
    )


def _exp_one_ulp_up(real_exp):
    """An ``exp`` one ulp above NumPy's for every other argument: a stand-in
    for a NumPy whose ``exp`` rounds differently from the server's."""

    def exp(values, *args, **kwargs):
        result = real_exp(values, *args, **kwargs)
        bumped = np.nextafter(result, np.inf)
        if np.ndim(result) == 0:
            return bumped
        pick = np.arange(np.size(result)).reshape(np.shape(result)) % 2 == 0
        return np.where(pick, bumped, result)

    return exp


def test_the_callers_exp_makes_the_kernels(address: str, monkeypatch) -> None:
    """With an ``exp`` that no server computes, the package still equals
    scipy in this process: the kernels travel from here."""
    monkeypatch.setenv("TENSORWIRE_SERVER", address)
    x = np.random.default_rng(1).random((64, 24, 3))
    plain = scipy_ndimage.gaussian_filter(x, 2.0, order=[0, 1, 2])
    monkeypatch.setattr(np, "exp", _exp_one_ulp_up(np.exp))
    theirs = scipy_ndimage.gaussian_filter(x, 2.0, order=[0, 1, 2])
    assert theirs.tobytes() != plain.tobytes(), "the stand-in exp changed nothing"
    assert_same_bits(ndimage.gaussian_filter(x, 2.0, order=[0, 1, 2]), theirs)


def test_streamed_calls_send_the_kernels_too(streaming_client: tw.Client, monkeypatch) -> None:
    x = np.random.default_rng(2).random((50, 20))
    monkeypatch.setattr(np, "exp", _exp_one_ulp_up(np.exp))
    assert_same_bits(
        streaming_client.gaussian_filter(x, 8.0, mode="wrap"),
        scipy_ndimage.gaussian_filter(x, 8.0, mode="wrap"),
    )


def test_parameters_scipy_refuses_are_still_refused_by_the_server(client: tw.Client) -> None:
    x = np.ones((5, 5))
    for kwargs in ({"sigma": 1.0, "truncate": -8.0}, {"sigma": float("inf")}):
        with pytest.raises((ValueError, OverflowError)):
            scipy_ndimage.gaussian_filter(x, **kwargs)
        with pytest.raises(tw.InvalidArgument):
            client.gaussian_filter(x, **kwargs)


def test_orders_above_3_work_as_in_scipy(client: tw.Client) -> None:
    """The server builds kernels up to order 3; the package sends its own."""
    x = np.random.default_rng(4).random((30, 31))
    assert_same_bits(
        client.gaussian_filter(x, [3.0, 2.0], order=[4, 5]),
        scipy_ndimage.gaussian_filter(x, [3.0, 2.0], order=[4, 5]),
    )
