"""The client against the real server: every dtype there and back, any byte
order and memory layout, ``output=``, describe, images, the streaming path
and how much memory it holds, and the progress bar."""

from __future__ import annotations

import io
import tracemalloc

import numpy as np
import pytest
from conftest import assert_same_bits, need, random_array, serve
from scipy import ndimage as scipy_ndimage

import tensorwire as tw

NUMPY_DTYPES = [
    "bool",
    "uint8",
    "int8",
    "uint16",
    "int16",
    "uint32",
    "int32",
    "uint64",
    "int64",
    "float16",
    "float32",
    "float64",
    "complex64",
    "complex128",
]


def sample(dtype, shape=(7, 9, 3), seed=3) -> np.ndarray:
    return random_array(dtype, shape, seed)


@pytest.mark.parametrize("dtype", NUMPY_DTYPES)
@pytest.mark.parametrize("path", ["unary", "streamed"])
def test_every_dtype_goes_there_and_back(request, path, dtype) -> None:
    c = request.getfixturevalue("client" if path == "unary" else "streaming_client")
    a = sample(dtype)
    # sigma 0 skips every axis: the answer is the input, bit for bit.
    assert_same_bits(c.gaussian_filter(a, 0.0), a)
    info = c.describe(a)
    assert (info.dtype, info.shape, info.nbytes, info.size) == (a.dtype, a.shape, a.nbytes, a.size)
    if dtype != "float16":
        expected = scipy_ndimage.gaussian_filter(a, 1.3, mode="wrap")
    else:
        expected = scipy_ndimage.gaussian_filter(a.astype(np.float32), 1.3, mode="wrap")
        expected = expected.astype(np.float16)
    assert_same_bits(c.gaussian_filter(a, 1.3, mode="wrap"), expected)


@pytest.mark.parametrize("path", ["unary", "streamed"])
def test_bfloat16_is_filtered_in_float32_and_returned_as_bfloat16(request, path) -> None:
    ml_dtypes = need("ml_dtypes")
    c = request.getfixturevalue("client" if path == "unary" else "streaming_client")
    a = sample(np.float32).astype(ml_dtypes.bfloat16)
    assert_same_bits(c.gaussian_filter(a, 0.0), a)
    expected = scipy_ndimage.gaussian_filter(a.astype(np.float32), 2.0).astype(ml_dtypes.bfloat16)
    assert_same_bits(c.gaussian_filter(a, 2.0), expected)
    assert c.describe(a).dtype == a.dtype


def test_describe_answers_like_numpy(client: tw.Client) -> None:
    a = sample(np.float64, (40, 30))
    info = client.describe(a)
    assert info == tw.TensorInfo(
        dtype=np.dtype(np.float64),
        shape=(40, 30),
        nbytes=a.nbytes,
        size=a.size,
        min=a.min(),
        max=a.max(),
        mean=pytest.approx(a.mean(), rel=1e-12),
    )
    assert client.describe(np.zeros((2, 0), np.complex64)).min is None


@pytest.mark.parametrize("path", ["unary", "streamed"])
@pytest.mark.parametrize(
    "layout",
    [
        "big_endian",
        "fortran",
        "strided",
        "negative_strides",
        "big_endian_strided",
        "rank0",
        "rank0_native",
    ],
)
def test_any_byte_order_and_layout_is_accepted(request, path, layout) -> None:
    c = request.getfixturevalue("client" if path == "unary" else "streaming_client")
    base = sample(np.float64, (12, 14, 3))
    a = {
        "big_endian": base.astype(">f8"),
        "fortran": np.asfortranarray(base),
        "strided": base[::2, 1::3],
        "negative_strides": base[::-1, :, ::-2],
        "big_endian_strided": base.astype(">i4")[1::2, ::-1],
        "rank0": np.array(2.5, dtype=">f4"),
        "rank0_native": np.array(2.5),
    }[layout]
    expected = scipy_ndimage.gaussian_filter(a, 1.1, mode="nearest")
    result = c.gaussian_filter(a, 1.1, mode="nearest")
    assert result.dtype == expected.dtype and result.dtype.isnative
    assert_same_bits(result, expected)


@pytest.mark.parametrize("path", ["unary", "streamed"])
def test_output_dtype_and_preallocated_arrays(request, path) -> None:
    c = request.getfixturevalue("client" if path == "unary" else "streaming_client")
    a = sample(np.uint8, (20, 16))
    want = scipy_ndimage.gaussian_filter(a, 1.7, output=np.float64)
    assert_same_bits(c.gaussian_filter(a, 1.7, output=np.float64), want)
    assert_same_bits(c.gaussian_filter(a, 1.7, output="f8"), want)

    out = np.empty((20, 16), np.float64)
    assert c.gaussian_filter(a, 1.7, output=out) is out
    assert_same_bits(out, want)

    holder = np.zeros((20, 32), np.float64)  # a non-contiguous output view
    view = holder[:, ::2]
    assert c.gaussian_filter(a, 1.7, output=view) is view
    assert_same_bits(view, want)
    assert not holder[:, 1::2].any()

    big = np.empty((20, 16), ">f8")
    assert c.gaussian_filter(a, 1.7, output=big) is big
    assert_same_bits(big.astype(np.float64), want)

    with pytest.raises(tw.InvalidArgument, match="shape"):
        c.gaussian_filter(a, 1.7, output=np.empty((16, 20)))


