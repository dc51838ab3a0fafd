"""The Python grpcio client of bench/clients.sh: times each workload against
one server and prints `workload median_ms [extra] cpu=ms` lines. Stubs come from
proto/ (bench/clients.sh puts them on PYTHONPATH). A stock client: grpcio's
defaults, message limits raised, nothing else tuned.

usage: python bench/clients_python.py HOST:PORT RUNS
"""

import statistics
import sys
import time

import grpc
import numpy as np
from tensorwire.v1 import tensorwire_pb2 as pb2
from tensorwire.v1 import tensorwire_pb2_grpc as pb2_grpc

PIECE = 1 << 20


def tensor(a, dtype):
    return pb2.Tensor(dtype=dtype, shape=a.shape, data=a.tobytes())


def stream_start(a, dtype, sigma):
    return pb2.GaussianFilterChunk(
        start=pb2.GaussianFilterStart(
            header=pb2.TensorHeader(dtype=dtype, shape=a.shape),
            params=pb2.GaussianParams(sigma=[sigma]),
        )
    )


def pieces(raw):
    view = memoryview(raw)
    for i in range(0, len(raw), PIECE):
        yield bytes(view[i : i + PIECE])


def main(addr, runs):
    channel = grpc.insecure_channel(
        addr,
        options=[
            ("grpc.max_send_message_length", 1 << 30),
            ("grpc.max_receive_message_length", 1 << 30),
        ],
    )
    stub = pb2_grpc.TensorServiceStub(channel)
    rng = np.random.default_rng(0)
    seed = rng.integers(0, 256, (1024, 768, 3)).astype(np.int32)
    big = rng.random((2048, 2048), dtype=np.float32)
    down = rng.random((8192, 8192), dtype=np.float32)  # 256 MiB
    up = rng.integers(0, 256, 1 << 30, dtype=np.uint8)  # 1 GiB
    down_raw, up_raw = down.tobytes(), up.data.cast("B")

    def unary(a, dtype, sigma):
        request = pb2.GaussianFilterRequest(
            tensor=tensor(a, dtype), params=pb2.GaussianParams(sigma=[sigma])
        )
        answer = stub.GaussianFilter(request, timeout=600)
        out = np.frombuffer(answer.data, a.dtype).reshape(a.shape)
        assert out.shape == a.shape

    def download():
        def requests():
            yield stream_start(down, pb2.DTYPE_FLOAT32, 0.0)
            for p in pieces(down_raw):
                yield pb2.GaussianFilterChunk(data=p)

        answer = stub.GaussianFilterStream(requests(), timeout=600)
        next(answer)
        got = [next(answer).data]
        t = time.perf_counter()
        got.extend(m.data for m in answer)
        elapsed = time.perf_counter() - t
        assert sum(map(len, got)) == len(down_raw)
        return (len(down_raw) - len(got[0])) / elapsed / (1 << 30)

    def upload():
        def requests():
            yield pb2.TensorChunk(header=pb2.TensorHeader(dtype=pb2.DTYPE_UINT8, shape=up.shape))
            for p in pieces(up_raw):
                yield pb2.TensorChunk(data=p)

        assert stub.DescribeStream(requests(), timeout=600).nbytes == len(up_raw)

    workloads = [
        ("seed", lambda: unary(seed, pb2.DTYPE_INT32, 0.5), runs),
        ("big", lambda: unary(big, pb2.DTYPE_FLOAT32, 8.0), runs),
        ("download", download, max(3, runs // 2)),
        ("upload", upload, 3),
    ]
    for name, call, n in workloads:
        call()  # warm-up
        times, extras = [], []
        cpu = time.process_time()
        for _ in range(n):
            t = time.perf_counter()
            extra = call()
            times.append((time.perf_counter() - t) * 1e3)
            if extra is not None:
                extras.append(extra)
        line = f"{name} {statistics.median(times):.1f}"
        if extras:
            line += f" {statistics.median(extras):.2f}"
        # This process's CPU (all threads) per call: what the client costs.
        line += f" cpu={(time.process_time() - cpu) * 1e3 / n:.1f}"
        print(line, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
