"""Exceptions raised by the tensorwire client.

Every failure of a call is a :class:`Error` carrying the server's message;
the gRPC status codes a caller can act on have their own subclass. Each also
derives from the built-in exception a scipy user would expect
(``InvalidArgument`` is a ``ValueError``, ``DeadlineExceeded`` a
``TimeoutError``, ``Unavailable`` a ``ConnectionError``), so code written
against ``scipy.ndimage`` keeps catching what it caught before.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import grpc

__all__ = [
    "Error",
    "InvalidArgument",
    "ResourceExhausted",
    "Unauthenticated",
    "Unavailable",
    "DeadlineExceeded",
    "from_rpc_error",
    "translated",
]


class Error(Exception):
    """A call failed.

    Attributes
    ----------
    message : str
        What went wrong, as the server (or the client) said it.
    code : grpc.StatusCode or None
        The gRPC status of the refusal; None for errors found by the client.
    """

    def __init__(self, message: str, code: grpc.StatusCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class InvalidArgument(Error, ValueError):
    """The array or a parameter was refused (gRPC ``INVALID_ARGUMENT``)."""


class ResourceExhausted(Error):
    """Over a server limit (gRPC ``RESOURCE_EXHAUSTED``).

    Attributes
    ----------
    retry_after : float or None
        Seconds to wait before trying again when the server is only busy
        (its memory budget is held by other calls); None when retrying
        cannot help (the request is over a size limit).
    """

    def __init__(
        self,
        message: str,
        code: grpc.StatusCode | None = grpc.StatusCode.RESOURCE_EXHAUSTED,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, code)
        self.retry_after = retry_after


class Unauthenticated(Error, PermissionError):
    """No API key, or a wrong one (gRPC ``UNAUTHENTICATED``)."""


class Unavailable(Error, ConnectionError):
    """The server cannot be reached (gRPC ``UNAVAILABLE``)."""


class DeadlineExceeded(Error, TimeoutError):
    """The call took longer than its timeout (gRPC ``DEADLINE_EXCEEDED``)."""


_BY_CODE: dict[grpc.StatusCode, type[Error]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
}


def _retry_after(err: grpc.RpcError) -> float | None:
    """The ``retry-after`` metadata (seconds) of a refusal, if any."""
    try:
        metadata = err.trailing_metadata() or ()  # type: ignore[attr-defined]
    except Exception:  # a call that never reached the server has none
        return None
    for key, value in metadata:
        if key == "retry-after":
            try:
                return float(value)
            except (TypeError, ValueError):
                return None
    return None


def from_rpc_error(err: grpc.RpcError) -> Error:
    """The package's exception for a failed gRPC call."""
    code = err.code() if hasattr(err, "code") else None  # type: ignore[attr-defined]
    details = err.details() if hasattr(err, "details") else None  # type: ignore[attr-defined]
    message = details or (code.name if code is not None else str(err))
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        return ResourceExhausted(message, code, _retry_after(err))
    return _BY_CODE.get(code, Error)(message, code)  # type: ignore[arg-type]


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """Turns gRPC failures (``grpc.aio.AioRpcError`` included) raised inside
    the block into the package's exceptions."""
    try:
        yield
    except grpc.RpcError as err:
        raise from_rpc_error(err) from None
