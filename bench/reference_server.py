"""The reference of bench/clients.sh: the obvious Python gRPC server for
tensorwire's proto, grpcio + numpy + scipy.ndimage, serving Describe,
DescribeStream, GaussianFilter and GaussianFilterStream (sigma and mode
only). Stubs come from proto/ (bench/clients.sh puts them on PYTHONPATH).

usage: python bench/reference_server.py PORT   (prints "listening" when up)
"""

import sys
from concurrent import futures

import grpc
import numpy as np
from scipy import ndimage
from tensorwire.v1 import tensorwire_pb2 as pb2
from tensorwire.v1 import tensorwire_pb2_grpc as pb2_grpc

DTYPES = {
    pb2.DTYPE_UINT8: np.uint8,
    pb2.DTYPE_INT32: np.int32,
    pb2.DTYPE_FLOAT32: np.float32,
    pb2.DTYPE_FLOAT64: np.float64,
}
MODES = {
    pb2.MODE_REFLECT: "reflect",
    pb2.MODE_CONSTANT: "constant",
    pb2.MODE_NEAREST: "nearest",
    pb2.MODE_MIRROR: "mirror",
    pb2.MODE_WRAP: "wrap",
}
PIECE = 1 << 20
LIMIT = 1 << 30


def array(dtype, shape, data):
    return np.frombuffer(data, DTYPES[dtype]).reshape(tuple(shape))


def info(a, dtype):
    return pb2.TensorInfo(
        dtype=dtype,
        shape=a.shape,
        nbytes=a.nbytes,
        size=a.size,
        dtype_name=a.dtype.name,
        min=a.min(),
        max=a.max(),
        mean=a.mean(),
    )


def gaussian(a, params):
    mode = MODES[params.mode[0]] if params.mode else "reflect"
    # One sigma means the same sigma on every axis, as tensorwire reads it.
    sigma = params.sigma[0] if len(params.sigma) == 1 else list(params.sigma)
    return ndimage.gaussian_filter(a, sigma, mode=mode, cval=params.cval)


class Service(pb2_grpc.TensorServiceServicer):
    def Describe(self, request, context):
        return info(array(request.dtype, request.shape, request.data), request.dtype)

    def DescribeStream(self, request_iterator, context):
        header = next(request_iterator).header
        data = b"".join(m.data for m in request_iterator)
        return info(array(header.dtype, header.shape, data), header.dtype)

    def GaussianFilter(self, request, context):
        t = request.tensor
        out = gaussian(array(t.dtype, t.shape, t.data), request.params)
        return pb2.Tensor(dtype=t.dtype, shape=out.shape, data=out.tobytes())

    def GaussianFilterStream(self, request_iterator, context):
        start = next(request_iterator).start
        data = b"".join(m.data for m in request_iterator)
        out = gaussian(array(start.header.dtype, start.header.shape, data), start.params)
        yield pb2.TensorChunk(header=start.header)
        raw = memoryview(out.tobytes())
        for i in range(0, len(raw), PIECE):
            yield pb2.TensorChunk(data=bytes(raw[i : i + PIECE]))


if __name__ == "__main__":
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=4),
        options=[
            ("grpc.max_send_message_length", LIMIT),
            ("grpc.max_receive_message_length", LIMIT),
        ],
    )
    pb2_grpc.add_TensorServiceServicer_to_server(Service(), server)
    server.add_insecure_port(f"127.0.0.1:{sys.argv[1]}")
    server.start()
    print("listening", flush=True)
    server.wait_for_termination()
