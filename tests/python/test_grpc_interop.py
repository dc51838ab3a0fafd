"""A Python grpcio client, generated from proto/ alone, calls every RPC of
tensorwire.v1.TensorService, unary and streamed, and checks the answers
against numpy and scipy: GaussianFilter must equal
scipy.ndimage.gaussian_filter bit for bit for every dtype, ImageSize must
read the sizes of images Pillow writes, and bad calls must be refused with
INVALID_ARGUMENT and a message a person can act on."""

import io
import json
import math
import os
import struct
import subprocess
import sys
from pathlib import Path
from unittest import mock

import grpc
import numpy as np
import pytest
from conftest import DTYPES
from scipy import ndimage
from scipy.ndimage import _filters as scipy_filters

ROOT_DIR = Path(__file__).resolve().parents[2]

MODES = [
    "reflect",
    "constant",
    "nearest",
    "mirror",
    "wrap",
    "grid-constant",
    "grid-mirror",
    "grid-wrap",
]

# Parameter sets, as scipy keyword arguments. Each is run for every dtype.
CASES = {
    "defaults": dict(sigma=1.5),
    "per_axis_sigma_and_mode": dict(sigma=[0.8, 2.0, 0.5], mode=["nearest", "wrap", "mirror"]),
    "constant_cval": dict(sigma=1.2, mode="constant", cval=3.25),
    "first_derivative": dict(sigma=[1.0, 1.7, 1.0], order=[0, 1, 0]),
    "second_and_third_order": dict(sigma=2.0, order=[2, 0, 3], mode="grid-mirror"),
    "axes_subset_negative_unordered": dict(sigma=[1.1, 0.9], axes=[-1, 0], mode="grid-wrap"),
    "radius_overrides_truncate": dict(sigma=3.0, radius=[1, 4, 2], mode="grid-constant", cval=-1.0),
    "truncate_small": dict(sigma=2.5, truncate=1.3),
    "radius_longer_than_axis": dict(sigma=4.0, radius=[9, 9, 9], mode="mirror"),
}


def sample(dtype, shape=(9, 11, 4), seed=7):
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.integers(0, 2, shape).astype(bool)
    if dtype.startswith("complex"):
        return (rng.normal(size=shape) * 50 + 1j * rng.normal(size=shape) * 50).astype(dtype)
    if dtype.startswith(("int", "uint")):
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)
    return (rng.normal(size=shape) * 100).astype(dtype)


def to_tensor(pb2, array, dtype_name=None):
    name = dtype_name or DTYPES[array.dtype.name]
    little = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<"), copy=False)
    return pb2.Tensor(dtype=pb2.DType.Value(name), shape=list(array.shape), data=little.tobytes())


def numpy_dtype(pb2, enum_value):
    name = pb2.DType.Name(enum_value)
    lookup = {v: k for k, v in DTYPES.items()}
    return np.dtype(lookup[name]).newbyteorder("<")


def from_tensor(pb2, tensor):
    dtype = numpy_dtype(pb2, tensor.dtype)
    return np.frombuffer(tensor.data, dtype=dtype).reshape(tuple(tensor.shape))


def to_params(
    pb2,
    sigma,
    order=0,
    mode="reflect",
    cval=0.0,
    truncate=None,
    radius=None,
    axes=None,
    output=None,
):
    def many(value):
        return list(value) if isinstance(value, (list, tuple)) else [value]

    mode_enum = [pb2.Mode.Value("MODE_" + m.upper().replace("-", "_")) for m in many(mode)]
    params = pb2.GaussianParams(
        sigma=many(sigma),
        order=many(order),
        mode=mode_enum,
        cval=complex(cval).real,
        cval_imag=complex(cval).imag,
    )
    if truncate is not None:
        params.truncate = truncate
    if radius is not None:
        params.radius.extend(many(radius))
    if axes is not None:
        params.axes.extend(many(axes))
    if output is not None:
        params.output_dtype = pb2.DType.Value(DTYPES[np.dtype(output).name])
    return params


