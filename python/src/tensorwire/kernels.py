"""Gaussian kernels made in the caller's process, with the caller's NumPy.

scipy.ndimage builds each axis's kernel with NumPy: ``exp``, a pairwise
``sum``, and for derivatives a small matrix product through BLAS. Each step
can round differently on another CPU or NumPy build: NumPy's float64 ``exp``
takes its own AVX-512 code on a CPU that has AVX-512F and the C library's
elsewhere, and the two differ in the last bit for some arguments. A kernel
made on the server would follow the server's choice; the kernels made here
follow the caller's, so the package sends them and its results equal the
caller's own ``scipy.ndimage`` on any machine.

The definition is scipy's documented one: the Gaussian
``phi(x) = exp(-x² / (2 sigma²))`` sampled at the integers ``-radius..radius``
and normalised to sum to 1; its derivative of order ``n`` is
``p_n(x) * phi(x)`` with ``p_0 = 1`` and ``p_(k+1) = p_k' - x p_k / sigma²``.
To round as scipy rounds, every step is the NumPy operation scipy uses for
it, in the same order, on the same dtypes.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

__all__ = ["gaussian_kernel1d", "correlate_weights", "kernel_radius", "MAX_SENT_RADIUS"]

#: Largest radius for which the package makes and sends a kernel itself (the
#: server's default ``--max-radius``); above it the server decides (and, by
#: default, refuses with its own message).
MAX_SENT_RADIUS = 100_000


def gaussian_kernel1d(sigma: Any, order: int, radius: int) -> np.ndarray:
    """The ``2 * radius + 1`` weights of the Gaussian (derivative) kernel of
    ``order`` for ``x = -radius..radius``, as ``scipy.ndimage`` makes them
    (before ``correlate1d`` reverses them).

    ``sigma`` is used as given (a float32 sigma rounds as it does in scipy)."""
    x = np.arange(-radius, radius + 1)
    sigma2 = sigma * sigma
    phi = np.exp(-0.5 / sigma2 * x**2)
    phi = phi / phi.sum()
    if order == 0:
        return phi
    powers = np.arange(order + 1)
    # p_(k+1) = (D + P) p_k on the coefficients (lowest power first): D
    # differentiates, P multiplies by -x / sigma².
    step = np.diag(powers[1:], 1) + np.diag(np.ones(order) / -sigma2, -1)
    coefficients = np.zeros(order + 1)
    coefficients[0] = 1
    for _ in range(order):
        coefficients = step.dot(coefficients)
    polynomial = (x[:, None] ** powers).dot(coefficients)
    return polynomial * phi


def correlate_weights(sigma: Any, order: int, radius: int) -> list[float]:
    """The kernel as ``correlate1d`` takes it (reversed), as a list for the wire."""
    return gaussian_kernel1d(sigma, order, radius)[::-1].tolist()


def kernel_radius(sigma: Any, truncate: Any, radius: Any) -> int | None:
    """scipy's radius for one axis, ``int(truncate * float(sigma) + 0.5)`` or
    ``radius``; None where scipy would refuse it or the package leaves the
    decision to the server (negative, not an integer, not finite, or over
    :data:`MAX_SENT_RADIUS`)."""
    try:
        lw = int(truncate * float(sigma) + 0.5) if radius is None else radius
    except (TypeError, ValueError, OverflowError):
        return None
    if not isinstance(lw, numbers.Integral) or not 0 <= lw <= MAX_SENT_RADIUS:
        return None
    return int(lw)
