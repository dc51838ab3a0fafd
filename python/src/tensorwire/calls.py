"""What a call needs before and after the network, shared by :class:`Client`
and :class:`AsyncClient`: the channel settings, each call's wire messages and
preallocated answer, and the conversion of answers into NumPy and Python."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import numpy as np

from .dtypes import from_wire, to_wire, wire_array
from .errors import Error, InvalidArgument
from .framing import (
    IMAGE_DATA_FIELD,
    TENSOR_DATA_FIELD,
    Progress,
    request_serializer,
    tensor_chunk_deserializer,
    upload,
)
from .params import Scalars, gaussian_params, op_params, output_dtype, scipy_output_dtype
from .remote import RemoteHandle
from .v1 import tensorwire_pb2 as pb

__all__ = [
    "TensorInfo",
    "ChannelSettings",
    "Streams",
    "ArrayCall",
    "FilterCall",
    "OpCall",
    "DescribeCall",
]

#: Default address: the server's default ``--grpc-addr``.
DEFAULT_ADDRESS = "127.0.0.1:50051"
#: Largest payload sent or received as one message; larger ones stream. The
#: server does not publish its ``--max-message-bytes`` (64 MiB by default), so
#: the client assumes gRPC's customary 4 MiB unless told more.
DEFAULT_MAX_MESSAGE_BYTES = 4 << 20
#: Size of the data pieces of an upload.
DEFAULT_PIECE_BYTES = 1 << 20
#: The server's default ``--max-message-bytes``: answers (and the server's
#: stream pieces) up to this size are accepted whatever the client sends.
SERVER_MAX_MESSAGE_BYTES = 64 << 20
#: Room for the header and parameters beside a message's data.
_MESSAGE_OVERHEAD = 64 << 10

#: grpc-core's bitset of enabled algorithms (bit 0 identity, 1 deflate, 2 gzip).
_ACCEPTED_ENCODINGS = {
    None: 0b001,
    grpc.Compression.NoCompression: 0b001,
    grpc.Compression.Deflate: 0b011,
    grpc.Compression.Gzip: 0b101,
}

SERVICE = pb.DESCRIPTOR.services_by_name["TensorService"].full_name


def method_path(name: str) -> str:
    """The gRPC path of a ``TensorService`` method."""
    return f"/{SERVICE}/{name}"


@dataclass(frozen=True)
class TensorInfo:
    """What the server learned about a tensor (``describe``).

    Attributes
    ----------
    dtype : numpy.dtype
        The element type.
    shape : tuple of int
        The shape.
    nbytes : int
        Bytes of data.
    size : int
        Number of elements.
    min, max, mean : float or None
        For real and bool tensors with at least one element (NaN propagates
        as in NumPy); None otherwise.
    """

    dtype: np.dtype
    shape: tuple[int, ...]
    nbytes: int
    size: int
    min: float | None
    max: float | None
    mean: float | None

    @classmethod
    def from_wire(cls, info: pb.TensorInfo) -> TensorInfo:
        """Converts the wire message."""
        return cls(
            dtype=from_wire(info.dtype).newbyteorder("="),
            shape=tuple(info.shape),
            nbytes=info.nbytes,
            size=info.size,
            min=info.min if info.HasField("min") else None,
            max=info.max if info.HasField("max") else None,
            mean=info.mean if info.HasField("mean") else None,
        )


@dataclass(frozen=True)
class ChannelSettings:
    """How to open the channel and what every call sends."""

    target: str
    credentials: grpc.ChannelCredentials | None
    options: tuple[tuple[str, Any], ...]
    compression: grpc.Compression | None
    metadata: tuple[tuple[str, str], ...] | None
    timeout: float | None
    max_message_bytes: int
    piece_bytes: int

    @classmethod
    def build(
        cls,
        address: str,
        api_key: str | None,
        timeout: float | None,
        tls: bool | bytes | grpc.ChannelCredentials,
        compression: None | str | grpc.Compression,
        max_message_bytes: int,
        piece_bytes: int,
        options: Sequence[tuple[str, Any]],
    ) -> ChannelSettings:
        """Reads the constructor's arguments; ``address`` may be ``host:port``,
        ``http://host:port``, ``https://host:port`` (TLS) or ``unix:PATH``
        (a Unix domain socket, which gRPC reads as it is)."""
        target = address
        if target.startswith("https://"):
            target, tls = target[len("https://") :], tls or True
        elif target.startswith("http://"):
            target = target[len("http://") :]
        target = target.rstrip("/")
        if isinstance(tls, grpc.ChannelCredentials):
            credentials: grpc.ChannelCredentials | None = tls
        elif isinstance(tls, (bytes, bytearray)):
            credentials = grpc.ssl_channel_credentials(root_certificates=bytes(tls))
        elif tls:
            credentials = grpc.ssl_channel_credentials()
        else:
            credentials = None
        if compression is None or isinstance(compression, grpc.Compression):
            chosen = compression
        elif compression.lower() == "gzip":
            chosen = grpc.Compression.Gzip
        elif compression.lower() == "deflate":
            chosen = grpc.Compression.Deflate
        else:
            raise ValueError(f"compression must be None, 'gzip' or 'deflate', not {compression!r}")
        if max_message_bytes < 1 or piece_bytes < 1:
            raise ValueError("max_message_bytes and piece_bytes must be positive")
        piece_bytes = min(piece_bytes, max_message_bytes)
        send_limit = max_message_bytes + _MESSAGE_OVERHEAD
        receive_limit = max(max_message_bytes, SERVER_MAX_MESSAGE_BYTES) + _MESSAGE_OVERHEAD
        all_options = (
            ("grpc.max_send_message_length", send_limit),
            ("grpc.max_receive_message_length", receive_limit),
            # Which encodings the client accepts (grpc-accept-encoding) follows
            # what it may send: without compression the server answers
            # uncompressed; gzip on tensors costs far more CPU than it saves
            # bytes (a 16 MiB answer: 2.7 s gzipped against 0.5 s plain).
            ("grpc.compression_enabled_algorithms_bitset", _ACCEPTED_ENCODINGS[chosen]),
            # Over a Unix socket gRPC would send the socket's path as the
            # HTTP/2 authority, which the server's HTTP/2 stack refuses (it
            # is no host name): name the host itself, as grpcurl does.
            *((("grpc.default_authority", "localhost"),) if target.startswith("unix:") else ()),
            *options,
        )
        metadata = (("authorization", f"Bearer {api_key}"),) if api_key else None
        return cls(
            target,
            credentials,
            all_options,
            chosen,
            metadata,
            timeout,
            max_message_bytes,
            piece_bytes,
        )

    def open_channel(self, api: Any) -> Any:
        """A channel of ``api`` (the ``grpc`` module, or ``grpc.aio``) with
        these settings."""
        if self.credentials is None:
            return api.insecure_channel(self.target, self.options, self.compression)
        return api.secure_channel(self.target, self.credentials, self.options, self.compression)

    def call_options(self, timeout: float | None) -> dict[str, Any]:
        """Keyword arguments of every call."""
        return {
            "timeout": self.timeout if timeout is None else timeout,
            "metadata": self.metadata,
        }


class Streams:
    """The streamed rpcs of a channel (``grpc`` or ``grpc.aio``), with the
    zero-copy (de)serializers of :mod:`tensorwire.framing`."""

    def __init__(self, channel: Any) -> None:
        tensor_pieces = request_serializer(TENSOR_DATA_FIELD)
        self.filter = channel.stream_stream(
            method_path("GaussianFilterStream"),
            request_serializer=tensor_pieces,
            response_deserializer=tensor_chunk_deserializer,
        )
        self.apply = channel.stream_stream(
            method_path("ApplyStream"),
            request_serializer=tensor_pieces,
            response_deserializer=tensor_chunk_deserializer,
        )
        self.describe = channel.stream_unary(
            method_path("DescribeStream"),
            request_serializer=tensor_pieces,
            response_deserializer=pb.TensorInfo.FromString,
        )
        self.image = channel.stream_unary(
            method_path("ImageSizeStream"),
            request_serializer=request_serializer(IMAGE_DATA_FIELD),
            response_deserializer=pb.ImageInfo.FromString,
        )
        self.put = channel.stream_unary(
            method_path("PutTensor"),
            request_serializer=tensor_pieces,
            response_deserializer=pb.StoredTensor.FromString,
        )
        self.get = channel.unary_stream(
            method_path("GetTensor"),
            request_serializer=pb.TensorRef.SerializeToString,
            response_deserializer=tensor_chunk_deserializer,
        )


def env_settings() -> dict[str, Any]:
    """Constructor arguments from the environment: ``TENSORWIRE_SERVER``
    (default ``127.0.0.1:50051``) and ``TENSORWIRE_API_KEY``."""
    return {
        "address": os.environ.get("TENSORWIRE_SERVER") or DEFAULT_ADDRESS,
        "api_key": os.environ.get("TENSORWIRE_API_KEY") or None,
    }


class DescribeCall:
    """One ``describe``: the array in wire layout and its messages."""

    def __init__(self, settings: ChannelSettings, input: Any) -> None:
        array = np.asarray(input)
        self.wire = wire_array(array)
        self.dtype = to_wire(array.dtype)
        self.streamed = self.wire.nbytes > settings.max_message_bytes

    def unary_request(self) -> pb.Tensor:
        """The whole tensor as one message."""
        return pb.Tensor(dtype=self.dtype, shape=self.wire.shape, data=self.wire.tobytes())

    def header(self) -> pb.TensorChunk:
        """The first message of ``DescribeStream``."""
        return pb.TensorChunk(header=pb.TensorHeader(dtype=self.dtype, shape=self.wire.shape))


class ArrayCall:
    """What a call that filters an array needs: the array in wire form, the
    answer's array (allocated before the call), and how the answer becomes
    what scipy returns. Subclasses set the parameters and the messages."""

    def _prepare(
        self,
        settings: ChannelSettings,
        source: np.ndarray | RemoteHandle,
        requested: np.dtype | None,
        output: Any,
        params_bytes: int,
        keep: bool = False,
    ) -> None:
        """Reads the input (an array, or a stored tensor: then only its id
        travels), the requested dtype and ``output``; allocates the answer's
        array unless the result stays on the server (``keep``)."""
        self.output = output if isinstance(output, np.ndarray) else None
        if keep and self.output is not None:
            raise TypeError(
                "keep=True keeps the result on the server: output= may name its dtype, "
                "but cannot be an array to fill"
            )
        shape, dtype = source.shape, source.dtype
        if isinstance(source, RemoteHandle):
            self.input_id = source.id
            self.wire: np.ndarray | None = None
        else:
            self.input_id = ""
            self.wire = wire_array(source)
        if self.output is not None:
            if self.output.shape != shape:
                raise InvalidArgument(
                    f"output shape not correct: {self.output.shape}, the input's is {shape}"
                )
            if not self.output.flags.writeable:
                raise InvalidArgument("output array is read-only")
        self.requested = requested if requested is not None else dtype.newbyteorder("=")
        self.dtype = to_wire(dtype)
        self.result_dtype = to_wire(self.requested)
        result_layout = from_wire(self.result_dtype)
        # Write straight into a preallocated output when its layout is the
        # wire's; otherwise into a fresh array, converted at the end. A kept
        # result has none.
        if keep:
            self.target = np.empty((0,), dtype=result_layout)
        elif (
            self.output is not None
            and self.output.dtype == result_layout
            and self.output.flags.c_contiguous
        ):
            self.target = self.output
        else:
            self.target = np.empty(shape, dtype=result_layout)
        # The request message holds the parameters too (with the kernels).
        request_bytes = self.input_bytes + params_bytes
        self.streamed = max(request_bytes, self.target.nbytes) > settings.max_message_bytes

    @property
    def input_bytes(self) -> int:
        """Bytes of input data the call sends (none for a stored input)."""
        return 0 if self.wire is None else self.wire.nbytes

    def header(self) -> pb.TensorHeader:
        """The input's dtype and shape."""
        assert self.wire is not None
        return pb.TensorHeader(dtype=self.dtype, shape=self.wire.shape)

    def tensor(self) -> pb.Tensor:
        """The whole input as one message."""
        assert self.wire is not None
        return pb.Tensor(dtype=self.dtype, shape=self.wire.shape, data=self.wire.tobytes())

    def start(self) -> object:
        """The first message of the streamed call."""
        raise NotImplementedError

    def requests(self, piece_bytes: int, progress: Progress | None) -> Iterator[object]:
        """The messages of the streamed call: the start, then the input's
        pieces (none for a stored input)."""
        if self.wire is None:
            return iter([self.start()])
        return upload(self.start(), self.wire, piece_bytes, progress)

    @property
    def transfer_bytes(self) -> int:
        """Bytes sent plus bytes received."""
        return self.input_bytes + self.target.nbytes

    def take_unary(self, answer: pb.Tensor) -> None:
        """Copies a one-message answer into the target array."""
        if answer.dtype != self.result_dtype or tuple(answer.shape) != self.target.shape:
            raise Error(
                f"the server answered with dtype {answer.dtype} and shape "
                f"{tuple(answer.shape)}, expected {self.result_dtype} and {self.target.shape}"
            )
        if len(answer.data) != self.target.nbytes:
            raise Error(
                f"the server answered with {len(answer.data)} bytes for {self.target.nbytes}"
            )
        self.target.reshape(-1).view(np.uint8)[:] = np.frombuffer(answer.data, dtype=np.uint8)

    def result(self) -> np.ndarray:
        """What the scipy function returns: the ``output`` array when one was
        given, otherwise a new array of the requested dtype."""
        if self.output is not None:
            if self.target is not self.output:
                self.output[...] = self.target
            return self.output
        if self.target.dtype != self.requested:
            return self.target.astype(self.requested)
        return self.target