class _NumpyWithLibmExp:
    """numpy, except that `exp` is the C library's (what math.exp calls).

    On CPUs with AVX-512, numpy >= 1.20 computes float64 exp with its own
    SIMD code, which differs from glibc's exp in the last bit for some
    arguments (e.g. exp(-0.125)): scipy's Gaussian kernels, and so its
    answers, then depend on the CPU. tensorwire and the golden cases in
    tests/golden use glibc's exp, i.e. scipy as it runs on every CPU
    without AVX-512. The reference below is that one, on any CPU.
    """

    def __getattr__(self, name):
        return getattr(np, name)

    @staticmethod
    def exp(x):
        x = np.asarray(x, dtype=np.float64)
        return np.array([math.exp(v) for v in x.ravel()]).reshape(x.shape)


def scipy_reference(array, **kwargs):
    """scipy's answer (with glibc's exp in the kernel, see above); float16
    (which scipy refuses) is computed in float32 and cast back, as the spec
    says tensorwire does."""
    out = kwargs.pop("output", None)
    if array.dtype == np.float16:
        array, out, cast_back = array.astype(np.float32), None, np.dtype(out or np.float16)
    else:
        cast_back = None
    if out is not None:
        kwargs["output"] = np.dtype(out)
    with mock.patch.object(scipy_filters, "np", _NumpyWithLibmExp()):
        result = ndimage.gaussian_filter(array, **kwargs)
    return result if cast_back is None else result.astype(cast_back)


def assert_bit_equal(got, want):
    """Equal element for element and bit for bit (-0.0 too); any NaN equals
    any NaN."""
    assert got.dtype == want.dtype.newbyteorder("<") or got.dtype == want.dtype
    assert got.shape == want.shape
    assert np.array_equal(got, want, equal_nan=got.dtype.kind in "fc")
    g = np.ascontiguousarray(got).reshape(-1)
    w = np.ascontiguousarray(want).astype(got.dtype, copy=False).reshape(-1)
    if got.dtype.kind == "c":
        g, w = g.view(g.real.dtype), w.view(w.real.dtype)
    if g.dtype.kind == "f":
        both_nan = np.isnan(g) & np.isnan(w)
        uint = np.dtype(f"<u{g.dtype.itemsize}")
        differ = (g.view(uint) != w.view(uint)) & ~both_nan
    elif g.dtype == np.bool_:
        # Booleans travel as 0 or 1. scipy can leave other nonzero bytes in a
        # bool result (a C cast of a negative derivative): compare truth.
        differ = (g.view(np.uint8) != 0) != (w.view(np.uint8) != 0)
    else:
        differ = g.view(np.uint8) != w.view(np.uint8)
    if differ.any():
        first = int(np.flatnonzero(differ)[0])
        raise AssertionError(
            f"{int(differ.sum())} elements differ from scipy; first at flat index "
            f"{first}: got {g[first]!r}, scipy {w[first]!r}"
        )


def filter_unary(pb2, stub, array, **kwargs):
    request = pb2.GaussianFilterRequest(
        tensor=to_tensor(pb2, array), params=to_params(pb2, **kwargs)
    )
    return from_tensor(pb2, stub.GaussianFilter(request))


def filter_stream(pb2, stub, array, piece=65_537, **kwargs):
    """GaussianFilterStream: the start (header + params), then data pieces of
    an odd size; the answer is a header then data pieces, reassembled."""
    tensor = to_tensor(pb2, array)

    def requests():
        header = pb2.TensorHeader(dtype=tensor.dtype, shape=tensor.shape)
        yield pb2.GaussianFilterChunk(
            start=pb2.GaussianFilterStart(header=header, params=to_params(pb2, **kwargs))
        )
        raw = tensor.data
        for i in range(0, len(raw), piece):
            yield pb2.GaussianFilterChunk(data=raw[i : i + piece])

    answer = stub.GaussianFilterStream(requests())
    first = next(answer)
    assert first.WhichOneof("part") == "header", "the answer must start with a header"
    pieces = []
    for message in answer:
        assert message.WhichOneof("part") == "data", "only data follows the header"
        pieces.append(message.data)
    return from_tensor(
        pb2, pb2.Tensor(dtype=first.header.dtype, shape=first.header.shape, data=b"".join(pieces))
    )


# --- Every RPC exists as the contract names it ---------------------------------


