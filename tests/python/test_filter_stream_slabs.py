"""GaussianFilterStream in slabs (issue #18), from grpcio: tensors larger
than the server's slab (16 MiB by default) equal scipy bit for bit for modes
along axis 0 that read the edge rows (mirror, reflect, nearest, constant)
and for wrap (which waits for the last rows), and a client that sends and
reads at once gets its first result piece before it sends its last piece."""

import threading

import numpy as np
import pytest
from test_grpc_interop import (
    assert_bit_equal,
    filter_stream,
    from_tensor,
    scipy_reference,
    to_params,
    to_tensor,
)

# Rows of 128 x 128 elements. The server filters a stream whole when its
# slabs' working set (about 112 MiB at the default 16 MiB slab, radius 8)
# would exceed input + result, so the tensors here are over 56 MiB: 512 rows
# of float64 (64 MiB, five slabs) and 1024 rows of float32 (64 MiB, five
# slabs). Smaller ones are filtered whole and would not test the slabs.
ROW = (128, 128)


def big(dtype, seed, rows):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(rows, *ROW)) * 100).astype(dtype)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"sigma": 2.0, "mode": ["mirror", "reflect", "nearest"]},
        {
            "sigma": [3.0, 1.0],
            "order": [1, 0],
            "mode": ["constant", "grid-wrap"],
            "cval": 2.5,
            "axes": [0, 2],
        },
        {"sigma": 1.5, "mode": "wrap", "axes": [2, 0, 1]},
        {"sigma": [0.0, 2.0, 1.0], "mode": "grid-mirror", "order": [0, 2, 0]},
    ],
    ids=["mirror-reflect-nearest", "constant-derivative", "wrap-axes-order", "axis0-skipped"],
)
def test_slabbed_stream_equals_scipy(pb, stub, kwargs):
    pb2, _ = pb
    array = big(np.float64, 11, 512)
    got = filter_stream(pb2, stub, array, piece=1 << 20, **kwargs)
    assert_bit_equal(got, scipy_reference(array, **kwargs))


def test_first_result_piece_arrives_before_the_last_input_piece(pb, stub):
    pb2, _ = pb
    array = big(np.float32, 12, 1024)
    tensor = to_tensor(pb2, array)
    first_result = threading.Event()
    held_back = {}

    def requests():
        header = pb2.TensorHeader(dtype=tensor.dtype, shape=tensor.shape)
        yield pb2.GaussianFilterChunk(
            start=pb2.GaussianFilterStart(header=header, params=to_params(pb2, sigma=2.0))
        )
        raw, piece = tensor.data, 1 << 20
        starts = range(0, len(raw), piece)
        for i in starts[:-1]:
            yield pb2.GaussianFilterChunk(data=raw[i : i + piece])
        # The last piece waits until a result piece has come back.
        held_back["first_came_first"] = first_result.wait(timeout=60)
        yield pb2.GaussianFilterChunk(data=raw[starts[-1] :])

    answer = stub.GaussianFilterStream(requests())
    head = next(answer)
    assert head.WhichOneof("part") == "header"
    pieces = []
    for message in answer:
        pieces.append(message.data)
        first_result.set()
    assert held_back["first_came_first"], "no result piece before the last input piece"
    got = from_tensor(
        pb2, pb2.Tensor(dtype=head.header.dtype, shape=head.header.shape, data=b"".join(pieces))
    )
    assert_bit_equal(got, scipy_reference(array, sigma=2.0))
