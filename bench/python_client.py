"""The tensorwire Python package against the raw generated stubs and scipy.

    python bench/python_client.py [--grpc HOST:PORT] [--bin target/release/tensorwire] [--runs N]

Times, end to end in this process, on the seed workload (1024×768×3 int32,
σ 0.5) and 2048² float32 σ 8:

- ``tensorwire``: ``tw.Client(addr).gaussian_filter(a, sigma)`` with its
  defaults (streams above 4 MiB, 1 MiB pieces);
- ``raw unary``: the generated stubs as the README's example writes them, one
  ``GaussianFilter`` message each way (channel limits raised to 256 MiB),
  ``a.tobytes()`` in, ``np.frombuffer`` out (a read-only result);
- ``raw stream``: the README's hand-written header-then-pieces loop
  (``tobytes()`` slices in, ``b"".join`` of the answer's pieces out);
- ``scipy``: ``scipy.ndimage.gaussian_filter`` in this process.

The server is ``--grpc`` (or ``TENSORWIRE_GRPC``), else ``--bin`` started on
a free loopback port. Runs are interleaved (one of each per round) so a load
change on a shared machine hits every contender alike; medians are printed
with the ratios and the load average. Needs numpy, scipy and the package
(``pip install ./python``).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import grpc
import numpy as np
import tensorwire as tw
from scipy import ndimage
from tensorwire.v1 import tensorwire_pb2 as pb
from tensorwire.v1 import tensorwire_pb2_grpc as pb_grpc

ROOT = Path(__file__).resolve().parent.parent
WIRE = {np.dtype(np.int32): pb.DTYPE_INT32, np.dtype(np.float32): pb.DTYPE_FLOAT32}


def start_server(binary: str):
    log = tempfile.TemporaryFile("w+")  # noqa: SIM115 (outlives this function, as the server)
    process = subprocess.Popen(
        [binary, "serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    for _ in range(300):
        log.seek(0)
        found = re.search(r"grpc_addr=([0-9.]+:[0-9]+)", log.read())
        if found:
            return process, found.group(1)
        time.sleep(0.05)
    process.kill()
    raise SystemExit("the server did not start")


def raw_unary(stub):
    def run(a, sigma):
        tensor = pb.Tensor(dtype=WIRE[a.dtype], shape=a.shape, data=a.tobytes())
        answer = stub.GaussianFilter(
            pb.GaussianFilterRequest(tensor=tensor, params=pb.GaussianParams(sigma=[sigma]))
        )
        return np.frombuffer(answer.data, dtype=a.dtype).reshape(tuple(answer.shape))

    return run


def raw_stream(stub, step=1 << 20):
    def run(a, sigma):
        def pieces():
            header = pb.TensorHeader(dtype=WIRE[a.dtype], shape=a.shape)
            start = pb.GaussianFilterStart(header=header, params=pb.GaussianParams(sigma=[sigma]))
            yield pb.GaussianFilterChunk(start=start)
            raw = a.tobytes()
            for i in range(0, len(raw), step):
                yield pb.GaussianFilterChunk(data=raw[i : i + step])

        answer = stub.GaussianFilterStream(pieces())
        header = next(answer).header
        data = b"".join(chunk.data for chunk in answer)
        return np.frombuffer(data, dtype=a.dtype).reshape(tuple(header.shape))

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--grpc", default=os.environ.get("TENSORWIRE_GRPC"))
    parser.add_argument("--bin", default=str(ROOT / "target" / "release" / "tensorwire"))
    parser.add_argument("--runs", type=int, default=int(os.environ.get("RUNS", "15")))
    args = parser.parse_args()

    server = None
    address = args.grpc
    if not address:
        server, address = start_server(args.bin)
    try:
        limit = 256 << 20
        channel = grpc.insecure_channel(
            address,
            options=[
                ("grpc.max_send_message_length", limit),
                ("grpc.max_receive_message_length", limit),
            ],
        )
        stub = pb_grpc.TensorServiceStub(channel)
        client = tw.Client(address)
        rng = np.random.default_rng(0)
        workloads = [
            (
                "seed 1024x768x3 int32 s0.5",
                rng.integers(0, 256, (1024, 768, 3)).astype(np.int32),
                0.5,
                args.runs,
            ),
            (
                "2048^2 float32 s8",
                rng.random((2048, 2048), dtype=np.float32),
                8.0,
                max(5, args.runs // 2),
            ),
        ]
        contenders = {
            "tensorwire": client.gaussian_filter,
            "raw unary": raw_unary(stub),
            "raw stream": raw_stream(stub),
            "scipy": ndimage.gaussian_filter,
        }
        print(f"load average before: {os.getloadavg()}")
        print(
            f"{'workload':28} "
            + " ".join(f"{name + ' ms':>14}" for name in contenders)
            + f" {'tw/raw unary':>13} {'tw/raw stream':>14} {'scipy/tw':>9}"
        )
        for label, a, sigma, runs in workloads:
            expected = ndimage.gaussian_filter(a, sigma)
            times = {name: [] for name in contenders}
            for name, fn in contenders.items():  # warm up, and check the answer
                got = fn(a, sigma)
                if not np.array_equal(got, expected):
                    raise SystemExit(f"{name} answered differently on {label}")
            for _ in range(runs):
                for name, fn in contenders.items():
                    t0 = time.perf_counter()
                    fn(a, sigma)
                    times[name].append((time.perf_counter() - t0) * 1e3)
            med = {name: statistics.median(ts) for name, ts in times.items()}
            print(
                f"{label:28} "
                + " ".join(f"{med[n]:14.1f}" for n in contenders)
                + f" {med['tensorwire'] / med['raw unary']:13.2f}"
                + f" {med['tensorwire'] / med['raw stream']:14.2f}"
                + f" {med['scipy'] / med['tensorwire']:9.2f}"
            )
        print(f"load average after: {os.getloadavg()}")
        client.close()
        channel.close()
    finally:
        if server is not None:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