def test_service_has_the_six_rpcs_of_the_contract_apply_and_the_store(pb):
    """The contract's six RPCs; Apply / ApplyStream, which run every
    operation (OpParams names it; GaussianFilter is Apply of gaussian_filter);
    and the tensor store's RPCs."""
    pb2, _ = pb
    methods = {
        m.name: (m.client_streaming, m.server_streaming)
        for m in pb2.DESCRIPTOR.services_by_name["TensorService"].methods
    }
    assert methods == {
        "Describe": (False, False),
        "DescribeStream": (True, False),
        "GaussianFilter": (False, False),
        "GaussianFilterStream": (True, True),
        "ImageSize": (False, False),
        "ImageSizeStream": (True, False),
        "Apply": (False, False),
        "ApplyStream": (True, True),
        "PutTensor": (True, False),
        "GetTensor": (False, True),
        "StatTensor": (False, False),
        "DeleteTensor": (False, False),
        "ListTensors": (False, False),
        "DescribeStored": (False, False),
        "ApplyKeep": (False, False),
    }


# --- GaussianFilter / GaussianFilterStream against scipy -----------------------


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("dtype", sorted(DTYPES))
def test_gaussian_filter_equals_scipy_bit_for_bit(pb, stub, dtype, case):
    pb2, _ = pb
    array = sample(dtype)
    kwargs = dict(CASES[case])
    if dtype.startswith("complex") and "cval" in kwargs:
        kwargs["cval"] = complex(kwargs["cval"], -0.75)
    assert_bit_equal(filter_unary(pb2, stub, array, **kwargs), scipy_reference(array, **kwargs))


@pytest.mark.parametrize("dtype", sorted(DTYPES))
def test_gaussian_filter_stream_equals_scipy_bit_for_bit(pb, stub, dtype):
    pb2, _ = pb
    array = sample(dtype, shape=(40, 33, 5), seed=11)
    kwargs = dict(
        sigma=[1.3, 0.7, 2.2], order=[0, 1, 0], mode=["reflect", "constant", "wrap"], cval=2.0
    )
    assert_bit_equal(
        filter_stream(pb2, stub, array, piece=1_001, **kwargs), scipy_reference(array, **kwargs)
    )


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_on_a_short_axis(pb, stub, mode):
    """Axes shorter than the kernel exercise each mode's index arithmetic."""
    pb2, _ = pb
    for n in (1, 2, 3, 7):
        array = sample("float64", shape=(n,), seed=n)
        kwargs = dict(sigma=2.0, mode=mode, cval=-2.5)
        assert_bit_equal(filter_unary(pb2, stub, array, **kwargs), scipy_reference(array, **kwargs))


@pytest.mark.parametrize(
    "dtype,output",
    [
        ("uint8", "float64"),
        ("float64", "float32"),
        ("int16", "uint8"),
        ("float32", "int32"),
        ("complex64", "complex128"),
    ],
)
def test_output_dtype_like_scipy_output_argument(pb, stub, dtype, output):
    pb2, _ = pb
    array = sample(dtype)
    kwargs = dict(sigma=[1.0, 2.0, 0.6], output=output)
    got = filter_unary(pb2, stub, array, **kwargs)
    assert got.dtype == np.dtype(output)
    assert_bit_equal(got, scipy_reference(array, **kwargs))


def test_special_values_nan_inf_and_signed_zero(pb, stub):
    pb2, _ = pb
    array = np.zeros((6, 7), np.float64)
    array[1, 2] = np.nan
    array[4, 4] = np.inf
    array[0, 6] = -0.0
    array[5, 0] = -np.inf
    for kwargs in (
        dict(sigma=0.9),
        dict(sigma=[1.0, 0.0]),
        dict(sigma=1.1, order=1, mode="nearest"),
    ):
        assert_bit_equal(filter_unary(pb2, stub, array, **kwargs), scipy_reference(array, **kwargs))
    negative_zeros = np.full((5,), -0.0)
    assert_bit_equal(
        filter_unary(pb2, stub, negative_zeros, sigma=1.0),
        scipy_reference(negative_zeros, sigma=1.0),
    )


def test_integer_results_truncate_and_wrap_like_scipy(pb, stub):
    """Derivatives of integer input go negative and out of range: scipy
    stores them with C casts (truncation toward zero, wrapping)."""
    pb2, _ = pb
    for dtype in ("uint8", "int8", "uint16", "uint32", "int32", "uint64", "int64"):
        info = np.iinfo(dtype)
        array = np.tile(
            np.array([info.min, info.max, info.max, info.min, 0, info.max], dtype), (3, 1)
        )
        kwargs = dict(sigma=0.7, order=[0, 1], mode="wrap")
        assert_bit_equal(filter_unary(pb2, stub, array, **kwargs), scipy_reference(array, **kwargs))


