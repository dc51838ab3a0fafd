"""The tensor store through the package: ``put``/``get``, ``RemoteTensor`` as
the input of every operation, ``keep=True`` pipelines, ``describe``,
``tensors``, ``delete`` and ``NotFound``, ownership by API key, expiry, the
asyncio client and ``tensorwire.ndimage``, against the real server."""

from __future__ import annotations

import asyncio
import socket
import time

import numpy as np
import pytest
from conftest import assert_same_bits, need, random_array, serve

import tensorwire as tw
from tensorwire import ndimage, operations

scipy_ndimage = need("scipy.ndimage")

#: Every operation of the catalogue with arguments that exercise it.
OP_CALLS = [
    ("gaussian_filter", dict(sigma=1.5)),
    ("gaussian_filter", dict(sigma=[1.0, 2.0], order=[0, 1], mode="wrap")),
    ("gaussian_filter1d", dict(sigma=2.0, axis=0, order=1, mode="nearest")),
    ("gaussian_laplace", dict(sigma=[1.0, 2.5], mode="mirror")),
    ("gaussian_gradient_magnitude", dict(sigma=1.2, mode="constant", cval=0.5)),
]


def sample(dtype, shape=(9, 7), seed=5) -> np.ndarray:
    """Random values of ``dtype`` (bool, integer, float or complex)."""
    return random_array(dtype, shape, seed)


def stored_ids(c: tw.Client) -> set[str]:
    return {t.id for t in c.tensors()}


# --- put and get ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["unary", "streamed"])
@pytest.mark.parametrize(
    "array",
    [
        sample("bool"),
        sample("uint8"),
        sample("int16", (3, 4, 5)),
        sample("int64"),
        sample("uint64", (17,)),
        sample("float16"),
        sample("float32", (40, 30)),
        sample("float64"),
        sample("complex64"),
        sample("complex128", (6, 2)),
        np.zeros((0, 5), np.float32),
        np.array(2.5),
    ],
    ids=lambda a: f"{a.dtype}{list(a.shape)}",
)
def test_put_and_get_give_back_the_array_bit_for_bit(request, path, array) -> None:
    c = request.getfixturevalue("client" if path == "unary" else "streaming_client")
    ref = c.put(array)
    try:
        assert isinstance(ref, tw.RemoteTensor) and ref.client is c
        assert len(ref.id) == 32 and int(ref.id, 16) >= 0
        assert (ref.dtype, ref.shape, ref.nbytes) == (array.dtype, array.shape, array.nbytes)
        assert (ref.size, ref.ndim) == (array.size, array.ndim)
        assert 0 < ref.expires_in <= 600
        assert_same_bits(ref.get(), array)
        assert_same_bits(c.get(ref.id), array)  # by id too
        stat = c.stat(ref.id)
        assert (stat.id, stat.dtype, stat.shape) == (ref.id, ref.dtype, ref.shape)
    finally:
        ref.delete()


def test_bfloat16_byte_order_and_layout(client: tw.Client) -> None:
    ml_dtypes = need("ml_dtypes")
    b = sample("float32", (5, 6)).astype(ml_dtypes.bfloat16)
    swapped = sample("float64", (8, 6)).astype(">f8")
    strided = sample("int32", (10, 12))[::2, ::3]
    for array in (b, swapped, strided):
        with client.put(array) as ref:
            got = ref.get()
            assert got.dtype == array.dtype.newbyteorder("=")
            assert_same_bits(got, array.astype(got.dtype))


def test_a_big_tensor_streams_both_ways(client: tw.Client) -> None:
    a = np.random.default_rng(8).random((1500, 1100), dtype=np.float32)  # 6.3 MiB
    with client.put(a) as ref:
        assert ref.nbytes == a.nbytes
        assert_same_bits(ref.get(), a)
        assert_same_bits(np.asarray(ref), a)


def test_repr_and_asarray(client: tw.Client) -> None:
    a = sample("float32", (4, 3))
    with client.put(a) as ref:
        text = repr(ref)
        assert text.startswith("RemoteTensor(") and ref.id in text
        assert "float32" in text and "(4, 3)" in text
        assert_same_bits(np.asarray(ref), a)
        assert_same_bits(np.asarray(ref, dtype=np.float64), a.astype(np.float64))
        assert_same_bits(np.array(ref) + 1, a + 1)


