"""The blocking client: :class:`Client`."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import grpc
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
from .remote import RemoteHandle, RemoteTensor, tensor_id
from .v1 import tensorwire_pb2 as pb
from .v1 import tensorwire_pb2_grpc as pb_grpc

__all__ = ["Client"]


class Client:
    """A connection to a tensorwire server.

    Parameters
    ----------
    address : str, optional
        ``host:port`` of the server's gRPC listener; ``https://host:port``
        turns TLS on, ``http://host:port`` is the same as ``host:port``;
        ``unix:PATH`` is the server's Unix domain socket on this host
        (``serve --grpc-uds PATH``).
        Default ``"127.0.0.1:50051"``.
    api_key : str, optional
        Sent as ``authorization: Bearer KEY`` with every call, for servers
        started with ``--api-key``.
    timeout : float, optional
        Seconds each call may take (its gRPC deadline); None waits as long
        as the server allows.
    tls : bool, bytes or grpc.ChannelCredentials, optional
        True: TLS with the system's root certificates; bytes: TLS trusting
        these PEM root certificates; credentials: used as they are.
    compression : {None, 'gzip', 'deflate'} or grpc.Compression, optional
        Compression of what the client sends.
    max_message_bytes : int, optional
        Payloads (input or result) larger than this are streamed in pieces
        instead of sent as one message. 4 MiB by default; a server's limit
        is its ``--max-message-bytes`` (64 MiB unless changed).
    piece_bytes : int, optional
        Size of the pieces of a streamed upload (1 MiB).
    progress : bool, optional
        Show a tqdm progress bar for transfers over 4 MiB (needs the
        ``progress`` extra). Each method can override it.
    options : sequence of (str, value), optional
        More gRPC channel options.

    Notes
    -----
    The client is thread-safe, and a context manager that closes its
    channel. Every failure raises a :class:`tensorwire.Error` subclass.

    Besides the methods written here, every operation of the server's
    catalogue (``gaussian_filter1d``, ``gaussian_laplace``,
    ``gaussian_gradient_magnitude``, ...) is a method named after it, with
    scipy's signature and defaults then ``keep=``, ``progress=`` and
    ``timeout=`` (:mod:`tensorwire.operations`).

    The server's tensor store: :meth:`put` keeps an array there and answers
    a :class:`~tensorwire.RemoteTensor`, which every operation takes as its
    ``input`` (only the id is sent); ``keep=True`` leaves an operation's
    result there and answers its handle; :meth:`get`, :meth:`stat`,
    :meth:`tensors` and :meth:`delete` read and manage it.
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
        channel = self._settings.open_channel(grpc)
        self._channel = channel
        self._stub = pb_grpc.TensorServiceStub(channel)
        self._streams = Streams(channel)

    def close(self) -> None:
        """Closes the channel; calls in flight are cancelled."""
        self._channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def describe(
        self, input: Any, *, progress: bool | None = None, timeout: float | None = None
    ) -> TensorInfo:
        """Describe an array on the server: dtype, shape, size, min, max, mean.

        Parameters
        ----------
        input : array_like or RemoteTensor
            The array (any dtype the service has, any byte order or layout),
            or a stored tensor (``DescribeStored``: nothing is uploaded).
        progress : bool, optional
            Override the client's progress setting.
        timeout : float, optional
            Override the client's timeout.

        Returns
        -------
        info : TensorInfo
        """
        kwargs = self._settings.call_options(timeout)
        if isinstance(input, RemoteHandle):
            with translated():
                return TensorInfo.from_wire(self._stub.DescribeStored(tensor_id(input), **kwargs))
        call = DescribeCall(self._settings, input)
        show = self._progress if progress is None else progress
        with translated():
            if not call.streamed:
                answer = self._stub.Describe(call.unary_request(), **kwargs)
            else:
                with progress_bar(show, call.wire.nbytes, "describe") as bar:
                    requests = upload(call.header(), call.wire, self._settings.piece_bytes, bar)
                    answer = self._streams.describe(requests, **kwargs)
        return TensorInfo.from_wire(answer)

    def gaussian_filter(
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
    ) -> np.ndarray | RemoteTensor:
        """Multidimensional Gaussian filter, computed by the server.

        Equal bit for bit to ``scipy.ndimage.gaussian_filter`` with the same
        arguments; float16 and bfloat16 inputs (which scipy refuses) are
        filtered in float32 and returned in their own dtype.

        Parameters
        ----------
        input : array_like or RemoteTensor
            The input array, or a tensor stored on the server (:meth:`put`;
            only its id is sent).
        sigma : scalar or sequence of scalars
            Standard deviation for Gaussian kernel. The standard deviations
            of the Gaussian filter are given for each axis as a sequence, or
            as a single number, in which case it is equal for all axes.
        order : int or sequence of ints, optional
            The order of the filter along each axis is given as a sequence of
            integers, or as a single number. An order of 0 corresponds to
            convolution with a Gaussian kernel. A positive order corresponds
            to convolution with that derivative of a Gaussian.
        output : array or dtype, optional
            The array in which to place the output, or the dtype of the
            returned array. By default an array of the same dtype as input
            will be created.
        mode : str or sequence, optional
            The `mode` parameter determines how the input array is extended
            when the filter overlaps a border: 'reflect', 'constant',
            'nearest', 'mirror', 'wrap', 'grid-constant', 'grid-mirror' or
            'grid-wrap', one for all axes or one per axis. Default 'reflect'.
        cval : scalar, optional
            Value to fill past edges of input if `mode` is 'constant'
            (a complex value for complex input). Default is 0.0.
        truncate : float, optional
            Truncate the filter at this many standard deviations.
            Default is 4.0.
        radius : None or int or sequence of ints, optional
            Radius of the Gaussian kernel. The radius are given for each axis
            as a sequence, or as a single number, in which case it is equal
            for all axes. If specified, the size of the kernel along each
            axis will be ``2*radius + 1``, and `truncate` is ignored.
            Default is None.
        axes : tuple of int or None, optional
            If None, `input` is filtered along all axes. Otherwise, `input`
            is filtered along the specified axes. When `axes` is specified,
            any tuples used for `sigma`, `order`, `mode` and/or `radius`
            must match the length of `axes`.
        keep : bool, optional
            Keep the result in the server's store and return its
            :class:`RemoteTensor` instead of downloading it (`output` may
            then name a dtype, not be an array).
        progress : bool, optional
            Override the client's progress setting.
        timeout : float, optional
            Override the client's timeout (seconds).

        Returns
        -------
        gaussian_filter : ndarray or RemoteTensor
            Returned array of same shape as `input` (`output` itself when it
            is an array); with ``keep=True`` the stored result's handle.

        Raises
        ------
        InvalidArgument
            A parameter or the array was refused (scipy's ValueError or
            RuntimeError).
        ResourceExhausted
            Over a server limit, or the server is busy (``retry_after``).

        Notes
        -----
        Arrays or results larger than the client's ``max_message_bytes``
        travel in pieces; the client holds the input, the result and one
        piece, never a copy of the whole array (except one conversion of an
        input that is not little-endian and C-contiguous). A stored input or
        ``keep=True`` goes by the ``Apply`` rpcs, with the same parameters.
        """
        if keep or isinstance(input, RemoteHandle):
            operation = catalogue()["gaussian_filter"]
            values = (input, sigma, order, output, mode, cval, truncate, radius, axes)
            arguments = dict(zip((p.name for p in operation.parameters), values, strict=True))
            return self._apply(operation, arguments, keep=keep, progress=progress, timeout=timeout)
        call = FilterCall(
            self._settings, input, sigma, order, output, mode, cval, truncate, radius, axes
        )
        return self._run(
            call,
            self._stub.GaussianFilter,
            self._streams.filter,
            "gaussian_filter",
            progress,
            timeout,
        )

    def _apply(
        self,
        operation: Operation,
        arguments: dict[str, Any],
        *,
        keep: bool = False,
        progress: bool | None = None,
        timeout: float | None = None,
    ) -> np.ndarray | RemoteTensor:
        """One call of an operation of the catalogue (``Apply``, or
        ``ApplyKeep`` with ``keep``); the methods named after the operations
        (:mod:`tensorwire.operations`) call it."""
        call = OpCall(self._settings, operation, arguments, keep)
        if keep:
            return self._keep(call, progress, timeout)
        return self._run(
            call, self._stub.Apply, self._streams.apply, operation.name, progress, timeout
        )

    def _keep(self, call: OpCall, progress: bool | None, timeout: float | None) -> RemoteTensor:
        """``ApplyKeep``: of the stored input, or of the array in one
        message; an array too large for one is stored first (``PutTensor``)
        and deleted after."""
        kwargs = self._settings.call_options(timeout)
        if call.input_id or not call.streamed:
            with translated():
                return RemoteTensor(self, self._stub.ApplyKeep(call.unary_request(), **kwargs))
        assert call.wire is not None
        staged = self._put(call.wire, progress, timeout)
        try:
            with translated():
                stored = self._stub.ApplyKeep(call.unary_request(staged.id), **kwargs)
        finally:
            with contextlib.suppress(Error):
                self.delete(staged.id, timeout=timeout)
        return RemoteTensor(self, stored)

    def _run(
        self,
        call: ArrayCall,
        unary: Any,
        stream: Any,
        description: str,
        progress: bool | None,
        timeout: float | None,
    ) -> np.ndarray:
        """Sends ``call`` as one message (``unary``) or in pieces (``stream``)
        and returns its result."""
        kwargs = self._settings.call_options(timeout)
        with translated():
            if not call.streamed:
                call.take_unary(unary(call.unary_request(), **kwargs))
                return call.result()
            show = self._progress if progress is None else progress
            with progress_bar(show, call.transfer_bytes, description) as bar:
                requests = call.requests(self._settings.piece_bytes, bar)
                answer = stream(requests, **kwargs)
                assembler = Assembler(call.target, call.result_dtype, bar)
                try:
                    for item in answer:
                        assembler.feed(item)
                    assembler.finish()
                finally:
                    answer.cancel()  # a no-op once the answer has ended
        return call.result()

    # --- The tensor store ----------------------------------------------------------------

    def put(
        self, array: Any, *, progress: bool | None = None, timeout: float | None = None
    ) -> RemoteTensor:
        """Keeps an array in the server's tensor store (``PutTensor``, streamed
        in pieces of ``piece_bytes``).

        Parameters
        ----------
        array : array_like
            Any dtype the service has, any byte order or layout.
        progress : bool, optional
            Override the client's progress setting.
        timeout : float, optional
            Override the client's timeout.

        Returns
        -------
        RemoteTensor
            Its handle: pass it as the ``input`` of any operation, download
            it with :meth:`get`, delete it with :meth:`delete` (or use it as
            a context manager). It belongs to this client's API key.

        Raises
        ------
        ResourceExhausted
            The store is full (``--store-bytes``, ``--store-bytes-per-key``,
            ``--store-max-tensors``) or the array is over a tensor limit.
        """
        return RemoteTensor(self, self._put(wire_array(np.asarray(array)), progress, timeout))

    def _put(self, wire: np.ndarray, progress: bool | None, timeout: float | None) -> Any:
        """``PutTensor`` of an array in wire layout; answers its ``StoredTensor``."""
        header = pb.TensorChunk(header=pb.TensorHeader(dtype=to_wire(wire.dtype), shape=wire.shape))
        show = self._progress if progress is None else progress
        kwargs = self._settings.call_options(timeout)
        with translated(), progress_bar(show, wire.nbytes, "put") as bar:
            requests = upload(header, wire, self._settings.piece_bytes, bar)
            return self._streams.put(requests, **kwargs)

    def get(
        self,
        ref: RemoteHandle | str,
        *,
        progress: bool | None = None,
        timeout: float | None = None,
    ) -> np.ndarray:
        """Downloads a stored tensor (``GetTensor``, streamed in pieces).

        Parameters
        ----------
        ref : RemoteTensor or str
            The stored tensor, or its id.
        progress : bool, optional
            Override the client's progress setting.
        timeout : float, optional
            Override the client's timeout.

        Returns
        -------
        ndarray
            A new array of the stored dtype and shape.

        Raises
        ------
        NotFound
            No such tensor for this API key (deleted, expired, never stored).
        """
        request = tensor_id(ref)
        show = self._progress if progress is None else progress
        kwargs = self._settings.call_options(timeout)
        with translated(), contextlib.ExitStack() as bars:
            download = Download(lambda n: bars.enter_context(progress_bar(show, n, "get")))
            answer = self._streams.get(request, **kwargs)
            try:
                for item in answer:
                    download.feed(item)
            finally:
                answer.cancel()  # a no-op once the answer has ended
            return download.finish()

    def stat(self, ref: RemoteHandle | str, *, timeout: float | None = None) -> RemoteTensor:
        """A fresh handle of a stored tensor (``StatTensor``, which restarts
        its expiry clock); :class:`NotFound` when there is none."""
        kwargs = self._settings.call_options(timeout)
        with translated():
            return RemoteTensor(self, self._stub.StatTensor(tensor_id(ref), **kwargs))

    def tensors(self, *, timeout: float | None = None) -> list[RemoteTensor]:
        """This API key's stored tensors (``ListTensors``), least recently used first."""
        kwargs = self._settings.call_options(timeout)
        with translated():
            answer = self._stub.ListTensors(pb.ListTensorsRequest(), **kwargs)
        return [RemoteTensor(self, stored) for stored in answer.tensors]

    def delete(self, ref: RemoteHandle | str, *, timeout: float | None = None) -> None:
        """Deletes a stored tensor (``DeleteTensor``; calls already using it
        finish); :class:`NotFound` when there is none."""
        kwargs = self._settings.call_options(timeout)
        with translated():
            self._stub.DeleteTensor(tensor_id(ref), **kwargs)

    # --- Images ------------------------------------------------------------------------

    def image_size(self, image: ImageSource, *, timeout: float | None = None) -> tuple[int, int]:
        """Width and height of an encoded image, read by the server from its header.

        Parameters
        ----------
        image : str, os.PathLike, bytes or binary file object
            The image file, its bytes, or a file object opened with ``'rb'``.
        timeout : float, optional
            Override the client's timeout.

        Returns
        -------
        (width, height) : tuple of int
        """
        data, name = read_image(image)
        kwargs = self._settings.call_options(timeout)
        with translated():
            if data.nbytes <= self._settings.max_message_bytes:
                request = pb.ImageRequest(data=bytes(data), filename=name)
                info = self._stub.ImageSize(request, **kwargs)
            else:
                requests = image_upload(data, name, self._settings.piece_bytes)
                info = self._streams.image(requests, **kwargs)
        return info.width, info.height

    def gaussian_filter_image(
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
        """Gaussian filter of an encoded image (PNG, JPEG, ...).

        The image is decoded here (Pillow, the ``image`` extra) into an
        H×W×C array — uint8, uint16 for 16-bit grey, float32 for floating
        point — and its two spatial axes are filtered (``axes=(0, 1)``),
        leaving channels unmixed, like ``tensorwire filter photo.jpg``.

        Parameters
        ----------
        image : str, os.PathLike, bytes or binary file object
            The encoded image.
        sigma, order, output, mode, cval, truncate, radius, progress, timeout
            As for :meth:`gaussian_filter`.
        axes : tuple of int or None, optional
            Axes to filter; default ``(0, 1)``, None filters across channels too.

        Returns
        -------
        ndarray
            H×W×C, the image's dtype unless `output` says otherwise.
        """
        data, _ = read_image(image)
        pixels = decode_image(data)
        return self.gaussian_filter(
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


# A method for every other operation of the catalogue: scipy's signature and
# defaults, then progress= and timeout=, calling Client._apply.
install_methods(Client, asynchronous=False)