def test_rank0_and_empty_tensors(pb, stub):
    pb2, _ = pb
    scalar = np.array(2.5, np.float32)
    got = filter_unary(pb2, stub, scalar, sigma=1.0)
    assert_bit_equal(got, scipy_reference(scalar, sigma=1.0))
    empty = np.zeros((0, 4), np.float64)
    assert_bit_equal(filter_unary(pb2, stub, empty, sigma=1.0), scipy_reference(empty, sigma=1.0))


def test_bfloat16_is_filtered_in_float32_and_rounded_back(pb, stub):
    """bfloat16 has no numpy dtype: send raw bits, compare with scipy in
    float32 rounded to bfloat16 (round to nearest, ties to even)."""
    pb2, _ = pb
    values = (np.random.default_rng(3).normal(size=(12, 10)) * 10).astype(np.float32)
    bits = (values.view(np.uint32) >> 16).astype("<u2")  # truncate to bfloat16
    exact = (bits.astype(np.uint32) << 16).view(np.float32)  # its float32 value
    request = pb2.GaussianFilterRequest(
        tensor=pb2.Tensor(dtype=pb2.DTYPE_BFLOAT16, shape=[12, 10], data=bits.tobytes()),
        params=to_params(pb2, sigma=1.4),
    )
    answer = stub.GaussianFilter(request)
    assert answer.dtype == pb2.DTYPE_BFLOAT16 and list(answer.shape) == [12, 10]
    got = np.frombuffer(answer.data, "<u2").reshape(12, 10)
    f32 = scipy_reference(exact, sigma=1.4).view(np.uint32)
    rounded = ((f32 + 0x7FFF + ((f32 >> 16) & 1)) >> 16).astype(np.uint16)
    np.testing.assert_array_equal(got, rounded)


def test_streamed_64_mib_float32_filter_equals_scipy(pb, stub):
    pb2, _ = pb
    array = np.random.default_rng(64).random((4096, 4096), dtype=np.float32) * 255
    assert array.nbytes == 64 << 20
    kwargs = dict(sigma=[2.0, 3.5], mode=["reflect", "nearest"])
    got = filter_stream(pb2, stub, array, piece=(1 << 20) + 3, **kwargs)
    assert_bit_equal(got, scipy_reference(array, **kwargs))


def test_stream_and_unary_agree_for_any_piece_size(pb, stub):
    pb2, _ = pb
    array = sample("int16", shape=(17, 13))
    want = filter_unary(pb2, stub, array, sigma=1.0)
    for piece in (1, 2, 7, array.nbytes, array.nbytes + 1):
        assert_bit_equal(filter_stream(pb2, stub, array, piece=piece, sigma=1.0), want)


# --- Describe / DescribeStream (the rest is in test_grpc_describe.py) -----------


def test_describe_stream_in_one_byte_pieces(pb, stub):
    pb2, _ = pb
    array = sample("complex64", shape=(3, 4))
    raw = array.tobytes()

    def pieces():
        yield pb2.TensorChunk(header=pb2.TensorHeader(dtype=pb2.DTYPE_COMPLEX64, shape=[3, 4]))
        for i in range(len(raw)):
            yield pb2.TensorChunk(data=raw[i : i + 1])

    info = stub.DescribeStream(pieces())
    assert (info.dtype_name, list(info.shape), info.nbytes) == ("complex64", [3, 4], 96)


# --- ImageSize / ImageSizeStream -------------------------------------------------


