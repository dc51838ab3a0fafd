"""NumPy dtypes and the wire's ``DType`` enum.

The wire carries every element little-endian in C order. Arrays in another
byte order or memory layout are converted here, once, into the wire layout;
arrays already in it are used as they are (no copy).
"""

from __future__ import annotations

import numpy as np

from .errors import InvalidArgument
from .v1 import tensorwire_pb2 as pb

__all__ = ["to_wire", "from_wire", "wire_array", "bfloat16"]

_NUMPY_TO_WIRE: dict[np.dtype, int] = {
    np.dtype(np.bool_): pb.DTYPE_BOOL,
    np.dtype(np.uint8): pb.DTYPE_UINT8,
    np.dtype(np.int8): pb.DTYPE_INT8,
    np.dtype(np.uint16): pb.DTYPE_UINT16,
    np.dtype(np.int16): pb.DTYPE_INT16,
    np.dtype(np.uint32): pb.DTYPE_UINT32,
    np.dtype(np.int32): pb.DTYPE_INT32,
    np.dtype(np.uint64): pb.DTYPE_UINT64,
    np.dtype(np.int64): pb.DTYPE_INT64,
    np.dtype(np.float16): pb.DTYPE_FLOAT16,
    np.dtype(np.float32): pb.DTYPE_FLOAT32,
    np.dtype(np.float64): pb.DTYPE_FLOAT64,
    np.dtype(np.complex64): pb.DTYPE_COMPLEX64,
    np.dtype(np.complex128): pb.DTYPE_COMPLEX128,
}
_WIRE_TO_NUMPY: dict[int, np.dtype] = {v: k for k, v in _NUMPY_TO_WIRE.items()}


def bfloat16() -> np.dtype:
    """ml_dtypes' bfloat16 (the ``bf16`` extra: ``pip install tensorwire[bf16]``)."""
    try:
        import ml_dtypes
    except ImportError as err:
        raise InvalidArgument(
            "bfloat16 needs the ml_dtypes package: pip install 'tensorwire[bf16]'"
        ) from err
    return np.dtype(ml_dtypes.bfloat16)


def to_wire(dtype: np.dtype) -> int:
    """The wire ``DType`` of a NumPy dtype (any byte order)."""
    dtype = np.dtype(dtype)
    if dtype.name == "bfloat16":
        return pb.DTYPE_BFLOAT16
    wire = _NUMPY_TO_WIRE.get(dtype.newbyteorder("="))
    if wire is None:
        names = ", ".join(sorted(d.name for d in _NUMPY_TO_WIRE)) + ", bfloat16"
        raise InvalidArgument(f"dtype {dtype} is not supported; tensorwire has {names}")
    return wire


def from_wire(wire: int) -> np.dtype:
    """The little-endian NumPy dtype of a wire ``DType``."""
    if wire == pb.DTYPE_BFLOAT16:
        return bfloat16()
    dtype = _WIRE_TO_NUMPY.get(wire)
    if dtype is None:
        raise InvalidArgument(f"unknown wire dtype {wire}")
    return dtype.newbyteorder("<")


def wire_array(array: np.ndarray) -> np.ndarray:
    """``array`` in the wire layout: little-endian, C-contiguous.

    Returns ``array`` itself when it already is; otherwise one converted copy
    (the only copy of the whole input the client ever makes).
    """
    to_wire(array.dtype)  # refuses unsupported dtypes before any copy
    little = array.dtype.newbyteorder("<")
    if array.dtype != little:
        return array.astype(little, order="C")
    if not array.flags.c_contiguous:
        return array.copy(order="C")  # not np.ascontiguousarray: it makes rank 0 rank 1
    return array


def byte_view(array: np.ndarray) -> memoryview:
    """A flat, zero-copy byte view of a C-contiguous array (any dtype, rank 0 too)."""
    return memoryview(array.reshape(-1).view(np.uint8))
