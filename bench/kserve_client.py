"""tritonclient.grpc `infer` against the native Python grpcio call, on the
seed workload (a 1024x768x3 int32 array, Gaussian filter sigma 0.5), in one
run against one server, calls alternating so both see the same load.

    python bench/kserve_client.py --grpc 127.0.0.1:50051 [--calls 30]

Needs numpy, grpcio, grpcio-tools and tritonclient[grpc]. Prints the median
and quartiles of each client's wall time per call, their ratio (target:
tritonclient within 1.3x of native), and the load average. Both answers are
checked equal before timing.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
import numpy as np
import tritonclient.grpc as triton_grpc

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 256 << 20


def native_stubs():
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
    from tensorwire.v1 import tensorwire_pb2, tensorwire_pb2_grpc

    return tensorwire_pb2, tensorwire_pb2_grpc


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grpc", required=True, help="host:port of a running tensorwire")
    parser.add_argument("--calls", type=int, default=30)
    args = parser.parse_args()

    seed = np.random.default_rng(0).integers(0, 256, (1024, 768, 3), dtype=np.int32)
    pb2, pb2_grpc = native_stubs()
    options = [("grpc.max_send_message_length", LIMIT), ("grpc.max_receive_message_length", LIMIT)]
    stub = pb2_grpc.TensorServiceStub(grpc.insecure_channel(args.grpc, options=options))
    triton = triton_grpc.InferenceServerClient(url=args.grpc, channel_args=options)

    def native():
        request = pb2.GaussianFilterRequest(
            tensor=pb2.Tensor(dtype=pb2.DTYPE_INT32, shape=list(seed.shape), data=seed.tobytes()),
            params=pb2.GaussianParams(sigma=[0.5]),
        )
        answer = stub.GaussianFilter(request)
        return np.frombuffer(answer.data, "<i4").reshape(answer.shape)

    def kserve():
        infer_input = triton_grpc.InferInput("INPUT", list(seed.shape), "INT32")
        infer_input.set_data_from_numpy(seed)
        result = triton.infer(
            "gaussian_filter",
            [infer_input],
            outputs=[triton_grpc.InferRequestedOutput("OUTPUT")],
            parameters={"sigma": "0.5"},
        )
        return result.as_numpy("OUTPUT")

    assert np.array_equal(native(), kserve()), "the two answers differ"
    for _ in range(3):  # warm both connections
        native()
        kserve()
    times = {"native grpcio": [], "tritonclient.grpc": []}
    for _ in range(args.calls):
        for name, call in (("native grpcio", native), ("tritonclient.grpc", kserve)):
            start = time.perf_counter()
            call()
            times[name].append((time.perf_counter() - start) * 1e3)
    for name, ms in times.items():
        q = statistics.quantiles(ms, n=4)
        print(
            f"{name:>18}: median {statistics.median(ms):7.2f} ms  "
            f"(q1 {q[0]:.2f}, q3 {q[2]:.2f}, {len(ms)} calls)"
        )
    ratio = statistics.median(times["tritonclient.grpc"]) / statistics.median(
        times["native grpcio"]
    )
    print(f"ratio tritonclient / native: {ratio:.2f}x (target <= 1.3x)")
    print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
