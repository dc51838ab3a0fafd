"""A Python grpcio client, generated from proto/, calls Describe and
DescribeStream with a numpy array of each dtype and checks the answers."""

import grpc
import numpy as np
import pytest
from conftest import DTYPES


def sample(dtype, shape=(3, 5, 2)):
    rng = np.random.default_rng(7)
    if dtype == "bool":
        return rng.integers(0, 2, shape).astype(bool)
    if dtype.startswith("complex"):
        return (rng.normal(size=shape) + 1j * rng.normal(size=shape)).astype(dtype)
    if dtype.startswith(("int", "uint")):
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)
    return (rng.normal(size=shape) * 100).astype(dtype)


def to_message(pb2, array, enum_name):
    return pb2.Tensor(
        dtype=pb2.DType.Value(enum_name),
        shape=list(array.shape),
        data=np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes(),
    )


@pytest.mark.parametrize("dtype", sorted(DTYPES))
def test_describe_every_dtype(pb, stub, dtype):
    pb2, _ = pb
    array = sample(dtype)
    info = stub.Describe(to_message(pb2, array, DTYPES[dtype]))
    assert list(info.shape) == list(array.shape)
    assert info.nbytes == array.nbytes
    assert info.size == array.size
    assert info.dtype_name == dtype
    assert info.dtype == pb2.DType.Value(DTYPES[dtype])
    if dtype.startswith("complex"):
        assert not info.HasField("min")
    else:
        as_f64 = array.astype(np.float64)
        assert info.min == as_f64.min()
        assert info.max == as_f64.max()
        assert info.mean == pytest.approx(as_f64.mean(), rel=1e-12, abs=1e-9)


def test_describe_bfloat16_raw_bits(pb, stub):
    pb2, _ = pb
    values = np.array([1.5, -2.0, 3.0], dtype=np.float32)
    bits = (values.view(np.uint32) >> 16).astype("<u2")
    info = stub.Describe(pb2.Tensor(dtype=pb2.DTYPE_BFLOAT16, shape=[3], data=bits.tobytes()))
    assert (info.min, info.max, info.dtype_name) == (-2.0, 3.0, "bfloat16")


def test_describe_rank0(pb, stub):
    pb2, _ = pb
    info = stub.Describe(pb2.Tensor(dtype=pb2.DTYPE_INT64, shape=[], data=np.int64(-5).tobytes()))
    assert (list(info.shape), info.size, info.min) == ([], 1, -5.0)


def test_describe_refuses_mismatched_data(pb, stub):
    pb2, _ = pb
    with pytest.raises(grpc.RpcError) as err:
        stub.Describe(pb2.Tensor(dtype=pb2.DTYPE_FLOAT32, shape=[4], data=b"\0" * 15))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "needs 16" in err.value.details()


def test_describe_stream_matches_numpy(pb, stub):
    pb2, _ = pb
    array = np.arange(1_000_000, dtype=np.float32).reshape(1000, 1000) / 7
    raw = array.tobytes()

    def chunks():
        yield pb2.TensorChunk(header=pb2.TensorHeader(dtype=pb2.DTYPE_FLOAT32, shape=[1000, 1000]))
        for i in range(0, len(raw), 300_007):
            yield pb2.TensorChunk(data=raw[i : i + 300_007])

    info = stub.DescribeStream(chunks())
    assert info.nbytes == array.nbytes
    assert info.min == float(array.min()) and info.max == float(array.max())
    assert info.mean == pytest.approx(float(array.astype(np.float64).mean()), rel=1e-9)
