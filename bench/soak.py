"""Mixed traffic from every kind of client against a tensorwire server (or
several behind nginx), for `bench/soak.sh`. Not run in CI.

    python bench/soak.py --grpc HOST:PORT --http http://HOST:PORT --seconds 600 \
        [--pids PID,PID] [--workers 12] [--report soak.json]

Each worker loops over the client kinds below until the time is up; every
accepted answer is compared with the answer the server gave the same input
before the load began (and, when SciPy is installed, that one with
`scipy.ndimage.gaussian_filter`, which tensorwire matches bit for bit):

- grpc_unary: Describe and GaussianFilter of 1 MiB tensors (grpcio);
- grpc_stream: GaussianFilterStream of a 24 MiB tensor in 1 MiB pieces;
- seed_base64: POST /receive_array, a 16 MiB .npy as base64 JSON;
- seed_list: POST /receive_list, a 256k-number JSON list;
- seed_filter: POST / (multipart .npy, answered with gaussian_filter(0.5));
- v1_filter: POST /v1/gaussian_filter, 16 MiB .npy, answer read at once;
- v1_describe, v1_image: /v1/describe and /v1/gaussian_filter of a PNG;
- kserve: POST /v2/models/gaussian_filter/infer with JSON data;
- slow_reader: the whole 16 MiB .npy sent, the answer read at 4 MiB/s;
- abandoned: half of a 16 MiB upload sent, then the connection closed;
- bad_input: garbage .npy, malformed JSON, an unknown parameter.

Outcomes per kind: ok (exact), refused (429 or 503 / RESOURCE_EXHAUSTED:
the budget said busy), error (anything else: other 5xx, resets, timeouts),
inexact (an accepted answer that differs: must be 0). Bad inputs count as
ok when refused with 400. A refused or failed call is tried again (up to
--retries times); the final outcome is counted, and `first_refused` /
`first_error` count the calls whose first attempt was one. With --pids,
the peak RSS (VmHWM) of each server process is sampled every 200 ms (a
restarted process gets a new entry).
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import random
import socket
import sys
import threading
import time
from collections import defaultdict
from urllib.parse import urlparse

import numpy as np
import requests

try:
    import grpc
    from tensorwire.v1 import tensorwire_pb2 as pb
    from tensorwire.v1 import tensorwire_pb2_grpc as rpc
except ImportError:  # gRPC clients skipped
    grpc = None

MIB = 1 << 20


def npy_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def floats(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.random((n // 1024, 1024), dtype=np.float32)


def png_bytes(w: int, h: int) -> bytes:
    """An uncompressed-ish RGBA PNG written by hand (no Pillow needed)."""
    import struct
    import zlib

    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    raw = b"".join(b"\x00" + pixels[y].tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 1))
        + chunk(b"IEND", b"")
    )


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.errors: dict[str, list[str]] = defaultdict(list)

    def add(self, kind: str, outcome: str, detail: str = "") -> None:
        with self.lock:
            self.counts[kind][outcome] += 1
            if outcome in ("error", "inexact", "first_error") and len(self.errors[kind]) < 5:
                self.errors[kind].append(detail[:200])


def http_outcome(status: int) -> str:
    if status == 200:
        return "ok"
    if status in (429, 503):
        return "refused"
    return "error"


def post_json(url: str, body: bytes) -> tuple[int, bytes]:
    """A JSON POST with `requests`, as the seed routes' clients send it."""
    r = requests.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=120)
    return r.status_code, r.content


