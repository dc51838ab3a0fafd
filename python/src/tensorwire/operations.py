"""The server's operations, read from the catalogue ``operations.json``.

The catalogue is generated from the server's registry (``src/ops/``; a Rust
test keeps this copy equal to it): for each operation scipy's name, a
summary, scipy's signature after ``input``, its parameters and which kernels
a caller sends with it. Every operation there becomes a method of
:class:`~tensorwire.Client` and :class:`~tensorwire.AsyncClient` and a
function of :mod:`tensorwire.ndimage`, with scipy's signature and defaults;
nothing in the package lists them. (``gaussian_filter`` keeps its own
hand-written method and function, which call the ``GaussianFilter`` rpc and
so also work with servers older than ``Apply``; a stored input or
``keep=True`` takes the ``Apply`` path.) Beyond scipy's arguments every
method and function takes the keyword-only ``keep`` (the result stays in the
server's store: a :class:`~tensorwire.RemoteTensor`), and every method
``progress`` and ``timeout``. How each call's arguments become the wire's
``OpParams`` is :func:`tensorwire.params.op_params`.
"""

from __future__ import annotations

import ast
import functools
import inspect
import json
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

__all__ = ["Operation", "ParamDoc", "catalogue", "install_methods", "install_functions"]

#: What a function of :mod:`tensorwire.ndimage` takes beyond scipy's arguments.
_KEEP = inspect.Parameter("keep", inspect.Parameter.KEYWORD_ONLY, default=False)
#: What a method of a client takes beyond scipy's arguments.
_CLIENT_OPTIONS = (
    _KEEP,
    inspect.Parameter("progress", inspect.Parameter.KEYWORD_ONLY, default=None),
    inspect.Parameter("timeout", inspect.Parameter.KEYWORD_ONLY, default=None),
)
_INPUT = inspect.Parameter("input", inspect.Parameter.POSITIONAL_OR_KEYWORD)
_SELF = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)


@dataclass(frozen=True)
class ParamDoc:
    """One parameter as the catalogue describes it."""

    name: str
    list: bool
    default: str
    doc: str