# --- Every operation on a stored input ------------------------------------------------


@pytest.mark.parametrize("path", ["unary", "streamed"])
@pytest.mark.parametrize("name,kwargs", OP_CALLS)
@pytest.mark.parametrize("dtype", ["float32", "float64", "uint8", "complex64", "float16"])
def test_a_stored_input_gives_what_the_array_gives(request, path, name, kwargs, dtype) -> None:
    c = request.getfixturevalue("client" if path == "unary" else "streaming_client")
    a = sample(dtype, (21, 17))
    method = getattr(c, name)
    with c.put(a) as ref:
        assert_same_bits(method(ref, **kwargs), method(a, **kwargs))
        if dtype != "float16":  # scipy refuses float16
            assert_same_bits(method(ref, **kwargs), getattr(scipy_ndimage, name)(a, **kwargs))
        # output= a dtype, and an array to fill
        wide = np.complex128 if dtype == "complex64" else np.float64
        assert_same_bits(method(ref, output=wide, **kwargs), method(a, output=wide, **kwargs))
        out = np.empty(a.shape, wide)
        assert method(ref, output=out, **kwargs) is out
        assert_same_bits(out, method(a, output=wide, **kwargs))
        # the stored input is unchanged
        assert_same_bits(ref.get(), a)


def test_a_stored_input_whose_result_is_big_streams_back(client: tw.Client) -> None:
    a = np.random.default_rng(9).random((1200, 1000))  # 9.2 MiB of float64
    with client.put(a) as ref:
        assert_same_bits(client.gaussian_filter(ref, 2.0), client.gaussian_filter(a, 2.0))
        assert_same_bits(
            client.gaussian_laplace(ref, 1.0, output=np.float32),
            client.gaussian_laplace(a, 1.0, output=np.float32),
        )


def test_a_refusal_on_a_stored_input_is_the_array_s(client: tw.Client) -> None:
    a = sample("float64")
    with client.put(a) as ref:
        for target in (a, ref):
            with pytest.raises(tw.InvalidArgument) as bad:
                client.gaussian_filter(target, 1.0, truncate=-8.0)
            assert (bad.value.reason, bad.value.field) == ("BAD_ARGUMENT", "truncate")
            with pytest.raises(tw.InvalidArgument):  # refused by the client
                client.gaussian_filter1d(target, 1.0, order=-1)


# --- keep=True ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["unary", "streamed"])
def test_a_kept_pipeline_equals_the_same_calls_on_arrays(request, path) -> None:
    c = request.getfixturevalue("client" if path == "unary" else "streaming_client")
    a = sample("float32", (40, 33), seed=12)
    local = c.gaussian_gradient_magnitude(c.gaussian_filter(a, 2.0, mode="mirror"), 1.0)
    with c.put(a) as ref:
        smooth = c.gaussian_filter(ref, 2.0, mode="mirror", keep=True)
        assert isinstance(smooth, tw.RemoteTensor) and smooth.client is c
        assert (smooth.dtype, smooth.shape) == (a.dtype, a.shape)
        with smooth:
            edges = c.gaussian_gradient_magnitude(smooth, 1.0, keep=True)
        with edges:
            assert smooth.id not in stored_ids(c)
            info = c.describe(edges)
            assert info == c.describe(local)
            assert info == edges.describe()
            assert (info.dtype, info.shape, info.nbytes) == (np.float32, a.shape, a.nbytes)
            assert_same_bits(edges.get(), local)
            assert_same_bits(
                local,
                scipy_ndimage.gaussian_gradient_magnitude(
                    scipy_ndimage.gaussian_filter(a, 2.0, mode="mirror"), 1.0
                ),
            )


@pytest.mark.parametrize("path", ["unary", "streamed"])
@pytest.mark.parametrize("name,kwargs", OP_CALLS)
def test_keep_of_an_array_keeps_the_result_only(request, path, name, kwargs) -> None:
    """An array input is sent with ApplyKeep, or (too big for one message)
    stored, used and deleted: only the result stays."""
    c = request.getfixturevalue("client" if path == "unary" else "streaming_client")
    a = sample("float64", (12, 10))
    before = stored_ids(c)
    with getattr(c, name)(a, keep=True, **kwargs) as kept:
        assert stored_ids(c) - before == {kept.id}
        assert_same_bits(kept.get(), getattr(c, name)(a, **kwargs))
    assert stored_ids(c) == before


