#!/usr/bin/env python3
"""A tensorwire client in Python (grpcio), from proto/ alone.

    pip install grpcio grpcio-tools numpy
    python examples/python/client.py [HOST:PORT]     # or TENSORWIRE_GRPC=HOST:PORT

The message and stub code is generated from the .proto file when the script
starts (into a temporary folder). To generate it once into your own project
instead, run from the repository root:

    python -m grpc_tools.protoc -Iproto --python_out=. --grpc_python_out=. \\
        proto/tensorwire/v1/tensorwire.proto

and `from tensorwire.v1 import tensorwire_pb2, tensorwire_pb2_grpc`.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import grpc
import numpy as np

PROTO_ROOT = Path(__file__).resolve().parents[2] / "proto"

# numpy dtype name -> tensorwire.v1.DType name.
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


def load_stubs():
    try:
        from tensorwire.v1 import tensorwire_pb2, tensorwire_pb2_grpc

        return tensorwire_pb2, tensorwire_pb2_grpc
    except ImportError:
        pass
    out = tempfile.mkdtemp(prefix="tensorwire-pb-")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{PROTO_ROOT}",
            f"--python_out={out}",
            f"--grpc_python_out={out}",
            str(PROTO_ROOT / "tensorwire/v1/tensorwire.proto"),
        ],
        check=True,
    )
    sys.path.insert(0, out)
    from tensorwire.v1 import tensorwire_pb2, tensorwire_pb2_grpc

    return tensorwire_pb2, tensorwire_pb2_grpc


pb, rpc = load_stubs()


def to_tensor(array):
    """A numpy array as a Tensor message: C order, little-endian bytes."""
    little = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
    return pb.Tensor(
        dtype=pb.DType.Value(DTYPES[array.dtype.name]),
        shape=list(array.shape),
        data=little.tobytes(),
    )


def to_array(dtype, shape, data):
    name = {v: k for k, v in DTYPES.items()}[pb.DType.Name(dtype)]
    return np.frombuffer(data, np.dtype(name).newbyteorder("<")).reshape(tuple(shape))


def gaussian_filter_stream(stub, array, params, piece=1 << 20):
    """GaussianFilterStream: the parameters and header first, then the data in
    pieces; the answer comes back as a header then data pieces."""
    tensor = to_tensor(array)

    def requests():
        yield pb.GaussianFilterChunk(
            start=pb.GaussianFilterStart(
                header=pb.TensorHeader(dtype=tensor.dtype, shape=tensor.shape), params=params
            )
        )
        for i in range(0, len(tensor.data), piece):
            yield pb.GaussianFilterChunk(data=tensor.data[i : i + piece])

    header, pieces = None, []
    for message in stub.GaussianFilterStream(requests()):
        if message.WhichOneof("part") == "header":
            header = message.header
        else:
            pieces.append(message.data)
    return to_array(header.dtype, header.shape, b"".join(pieces))


def main():
    address = (
        sys.argv[1] if len(sys.argv) > 1 else os.environ.get("TENSORWIRE_GRPC", "127.0.0.1:50051")
    )
    # Tensors can be large: raise grpcio's 4 MiB default for received messages.
    channel = grpc.insecure_channel(
        address,
        options=[
            ("grpc.max_send_message_length", 64 << 20),
            ("grpc.max_receive_message_length", 64 << 20),
        ],
    )
    stub = rpc.TensorServiceStub(channel)
    # With API keys on: metadata=[("authorization", "Bearer KEY")] on each call.

    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    info = stub.Describe(to_tensor(a), timeout=30)
    print(
        f"Describe: {info.dtype_name} {list(info.shape)} "
        f"min={info.min} max={info.max} mean={info.mean}"
    )

    # scipy.ndimage.gaussian_filter(a, sigma=1.5, mode="nearest")
    params = pb.GaussianParams(sigma=[1.5], mode=[pb.MODE_NEAREST])
    answer = stub.GaussianFilter(
        pb.GaussianFilterRequest(tensor=to_tensor(a), params=params), timeout=30
    )
    print("GaussianFilter:\n", to_array(answer.dtype, answer.shape, answer.data))

    big = np.random.default_rng(0).random((2048, 2048), dtype=np.float32)
    smooth = gaussian_filter_stream(stub, big, pb.GaussianParams(sigma=[3.0]))
    print(
        f"GaussianFilterStream: {smooth.dtype} {smooth.shape}, "
        f"std {big.std():.4f} -> {smooth.std():.4f}"
    )

    png = bytes.fromhex(  # a 1x1 PNG
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
    )
    size = stub.ImageSize(pb.ImageRequest(data=png, filename="pixel.png"), timeout=30)
    print(f"ImageSize: {size.format} {size.width}x{size.height} {size.color_type}")


if __name__ == "__main__":
    try:
        main()
    except grpc.RpcError as err:
        sys.exit(f"tensorwire: {err.code().name}: {err.details()}")