def raw_post(
    url: str,
    path: str,
    ctype: str,
    body: bytes,
    send: int | None,
    read_rate: int,
    timeout: float = 120,
) -> tuple[int, bytes]:
    """HTTP/1 over a plain socket: the whole body (or `send` bytes of it, then
    close: an abandoned upload), then the answer read at `read_rate` B/s."""
    u = urlparse(url)
    s = socket.create_connection((u.hostname, u.port), timeout=timeout)
    try:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {u.hostname}\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        s.sendall(head)
        if send is not None:
            s.sendall(body[:send])
            return 0, b""
        try:
            s.sendall(body)
        except OSError:
            pass  # refused early and closed: the answer is still there
        chunks = []
        while True:
            data = s.recv(max(1, read_rate // 10) if read_rate else 1 << 20)
            if not data:
                break
            chunks.append(data)
            if read_rate:
                time.sleep(0.1)
        raw = b"".join(chunks)
        head, _, payload = raw.partition(b"\r\n\r\n")
        status = int(head.split()[1]) if head.startswith(b"HTTP/") else 0
        headers = dict(
            line.split(b":", 1) for line in head.lower().split(b"\r\n")[1:] if b":" in line
        )
        # An answer cut short (a server killed while it was being sent) is a
        # broken connection, as a client library reports it, not an answer.
        if b"chunked" in headers.get(b"transfer-encoding", b""):
            out, rest, ended = [], payload, False
            while rest:
                line, _, rest = rest.partition(b"\r\n")
                size = int(line.split(b";")[0] or b"0", 16)
                if size == 0:
                    ended = True
                    break
                out.append(rest[:size])
                rest = rest[size + 2 :]
            if not ended:
                raise ConnectionError("chunked answer cut before its last chunk")
            payload = b"".join(out)
        elif b"content-length" in headers:
            length = int(headers[b"content-length"])
            if len(payload) < length:
                raise ConnectionError(f"answer cut at {len(payload)} of {length} bytes")
        return status, payload
    finally:
        s.close()


class Soak:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.http = args.http.rstrip("/")
        self.stats = Stats()
        self.retries = args.retries
        self.last = threading.local()
        self.deadline = time.monotonic() + args.seconds
        self.small = floats(256 * 1024, 1)  # 1 MiB
        self.big = floats(4 * MIB, 2)  # 16 MiB
        self.stream = floats(6 * MIB, 3)  # 24 MiB
        self.big_npy = npy_bytes(self.big)
        self.big_b64 = json.dumps({"array_data": base64.b64encode(self.big_npy).decode()}).encode()
        self.list_body = json.dumps(
            {"array_list": (self.small[:256] * 100).round(2).tolist()}
        ).encode()
        self.png = png_bytes(512, 512)
        self.kserve_body = json.dumps(
            {
                "inputs": [
                    {
                        "name": "INPUT",
                        "shape": [256, 1024],
                        "datatype": "FP32",
                        "data": self.small.ravel().tolist(),
                    }
                ],
                "parameters": {"sigma": 1.0},
            }
        ).encode()
        self.multipart = self._multipart(npy_bytes(self.small))
        self.stub = None
        if grpc is not None and args.grpc:
            opts = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]
            self.channel = grpc.insecure_channel(args.grpc, options=opts)
            self.stub = rpc.TensorServiceStub(self.channel)
        self.expected: dict[str, bytes] = {}

    @staticmethod
    def _multipart(npy: bytes) -> tuple[str, bytes]:
        b = "soakboundary"
        body = (
            (
                f'--{b}\r\nContent-Disposition: form-data; name="array"; filename="a.npy"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + npy
            + f"\r\n--{b}--\r\n".encode()
        )
        return f"multipart/form-data; boundary={b}", body

    # -- expected answers, from the unloaded server (and SciPy if present)
    def prepare(self) -> None:
        def must(call):
            for _ in range(50):
                try:
                    status, body = call()
                    if status == 200:
                        return body
                except OSError:
                    pass
                time.sleep(0.2)
            raise SystemExit("the server did not answer the reference calls")

        self.expected["v1_filter"] = must(
            lambda: raw_post(
                self.http, "/v1/gaussian_filter?sigma=2", "application/x-npy", self.big_npy, None, 0
            )
        )
        self.expected["seed_filter"] = must(
            lambda: raw_post(self.http, "/", self.multipart[0], self.multipart[1], None, 0)
        )
        self.expected["v1_image"] = must(
            lambda: raw_post(
                self.http, "/v1/gaussian_filter?sigma=1", "image/png", self.png, None, 0
            )
        )
        got = np.load(io.BytesIO(self.expected["v1_filter"]))
        try:
            from scipy import ndimage

            want = ndimage.gaussian_filter(self.big, 2.0)
            self.scipy_checked = bool(np.array_equal(got, want))
        except ImportError:
            self.scipy_checked = None
        if self.stub is not None:
            self.expected["grpc_stream"] = self._grpc_stream()
            self.expected["grpc_unary"] = self._grpc_unary()

    # -- clients
    def _grpc_unary(self) -> bytes:
        t = pb.Tensor(dtype=pb.DTYPE_FLOAT32, shape=self.small.shape, data=self.small.tobytes())
        info = self.stub.Describe(t, timeout=60)
        assert info.nbytes == self.small.nbytes
        out = self.stub.GaussianFilter(
            pb.GaussianFilterRequest(tensor=t, params=pb.GaussianParams(sigma=[1.5])), timeout=60
        )
        return bytes(out.data)

    def _grpc_stream(self) -> bytes:
        a = self.stream
        raw = a.tobytes()

        def messages():
            yield pb.GaussianFilterChunk(
                start=pb.GaussianFilterStart(
                    header=pb.TensorHeader(dtype=pb.DTYPE_FLOAT32, shape=a.shape),
                    params=pb.GaussianParams(sigma=[1.0]),
                )
            )
            for i in range(0, len(raw), MIB):
                yield pb.GaussianFilterChunk(data=raw[i : i + MIB])

        out = bytearray()
        for chunk in self.stub.GaussianFilterStream(messages(), timeout=120):
            if chunk.WhichOneof("part") == "data":
                out += chunk.data
        return bytes(out)

    def grpc_call(self, kind: str, fn) -> None:
        try:
            got = fn()
            if got == self.expected[kind]:
                self.outcome(kind, "ok")
            else:
                self.outcome(kind, "inexact", f"{len(got)} bytes")
        except grpc.RpcError as err:
            code = err.code()
            if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
                self.outcome(kind, "refused")
            else:
                self.outcome(kind, "error", f"{code}: {err.details()}")

    def http_call(self, kind: str, fn, check) -> None:
        try:
            status, body = fn()
        except (OSError, requests.RequestException) as err:
            self.outcome(kind, "error", repr(err))
            return
        outcome = http_outcome(status)
        if outcome == "ok" and not check(body):
            outcome = "inexact"
        self.outcome(kind, outcome, f"{status}: {body[:150]!r}")

    def one(self, kind: str) -> None:
        h = self.http
        if kind == "grpc_unary":
            self.grpc_call(kind, self._grpc_unary)
        elif kind == "grpc_stream":
            self.grpc_call(kind, self._grpc_stream)
        elif kind == "seed_base64":
            self.http_call(
                kind,
                lambda: post_json(f"{h}/receive_array", self.big_b64),
                lambda b: json.loads(b)["shape"] == list(self.big.shape),
            )
        elif kind == "seed_list":
            self.http_call(
                kind,
                lambda: post_json(f"{h}/receive_list", self.list_body),
                lambda b: json.loads(b)["shape"] == [256, 1024],
            )
        elif kind == "seed_filter":
            self.http_call(
                kind,
                lambda: raw_post(h, "/", *self.multipart, None, 0),
                lambda b: b == self.expected["seed_filter"],
            )
        elif kind == "v1_filter":
            self.http_call(
                kind,
                lambda: raw_post(
                    h, "/v1/gaussian_filter?sigma=2", "application/x-npy", self.big_npy, None, 0
                ),
                lambda b: b == self.expected["v1_filter"],
            )
        elif kind == "v1_describe":
            self.http_call(
                kind,
                lambda: raw_post(h, "/v1/describe", "application/x-npy", self.big_npy, None, 0),
                lambda b: json.loads(b)["shape"] == list(self.big.shape),
            )
        elif kind == "v1_image":
            self.http_call(
                kind,
                lambda: raw_post(h, "/v1/gaussian_filter?sigma=1", "image/png", self.png, None, 0),
                lambda b: b == self.expected["v1_image"],
            )
        elif kind == "kserve":
            self.http_call(
                kind,
                lambda: raw_post(
                    h,
                    "/v2/models/gaussian_filter/infer",
                    "application/json",
                    self.kserve_body,
                    None,
                    0,
                ),
                lambda b: len(json.loads(b)["outputs"][0]["data"]) == self.small.size,
            )
        elif kind == "slow_reader":
            self.http_call(
                kind,
                lambda: raw_post(
                    h,
                    "/v1/gaussian_filter?sigma=2",
                    "application/x-npy",
                    self.big_npy,
                    None,
                    4 * MIB,
                ),
                lambda b: b == self.expected["v1_filter"],
            )
        elif kind == "abandoned":
            try:
                raw_post(
                    h,
                    "/v1/gaussian_filter?sigma=2",
                    "application/x-npy",
                    self.big_npy,
                    len(self.big_npy) // 2,
                    0,
                )
                self.outcome(kind, "ok")
            except OSError as err:
                self.outcome(kind, "error", repr(err))
        elif kind == "bad_input":
            case = random.choice(
                [
                    ("/v1/describe", "application/x-npy", b"\x93NUMPY garbage"),
                    ("/receive_array", "application/json", b'{"array_data": 5'),
                    (
                        "/v1/gaussian_filter?sigma=1&sigmas=2",
                        "application/x-npy",
                        npy_bytes(self.small),
                    ),
                ]
            )
            try:
                status, body = raw_post(h, case[0], case[1], case[2], None, 0)
                self.outcome(kind, "ok" if status == 400 else "error", f"{status}: {body[:150]!r}")
            except OSError as err:
                self.outcome(kind, "error", repr(err))

    def outcome(self, kind: str, outcome: str, detail: str = "") -> None:
        """What one attempt of a call of `kind` gave (read by `call`)."""
        self.last.outcome = (outcome, detail)

    def call(self, kind: str) -> None:
        """One call of `kind`, tried again after a refusal or an error (up to
        --retries more times, waiting 0.2 s more each time), as a client with
        a retry policy does. The final outcome is counted, and the first
        attempt's too when it was not the final one (`first_refused`,
        `first_error`), so a retry hides nothing."""
        first = first_detail = None
        for attempt in range(self.retries + 1):
            self.one(kind)
            outcome, detail = self.last.outcome
            if first is None:
                first, first_detail = outcome, detail
            if outcome not in ("refused", "error") or attempt == self.retries:
                break
            time.sleep(0.2 * (attempt + 1))
        self.stats.add(kind, outcome, detail)
        if first != outcome:
            self.stats.add(kind, f"first_{first}", first_detail)

    def kinds(self) -> list[str]:
        kinds = [
            "seed_base64",
            "seed_list",
            "seed_filter",
            "v1_filter",
            "v1_describe",
            "v1_image",
            "kserve",
            "slow_reader",
            "abandoned",
            "bad_input",
        ]
        if self.stub is not None:
            kinds += ["grpc_unary", "grpc_stream"]
        return kinds

    def worker(self, n: int) -> None:
        kinds = self.kinds()
        rng = random.Random(n)
        i = n
        while time.monotonic() < self.deadline:
            kind = kinds[i % len(kinds)] if rng.random() < 0.7 else rng.choice(kinds)
            i += 1
            self.call(kind)


def vmhwm_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--grpc", default="")
    ap.add_argument("--http", required=True)
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--workers", type=int, default=12)
    ap.add_argument(
        "--pids-file", default="", help="a file of server pids, one a line, re-read as it changes"
    )
    ap.add_argument(
        "--retries",
        type=int,
        default=3,
        help="tries again after a refusal or an error (0: count first attempts only)",
    )
    ap.add_argument("--report", default="")
    args = ap.parse_args()

    soak = Soak(args)
    soak.prepare()
    soak.deadline = time.monotonic() + args.seconds
    peaks: dict[int, int] = {}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            pids = []
            if args.pids_file and os.path.exists(args.pids_file):
                with open(args.pids_file) as f:
                    pids = [int(p) for p in f.read().split() if p.strip()]
            for pid in pids:
                kib = vmhwm_kib(pid)
                if kib is not None:
                    peaks[pid] = max(peaks.get(pid, 0), kib)
            stop.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.monotonic()
    threads = [threading.Thread(target=soak.worker, args=(n,)) for n in range(args.workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    sampler.join()
    elapsed = time.monotonic() - started

    counts = {k: dict(v) for k, v in sorted(soak.stats.counts.items())}
    total = defaultdict(int)
    for v in counts.values():
        for outcome, n in v.items():
            total[outcome] += n
    report = {
        "seconds": round(elapsed, 1),
        "workers": args.workers,
        "by_kind": counts,
        "total": dict(total),
        "errors_sample": dict(soak.stats.errors),
        "peak_rss_mib_by_pid": {str(p): k // 1024 for p, k in peaks.items()},
        "all_accepted_exact": total.get("inexact", 0) == 0,
        "reference_equals_scipy": soak.scipy_checked,
    }
    print(json.dumps(report, indent=2))
    if args.report:
        with open(args.report, "w") as f:
            json.dump(report, f, indent=2)
    sys.exit(0 if report["all_accepted_exact"] else 1)


if __name__ == "__main__":
    main()