def test_client_checks_what_the_wire_cannot_carry(client: tw.Client) -> None:
    a = np.zeros((3, 3))
    for kwargs in [
        dict(order=-1),
        dict(radius=-1),
        dict(radius=1.5),
        dict(mode="bogus"),
        dict(sigma=[1.0]),
        dict(mode=["wrap", "wrap", "wrap"]),
    ]:
        with pytest.raises(tw.InvalidArgument):
            client.gaussian_filter(a, **{"sigma": 1.0, **kwargs})
    with pytest.raises(tw.InvalidArgument, match="not supported"):
        client.gaussian_filter(np.zeros(3, np.longdouble), 1.0)
    with pytest.raises(ValueError):  # InvalidArgument is a ValueError, as scipy's
        client.gaussian_filter(np.zeros(3, "U1"), 1.0)


def test_the_server_s_refusal_is_invalid_argument_with_its_message(client) -> None:
    with pytest.raises(tw.InvalidArgument) as refused:
        client.gaussian_filter(np.zeros((3, 3)), 1.0, axes=[0, -2])
    assert refused.value.message and refused.value.code.name == "INVALID_ARGUMENT"


def test_a_300_mib_array_streams_and_equals_scipy(client: tw.Client) -> None:
    a = np.random.default_rng(5).random((8192, 9600), dtype=np.float32)
    assert a.nbytes == 300 << 20
    result = client.gaussian_filter(a, 1.0)
    assert result.flags.c_contiguous and result.flags.writeable
    assert_same_bits(result, scipy_ndimage.gaussian_filter(a, 1.0))


def test_a_streamed_call_holds_the_input_the_result_and_o_piece(client: tw.Client) -> None:
    a = np.random.default_rng(6).random((2048, 4096), dtype=np.float32)  # 32 MiB
    client.gaussian_filter(a[:64], 1.0)  # warm up the channel outside the trace
    tracemalloc.start()
    try:
        result = client.gaussian_filter(a, 1.0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The result (32 MiB) plus a few pieces in flight; no copy of the input,
    # no list of pieces, no second copy of the answer.
    assert peak < a.nbytes + (8 << 20), f"peak {peak >> 20} MiB"
    assert_same_bits(result, scipy_ndimage.gaussian_filter(a, 1.0))


def test_progress_bar_shows_bytes_of_big_transfers(address: str, capsys) -> None:
    need("tqdm")
    a = np.ones((1024, 2048), np.float32)  # 8 MiB each way
    with tw.Client(address, progress=True) as c:
        c.gaussian_filter(a, 1.0)
        bar = capsys.readouterr().err
        assert "gaussian_filter" in bar and "16.0M/16.0M" in bar, bar
        c.gaussian_filter(a[:4], 1.0)  # small: no bar
        assert capsys.readouterr().err == ""
        c.gaussian_filter(a, 1.0, progress=False)
        assert capsys.readouterr().err == ""


def test_image_size_and_image_filter(client: tw.Client, tmp_path) -> None:
    image_module = need("PIL.Image")
    rgb = sample(np.uint8, (30, 40, 3))
    buf = io.BytesIO()
    image_module.fromarray(rgb).save(buf, format="PNG")
    path = tmp_path / "photo.png"
    path.write_bytes(buf.getvalue())
    assert client.image_size(path) == (40, 30)
    assert client.image_size(buf.getvalue()) == (40, 30)
    with open(path, "rb") as f:
        assert client.image_size(f) == (40, 30)
    with tw.Client(client._settings.target, max_message_bytes=100, piece_bytes=33) as small:
        assert small.image_size(str(path)) == (40, 30)  # streamed
    expected = scipy_ndimage.gaussian_filter(rgb, 2.0, axes=(0, 1))
    assert_same_bits(client.gaussian_filter_image(path, sigma=2), expected)
    with pytest.raises(tw.InvalidArgument):
        client.image_size(b"not an image at all")


def test_gzip_compression_both_ways(address: str) -> None:
    a = sample(np.float64, (300, 200))
    with tw.Client(address, compression="gzip", max_message_bytes=1 << 16) as c:
        assert_same_bits(c.gaussian_filter(a, 1.5), scipy_ndimage.gaussian_filter(a, 1.5))
        assert_same_bits(c.gaussian_filter(a[:10], 1.5), scipy_ndimage.gaussian_filter(a[:10], 1.5))


def test_a_unix_socket_address_reaches_the_server(tmp_path):
    """``unix:PATH`` reaches a server started with ``--grpc-uds PATH`` (mode
    0600), and its answers are the TCP listener's."""
    socket_path = tmp_path / "tensorwire.sock"
    a = np.arange(60, dtype=np.float32).reshape(6, 10)
    with serve("--grpc-uds", str(socket_path)) as address:
        assert socket_path.stat().st_mode & 0o777 == 0o600
        with tw.Client(f"unix:{socket_path}") as local, tw.Client(address) as tcp:
            assert_same_bits(local.gaussian_filter(a, 1.5), tcp.gaussian_filter(a, 1.5))
            assert local.describe(a).shape == (6, 10)
