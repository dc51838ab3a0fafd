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

__all__ = [
    "gaussian_params",
    "op_params",
    "output_dtype",
    "scipy_output_dtype",
    "filtered_axes_count",
    "MODES",
]

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
    if count == 0 and ndim > 0:
        # axes=[]: scipy copies the input (into the output dtype). The wire's
        # empty axes means every axis, so the copy travels as sigma 0 on every
        # axis; scipy reads no other argument but the lengths of sequences.
        for name, value in (("sigma", sigma), ("order", order), ("mode", mode), ("radius", radius)):
            if value is not None:
                _per_axis(name, value, 0)
        return gaussian_params(ndim, 0.0, 0, output, "reflect", cval, 4.0, None, None)
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


# --- Every operation of the catalogue: OpParams ----------------------------------------

_FieldDescriptor = type(pb.GaussianParams.DESCRIPTOR.fields_by_name["sigma"])

#: scipy's wording where the wire cannot carry a value (a negative count).
_NEGATIVE = {
    "order": "order must be non-negative",
    "radius": "Radius must be a nonnegative integer",
}


def scipy_output_dtype(output: Any) -> np.dtype | None:
    """:func:`output_dtype`, refusing what scipy refuses: a dtype given as a
    string that is not a number type (``output='bool'``)."""
    requested = output_dtype(output)
    if isinstance(output, str) and not issubclass(requested.type, np.number):
        raise InvalidArgument(f"output must have numeric dtype, not {output!r}")
    return requested


def _is_sequence(value: Any) -> bool:
    return not isinstance(value, (str, bytes)) and np.iterable(value)