class FilterCall(ArrayCall):
    """One ``gaussian_filter`` (the ``GaussianFilter`` rpcs): the parameters
    and array in wire form, checked before anything is sent, and the
    answer's array, allocated before the call."""

    def __init__(
        self,
        settings: ChannelSettings,
        input: Any,
        sigma: Scalars,
        order: int | Sequence[int],
        output: Any,
        mode: str | Sequence[str],
        cval: complex,
        truncate: float,
        radius: int | Sequence[int] | None,
        axes: int | Sequence[int] | None,
    ) -> None:
        array = np.asarray(input)
        requested = output_dtype(output)
        self.params = gaussian_params(
            array.ndim, sigma, order, requested, mode, cval, truncate, radius, axes
        )
        self._prepare(settings, array, requested, output, self.params.ByteSize())

    def unary_request(self) -> pb.GaussianFilterRequest:
        """The whole call as one message."""
        return pb.GaussianFilterRequest(tensor=self.tensor(), params=self.params)

    def start(self) -> pb.GaussianFilterChunk:
        """The first message of ``GaussianFilterStream``."""
        return pb.GaussianFilterChunk(
            start=pb.GaussianFilterStart(header=self.header(), params=self.params)
        )


class OpCall(ArrayCall):
    """One call of an operation of the catalogue (the ``Apply`` rpcs, and
    ``ApplyKeep`` when the result stays on the server).

    ``arguments`` are scipy's, by name, defaults applied, ``input`` and
    ``output`` among them; ``input`` may be a stored tensor's handle, whose
    dtype and shape make the kernels as an array's would."""

    def __init__(
        self,
        settings: ChannelSettings,
        operation: Any,
        arguments: dict[str, Any],
        keep: bool = False,
    ) -> None:
        arguments = dict(arguments)
        source = arguments.pop("input")
        if not isinstance(source, RemoteHandle):
            source = np.asarray(source)
        output = arguments.pop("output", None)
        requested = scipy_output_dtype(output)
        self.operation = operation
        real_input = source.dtype.kind != "c"
        self.params = op_params(operation, source.ndim, arguments, requested, real_input)
        self._prepare(settings, source, requested, output, self.params.ByteSize(), keep)

    def unary_request(self, input_id: str = "") -> pb.ApplyRequest:
        """The whole call as one message (``Apply``, ``ApplyKeep``); its input
        is the stored ``input_id`` when given, else the call's own."""
        input_id = input_id or self.input_id
        if input_id:
            return pb.ApplyRequest(input_id=input_id, params=self.params)
        return pb.ApplyRequest(tensor=self.tensor(), params=self.params)

    def start(self) -> pb.ApplyChunk:
        """The first message of ``ApplyStream`` (the only one for a stored input)."""
        if self.input_id:
            return pb.ApplyChunk(start=pb.ApplyStart(input_id=self.input_id, params=self.params))
        return pb.ApplyChunk(start=pb.ApplyStart(header=self.header(), params=self.params))
