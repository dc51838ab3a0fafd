"""Where a Python grpcio call's time goes (issue #15): times, against one
server, the pieces of the seed workload's GaussianFilter call, and prints
`name wall_ms client_cpu_ms [server_cpu_ms]` lines (medians). CPU times
(this process's, all its threads; the server's from /proc/PID/stat when its
PID is given) barely move with the load of a shared machine, so they show
what each side costs when wall times are noise.

  local_encode     building and serialising the request (no network)
  local_decode     parsing a 9.4 MB answer message (no network)
  describe         Describe of the seed tensor: the upload and a small answer
  filter_sigma0    GaussianFilter sigma 0: the upload, an engine copy, the
                   download (the transport floor of the unary call)
  filter_seed      GaussianFilter sigma 0.5 (the seed workload)
  big_sigma0       GaussianFilter sigma 0 on 2048x2048 float32 (16 MiB each way)
  big              GaussianFilter sigma 8 on 2048x2048 float32

A second channel with client-side HTTP/2 and TCP tuning runs the same calls
(`tuned_*` lines) to show what grpc-core's defaults cost; bench/clients.sh
keeps the stock client.

  upload           DescribeStream of 64 MiB float32 in 1 MiB pieces
  download         GaussianFilterStream sigma 0 of the same 64 MiB: upload,
                   engine copy, download (minus `upload`: the download's cost;
                   the client's CPU per GiB received bounds its rate)
  receive          the same call on 256 MiB (so that what grpc-core reads ahead
                   before the first piece is a small part), timed from its
                   first data piece to its end:
                   `receive GiB/s-wall GiB/s-per-client-CPU-second` (the second
                   is the most a stock client can receive with the CPU it
                   spends per byte, whatever the server does)

usage: python bench/python_floor.py HOST:PORT RUNS [SERVER_PID]
"""

import os
import statistics
import sys
import time

import grpc
import numpy as np
from tensorwire.v1 import tensorwire_pb2 as pb2
from tensorwire.v1 import tensorwire_pb2_grpc as pb2_grpc

LIMITS = [
    ("grpc.max_send_message_length", 1 << 30),
    ("grpc.max_receive_message_length", 1 << 30),
]
TUNED = LIMITS + [
    ("grpc.http2.max_frame_size", 1 << 20),
    ("grpc.http2.lookahead_bytes", 16 << 20),
    ("grpc.experimental.tcp_min_read_chunk_size", 1 << 20),
    ("grpc.experimental.tcp_read_chunk_size", 4 << 20),
    ("grpc.experimental.tcp_max_read_chunk_size", 16 << 20),
]


def server_cpu(pid):
    """CPU seconds (user + system) of process `pid` so far."""
    if pid is None:
        return 0.0
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(call, runs, pid):
    """Median wall and client CPU milliseconds per call, and the server's
    mean CPU milliseconds per call (its clock ticks are 10 ms)."""
    call()
    wall, client = [], []
    s = server_cpu(pid)
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        call()
        wall.append((time.perf_counter() - t) * 1e3)
        client.append((time.process_time() - c) * 1e3)
    line = f"{statistics.median(wall):.1f} {statistics.median(client):.1f}"
    return line + (f" {(server_cpu(pid) - s) * 1e3 / runs:.1f}" if pid is not None else "")


def request(a, dtype, sigma):
    return pb2.GaussianFilterRequest(
        tensor=pb2.Tensor(dtype=dtype, shape=a.shape, data=a.tobytes()),
        params=pb2.GaussianParams(sigma=[sigma]),
    )


def upload(stub, a):
    def requests():
        yield pb2.TensorChunk(header=pb2.TensorHeader(dtype=pb2.DTYPE_FLOAT32, shape=a.shape))
        raw = memoryview(a.data.cast("B"))
        for i in range(0, len(raw), 1 << 20):
            yield pb2.TensorChunk(data=bytes(raw[i : i + (1 << 20)]))

    assert stub.DescribeStream(requests(), timeout=600).nbytes == a.nbytes


def copy_requests(a):
    """GaussianFilterStream messages for `a` (float32) at sigma 0, in 1 MiB pieces."""
    yield pb2.GaussianFilterChunk(
        start=pb2.GaussianFilterStart(
            header=pb2.TensorHeader(dtype=pb2.DTYPE_FLOAT32, shape=a.shape),
            params=pb2.GaussianParams(sigma=[0.0]),
        )
    )
    raw = memoryview(a.data.cast("B"))
    for i in range(0, len(raw), 1 << 20):
        yield pb2.GaussianFilterChunk(data=bytes(raw[i : i + (1 << 20)]))


def download(stub, a):
    n = sum(len(m.data) for m in stub.GaussianFilterStream(copy_requests(a), timeout=600))
    assert n == a.nbytes


def receive(stub, a, runs):
    """Median GiB/s of a streamed answer after its first data piece: by the
    wall clock, and by the client's own CPU time over the same span."""

    def once():
        answer = stub.GaussianFilterStream(copy_requests(a), timeout=600)
        next(answer)
        first = len(next(answer).data)
        t, c = time.perf_counter(), time.process_time()
        n = sum(len(m.data) for m in answer)
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        assert first + n == a.nbytes
        return n / wall / (1 << 30), n / max(cpu, 1e-9) / (1 << 30)

    once()
    rates = [once() for _ in range(runs)]
    wall, cpu = (statistics.median(r[i] for r in rates) for i in (0, 1))
    return f"{wall:.2f} {cpu:.2f}"


def calls(stub, seed, big, down):
    """The remote calls, by name."""
    return {
        "describe": lambda: stub.Describe(request(seed, pb2.DTYPE_INT32, 0).tensor, timeout=60),
        "filter_sigma0": lambda: stub.GaussianFilter(
            request(seed, pb2.DTYPE_INT32, 0.0), timeout=60
        ),
        "filter_seed": lambda: stub.GaussianFilter(request(seed, pb2.DTYPE_INT32, 0.5), timeout=60),
        "big_sigma0": lambda: stub.GaussianFilter(request(big, pb2.DTYPE_FLOAT32, 0.0), timeout=60),
        "big": lambda: stub.GaussianFilter(request(big, pb2.DTYPE_FLOAT32, 8.0), timeout=60),
        "upload": lambda: upload(stub, down),
        "download": lambda: download(stub, down),
    }


def main(addr, runs, pid):
    rng = np.random.default_rng(0)
    seed = rng.integers(0, 256, (1024, 768, 3)).astype(np.int32)
    big = rng.random((2048, 2048), dtype=np.float32)
    down = rng.random((4096, 4096), dtype=np.float32)  # 64 MiB
    answer = rng.random((8192, 8192), dtype=np.float32)  # 256 MiB
    wire = pb2.Tensor(
        dtype=pb2.DTYPE_INT32, shape=seed.shape, data=seed.tobytes()
    ).SerializeToString()

    def encode():
        return request(seed, pb2.DTYPE_INT32, 0.5).SerializeToString()

    def decode():
        return np.frombuffer(pb2.Tensor.FromString(wire).data, np.int32)

    print(f"local_encode {measure(encode, runs, None)}")
    print(f"local_decode {measure(decode, runs, None)}")
    for prefix, options in (("", LIMITS), ("tuned_", TUNED)):
        with grpc.insecure_channel(addr, options=options) as channel:
            stub = pb2_grpc.TensorServiceStub(channel)
            for name, call in calls(stub, seed, big, down).items():
                print(f"{prefix}{name} {measure(call, runs, pid)}", flush=True)
            print(f"{prefix}receive {receive(stub, answer, runs)}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else None)