def test_keep_with_an_output_dtype_and_not_an_output_array(client: tw.Client) -> None:
    a = sample("uint8", (10, 8))
    with client.gaussian_laplace(a, 1.0, output=np.float32, keep=True) as kept:
        assert kept.dtype == np.float32
        assert_same_bits(kept.get(), client.gaussian_laplace(a, 1.0, output=np.float32))
    with client.put(a) as ref:
        for input in (a, ref):
            with pytest.raises(TypeError, match="keep=True"):
                client.gaussian_filter(input, 1.0, output=np.empty(a.shape), keep=True)
            with pytest.raises(TypeError, match="keep=True"):
                client.gaussian_filter1d(input, 1.0, output=np.empty(a.shape), keep=True)


# --- delete, NotFound, tensors, ownership, expiry ----------------------------------------


def test_the_context_manager_deletes_and_not_found_follows(client: tw.Client) -> None:
    a = sample("float32")
    with client.put(a) as ref:
        assert ref.id in stored_ids(client)
    assert ref.id not in stored_ids(client)
    calls = [
        ref.get,
        ref.delete,
        ref.describe,
        lambda: client.get(ref.id),
        lambda: client.stat(ref),
        lambda: client.delete(ref.id),
        lambda: client.gaussian_filter(ref, 1.0),
        lambda: client.gaussian_laplace(ref, 1.0, keep=True),
        lambda: np.asarray(ref),
    ]
    for call in calls:
        with pytest.raises(tw.NotFound) as gone:
            call()
        assert isinstance(gone.value, LookupError) and isinstance(gone.value, tw.Error)
        assert gone.value.reason == "NOT_FOUND", gone.value.reason
        assert ref.id in gone.value.message
    # deleting twice, or leaving the block of a deleted tensor, is quiet
    with client.put(a) as other:
        other.delete()
    with pytest.raises(tw.NotFound):
        client.delete("0" * 32)


def test_tensors_lists_this_key_s_tensors(client: tw.Client) -> None:
    before = stored_ids(client)
    refs = [client.put(sample(d)) for d in ("float32", "int8", "complex64")]
    try:
        listed = {t.id: t for t in client.tensors()}
        for ref in refs:
            assert ref.id in listed
            t = listed[ref.id]
            assert isinstance(t, tw.RemoteTensor) and t.client is client
            assert (t.dtype, t.shape, t.nbytes) == (ref.dtype, ref.shape, ref.nbytes)
            assert_same_bits(t.get(), ref.get())
    finally:
        for ref in refs:
            ref.delete()
    assert stored_ids(client) == before


def test_a_stored_tensor_belongs_to_its_api_key() -> None:
    with serve("--api-key", "one,two") as address:
        with tw.Client(address, api_key="one") as one, tw.Client(address, api_key="two") as two:
            ref = one.put(sample("float64"))
            assert [t.id for t in one.tensors()] == [ref.id]
            assert two.tensors() == []
            for call in (
                lambda: two.get(ref.id),
                lambda: two.describe(ref),
                lambda: two.gaussian_filter(ref, 1.0),
                lambda: two.delete(ref.id),
            ):
                with pytest.raises(tw.NotFound) as other:
                    call()
                assert other.value.reason == "NOT_FOUND"
            assert_same_bits(ref.get(), sample("float64"))
            ref.delete()


def test_an_unused_tensor_expires() -> None:
    with serve("--store-ttl-secs", "1") as address, tw.Client(address) as c:
        ref = c.put(sample("float32"))
        assert 0 < ref.expires_in <= 1
        time.sleep(1.3)
        with pytest.raises(tw.NotFound):
            ref.get()
        assert c.tensors() == []


def test_a_full_store_is_resource_exhausted() -> None:
    with serve("--store-bytes", "1000") as address, tw.Client(address) as c:
        with c.put(np.zeros(100, np.float64)):  # 800 bytes
            with pytest.raises(tw.ResourceExhausted):
                c.put(np.zeros(100, np.float64))


# --- AsyncClient ---------------------------------------------------------------------------