@dataclass(frozen=True)
class Operation:
    """One operation of the catalogue.

    Attributes
    ----------
    name : str
        scipy's name, e.g. ``"gaussian_laplace"``.
    summary : str
        What it computes, in one line.
    signature : str
        scipy's signature after ``input``.
    params : tuple of ParamDoc
        The parameters the server reads (the wire's names: ``output_dtype``
        for ``output=``, ``cval_imag`` for the imaginary part of ``cval``).
    kernels : str
        Which kernels a caller sends: ``"per_axis_order"`` (one per filtered
        axis, of its order), ``"one"`` (one kernel) or
        ``"smooth_and_derivative"`` (two per axis of the input).
    derivative_order : int or None
        The derivative order of ``"smooth_and_derivative"``.
    sigma_axes : str
        For ``"smooth_and_derivative"``: what a list of sigmas is per,
        ``"filtered"`` axis (``gaussian_laplace``, the default when the
        catalogue does not say) or ``"input"`` axis (scipy's
        ``gaussian_gradient_magnitude``, which passes sigma on to
        ``gaussian_filter`` and so also smooths the axes it does not sum).
    """

    name: str
    summary: str
    signature: str
    params: tuple[ParamDoc, ...]
    kernels: str
    derivative_order: int | None
    sigma_axes: str = "filtered"

    @functools.cached_property
    def parameters(self) -> tuple[inspect.Parameter, ...]:
        """scipy's parameters, ``input`` first."""
        return (_INPUT, *_parse_signature(self.name, self.signature))

    def function_signature(self) -> inspect.Signature:
        """The signature of the :mod:`tensorwire.ndimage` function: scipy's,
        then the keyword-only ``keep``."""
        return inspect.Signature((*self.parameters, _KEEP))

    def method_signature(self) -> inspect.Signature:
        """The signature of the client method: ``self``, scipy's parameters,
        then the keyword-only ``keep``, ``progress`` and ``timeout``."""
        return inspect.Signature((_SELF, *self.parameters, *_CLIENT_OPTIONS))

    def docstring(self, client: bool) -> str:
        """The docstring of its function (``client=False``) or method."""
        lines = [
            f"{self.summary}.",
            "",
            "Equal bit for bit to scipy's with the same arguments::",
            "",
            f"    scipy.ndimage.{self.name}(input, {self.signature})",
            "",
            "computed by the server; float16 and bfloat16 inputs (which scipy",
            "refuses) are filtered in float32.",
            "",
            "Parameters",
            "----------",
            "input : array_like or RemoteTensor",
            "    The input array, or a tensor stored on the server (only its id",
            "    is sent).",
        ]
        by_name = {p.name: p for p in self.params}
        for parameter in self.parameters[1:]:
            if parameter.name == "output":
                lines += [
                    "output : array or dtype, optional",
                    "    The array in which to place the output, or the dtype of the",
                    "    returned array; by default the input's dtype.",
                ]
                continue
            spec = by_name.get(parameter.name)
            kind = "scalar or sequence" if spec is not None and spec.list else "scalar"
            doc = spec.doc if spec is not None else ""
            line = f"    {doc[:1].upper()}{doc[1:]}."
            if parameter.default is not inspect.Parameter.empty:
                kind += ", optional"
                line += f" Default {parameter.default!r}."
            lines += [
                f"{parameter.name} : {kind}",
                *textwrap.wrap(line, 76, subsequent_indent="    "),
            ]
        lines += [
            "keep : bool, optional",
            "    Keep the result in the server's store and return its",
            "    RemoteTensor instead of downloading it (`output` may then name",
            "    a dtype, not be an array). Default False.",
        ]
        if client:
            lines += [
                "progress : bool, optional",
                "    Override the client's progress setting.",
                "timeout : float, optional",
                "    Override the client's timeout (seconds).",
            ]
        lines += [
            "",
            "Returns",
            "-------",
            f"{self.name} : ndarray or RemoteTensor",
            "    Of the shape of `input` (`output` itself when it is an array);",
            "    with ``keep=True`` the stored result's handle.",
            "",
            "Raises",
            "------",
            "InvalidArgument",
            "    A parameter or the array was refused (scipy's ValueError,",
            "    RuntimeError or TypeError).",
            "ResourceExhausted",
            "    Over a server limit, or the server is busy (``retry_after``).",
            "NotFound",
            "    `input` is a stored tensor that is gone (deleted or expired).",
        ]
        return "\n".join(lines)


def _parse_signature(name: str, text: str) -> list[inspect.Parameter]:
    """scipy's parameters after ``input`` from the catalogue's text, e.g.
    ``"sigma, axis=-1, *, radius=None"`` (defaults are Python literals)."""
    try:
        tree = ast.parse(f"def {name}(input, {text}): pass")
        args = tree.body[0].args  # type: ignore[attr-defined]
        positional = args.args[1:]
        defaults = [ast.literal_eval(d) for d in args.defaults]
        # kw_defaults holds None for a keyword-only parameter without a default.
        keyword_defaults = [
            inspect.Parameter.empty if d is None else ast.literal_eval(d) for d in args.kw_defaults
        ]
    except (SyntaxError, ValueError, IndexError, AttributeError) as err:
        raise ValueError(f"the catalogue's signature of {name} is not readable: {text!r}") from err
    empty = inspect.Parameter.empty
    padded = [empty] * (len(positional) - len(defaults)) + defaults
    parameters = [
        inspect.Parameter(a.arg, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=d)
        for a, d in zip(positional, padded, strict=True)
    ]
    parameters += [
        inspect.Parameter(a.arg, inspect.Parameter.KEYWORD_ONLY, default=d)
        for a, d in zip(args.kwonlyargs, keyword_defaults, strict=True)
    ]
    return parameters


