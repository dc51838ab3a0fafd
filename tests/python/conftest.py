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
