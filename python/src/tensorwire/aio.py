"""The asyncio client: :class:`AsyncClient` (grpc.aio), the same methods as
:class:`~tensorwire.Client`, awaitable."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import grpc
import grpc.aio
import numpy as np

from .calls import (
    DEFAULT_ADDRESS,
    DEFAULT_MAX_MESSAGE_BYTES,
    DEFAULT_PIECE_BYTES,
    ArrayCall,
    ChannelSettings,
    DescribeCall,
    FilterCall,
    OpCall,
    Streams,
    TensorInfo,
)
from .dtypes import to_wire, wire_array
from .errors import Error, translated
from .framing import (
    Assembler,
    Download,
    image_upload,
    upload,
)
from .images import ImageSource, decode_image, read_image
from .operations import Operation, catalogue, install_methods
from .params import Scalars
from .progress import progress_bar
from .remote import AsyncRemoteTensor, RemoteHandle, tensor_id
from .v1 import tensorwire_pb2 as pb
from .v1 import tensorwire_pb2_grpc as pb_grpc

__all__ = ["AsyncClient"]


class AsyncClient:
    """An asyncio connection to a tensorwire server (grpc.aio).

    Takes the arguments of :class:`~tensorwire.Client`; every method is a
    coroutine with the same arguments and result, except that stored tensors
    are :class:`~tensorwire.AsyncRemoteTensor` (awaitable ``get``,
    ``delete``, ``describe``; ``async with``). Use it as ``async with
    AsyncClient(...) as client:`` or call :meth:`close`.
    """

    def __init__(
        self,
        address: str = DEFAULT_ADDRESS,
        api_key: str | None = None,
        timeout: float | None = None,
        tls: bool | bytes | grpc.ChannelCredentials = False,
        compression: None | str | grpc.Compression = None,
        *,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        piece_bytes: int = DEFAULT_PIECE_BYTES,
        progress: bool = False,
        options: Sequence[tuple[str, Any]] = (),
    ) -> None:
        self._settings = ChannelSettings.build(
            address, api_key, timeout, tls, compression, max_message_bytes, piece_bytes, options
        )
        self._progress = progress
        channel = self._settings.open_channel(grpc.aio)
        self._channel = channel
        self._stub = pb_grpc.TensorServiceStub(channel)
        self._streams = Streams(channel)

    async def close(self) -> None:
        """Closes the channel; calls in flight are cancelled."""
        await self._channel.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def describe(
        self, input: Any, *, progress: bool | None = None, timeout: float | None = None
    ) -> TensorInfo:
        """See :meth:`tensorwire.Client.describe`."""
        kwargs = self._settings.call_options(timeout)
        if isinstance(input, RemoteHandle):
            with translated():
                answer = await self._stub.DescribeStored(tensor_id(input), **kwargs)
            return TensorInfo.from_wire(answer)
        call = DescribeCall(self._settings, input)
        show = self._progress if progress is None else progress
        with translated():
            if not call.streamed:
                answer = await self._stub.Describe(call.unary_request(), **kwargs)
            else:
                with progress_bar(show, call.wire.nbytes, "describe") as bar:
                    requests = upload(call.header(), call.wire, self._settings.piece_bytes, bar)
                    answer = await self._streams.describe(requests, **kwargs)
        return TensorInfo.from_wire(answer)

    async def gaussian_filter(
        self,
        input: Any,
        sigma: Scalars,
        order: int | Sequence[int] = 0,
        output: Any = None,
        mode: str | Sequence[str] = "reflect",
        cval: complex = 0.0,
        truncate: float = 4.0,
        *,
        radius: int | Sequence[int] | None = None,
        axes: int | Sequence[int] | None = None,
        keep: bool = False,
        progress: bool | None = None,
        timeout: float | None = None,
    ) -> np.ndarray | AsyncRemoteTensor:
        """See :meth:`tensorwire.Client.gaussian_filter`."""
        if keep or isinstance(input, RemoteHandle):
            operation = catalogue()["gaussian_filter"]
            values = (input, sigma, order, output, mode, cval, truncate, radius, axes)
            arguments = dict(zip((p.name for p in operation.parameters), values, strict=True))
            return await self._apply(
                operation, arguments, keep=keep, progress=progress, timeout=timeout
            )
        call = FilterCall(
            self._settings, input, sigma, order, output, mode, cval, truncate, radius, axes
        )
        return await self._run(
            call,
            self._stub.GaussianFilter,
            self._streams.filter,
            "gaussian_filter",
            progress,
            timeout,
        )

    async def _apply(
        self,
        operation: Operation,
        arguments: dict[str, Any],
        *,
        keep: bool = False,
        progress: bool | None = None,
        timeout: float | None = None,
    ) -> np.ndarray | AsyncRemoteTensor:
        """See :meth:`tensorwire.Client._apply`."""
        call = OpCall(self._settings, operation, arguments, keep)
        if keep:
            return await self._keep(call, progress, timeout)
        return await self._run(
            call, self._stub.Apply, self._streams.apply, operation.name, progress, timeout
        )

    async def _keep(
        self, call: OpCall, progress: bool | None, timeout: float | None
    ) -> AsyncRemoteTensor:
        """See :meth:`tensorwire.Client._keep`."""
        kwargs = self._settings.call_options(timeout)
        if call.input_id or not call.streamed:
            with translated():
                stored = await self._stub.ApplyKeep(call.unary_request(), **kwargs)
            return AsyncRemoteTensor(self, stored)
        assert call.wire is not None
        staged = await self._put(call.wire, progress, timeout)
        try:
            with translated():
                stored = await self._stub.ApplyKeep(call.unary_request(staged.id), **kwargs)
        finally:
            with contextlib.suppress(Error):
                await self.delete(staged.id, timeout=timeout)
        return AsyncRemoteTensor(self, stored)

    async def _run(
        self,
        call: ArrayCall,
        unary: Any,
        stream: Any,
        description: str,
        progress: bool | None,
        timeout: float | None,
    ) -> np.ndarray:
        """See :meth:`tensorwire.Client._run`."""
        kwargs = self._settings.call_options(timeout)
        with translated():
            if not call.streamed:
                call.take_unary(await unary(call.unary_request(), **kwargs))
                return call.result()
            show = self._progress if progress is None else progress
            with progress_bar(show, call.transfer_bytes, description) as bar:
                requests = call.requests(self._settings.piece_bytes, bar)
                answer = stream(requests, **kwargs)
                assembler = Assembler(call.target, call.result_dtype, bar)
                try:
                    async for item in answer:
                        assembler.feed(item)
                    assembler.finish()
                finally:
                    answer.cancel()
        return call.result()

    # --- The tensor store ----------------------------------------------------------------

    async def put(
        self, array: Any, *, progress: bool | None = None, timeout: float | None = None
    ) -> AsyncRemoteTensor:
        """See :meth:`tensorwire.Client.put`."""
        stored = await self._put(wire_array(np.asarray(array)), progress, timeout)
        return AsyncRemoteTensor(self, stored)

    async def _put(self, wire: np.ndarray, progress: bool | None, timeout: float | None) -> Any:
        """See :meth:`tensorwire.Client._put`."""
        header = pb.TensorChunk(header=pb.TensorHeader(dtype=to_wire(wire.dtype), shape=wire.shape))
        show = self._progress if progress is None else progress
        kwargs = self._settings.call_options(timeout)
        with translated(), progress_bar(show, wire.nbytes, "put") as bar:
            requests = upload(header, wire, self._settings.piece_bytes, bar)
            return await self._streams.put(requests, **kwargs)

    async def get(
        self,
        ref: RemoteHandle | str,
        *,
        progress: bool | None = None,
        timeout: float | None = None,
    ) -> np.ndarray:
        """See :meth:`tensorwire.Client.get`."""
        request = tensor_id(ref)
        show = self._progress if progress is None else progress
        kwargs = self._settings.call_options(timeout)
        with translated(), contextlib.ExitStack() as bars:
            download = Download(lambda n: bars.enter_context(progress_bar(show, n, "get")))
            answer = self._streams.get(request, **kwargs)
            try:
                async for item in answer:
                    download.feed(item)
            finally:
                answer.cancel()
            return download.finish()

    async def stat(
        self, ref: RemoteHandle | str, *, timeout: float | None = None
    ) -> AsyncRemoteTensor:
        """See :meth:`tensorwire.Client.stat`."""
        kwargs = self._settings.call_options(timeout)
        with translated():
            stored = await self._stub.StatTensor(tensor_id(ref), **kwargs)
        return AsyncRemoteTensor(self, stored)

    async def tensors(self, *, timeout: float | None = None) -> list[AsyncRemoteTensor]:
        """See :meth:`tensorwire.Client.tensors`."""
        kwargs = self._settings.call_options(timeout)
        with translated():
            answer = await self._stub.ListTensors(pb.ListTensorsRequest(), **kwargs)
        return [AsyncRemoteTensor(self, stored) for stored in answer.tensors]

    async def delete(self, ref: RemoteHandle | str, *, timeout: float | None = None) -> None:
        """See :meth:`tensorwire.Client.delete`."""
        kwargs = self._settings.call_options(timeout)
        with translated():
            await self._stub.DeleteTensor(tensor_id(ref), **kwargs)

    # --- Images ------------------------------------------------------------------------

    async def image_size(
        self, image: ImageSource, *, timeout: float | None = None
    ) -> tuple[int, int]:
        """See :meth:`tensorwire.Client.image_size`."""
        data, name = read_image(image)
        kwargs = self._settings.call_options(timeout)
        with translated():
            if data.nbytes <= self._settings.max_message_bytes:
                request = pb.ImageRequest(data=bytes(data), filename=name)
                info = await self._stub.ImageSize(request, **kwargs)
            else:
                requests = image_upload(data, name, self._settings.piece_bytes)
                info = await self._streams.image(requests, **kwargs)
        return info.width, info.height

    async def gaussian_filter_image(
        self,
        image: ImageSource,
        sigma: Scalars,
        order: int | Sequence[int] = 0,
        output: Any = None,
        mode: str | Sequence[str] = "reflect",
        cval: complex = 0.0,
        truncate: float = 4.0,
        *,
        radius: int | Sequence[int] | None = None,
        axes: int | Sequence[int] | None = (0, 1),
        progress: bool | None = None,
        timeout: float | None = None,
    ) -> np.ndarray:
        """See :meth:`tensorwire.Client.gaussian_filter_image`."""
        data, _ = read_image(image)
        pixels = decode_image(data)
        return await self.gaussian_filter(
            pixels,
            sigma,
            order,
            output,
            mode,
            cval,
            truncate,
            radius=radius,
            axes=axes,
            progress=progress,
            timeout=timeout,
        )


# A coroutine method for every other operation of the catalogue (see client.py).
install_methods(AsyncClient, asynchronous=True)
