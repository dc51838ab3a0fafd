"""A regression guard for issue #15: a stock Python grpcio client downloads a
64 MiB streamed answer at well above 200 MB/s.

grpc-core lists gzip in `grpc-accept-encoding` on every call; when the server
compressed every answer for any client that accepted gzip, answers reached
Python at ~10 MB/s. The floor here is about 20x below what the uncompressed
path does on a loaded 2-core machine, so noise cannot trip it, but a server
that compresses tensor answers again does.
"""

import time

import numpy as np

FLOOR_BYTES_PER_SEC = 200e6
PIECE = 1 << 20


def test_streamed_answer_reaches_python_above_the_floor(pb, stub):
    pb2, _ = pb
    # Noise, as tensor data usually is to a compressor: 64 MiB of float32.
    data = np.random.default_rng(15).random((4096, 4096), dtype=np.float32)
    raw = data.tobytes()

    def requests():
        yield pb2.GaussianFilterChunk(
            start=pb2.GaussianFilterStart(
                header=pb2.TensorHeader(dtype=pb2.DTYPE_FLOAT32, shape=list(data.shape)),
                # sigma 0 is the identity: the answer is the input, so the time
                # is the transfer's, not the filter's.
                params=pb2.GaussianParams(sigma=[0.0]),
            )
        )
        view = memoryview(raw)
        for start in range(0, len(raw), PIECE):
            yield pb2.GaussianFilterChunk(data=bytes(view[start : start + PIECE]))

    answer = stub.GaussianFilterStream(requests(), timeout=120)
    first = next(answer)
    assert first.WhichOneof("part") == "header"
    assert list(first.header.shape) == list(data.shape)
    # The clock starts at the first data piece: from then on the time is the
    # download's (the upload and the identity filter are done).
    pieces = [next(answer).data]
    started = time.perf_counter()
    pieces.extend(chunk.data for chunk in answer)
    elapsed = time.perf_counter() - started
    received = b"".join(pieces)
    assert received == raw
    rate = (len(received) - len(pieces[0])) / elapsed
    print(f"64 MiB streamed answer: {rate / 1e6:.0f} MB/s")
    assert rate >= FLOOR_BYTES_PER_SEC, (
        f"a streamed answer reached Python at {rate / 1e6:.1f} MB/s, below the "
        f"{FLOOR_BYTES_PER_SEC / 1e6:.0f} MB/s floor: are answers compressed "
        "for clients that did not ask (grpc-core always accepts gzip)?"
    )