def tiny_png(width, height):
    """A valid PNG written by hand (no Pillow needed): 8-bit grey, zero pixels."""
    import zlib

    def chunk(kind, body):
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    raw = b"".join(b"\0" + b"\0" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def pillow_images():
    """(format name tensorwire reports, bytes, width, height)."""
    PIL = pytest.importorskip("PIL.Image")
    made = []
    for fmt, pil_fmt, mode, size in [
        ("png", "PNG", "RGB", (37, 21)),
        ("png", "PNG", "RGBA", (1, 300)),
        ("png", "PNG", "I;16", (640, 3)),
        ("jpeg", "JPEG", "RGB", (123, 45)),
        ("jpeg", "JPEG", "L", (8, 1000)),
        ("gif", "GIF", "P", (19, 7)),
        ("bmp", "BMP", "RGB", (33, 17)),
        ("tiff", "TIFF", "RGB", (65, 66)),
        ("webp", "WEBP", "RGB", (70, 30)),
    ]:
        out = io.BytesIO()
        try:
            PIL.new(mode, size).save(out, pil_fmt)
        except (KeyError, OSError):  # a Pillow built without that codec
            continue
        made.append((fmt, out.getvalue(), *size))
    return made


def test_image_size_of_a_hand_made_png(pb, stub):
    pb2, _ = pb
    info = stub.ImageSize(pb2.ImageRequest(data=tiny_png(5, 3), filename="tiny.png"))
    assert (info.width, info.height, info.format) == (5, 3, "png")
    assert (info.channels, info.bit_depth) == (1, 8)


def test_image_size_of_pillow_images(pb, stub):
    pb2, _ = pb
    for fmt, data, width, height in pillow_images():
        info = stub.ImageSize(pb2.ImageRequest(data=data))
        assert (info.format, info.width, info.height) == (fmt, width, height), fmt


def test_image_size_stream_of_pillow_images(pb, stub):
    pb2, _ = pb
    for fmt, data, width, height in pillow_images():
        for piece in (1, 100, len(data)):

            def pieces(data=data, piece=piece):
                for i in range(0, len(data), piece):
                    yield pb2.ImageChunk(data=data[i : i + piece])

            info = stub.ImageSizeStream(pieces())
            assert (info.format, info.width, info.height) == (fmt, width, height), (fmt, piece)


def test_image_size_stream_answers_from_the_header_alone(pb, stub):
    """Only the first bytes of a big PNG are sent: the header is enough."""
    pb2, _ = pb
    head = tiny_png(4000, 3000)[:64]
    info = stub.ImageSizeStream(iter([pb2.ImageChunk(data=head)]))
    assert (info.width, info.height) == (4000, 3000)


# --- Errors: INVALID_ARGUMENT with a message that names the problem ----------------


def expect_invalid(call, *words):
    with pytest.raises(grpc.RpcError) as err:
        call()
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, err.value
    message = err.value.details() or ""
    assert len(message) > 10, message
    lowered = message.lower()
    assert any(w in lowered for w in words), f"{message!r} names none of {words}"
    return message


def test_filter_errors_are_invalid_argument_with_a_readable_message(pb, stub):
    pb2, _ = pb
    a = sample("float32", shape=(4, 5))

    def call(params, tensor=None):
        return lambda: stub.GaussianFilter(
            pb2.GaussianFilterRequest(tensor=tensor or to_tensor(pb2, a), params=params)
        )

    # The contract (proto) has derivative orders 0..3; scipy would go on.
    expect_invalid(call(to_params(pb2, sigma=1.0, order=4)), "order")
    expect_invalid(call(to_params(pb2, sigma=float("inf"))), "sigma", "radius")
    expect_invalid(call(to_params(pb2, sigma=1e300)), "radius", "limit")
    expect_invalid(call(to_params(pb2, sigma=[1.0, 1.0, 1.0])), "sigma")
    expect_invalid(call(to_params(pb2, sigma=1.0, axes=[2])), "axis", "axes")
    expect_invalid(
        call(to_params(pb2, sigma=1.0, axes=[0, -2])), "axis", "axes", "duplicate", "twice"
    )
    expect_invalid(call(to_params(pb2, sigma=1.0, mode=["reflect"] * 3)), "mode")
    expect_invalid(call(pb2.GaussianParams()), "sigma")
    expect_invalid(
        call(
            to_params(pb2, sigma=1.0),
            pb2.Tensor(dtype=pb2.DTYPE_FLOAT32, shape=[4, 5], data=b"\0" * 7),
        ),
        "79",
        "80",
        "byte",
        "data",
    )
    expect_invalid(
        call(
            to_params(pb2, sigma=1.0),
            pb2.Tensor(dtype=pb2.DTYPE_UNSPECIFIED, shape=[2], data=b"\0\0"),
        ),
        "dtype",
    )


def test_malformed_streams_are_invalid_argument(pb, stub):
    pb2, _ = pb

    def run(messages):
        return lambda: list(stub.GaussianFilterStream(iter(messages)))

    start = pb2.GaussianFilterChunk(
        start=pb2.GaussianFilterStart(
            header=pb2.TensorHeader(dtype=pb2.DTYPE_FLOAT64, shape=[4]),
            params=to_params(pb2, sigma=1.0),
        )
    )
    expect_invalid(run([pb2.GaussianFilterChunk(data=b"\0" * 32)]), "start", "first", "header")
    expect_invalid(
        run([start, pb2.GaussianFilterChunk(data=b"\0" * 31)]), "31", "32", "byte", "short", "end"
    )
    expect_invalid(
        run([start, pb2.GaussianFilterChunk(data=b"\0" * 33)]), "33", "32", "byte", "more", "long"
    )
    expect_invalid(run([]), "start", "empty", "header", "first")
    expect_invalid(
        lambda: stub.DescribeStream(iter([pb2.TensorChunk(data=b"\0")])), "header", "first"
    )


def test_image_errors_are_invalid_argument(pb, stub):
    pb2, _ = pb
    expect_invalid(
        lambda: stub.ImageSize(pb2.ImageRequest(data=b"definitely not an image")), "image", "format"
    )
    expect_invalid(lambda: stub.ImageSize(pb2.ImageRequest(data=b"")), "image", "empty", "format")
    truncated = tiny_png(5, 3)[:12]
    expect_invalid(
        lambda: stub.ImageSizeStream(iter([pb2.ImageChunk(data=truncated)])),
        "image",
        "header",
        "end",
        "short",
        "truncated",
        "format",
    )


# --- The copyable example runs as documented --------------------------------------


def test_python_example_client_runs(grpc_addr):
    script = ROOT_DIR / "examples/python/client.py"
    done = subprocess.run(
        [sys.executable, str(script), grpc_addr], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "ImageSize: png 1x1" in done.stdout


# --- The golden cases of tests/golden, over the wire ---------------------------------

# The repository's own cases; TENSORWIRE_GOLDEN_DIR names another folder in the
# same format (e.g. an outside reference set) to check instead.
GOLDEN = Path(os.environ.get("TENSORWIRE_GOLDEN_DIR") or ROOT_DIR / "tests" / "golden")


def golden_call(case_dir):
    """The case's input and scipy keyword arguments, floats from their exact bits."""
    p = json.loads((case_dir / "params.json").read_text())

    def exact(name):
        bits = p.get(f"{name}_bits")
        if bits is None:
            return p[name]
        if isinstance(bits, list):
            return [struct.unpack("<d", struct.pack("<Q", int(b, 16)))[0] for b in bits]
        return struct.unpack("<d", struct.pack("<Q", int(bits, 16)))[0]

    cval = exact("cval")
    if p.get("cval_imag") is not None:
        cval = complex(cval, exact("cval_imag"))
    kwargs = dict(
        sigma=exact("sigma"),
        order=p["order"],
        mode=p["mode"],
        cval=cval,
        truncate=exact("truncate"),
        radius=p["radius"],
        axes=p["axes"],
        output=p["output_dtype"],
    )
    return p, np.load(case_dir / "input.npy"), kwargs


def test_golden_cases_over_grpc(pb, stub):
    """Every golden case that the proto can express, through
    GaussianFilter: scipy's output bit for bit, or INVALID_ARGUMENT where
    scipy raised (float16 excepted: tensorwire filters it)."""
    assert (GOLDEN / "manifest.json").is_file(), f"no golden cases at {GOLDEN}"
    pb2, _ = pb
    checked, problems = 0, []
    for case_dir in sorted(GOLDEN.glob("case_*")):
        p, array, kwargs = golden_call(case_dir)
        try:
            params = to_params(pb2, **kwargs)
        except ValueError:  # a negative order or radius, an unknown mode: not expressible
            continue
        request = pb2.GaussianFilterRequest(tensor=to_tensor(pb2, array), params=params)
        try:
            got = from_tensor(pb2, stub.GaussianFilter(request))
        except grpc.RpcError as err:
            if not (p["expected_error"] and err.code() == grpc.StatusCode.INVALID_ARGUMENT):
                problems.append(f"{case_dir.name}: {err.code().name}: {err.details()}")
            continue
        checked += 1
        if p["expected_error"]:
            if p["dtype"] != "float16":
                problems.append(f"{case_dir.name}: accepted, scipy raised {p['expected_error']}")
            continue
        try:
            assert_bit_equal(got, np.load(case_dir / "output.npy"))
        except AssertionError as err:
            problems.append(f"{case_dir.name} ({p['category']}, {p['dtype']}): {err}")
    assert not problems, "\n".join(problems)
    assert checked > 600
