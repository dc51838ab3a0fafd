"""Tensors that stay on the server: :class:`RemoteTensor` and :class:`AsyncRemoteTensor`.

``client.put(a)`` keeps an array in the server's tensor store and answers a
handle to it; every operation takes such a handle as its ``input`` (only its
id travels), and ``keep=True`` keeps an operation's result there too, so a
pipeline of operations runs on the server and only its last result (or
nothing) comes back::

    with c.put(a) as ref:                             # deleted on leaving the block
        smooth = c.gaussian_filter(ref, 2.0, keep=True)
        edges = c.gaussian_gradient_magnitude(smooth, 1.0)   # an ndarray
        smooth.delete()

A stored tensor belongs to the API key that stored it and is dropped after
``--store-ttl-secs`` of disuse; an unknown, expired or deleted id, or another
key's, raises :class:`~tensorwire.NotFound`.
"""

from __future__ import annotations

import contextlib
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from .dtypes import from_wire
from .errors import NotFound
from .v1 import tensorwire_pb2 as pb

if TYPE_CHECKING:
    from .aio import AsyncClient
    from .calls import TensorInfo
    from .client import Client

__all__ = ["RemoteHandle", "RemoteTensor", "AsyncRemoteTensor", "tensor_id"]


class RemoteHandle:
    """What :class:`RemoteTensor` and :class:`AsyncRemoteTensor` share: the
    stored tensor's id and what it is (``StoredTensor``), and the client
    that made the handle.

    Attributes
    ----------
    id : str
        The store's id (32 hex digits).
    dtype : numpy.dtype
        The element type (native byte order).
    shape : tuple of int
        The shape.
    nbytes : int
        Bytes of data.
    expires_in : float
        Seconds of disuse the store had left for it when this handle was
        made; every use restarts the server's clock.
    client : Client or AsyncClient
        The client whose calls the handle's methods make.
    """

    __slots__ = ("id", "dtype", "shape", "nbytes", "expires_in", "client")

    def __init__(self, client: Any, stored: pb.StoredTensor) -> None:
        self.client = client
        self.id: str = stored.id
        self.dtype: np.dtype = from_wire(stored.dtype).newbyteorder("=")
        self.shape: tuple[int, ...] = tuple(stored.shape)
        self.nbytes: int = stored.nbytes
        self.expires_in: float = stored.expires_in_ms / 1000.0

    @property
    def ndim(self) -> int:
        """Number of axes."""
        return len(self.shape)

    @property
    def size(self) -> int:
        """Number of elements."""
        return math.prod(self.shape)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(id={self.id!r}, dtype={self.dtype}, shape={self.shape}, "
            f"nbytes={self.nbytes}, expires_in={self.expires_in:g})"
        )


class RemoteTensor(RemoteHandle):
    """A tensor kept in the server's store, made by :meth:`Client.put
    <tensorwire.Client.put>`, :meth:`Client.tensors <tensorwire.Client.tensors>`
    or an operation called with ``keep=True``.

    Any operation takes it as its ``input``; ``np.asarray(ref)`` and
    :meth:`get` download it. As a context manager it deletes the stored
    tensor on leaving the block (quietly when it is gone already).

    Attributes are those of :class:`RemoteHandle`: ``id``, ``dtype``,
    ``shape``, ``nbytes``, ``expires_in`` (seconds), ``client``.
    """

    __slots__ = ()
    client: Client

    def get(self, *, progress: bool | None = None, timeout: float | None = None) -> np.ndarray:
        """Downloads the stored tensor (streamed in pieces).

        Returns
        -------
        ndarray
            A new array of the tensor's dtype and shape.
        """
        return self.client.get(self, progress=progress, timeout=timeout)

    def describe(self, *, timeout: float | None = None) -> TensorInfo:
        """Describe of the stored tensor, computed on the server (``DescribeStored``)."""
        return self.client.describe(self, timeout=timeout)

    def delete(self, *, timeout: float | None = None) -> None:
        """Deletes the stored tensor; :class:`~tensorwire.NotFound` when it is gone already."""
        self.client.delete(self, timeout=timeout)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        array = self.get()
        return array if dtype is None else array.astype(dtype, copy=False)

    def __enter__(self) -> RemoteTensor:
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(NotFound):
            self.delete()


class AsyncRemoteTensor(RemoteHandle):
    """A stored tensor of an :class:`~tensorwire.AsyncClient`: the methods of
    :class:`RemoteTensor`, awaitable, and ``async with`` instead of ``with``.
    ``np.asarray`` cannot await: use ``await ref.get()``."""

    __slots__ = ()
    client: AsyncClient

    async def get(
        self, *, progress: bool | None = None, timeout: float | None = None
    ) -> np.ndarray:
        """See :meth:`RemoteTensor.get`."""
        return await self.client.get(self, progress=progress, timeout=timeout)

    async def describe(self, *, timeout: float | None = None) -> TensorInfo:
        """See :meth:`RemoteTensor.describe`."""
        return await self.client.describe(self, timeout=timeout)

    async def delete(self, *, timeout: float | None = None) -> None:
        """See :meth:`RemoteTensor.delete`."""
        await self.client.delete(self, timeout=timeout)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        raise TypeError(
            "an AsyncRemoteTensor cannot be converted without awaiting: use `await ref.get()`"
        )

    async def __aenter__(self) -> AsyncRemoteTensor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        with contextlib.suppress(NotFound):
            await self.delete()


def tensor_id(ref: RemoteHandle | str) -> pb.TensorRef:
    """The wire's ``TensorRef`` of a handle or an id."""
    if isinstance(ref, RemoteHandle):
        return pb.TensorRef(id=ref.id)
    if isinstance(ref, str):
        return pb.TensorRef(id=ref)
    raise TypeError(f"a stored tensor is named by a RemoteTensor or its id, not {ref!r}")