@functools.cache
def catalogue() -> Mapping[str, Operation]:
    """Every operation of ``operations.json``, by name, in the catalogue's order."""
    text = resources.files(__package__).joinpath("operations.json").read_text(encoding="utf-8")
    operations: dict[str, Operation] = {}
    for entry in json.loads(text)["operations"]:
        operation = Operation(
            name=entry["name"],
            summary=entry["summary"],
            signature=entry["signature"],
            params=tuple(
                ParamDoc(p["name"], p["list"], p["default"], p["doc"]) for p in entry["params"]
            ),
            kernels=entry["kernels"],
            derivative_order=entry.get("derivative_order"),
            sigma_axes=entry.get("sigma_axes") or "filtered",
        )
        operation.parameters  # noqa: B018 - a bad signature fails at import, not at a call
        operations[operation.name] = operation
    return operations


def _split(bound: inspect.BoundArguments) -> tuple[dict[str, Any], dict[str, Any]]:
    """scipy's arguments (defaults applied) and the client's options."""
    bound.apply_defaults()
    arguments = dict(bound.arguments)
    arguments.pop("self", None)
    options = {o.name: arguments.pop(o.name) for o in _CLIENT_OPTIONS if o.name in arguments}
    return arguments, options


def _method(operation: Operation, asynchronous: bool) -> Callable[..., Any]:
    signature = operation.method_signature()
    if asynchronous:

        async def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            arguments, options = _split(signature.bind(self, *args, **kwargs))
            return await self._apply(operation, arguments, **options)

    else:

        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            arguments, options = _split(signature.bind(self, *args, **kwargs))
            return self._apply(operation, arguments, **options)

    method.__name__ = operation.name
    method.__signature__ = signature  # type: ignore[attr-defined]
    method.__doc__ = operation.docstring(client=True)
    return method


def install_methods(cls: type, asynchronous: bool) -> None:
    """Adds a method to ``cls`` for every operation it does not define itself;
    each calls ``self._apply(operation, arguments, keep=, progress=, timeout=)``."""
    for operation in catalogue().values():
        if operation.name in cls.__dict__:
            continue
        method = _method(operation, asynchronous)
        method.__qualname__ = f"{cls.__qualname__}.{operation.name}"
        method.__module__ = cls.__module__
        setattr(cls, operation.name, method)


def _function(operation: Operation, client: Callable[[], Any], module: str) -> Callable[..., Any]:
    signature = operation.function_signature()

    def function(*args: Any, **kwargs: Any) -> Any:
        arguments, options = _split(signature.bind(*args, **kwargs))
        return client_of(arguments["input"], client)._apply(operation, arguments, **options)

    function.__name__ = function.__qualname__ = operation.name
    function.__module__ = module
    function.__signature__ = signature  # type: ignore[attr-defined]
    function.__doc__ = operation.docstring(client=False) + (
        f"\n\nSee Also\n--------\ntensorwire.Client.{operation.name} : "
        "the same with an explicit client."
    )
    return function


def client_of(input: Any, default: Callable[[], Any]) -> Any:
    """The client a function calls: a stored input's own (its tensor is
    its API key's, on its server), else ``default()``."""
    from .remote import AsyncRemoteTensor, RemoteTensor

    if isinstance(input, RemoteTensor):
        return input.client
    if isinstance(input, AsyncRemoteTensor):
        raise TypeError(
            "an AsyncRemoteTensor's operations are awaited: call the method of its AsyncClient"
        )
    return default()


def install_functions(namespace: dict[str, Any], client: Callable[[], Any]) -> list[str]:
    """Adds to ``namespace`` (a module's globals) a function for every
    operation it does not define, calling ``_apply`` of ``client()`` (of a
    stored input's own client for a :class:`~tensorwire.RemoteTensor`);
    returns the names added."""
    added = []
    for operation in catalogue().values():
        if operation.name not in namespace:
            namespace[operation.name] = _function(operation, client, namespace["__name__"])
            added.append(operation.name)
    return added