def test_async_client_stores_applies_keeps_and_deletes(address: str) -> None:
    a = sample("float32", (30, 25), seed=21)

    async def main():
        async with tw.AsyncClient(address, timeout=60, max_message_bytes=1000) as c:
            ref = await c.put(a)
            assert isinstance(ref, tw.AsyncRemoteTensor) and ref.client is c
            got = await ref.get()
            by_id = await c.get(ref.id)
            results = {name: await getattr(c, name)(ref, **kwargs) for name, kwargs in OP_CALLS[1:]}
            async with await c.gaussian_filter(ref, 2.0, keep=True) as smooth:
                assert isinstance(smooth, tw.AsyncRemoteTensor)
                edges = await c.gaussian_gradient_magnitude(smooth, 1.0, keep=True)
                info = await c.describe(edges)
                pipeline = await edges.get()
                listed = {t.id for t in await c.tensors()}
                assert {ref.id, smooth.id, edges.id} <= listed
                await edges.delete()
                with pytest.raises(TypeError, match="await"):
                    np.asarray(edges)
            kept = await c.gaussian_laplace(a, 1.0, keep=True)  # put, ApplyKeep, delete
            laplace = await kept.get()
            await kept.delete()
            stat = await c.stat(ref)
            await ref.delete()
            with pytest.raises(tw.NotFound) as gone:
                await ref.get()
            assert gone.value.reason == "NOT_FOUND"
            async with ref:  # gone already: quiet
                pass
            left = {t.id for t in await c.tensors()}
            return got, by_id, results, info, pipeline, laplace, stat, left, (ref, smooth)

    got, by_id, results, info, pipeline, laplace, stat, left, (ref, smooth) = asyncio.run(main())
    assert_same_bits(got, a)
    assert_same_bits(by_id, a)
    with tw.Client(address) as c:
        for name, kwargs in OP_CALLS[1:]:
            assert_same_bits(results[name], getattr(c, name)(a, **kwargs))
        local = c.gaussian_gradient_magnitude(c.gaussian_filter(a, 2.0), 1.0)
        assert_same_bits(pipeline, local)
        assert info == c.describe(local)
        assert_same_bits(laplace, c.gaussian_laplace(a, 1.0))
    assert stat.id == ref.id and stat.shape == a.shape
    assert ref.id not in left and smooth.id not in left


# --- tensorwire.ndimage ------------------------------------------------------------------


def test_ndimage_takes_a_remote_tensor_through_its_own_client(client, monkeypatch) -> None:
    # The environment names a closed port: a stored input's call goes to its client.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("TENSORWIRE_SERVER", f"127.0.0.1:{port}")
    a = sample("float64", (15, 11), seed=4)
    with client.put(a) as ref:
        for name, kwargs in OP_CALLS:
            function = getattr(ndimage, name)
            assert_same_bits(function(ref, **kwargs), getattr(scipy_ndimage, name)(a, **kwargs))
            with function(ref, keep=True, **kwargs) as kept:
                assert isinstance(kept, tw.RemoteTensor) and kept.client is client
                assert_same_bits(kept.get(), getattr(scipy_ndimage, name)(a, **kwargs))
    with pytest.raises(tw.Unavailable):  # an array goes to TENSORWIRE_SERVER
        ndimage.gaussian_filter(a, 1.0)


def test_ndimage_keep_is_keyword_only_beyond_scipy_s_signature() -> None:
    import inspect

    for name in operations.catalogue():
        ours = inspect.signature(getattr(ndimage, name)).parameters
        keep = ours["keep"]
        assert keep.kind == inspect.Parameter.KEYWORD_ONLY and keep.default is False
        assert list(ours)[-1] == "keep"
        scipy_params = inspect.signature(getattr(scipy_ndimage, name)).parameters
        scipy_names = [p for p in scipy_params if p != "kwargs"]  # laplace: **kwargs
        assert list(ours)[: len(scipy_names)] == scipy_names


def test_ndimage_refuses_an_async_remote_tensor(address: str) -> None:
    async def main():
        async with tw.AsyncClient(address) as c:
            async with await c.put(np.zeros(4)) as ref:
                with pytest.raises(TypeError, match="AsyncClient"):
                    ndimage.gaussian_laplace(ref, 1.0)
                with pytest.raises(TypeError, match="AsyncClient"):
                    ndimage.gaussian_filter(ref, 1.0)

    asyncio.run(main())
