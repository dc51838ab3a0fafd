"""What both client suites share: the server's addresses, and the parameter
sets, sample arrays and scipy reference of tests/python/test_grpc_interop.py
(imported, not copied).

tritonclient.grpc and kserve cannot be imported into one Python process
(each registers its own inference.* protobuf messages in the default pool:
"duplicate symbol 'inference.ServerLiveRequest'"), so their tests are two
modules that .ci/run runs in two pytest processes."""

import io
import os
import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
from test_grpc_interop import CASES, assert_bit_equal, sample, scipy_reference

GRPC = os.environ.get("TENSORWIRE_GRPC", "")
HTTP = os.environ.get("TENSORWIRE_HTTP", "")

DTYPES = [
    "bool",
    "uint8",
    "int8",
    "uint16",
    "int16",
    "uint32",
    "int32",
    "uint64",
    "int64",
    "float16",
    "float32",
    "float64",
]

__all__ = [
    "CASES",
    "DTYPES",
    "GRPC",
    "HTTP",
    "as_parameters",
    "assert_bit_equal",
    "encoded",
    "sample",
    "scipy_reference",
]


def as_parameters(kwargs):
    """scipy keyword arguments as protocol parameters: strings, lists
    comma-separated (tritonclient.grpc refuses float parameters)."""

    def text(value):
        if isinstance(value, (list, tuple)):
            return ",".join(str(v) for v in value)
        return str(value)

    return {name: text(value) for name, value in kwargs.items()}


def encoded(fmt, size):
    """An image file of `size` (width, height) written by Pillow."""
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(buffer, format=fmt)
    return buffer.getvalue()
