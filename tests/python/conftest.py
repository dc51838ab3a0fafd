"""Shared fixtures for the cross-language checks: the server address from the
environment, and Python gRPC code generated from the project's proto."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import grpc
import pytest

ROOT = Path(__file__).resolve().parents[2]

# numpy dtype -> proto enum name, for the tests that send every dtype.
# bfloat16 has no numpy dtype: it is sent as raw bits (the upper half of
# float32) and tested apart.
DTYPES = {
    "bool": "DTYPE_BOOL",
    "uint8": "DTYPE_UINT8",
    "int8": "DTYPE_INT8",
    "uint16": "DTYPE_UINT16",
    "int16": "DTYPE_INT16",
    "uint32": "DTYPE_UINT32",
    "int32": "DTYPE_INT32",
    "uint64": "DTYPE_UINT64",
    "int64": "DTYPE_INT64",
    "float16": "DTYPE_FLOAT16",
    "float32": "DTYPE_FLOAT32",
    "float64": "DTYPE_FLOAT64",
    "complex64": "DTYPE_COMPLEX64",
    "complex128": "DTYPE_COMPLEX128",
}


def _generate_stubs():
    out = Path(tempfile.mkdtemp(prefix="tensorwire-pb-"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{ROOT / 'proto'}",
            f"--python_out={out}",
            f"--grpc_python_out={out}",
            str(ROOT / "proto/tensorwire/v1/tensorwire.proto"),
        ],
        check=True,
    )
    sys.path.insert(0, str(out))
    from tensorwire.v1 import tensorwire_pb2, tensorwire_pb2_grpc  # noqa: E402

    return tensorwire_pb2, tensorwire_pb2_grpc


@pytest.fixture(scope="session")
def pb():
    return _generate_stubs()


@pytest.fixture(scope="session")
def grpc_addr():
    addr = os.environ.get("TENSORWIRE_GRPC")
    if not addr:
        pytest.fail("TENSORWIRE_GRPC (host:port of a running server) is not set")
    return addr


@pytest.fixture(scope="session")
def stub(pb, grpc_addr):
    _, pb_grpc = pb
    channel = grpc.insecure_channel(
        grpc_addr,
        options=[
            ("grpc.max_send_message_length", 256 << 20),
            ("grpc.max_receive_message_length", 256 << 20),
        ],
    )
    grpc.channel_ready_future(channel).result(timeout=10)
    return pb_grpc.TensorServiceStub(channel)
