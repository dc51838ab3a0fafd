"""scipy's ``gaussian_filter`` arguments as the wire's ``GaussianParams``.

The server checks every parameter the way scipy does; the client only
refuses what the wire cannot carry (negative orders and radii, unknown mode
names, sequences of the wrong length, which the wire would read as one value
for every axis), with scipy's wording, as :class:`~tensorwire.InvalidArgument`.
"""

from __future__ import annotations

import numbers
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from .dtypes import to_wire
from .errors import InvalidArgument
from .kernels import correlate_weights, kernel_radius
from .v1 import tensorwire_pb2 as pb

__all__ = ["gaussian_params", "output_dtype", "filtered_axes_count", "MODES"]

#: scipy's boundary mode names and their wire values.
MODES: dict[str, int] = {
    "reflect": pb.MODE_REFLECT,
    "constant": pb.MODE_CONSTANT,
    "nearest": pb.MODE_NEAREST,
    "mirror": pb.MODE_MIRROR,
    "wrap": pb.MODE_WRAP,
    "grid-constant": pb.MODE_GRID_CONSTANT,
    "grid-mirror": pb.MODE_GRID_MIRROR,
    "grid-wrap": pb.MODE_GRID_WRAP,
}

Scalars = float | Sequence[float]


def filtered_axes_count(ndim: int, axes: Any) -> int:
    """How many axes a call filters (scipy: all of them when ``axes`` is None)."""
    if axes is None:
        return ndim
    if isinstance(axes, numbers.Integral):
        return 1
    return len(axes)


def _per_axis(name: str, value: Any, count: int) -> list[Any]:
    """One value, or one per filtered axis, as scipy's ``_normalize_sequence``."""
    if isinstance(value, str) or not isinstance(value, (Sequence, np.ndarray)):
        return [value]
    values = list(value)
    if len(values) != count:
        raise InvalidArgument(
            f"sequence argument must have length equal to input rank: {name} has "
            f"{len(values)} values for {count} filtered axes"
        )
    return values


def _non_negative_int(name: str, value: Any, what: str) -> int:
    try:
        number = operator.index(value)
    except TypeError:
        raise InvalidArgument(f"{what}: {name}={value!r}") from None
    if number < 0:
        raise InvalidArgument(f"{what}: {name}={value!r}")
    if number > 0xFFFFFFFF:
        raise InvalidArgument(f"{name}={value!r} is too large")
    return number


def output_dtype(output: Any) -> np.dtype | None:
    """The dtype asked for with scipy's ``output=`` (None: the input's)."""
    if output is None:
        return None
    if isinstance(output, np.ndarray):
        return output.dtype
    try:
        return np.dtype(output)
    except TypeError as err:
        raise InvalidArgument(f"output must be a dtype or an array, not {output!r}") from err


def gaussian_params(
    ndim: int,
    sigma: Scalars,
    order: int | Sequence[int],
    output: np.dtype | None,
    mode: str | Sequence[str],
    cval: complex,
    truncate: float,
    radius: int | Sequence[int] | None,
    axes: int | Sequence[int] | None,
) -> pb.GaussianParams:
    """The wire parameters of one ``gaussian_filter`` call on a rank-``ndim`` array."""
    count = filtered_axes_count(ndim, axes)
    given_sigmas = _per_axis("sigma", sigma, count)
    try:
        sigmas = [float(s) for s in given_sigmas]
    except (TypeError, ValueError) as err:
        raise InvalidArgument(f"sigma must be a number or a sequence of numbers: {err}") from None
    orders = [
        _non_negative_int("order", o, "order must be non-negative")
        for o in _per_axis("order", order, count)
    ]
    modes = []
    for m in _per_axis("mode", mode, count):
        if m not in MODES:
            raise InvalidArgument(f"boundary mode not supported: {m!r}; one of {', '.join(MODES)}")
        modes.append(MODES[m])
    radii: list[int] = []
    if radius is not None:
        radii = [
            _non_negative_int("radius", r, "Radius must be a nonnegative integer")
            for r in _per_axis("radius", radius, count)
        ]
    axis_list: list[int] = []
    if axes is not None:
        try:
            axis_list = [operator.index(a) for a in _per_axis("axes", axes, count)]
        except TypeError:
            raise InvalidArgument(f"axes must be integers: {axes!r}") from None
    try:
        value = complex(cval)
    except (TypeError, ValueError):
        raise InvalidArgument(f"cval must be a number, not {cval!r}") from None
    try:
        params = pb.GaussianParams(
            sigma=sigmas,
            order=orders,
            mode=modes,
            cval=value.real,
            cval_imag=value.imag,
            truncate=float(truncate),
            radius=radii,
            axes=axis_list,
            output_dtype=to_wire(output) if output is not None else pb.DTYPE_UNSPECIFIED,
        )
    except ValueError as err:  # a value out of the wire's range (axis beyond int32)
        raise InvalidArgument(str(err)) from None
    _add_kernels(params, given_sigmas, orders, truncate, radius, count)
    return params


def _add_kernels(
    params: pb.GaussianParams,
    sigmas: list[Any],
    orders: list[int],
    truncate: Any,
    radius: Any,
    count: int,
) -> None:
    """Sends the kernels this process's NumPy makes (see :mod:`.kernels`), with
    the radius of each, so the result equals this process's scipy. Where
    scipy would refuse an axis's parameters, or the server's limits decide,
    no kernel is sent and the server checks and builds everything itself."""
    # One value stands for every filtered axis, as in scipy's _normalize_sequence.
    sigmas = sigmas * count if len(sigmas) == 1 else sigmas
    orders = orders * count if len(orders) == 1 else orders
    radii = [radius] * count if radius is None else _per_axis("radius", radius, count)
    radii = radii * count if len(radii) == 1 else radii
    kernels: list[list[float]] = []
    axis_radii: list[int] = []
    for sigma, order, given_radius in zip(sigmas, orders, radii, strict=True):
        if not float(sigma) > 1e-15:
            kernels.append([])
            axis_radii.append(0)
            continue
        lw = kernel_radius(sigma, truncate, given_radius)
        if lw is None:
            return
        kernels.append(correlate_weights(sigma, order, lw))
        axis_radii.append(lw)
    params.kernels.extend(pb.Kernel1D(weights=k) for k in kernels)
    params.radius[:] = axis_radii
