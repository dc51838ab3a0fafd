"""The header-then-pieces streams, both directions, without copies of the array.

A streamed tensor is a header message, then data messages whose bytes, in
order, are the tensor's bytes (proto ``TensorChunk`` / ``GaussianFilterChunk`` /
``ApplyChunk`` / ``ImageChunk``). Uploads send ``memoryview`` slices of the array; answers
are copied piece by piece into one array allocated before the call.

Data messages are encoded and decoded here rather than by protobuf, because
protobuf's Python messages accept and return only ``bytes``: building a
message from a slice would copy it once more, and reading one would copy it
again into a new ``bytes``. A data message is one length-delimited field (tag,
varint length, bytes), the simplest protobuf encoding there is; any message
that is not exactly that is handed to protobuf's parser.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

import numpy as np

from .dtypes import byte_view, from_wire
from .errors import Error
from .v1 import tensorwire_pb2 as pb

__all__ = [
    "TENSOR_DATA_FIELD",
    "IMAGE_DATA_FIELD",
    "request_serializer",
    "tensor_chunk_deserializer",
    "upload",
    "Assembler",
    "Download",
]

#: Field number of ``data`` in ``TensorChunk``, ``GaussianFilterChunk`` and ``ApplyChunk``.
TENSOR_DATA_FIELD = 2
#: Field number of ``data`` in ``ImageChunk``.
IMAGE_DATA_FIELD = 1
_WIRE_TYPE_LEN = 2


class Progress(Protocol):
    """What the stream loops report transferred bytes to."""

    def update(self, n: int) -> object: ...


def _varint(value: int) -> bytes:
    """Protobuf's base-128 varint (protobuf's Python package exposes no public one)."""
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def request_serializer(data_field: int) -> Callable[[object], bytes]:
    """Serializes a stream's messages: protobuf messages as they are, and
    ``memoryview`` pieces as the data field ``data_field``, copied once, straight
    into the message gRPC sends."""
    tag = _varint((data_field << 3) | _WIRE_TYPE_LEN)

    def serialize(item: object) -> bytes:
        if isinstance(item, memoryview):
            return tag + _varint(item.nbytes) + item
        return item.SerializeToString()  # type: ignore[attr-defined]

    return serialize


_TENSOR_DATA_TAG = (TENSOR_DATA_FIELD << 3) | _WIRE_TYPE_LEN


def tensor_chunk_deserializer(raw: bytes) -> pb.TensorChunk | memoryview:
    """Reads one ``TensorChunk`` of an answer: a data piece as a zero-copy view
    of the received bytes, anything else as a protobuf message."""
    if raw and raw[0] == _TENSOR_DATA_TAG:
        length, shift, pos = 0, 0, 1
        while pos < len(raw) and pos <= 10:
            byte = raw[pos]
            pos += 1
            length |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                if pos + length == len(raw):
                    return memoryview(raw)[pos:]
                break
    chunk = pb.TensorChunk.FromString(raw)
    if chunk.WhichOneof("part") == "data":
        return memoryview(chunk.data)
    return chunk


def upload(
    first: object,
    array: np.ndarray,
    piece_bytes: int,
    progress: Progress | None = None,
) -> Iterator[object]:
    """The messages of an upload: ``first`` (the header), then ``memoryview``
    slices of the C-contiguous ``array`` of at most ``piece_bytes`` each."""
    yield first
    view = byte_view(array)
    for start in range(0, view.nbytes, piece_bytes):
        piece = view[start : start + piece_bytes]
        yield piece
        if progress is not None:
            progress.update(piece.nbytes)


def image_upload(data: memoryview, filename: str, piece_bytes: int) -> Iterator[object]:
    """The messages of an image upload: the filename hint with the first piece."""
    yield pb.ImageChunk(data=bytes(data[:piece_bytes]), filename=filename)
    for start in range(piece_bytes, data.nbytes, piece_bytes):
        yield data[start : start + piece_bytes]


class Assembler:
    """Writes a streamed answer (a header, then pieces) into ``out``.

    ``out`` is allocated by the caller before the call, C-contiguous in the
    wire layout; each piece is copied into its place as it arrives, so the
    client holds the result plus one piece, never a list of pieces.
    """

    def __init__(self, out: np.ndarray, wire_dtype: int, progress: Progress | None = None):
        self.out = out
        self._wire_dtype = wire_dtype
        self._bytes = np.frombuffer(byte_view(out), dtype=np.uint8) if out.size else None
        self._nbytes = out.nbytes
        self._filled = 0
        self._header_seen = False
        self._progress = progress

    def feed(self, item: pb.TensorChunk | memoryview) -> None:
        """Takes one message of the answer."""
        if isinstance(item, memoryview):
            if not self._header_seen:
                raise Error("the server's answer has data before its header")
            end = self._filled + item.nbytes
            if end > self._nbytes:
                raise Error(
                    f"the server's answer overruns its header: {end} bytes or more "
                    f"for {self._nbytes}"
                )
            if self._bytes is not None:
                self._bytes[self._filled : end] = np.frombuffer(item, dtype=np.uint8)
            self._filled = end
            if self._progress is not None:
                self._progress.update(item.nbytes)
            return
        if item.WhichOneof("part") != "header" or self._header_seen:
            raise Error("the server's answer has a second header or an empty message")
        header = item.header
        if header.dtype != self._wire_dtype or tuple(header.shape) != self.out.shape:
            raise Error(
                f"the server answered with dtype {header.dtype} and shape "
                f"{tuple(header.shape)}, expected {self._wire_dtype} and {self.out.shape}"
            )
        self._header_seen = True

    def finish(self) -> np.ndarray:
        """The filled array, once the answer has ended."""
        if not self._header_seen or self._filled != self._nbytes:
            raise Error(f"the server's answer ended after {self._filled} of {self._nbytes} bytes")
        return self.out


class Download:
    """Writes a streamed tensor whose dtype and shape the answer's header
    tells (``GetTensor``) into an array allocated when the header arrives.

    ``progress`` is called with the tensor's byte count when the header
    arrives and answers where to report the bytes (or None).
    """

    def __init__(self, progress: Callable[[int], Progress | None] | None = None) -> None:
        self._progress = progress
        self._assembler: Assembler | None = None

    def feed(self, item: pb.TensorChunk | memoryview) -> None:
        """Takes one message of the answer."""
        if self._assembler is None:
            if isinstance(item, memoryview) or item.WhichOneof("part") != "header":
                raise Error("the server's answer has data before its header")
            dtype = from_wire(item.header.dtype)
            out = np.empty(tuple(item.header.shape), dtype=dtype)
            bar = self._progress(out.nbytes) if self._progress is not None else None
            self._assembler = Assembler(out, item.header.dtype, bar)
        self._assembler.feed(item)

    def finish(self) -> np.ndarray:
        """The tensor, in native byte order, once the answer has ended."""
        if self._assembler is None:
            raise Error("the server's answer ended before its header")
        out = self._assembler.finish()
        native = out.dtype.newbyteorder("=")
        return out if out.dtype == native else out.astype(native)