def _wire_value(field: Any, name: str, value: Any) -> Any:
    """One value of the message field ``field``, checked and converted."""
    if _is_sequence(value):
        raise InvalidArgument(f"{name} must be a single value, not {value!r}")
    if field.enum_type is not None:
        if field.enum_type.full_name != pb.Mode.DESCRIPTOR.full_name:
            raise InvalidArgument(f"{name} is not a parameter of scipy's")
        if value not in MODES:
            raise InvalidArgument(
                f"boundary mode not supported: {value!r}; one of {', '.join(MODES)}"
            )
        return MODES[value]
    kind = field.cpp_type
    if kind in (_FieldDescriptor.CPPTYPE_DOUBLE, _FieldDescriptor.CPPTYPE_FLOAT):
        if isinstance(value, (str, bytes)):
            raise InvalidArgument(f"{name} must be a number, not {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise InvalidArgument(f"{name} must be a number, not {value!r}") from None
    if kind in (_FieldDescriptor.CPPTYPE_UINT32, _FieldDescriptor.CPPTYPE_UINT64):
        return _non_negative_int(name, value, _NEGATIVE.get(name, f"{name} must be non-negative"))
    if kind in (_FieldDescriptor.CPPTYPE_INT32, _FieldDescriptor.CPPTYPE_INT64):
        try:
            return operator.index(value)
        except TypeError:
            raise InvalidArgument(f"{name} must be an integer, not {value!r}") from None
    raise InvalidArgument(f"{name} is not a parameter of scipy's")


def _normalized(name: str, value: Any, count: int) -> tuple[list[Any], bool]:
    """scipy's ``_normalize_sequence``: ``count`` values from one or a
    sequence of ``count``, and whether a sequence was given. A sequence of
    another length is refused here: the wire reads a one-value list as one
    value for every axis, and scipy refuses it."""
    if not _is_sequence(value):
        return [value] * count, False
    values = list(value)
    if len(values) != count:
        raise InvalidArgument(
            f"sequence argument must have length equal to input rank: {name} has "
            f"{len(values)} values for {count} axes"
        )
    return values, True


def _set_common(
    message: Any, arguments: dict[str, Any], output: np.dtype | None, real_cval: bool
) -> None:
    """``cval`` (its imaginary part as ``cval_imag``), ``truncate`` and the
    output dtype, as every operation's message holds them. ``real_cval``:
    scipy's correlation will read cval as a real number (real input), so it
    refuses a complex one, even with no imaginary part, which the wire does
    not tell from a real one."""
    fields = message.DESCRIPTOR.fields_by_name
    if "cval" in arguments:
        if real_cval and isinstance(arguments["cval"], (complex, np.complexfloating)):
            raise InvalidArgument(
                f"cval must be a real number for real input, not {arguments['cval']!r}"
            )
        try:
            value = complex(arguments["cval"])
        except (TypeError, ValueError):
            raise InvalidArgument(f"cval must be a number, not {arguments['cval']!r}") from None
        message.cval = value.real
        message.cval_imag = value.imag
    if arguments.get("truncate") is not None:
        message.truncate = _wire_value(fields["truncate"], "truncate", arguments["truncate"])
    if output is not None:
        message.output_dtype = to_wire(output)


def _one_kernel(
    message: Any, arguments: dict[str, Any], output: np.dtype | None, real_input: bool
) -> None:
    """An operation whose parameters are single values and that takes one
    kernel (``gaussian_filter1d``): each argument into its field of the same
    name; the kernel this process's NumPy makes, with its radius."""
    fields = message.DESCRIPTOR.fields_by_name
    _set_common(message, arguments, output, real_input)
    for name, value in arguments.items():
        if name in ("cval", "truncate") or value is None:
            continue
        if name not in fields:
            raise InvalidArgument(f"{name} is not a parameter of this operation on the wire")
        setattr(message, name, _wire_value(fields[name], name, value))
    sigma, order = arguments.get("sigma"), message.order if "order" in fields else 0
    lw = kernel_radius(sigma, arguments.get("truncate", 4.0), arguments.get("radius"))
    weights = None if lw is None else _weights(sigma, order, lw)
    if weights is not None:
        message.kernel.weights[:] = weights
        message.radius = lw


def _weights(sigma: Any, order: int, radius: int) -> list[float] | None:
    """The kernel this process's NumPy makes, as the wire takes it; None
    where scipy would fail making it (sigma² is 0) or it is not finite (the
    server then decides, as scipy would, from the parameters)."""
    try:
        with np.errstate(all="ignore"):
            weights = correlate_weights(sigma, order, radius)
    except ArithmeticError:
        return None
    return weights if np.isfinite(weights).all() else None


def _resolved_axes(axes: Any, ndim: int) -> tuple[list[int] | None, int]:
    """The filtered axes as scipy's ``_check_axes`` resolves them (None when
    scipy would refuse them: the server says why), and how many there are."""
    if axes is None:
        return list(range(ndim)), ndim
    values = list(axes) if _is_sequence(axes) else [axes]
    try:
        indices = [operator.index(a) for a in values]
    except TypeError:
        raise InvalidArgument(f"axes must be integers: {axes!r}") from None
    if any(not -ndim <= a < ndim for a in indices):
        return None, len(indices)
    resolved = [a % ndim for a in indices]
    return (resolved if len(set(resolved)) == len(resolved) else None), len(indices)


def _above_threshold(sigma: Any) -> bool:
    """scipy's ``sigma > 1e-15``: the axis is filtered."""
    try:
        return bool(sigma > 1e-15)
    except TypeError:
        return True  # not a number: refused when converted


def _derivative_sum_sigma(
    rule: str, sigma: Any, axes: list[int] | None, count: int, ndim: int
) -> tuple[list[Any], list[Any] | None]:
    """The wire's sigma values, and the sigma scipy gives each axis of the
    input (None when the axes are refused, so unknown). ``rule`` is the
    catalogue's ``sigma_axes``: ``"filtered"`` (``gaussian_laplace``: one
    value or one per filtered axis, spread over the input's axes with 0 for
    the others when fewer are filtered, else the list as it is, whatever the
    order of ``axes``) or ``"input"`` (scipy's ``gaussian_gradient_magnitude``
    hands sigma to ``gaussian_filter`` as it is: one value or one per axis of
    the input, every axis smoothed)."""
    if rule == "input":
        values, listed = _normalized("sigma", sigma, ndim)
        return (values if listed else [sigma]), values
    values, listed = _normalized("sigma", sigma, count)
    if axes is None:
        return (values if listed else [sigma]), None
    per_axis = values
    if count < ndim:
        per_axis = [0] * ndim
        for value, axis in zip(values, axes, strict=True):
            per_axis[axis] = value
    return (values if listed else [sigma]), per_axis


def _smooth_and_derivative(
    message: Any,
    arguments: dict[str, Any],
    output: np.dtype | None,
    ndim: int,
    real_input: bool,
    operation: Any,
) -> None:
    """A sum over the filtered axes of Gaussian filters of derivative order
    ``operation.derivative_order`` along that axis (``gaussian_laplace``: 2,
    ``gaussian_gradient_magnitude``: 1): ``mode`` one or one per filtered
    axis; ``radius`` and the kernels per axis of the input, two kernels an
    axis (smoothing, then derivative) for the sigma scipy gives it, both
    empty where scipy skips the axis (sigma <= 1e-15)."""
    fields = message.DESCRIPTOR.fields_by_name
    given_axes = arguments.get("axes")
    axes, count = _resolved_axes(given_axes, ndim)
    if given_axes is not None:
        listed_axes = given_axes if _is_sequence(given_axes) else [given_axes]
        message.axes[:] = [_wire_value(fields["axes"], "axes", a) for a in listed_axes]
    sent, per_axis = _derivative_sum_sigma(
        operation.sigma_axes, arguments["sigma"], axes, count, ndim
    )
    message.sigma[:] = [_wire_value(fields["sigma"], "sigma", s) for s in sent]
    filters = per_axis is None or any(_above_threshold(s) for s in per_axis)
    _set_common(message, arguments, output, real_input and filters)
    mode = arguments.get("mode", "reflect")
    modes, listed = _normalized("mode", mode, count)
    # A mode no pass uses is never read by scipy, so never refused: any will do.
    message.mode[:] = [
        _wire_value(fields["mode"], "mode", m) if filters or m in MODES else MODES["reflect"]
        for m in (modes if listed else [mode])
    ]
    radius = arguments.get("radius")
    radii, radius_listed = (
        ([None] * ndim, False) if radius is None else _normalized("radius", radius, ndim)
    )
    if per_axis is not None:
        kernels: list[list[float]] = []
        lws: list[int] = []
        for sigma, given in zip(per_axis, radii, strict=True):
            if not _above_threshold(sigma):
                kernels += [[], []]
                lws.append(0)
                continue
            lw = kernel_radius(sigma, arguments.get("truncate", 4.0), given)
            if lw is None:
                break  # scipy refuses it, or the server's limits decide
            pair = [_weights(sigma, 0, lw), _weights(sigma, operation.derivative_order, lw)]
            if pair[0] is None or pair[1] is None:
                break
            kernels += pair
            lws.append(lw)
        else:
            if filters:
                message.kernels.extend(pb.Kernel1D(weights=k) for k in kernels)
                message.radius[:] = lws
            return  # when nothing is filtered, scipy reads no radius
    if radius is not None:
        values = radii if radius_listed else [radius]
        message.radius[:] = [_wire_value(fields["radius"], "radius", r) for r in values]


def op_params(
    operation: Any, ndim: int, arguments: dict[str, Any], output: Any, real_input: bool = True
) -> pb.OpParams:
    """The wire's ``OpParams`` of one call of ``operation`` (a catalogue
    :class:`~tensorwire.operations.Operation`) on a rank-``ndim`` array,
    real or complex: ``arguments`` are scipy's (defaults applied) without
    ``input`` and ``output``; ``output`` is the requested dtype (None: the
    input's).

    The operation's message is the ``OpParams`` field of its name; how its
    arguments map into it is its catalogue ``kernels`` rule."""
    if operation.name not in pb.OpParams.DESCRIPTOR.fields_by_name:
        raise InvalidArgument(
            f"this tensorwire package's wire stubs have no {operation.name}: regenerate "
            "them (python/check_stubs.py --write)"
        )
    try:
        return _op_params(operation, ndim, arguments, output, real_input)
    except InvalidArgument:
        raise
    except (TypeError, ValueError) as err:  # a value out of the wire's range
        raise InvalidArgument(str(err)) from None


def _op_params(
    operation: Any, ndim: int, arguments: dict[str, Any], output: Any, real_input: bool
) -> pb.OpParams:
    wire = pb.OpParams()
    message = getattr(wire, operation.name)
    message.SetInParent()
    if operation.kernels == "per_axis_order":
        message.CopyFrom(
            gaussian_params(
                ndim,
                arguments["sigma"],
                arguments.get("order", 0),
                output,
                arguments.get("mode", "reflect"),
                arguments.get("cval", 0.0),
                arguments.get("truncate", 4.0),
                arguments.get("radius"),
                arguments.get("axes"),
            )
        )
    elif operation.kernels == "one":
        _one_kernel(message, arguments, output, real_input)
    elif operation.kernels == "smooth_and_derivative":
        axes = arguments.get("axes")
        if axes is not None and _is_sequence(axes) and len(list(axes)) == 0 and ndim > 0:
            # No axis filtered: scipy copies the input into the output dtype
            # (gaussian_laplace checks sigma's length first). The derivative sum's
            # message cannot say "no axes" (an empty list is every axis), so
            # the copy is asked for as what it is: a Gaussian filter of sigma 0.
            if operation.sigma_axes != "input":
                _normalized("sigma", arguments["sigma"], 0)
            return pb.OpParams(
                gaussian_filter=gaussian_params(
                    ndim, 0.0, 0, output, "reflect", arguments.get("cval", 0.0), 4.0, None, None
                )
            )
        _smooth_and_derivative(message, arguments, output, ndim, real_input, operation)
    else:
        raise InvalidArgument(
            f"{operation.name} takes {operation.kernels!r} kernels, which this version of "
            "the tensorwire package does not know: upgrade it"
        )
    return wire
