"""The asyncio client: :class:`AsyncClient` (grpc.aio), the same methods as
:class:`~tensorwire.Client`, awaitable."""

from __future__ import annotations

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
    TensorInfo,
    method_path,
)
from .errors import translated
from .framing import (
    IMAGE_DATA_FIELD,
    TENSOR_DATA_FIELD,
    Assembler,
    image_upload,
    request_serializer,
    tensor_chunk_deserializer,
    upload,
)
from .images import ImageSource, decode_image, read_image
from .operations import Operation, install_methods
from .params import Scalars
from .progress import progress_bar
from .v1 import tensorwire_pb2 as pb
from .v1 import tensorwire_pb2_grpc as pb_grpc

__all__ = ["AsyncClient"]


class AsyncClient:
    """An asyncio connection to a tensorwire server (grpc.aio).

    Takes the arguments of :class:`~tensorwire.Client`; every method is a
    coroutine with the same arguments and result. Use it as ``async with
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
        self._filter_stream = channel.stream_stream(
            method_path("GaussianFilterStream"),
            request_serializer=request_serializer(TENSOR_DATA_FIELD),
            response_deserializer=tensor_chunk_deserializer,
        )
        self._apply_stream = channel.stream_stream(
            method_path("ApplyStream"),
            request_serializer=request_serializer(TENSOR_DATA_FIELD),
            response_deserializer=tensor_chunk_deserializer,
        )
        self._describe_stream = channel.stream_unary(
            method_path("DescribeStream"),
            request_serializer=request_serializer(TENSOR_DATA_FIELD),
            response_deserializer=pb.TensorInfo.FromString,
        )
        self._image_stream = channel.stream_unary(
            method_path("ImageSizeStream"),
            request_serializer=request_serializer(IMAGE_DATA_FIELD),
            response_deserializer=pb.ImageInfo.FromString,
        )

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
        call = DescribeCall(self._settings, input)
        kwargs = self._settings.call_options(timeout)
        show = self._progress if progress is None else progress
        with translated():
            if not call.streamed:
                answer = await self._stub.Describe(call.unary_request(), **kwargs)
            else:
                with progress_bar(show, call.wire.nbytes, "describe") as bar:
                    requests = upload(call.header(), call.wire, self._settings.piece_bytes, bar)
                    answer = await self._describe_stream(requests, **kwargs)
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
        progress: bool | None = None,
        timeout: float | None = None,
    ) -> np.ndarray:
        """See :meth:`tensorwire.Client.gaussian_filter`."""
        call = FilterCall(
            self._settings, input, sigma, order, output, mode, cval, truncate, radius, axes
        )
        return await self._run(
            call,
            self._stub.GaussianFilter,
            self._filter_stream,
            "gaussian_filter",
            progress,
            timeout,
        )

    async def _apply(
        self,
        operation: Operation,
        arguments: dict[str, Any],
        *,
        progress: bool | None = None,
        timeout: float | None = None,
    ) -> np.ndarray:
        """See :meth:`tensorwire.Client._apply`."""
        call = OpCall(self._settings, operation, arguments)
        return await self._run(
            call, self._stub.Apply, self._apply_stream, operation.name, progress, timeout
        )

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
                requests = upload(call.start(), call.wire, self._settings.piece_bytes, bar)
                answer = stream(requests, **kwargs)
                assembler = Assembler(call.target, call.result_dtype, bar)
                try:
                    async for item in answer:
                        assembler.feed(item)
                    assembler.finish()
                finally:
                    answer.cancel()
        return call.result()

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
                info = await self._image_stream(requests, **kwargs)
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
