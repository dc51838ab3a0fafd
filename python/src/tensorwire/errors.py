"""Exceptions raised by the tensorwire client.

Every failure of a call is a :class:`Error` carrying the server's message;
the gRPC status codes a caller can act on have their own subclass. Each also
derives from the built-in exception a scipy user would expect
(``InvalidArgument`` is a ``ValueError``, ``DeadlineExceeded`` a
``TimeoutError``, ``Unavailable`` a ``ConnectionError``, ``NotFound`` a
``LookupError``), so code written against ``scipy.ndimage`` keeps catching
what it caught before.

The server's refusals also carry the standard rich error details
(``grpc-status-details-bin``: ``google.rpc.ErrorInfo``, ``BadRequest``,
``QuotaFailure``, ``RetryInfo``; see the README's "The error model"); every
exception exposes them as ``reason``, ``field``, ``limit`` and, for a busy
server, ``retry_after``, so a caller acts on them without reading messages.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import grpc
from google.rpc import error_details_pb2, status_pb2

__all__ = [
    "Error",
    "InvalidArgument",
    "ResourceExhausted",
    "Unauthenticated",
    "Unavailable",
    "DeadlineExceeded",
    "NotFound",
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
    reason : str or None
        The server's ``ErrorInfo`` reason (``"BAD_ARGUMENT"``,
        ``"LIMIT_EXCEEDED"``, ``"BUDGET_EXCEEDED"``, ``"BUSY"``,
        ``"NOT_FOUND"``, ``"INTERNAL"``); None when the refusal carries none.
    field : str or None
        The parameter a ``BAD_ARGUMENT`` refusal names (``BadRequest``), e.g.
        ``"order"``.
    limit : str or None
        The server flag whose limit was exceeded (``QuotaFailure``), e.g.
        ``"--max-tensor-bytes"``.
    """

    def __init__(self, message: str, code: grpc.StatusCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.reason: str | None = None
        self.field: str | None = None
        self.limit: str | None = None


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


class NotFound(Error, LookupError):
    """No stored tensor has this id for this API key: never stored, deleted,
    expired (``--store-ttl-secs``) or another key's (gRPC ``NOT_FOUND``,
    reason ``"NOT_FOUND"``)."""


_BY_CODE: dict[grpc.StatusCode, type[Error]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.NOT_FOUND: NotFound,
}


class _Details:
    """What a refusal's trailing metadata says beyond its code and message."""

    def __init__(self, err: grpc.RpcError) -> None:
        self.reason: str | None = None
        self.field: str | None = None
        self.limit: str | None = None
        self.retry_after: float | None = None
        try:
            metadata = err.trailing_metadata() or ()  # type: ignore[attr-defined]
        except Exception:  # a call that never reached the server has none
            metadata = ()
        for key, value in metadata:
            if key == "retry-after" and self.retry_after is None:
                with contextlib.suppress(TypeError, ValueError):
                    self.retry_after = float(value)
            elif key == "grpc-status-details-bin" and isinstance(value, bytes):
                with contextlib.suppress(Exception):  # malformed details: none
                    self._read(status_pb2.Status.FromString(value))

    def _read(self, status: status_pb2.Status) -> None:
        info = error_details_pb2.ErrorInfo()
        bad = error_details_pb2.BadRequest()
        quota = error_details_pb2.QuotaFailure()
        retry = error_details_pb2.RetryInfo()
        for detail in status.details:
            if detail.Unpack(info):
                self.reason = info.reason or None
            elif detail.Unpack(bad) and bad.field_violations:
                self.field = bad.field_violations[0].field
            elif detail.Unpack(quota) and quota.violations:
                self.limit = quota.violations[0].subject
            elif detail.Unpack(retry) and retry.HasField("retry_delay"):
                self.retry_after = retry.retry_delay.ToTimedelta().total_seconds()


def from_rpc_error(err: grpc.RpcError) -> Error:
    """The package's exception for a failed gRPC call."""
    code = err.code() if hasattr(err, "code") else None  # type: ignore[attr-defined]
    details = err.details() if hasattr(err, "details") else None  # type: ignore[attr-defined]
    message = details or (code.name if code is not None else str(err))
    rich = _Details(err)
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        error: Error = ResourceExhausted(message, code, rich.retry_after)
    else:
        error = _BY_CODE.get(code, Error)(message, code)  # type: ignore[arg-type]
    error.reason, error.field, error.limit = rich.reason, rich.field, rich.limit
    return error


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """Turns gRPC failures (``grpc.aio.AioRpcError`` included) raised inside
    the block into the package's exceptions."""
    try:
        yield
    except grpc.RpcError as err:
        raise from_rpc_error(err) from None
