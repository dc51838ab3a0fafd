"""The operations of the catalogue beyond ``gaussian_filter``
(``gaussian_filter1d``, ``gaussian_laplace``, ``gaussian_gradient_magnitude``)
as methods of ``Client`` and ``AsyncClient`` and functions of
``tensorwire.ndimage``, made from ``operations.json``.

The repository's golden cases (tests/golden_ops/, made by scipy) through
``tensorwire.ndimage`` and ``Client``: every result equal bit for bit to the
scipy of this process (any NaN equals any NaN), and to the stored output
where this NumPy's ``exp`` is the one the cases were made with (the C
library's); every case scipy refuses refused with ``tw.InvalidArgument``,
except float16 (input or output dtype), which scipy refuses and tensorwire
may filter: in float32, stored in float16 where scipy stores. Then
random calls, ``output=`` arrays, the streaming path and ``AsyncClient``
against the scipy of this process.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
import struct
import warnings
from unittest import mock

import numpy as np
import pytest
from conftest import ROOT, assert_same_bits, need, numpy_exp_is_libm

import tensorwire as tw
from tensorwire import ndimage, operations

GOLDEN_OPS = ROOT / "tests" / "golden_ops"
OPS = ["gaussian_filter1d", "gaussian_laplace", "gaussian_gradient_magnitude"]
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

scipy_ndimage = need("scipy.ndimage")


def scipy_op_call(call):
    """``call()``'s result, or the exception it raised (warnings silenced:
    NaN and inf inputs warn in scipy as they would in the caller's code)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return call()
        except Exception as err:  # noqa: BLE001 - scipy's refusal is the expected answer
            return err


def scipy_op(name: str, array: np.ndarray, **kwargs):
    """scipy's result, or the exception it raised."""
    return scipy_op_call(lambda: getattr(scipy_ndimage, name)(array, **kwargs))


# --- The golden cases --------------------------------------------------------------------


def _cases() -> list[str]:
    manifest = GOLDEN_OPS / "manifest.json"
    if not manifest.exists():
        pytest.fail(f"{manifest} is missing: the golden cases belong in tests/golden_ops/")
    return [case["id"] for case in json.loads(manifest.read_text())["cases"]]


def _f64(bits):
    """A float (or list of floats) from its exact hex bit pattern(s)."""
    if isinstance(bits, list):
        return [_f64(b) for b in bits]
    return struct.unpack("<d", int(bits, 16).to_bytes(8, "little"))[0]


def load(case_id: str):
    """(op, input, kwargs as scipy got them, expected output or None, params)."""
    folder = GOLDEN_OPS / case_id
    p = json.loads((folder / "params.json").read_text())
    cval = _f64(p["cval_bits"])
    if p["cval_imag_bits"] is not None:
        cval = complex(cval, _f64(p["cval_imag_bits"]))
    sigma_bits = p["sigma_bits"]
    exact = sigma_bits is not None and not (isinstance(sigma_bits, list) and None in sigma_bits)
    kwargs = dict(
        sigma=_f64(sigma_bits) if exact else p["sigma"],
        mode=p["mode"],
        cval=cval,
        truncate=_f64(p["truncate_bits"]),
        radius=p["radius"],
        output=p["output_dtype"],  # a dtype name, as scipy got it
    )
    if p["op"] == "gaussian_filter1d":
        kwargs.update(axis=p["axis"], order=p["order"])
    else:
        kwargs["axes"] = p["axes"]
    expected = np.load(folder / "output.npy") if (folder / "output.npy").exists() else None
    return p["op"], np.load(folder / "input.npy"), kwargs, expected, p


def float16_reference(op: str, array: np.ndarray, **kwargs):
    """What tensorwire answers where float16 is the input or output dtype
    (scipy refuses float16): scipy's computation with each Gaussian filter
    run in float32 and stored in float16, where scipy would store it (so
    the terms of ``gaussian_laplace`` and ``gaussian_gradient_magnitude``
    are float16, and summed in float16, as scipy sums them); or the
    exception scipy raises for another reason."""
    filters = need("scipy.ndimage._filters")
    plain_filter, plain_filter1d = filters.gaussian_filter, filters.gaussian_filter1d

    def in_float32(input, output, call):
        """``call(input, output)``, in float32 then stored in float16 where
        the output dtype is float16 (``output`` a dtype or an array to fill)."""
        dtype = output.dtype if isinstance(output, np.ndarray) else np.dtype(output or input.dtype)
        if dtype != np.float16:
            return call(input, output)
        wide = input.astype(np.float32) if input.dtype == np.float16 else input
        result = call(wide, np.float32).astype(np.float16)
        if isinstance(output, np.ndarray):
            output[...] = result
            return output
        return result

    def gaussian_filter(input, sigma, order=0, output=None, *args, **more):
        return in_float32(
            input, output, lambda i, o: plain_filter(i, sigma, order, o, *args, **more)
        )

    output = np.dtype(kwargs.pop("output") or array.dtype)
    if op == "gaussian_filter1d":
        return scipy_op_call(
            lambda: in_float32(array, output, lambda i, o: plain_filter1d(i, output=o, **kwargs))
        )
    with mock.patch.object(filters, "gaussian_filter", gaussian_filter):
        return scipy_op(op, array, output=output, **kwargs)


def check(function_of, case_id: str) -> None:
    """The result equals the scipy of this process, and the stored output
    too where it was made with the same ``exp`` (the C library's)."""
    op, array, kwargs, expected, p = load(case_id)
    fn = function_of(op)
    float16 = np.float16 in (array.dtype, np.dtype(kwargs["output"] or array.dtype))
    if p["expected_error"] and float16:
        # scipy refuses float16; tensorwire may refuse it too, or filter in
        # float32 and store in float16 where scipy would store the dtype.
        reference = float16_reference(op, array, **kwargs)
        if isinstance(reference, Exception):  # refused for another reason
            with pytest.raises(tw.InvalidArgument):
                fn(array, **kwargs)
            return
        try:
            result = fn(array, **kwargs)
        except tw.InvalidArgument:
            return
        assert_same_bits(result, reference)
        return
    if p["expected_error"]:
        with pytest.raises(tw.InvalidArgument):
            fn(array, **kwargs)
        return
    result = fn(array, **kwargs)
    assert_same_bits(result, scipy_op(op, array, **kwargs))
    if numpy_exp_is_libm():
        assert_same_bits(result, expected)


@pytest.mark.parametrize("case_id", _cases())
def test_client_equals_scipy(client: tw.Client, case_id: str) -> None:
    check(lambda op: getattr(client, op), case_id)


@pytest.mark.parametrize("case_id", _cases())
def test_ndimage_equals_scipy(address: str, monkeypatch, case_id: str) -> None:
    monkeypatch.setenv("TENSORWIRE_SERVER", address)
    check(lambda op: getattr(ndimage, op), case_id)


# --- Generated from the catalogue ---------------------------------------------------------


def test_every_catalogue_operation_is_a_method_and_a_function_with_scipy_s_signature() -> None:
    catalogue = operations.catalogue()
    assert {"gaussian_filter", *OPS} <= set(catalogue)
    for name, op in catalogue.items():
        function = getattr(ndimage, name)
        assert name in ndimage.__all__
        scipy_params = inspect.signature(getattr(scipy_ndimage, name)).parameters
        for what in (function, getattr(tw.Client, name), getattr(tw.AsyncClient, name)):
            params = inspect.signature(what).parameters
            assert "input" in params and "sigma" in params, (name, what)
            for p in op.parameters:
                assert params[p.name].kind == p.kind, (name, p.name)
                assert params[p.name].default == p.default, (name, p.name)
                if p.name in scipy_params:  # scipy's own defaults (laplace: via **kwargs)
                    assert scipy_params[p.name].default == p.default, (name, p.name)
                    assert scipy_params[p.name].kind == p.kind, (name, p.name)
        assert inspect.iscoroutinefunction(getattr(tw.AsyncClient, name))
        if name != "gaussian_filter":  # hand-written, with its own documentation
            assert op.summary in function.__doc__ and op.signature in function.__doc__
            assert "progress" in inspect.signature(getattr(tw.Client, name)).parameters
    # scipy's signature, then the keyword-only keep=False (the tensor store)
    assert str(inspect.signature(ndimage.gaussian_filter1d)).replace(", keep=False", "") == str(
        inspect.signature(scipy_ndimage.gaussian_filter1d)
    )


def test_a_new_catalogue_operation_becomes_a_method_without_python_edits(monkeypatch) -> None:
    laplace = operations.catalogue()["gaussian_laplace"]
    extra = dataclasses.replace(laplace, name="gaussian_anything", summary="Something new")
    monkeypatch.setattr(operations, "catalogue", lambda: {"gaussian_anything": extra})

    class Fresh:
        def _apply(self, operation, arguments, *, keep=False, progress=None, timeout=None):
            return operation.name, arguments, timeout

    operations.install_methods(Fresh, asynchronous=False)
    namespace = {"__name__": "somewhere"}
    assert operations.install_functions(namespace, Fresh) == ["gaussian_anything"]
    name, arguments, timeout = Fresh().gaussian_anything("x", 2.0, mode="wrap", timeout=3)
    assert (name, timeout) == ("gaussian_anything", 3)
    assert arguments == dict(
        input="x",
        sigma=2.0,
        output=None,
        mode="wrap",
        cval=0.0,
        axes=None,
        truncate=4.0,
        radius=None,
    )
    assert namespace["gaussian_anything"]("x", 1.0)[1]["sigma"] == 1.0
    with pytest.raises(TypeError):  # as scipy: sigma is required
        Fresh().gaussian_anything("x")


def test_gaussian_filter_through_the_generic_path_equals_scipy(client: tw.Client) -> None:
    a = np.random.default_rng(11).random((13, 9, 4))
    op = operations.catalogue()["gaussian_filter"]
    for kwargs in [
        dict(sigma=1.5),
        dict(sigma=[1.0, 0.0, 2.0], order=[1, 0, 2], mode=["wrap", "mirror", "constant"]),
        dict(sigma=2.0, axes=[2, 0], radius=[1, 3], cval=1.5),
        dict(sigma=2.0, axes=[]),
    ]:
        bound = op.function_signature().bind(a, **kwargs)
        bound.apply_defaults()
        result = client._apply(op, dict(bound.arguments))
        assert_same_bits(result, scipy_op("gaussian_filter", a, **kwargs))
    # axes=[] is scipy's copy on the GaussianFilter rpc too.
    assert_same_bits(client.gaussian_filter(a, 2.0, axes=[]), a)


# --- Random calls against the scipy of this process ------------------------------------------


def sample(dtype, shape, rng) -> np.ndarray:
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        low, high = max(info.min, -1000), min(info.max, 1000)
        return rng.integers(low, high, shape, endpoint=True).astype(dtype)
    if dtype.kind == "c":
        return (rng.normal(size=shape) * 50 + 1j * rng.normal(size=shape)).astype(dtype)
    return (rng.normal(size=shape) * 100).astype(dtype)


def random_call(op: str, rng) -> tuple[np.ndarray, dict]:
    """An input and scipy's keyword arguments of one call of ``op``."""
    ndim = int(rng.integers(1, 4))
    shape = tuple(int(n) for n in rng.integers(1, 13, ndim))
    dtype = str(
        rng.choice(["float64", "float32", "uint8", "int16", "int64", "complex128", "complex64"])
    )
    a = sample(dtype, shape, rng)
    complex_input = a.dtype.kind == "c"
    kwargs: dict = {"truncate": float(rng.choice([4.0, 2.5, 1.0]))}
    if rng.random() < 0.2:
        kwargs["radius"] = int(rng.integers(0, 6))
    if rng.random() < 0.3:
        kwargs["output"] = str(
            rng.choice(["complex128"] if complex_input else ["float64", "float32"])
        )
    cval = float(rng.normal() * 10)
    kwargs["cval"] = complex(cval, float(rng.normal())) if complex_input else cval
    if op == "gaussian_filter1d":
        kwargs.update(
            sigma=float(rng.uniform(0.3, 4.0)),
            axis=int(rng.integers(-ndim, ndim)),
            order=int(rng.integers(0, 4)),
            mode=str(rng.choice(MODES)),
        )
        return a, kwargs
    # Every axis, in any order; a subset for gaussian_laplace only (scipy's
    # gaussian_gradient_magnitude also smooths the other axes: see the
    # golden cases).
    axes = None
    if rng.random() < 0.5:
        count = ndim if op == "gaussian_gradient_magnitude" else int(rng.integers(1, ndim + 1))
        axes = [int(x) for x in rng.permutation(ndim)[:count]]
        axes = [x - ndim if rng.random() < 0.3 else x for x in axes]
    count = ndim if axes is None else len(axes)
    if rng.random() < 0.5:
        kwargs["sigma"] = [float(s) for s in rng.uniform(0.0, 3.0, count)]
    else:
        kwargs["sigma"] = float(rng.uniform(0.3, 3.0))
    kwargs["mode"] = (
        [str(m) for m in rng.choice(MODES, count)] if rng.random() < 0.5 else str(rng.choice(MODES))
    )
    if "radius" in kwargs and rng.random() < 0.5:
        kwargs["radius"] = [int(r) for r in rng.integers(0, 6, ndim)]
    kwargs["axes"] = axes
    return a, kwargs


@pytest.mark.parametrize("op", OPS)
def test_random_calls_equal_scipy(client: tw.Client, op: str) -> None:
    rng = np.random.default_rng(2024 + OPS.index(op))
    failures = []
    for _ in range(60):
        a, kwargs = random_call(op, rng)
        expected = scipy_op(op, a, **kwargs)
        what = f"{op}({a.dtype} {a.shape}, {kwargs})"
        try:
            if isinstance(expected, Exception):
                with pytest.raises(tw.InvalidArgument):
                    getattr(client, op)(a, **kwargs)
            else:
                assert_same_bits(getattr(client, op)(a, **kwargs), expected)
        except (AssertionError, pytest.fail.Exception, tw.Error) as err:
            failures.append(f"{what}: {err}")
    assert not failures, f"{len(failures)} of 60 calls differ:\n" + "\n".join(failures[:10])


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("path", ["unary", "streamed"])
def test_output_arrays_are_filled_and_returned(request, op: str, path: str) -> None:
    c = request.getfixturevalue("client" if path == "unary" else "streaming_client")
    a = sample(np.uint8, (20, 16), np.random.default_rng(3))
    kwargs = {"sigma": 1.7, "mode": "nearest"} if op != "gaussian_filter1d" else {"sigma": 1.7}
    call = getattr(c, op)
    want = scipy_op(op, a, output=np.float64, **kwargs)
    assert_same_bits(call(a, output=np.float64, **kwargs), want)
    assert_same_bits(call(a, output="f8", **kwargs), want)

    out = np.empty((20, 16), np.float64)
    assert call(a, output=out, **kwargs) is out
    assert_same_bits(out, want)

    holder = np.zeros((20, 32), np.float64)  # a non-contiguous output view
    view = holder[:, ::2]
    assert call(a, output=view, **kwargs) is view
    assert_same_bits(view, want)
    assert not holder[:, 1::2].any()

    big = np.empty((20, 16), ">f8")
    assert call(a, output=big, **kwargs) is big
    assert_same_bits(big.astype(np.float64), want)

    narrow = np.empty((20, 16), np.int16)  # the terms are stored in the output dtype
    assert call(a, output=narrow, **kwargs) is narrow
    assert_same_bits(narrow, scipy_op(op, a, output=np.int16, **kwargs))

    with pytest.raises(tw.InvalidArgument, match="shape"):
        call(a, output=np.empty((16, 20)), **kwargs)
    with pytest.raises(tw.InvalidArgument, match="numeric"):  # scipy: RuntimeError
        call(a, output="bool", **kwargs)


def test_the_client_refuses_what_the_wire_cannot_carry(client: tw.Client) -> None:
    a = np.zeros((3, 4))
    for op, kwargs in [
        ("gaussian_filter1d", dict(sigma=[1.0])),
        ("gaussian_filter1d", dict(sigma=1.0, order=-1)),
        ("gaussian_filter1d", dict(sigma=1.0, radius=-1)),
        ("gaussian_filter1d", dict(sigma=1.0, axis=[0])),
        ("gaussian_filter1d", dict(sigma=1.0, mode="bogus")),
        ("gaussian_laplace", dict(sigma=[1.0])),  # one value in a list, for two axes
        ("gaussian_laplace", dict(sigma=1.0, mode=["wrap"])),
        ("gaussian_laplace", dict(sigma=1.0, radius=[2])),  # radius: one per input axis
        ("gaussian_laplace", dict(sigma=1.0, axes=[1], radius=[2])),
        ("gaussian_gradient_magnitude", dict(sigma=1.0, mode="bogus")),
        ("gaussian_gradient_magnitude", dict(sigma=1.0, radius=1.5)),
    ]:
        assert isinstance(scipy_op(op, a, **kwargs), Exception), (op, kwargs)
        with pytest.raises(tw.InvalidArgument):
            getattr(client, op)(a, **kwargs)
    # What scipy accepts although it looks wrong: a mode nothing reads.
    assert_same_bits(client.gaussian_laplace(a, 0.0, mode="bogus"), a)


def test_the_server_s_refusal_is_invalid_argument_with_its_details(client: tw.Client) -> None:
    with pytest.raises(tw.InvalidArgument) as refused:
        client.gaussian_laplace(np.zeros((3, 3)), 1.0, axes=[0, -2])
    assert refused.value.message and refused.value.code.name == "INVALID_ARGUMENT"
    with pytest.raises(tw.InvalidArgument) as refused:
        client.gaussian_filter1d(np.zeros((3, 3)), 1.0, axis=2)
    assert refused.value.code.name == "INVALID_ARGUMENT"


# --- Streaming and asyncio ------------------------------------------------------------------


@pytest.mark.parametrize("op", OPS)
def test_a_streamed_call_equals_scipy(address: str, op: str) -> None:
    a = np.random.default_rng(8).random((300, 220), dtype=np.float32)  # 258 KiB
    kwargs = {"sigma": 2.5} if op == "gaussian_filter1d" else {"sigma": [2.5, 1.5]}
    with tw.Client(address, timeout=60, max_message_bytes=64 << 10, piece_bytes=10_000) as c:
        result = getattr(c, op)(a, mode="mirror", **kwargs)
    assert_same_bits(result, scipy_op(op, a, mode="mirror", **kwargs))


def test_async_client_runs_every_operation(address: str) -> None:
    rng = np.random.default_rng(9)
    small = rng.random((30, 20))
    big = rng.random((700, 500), dtype=np.float32)  # 1.3 MiB: streamed at 256 KiB

    async def main():
        async with tw.AsyncClient(address, timeout=60, max_message_bytes=256 << 10) as c:
            results = await asyncio.gather(
                c.gaussian_filter1d(small, 2.0, axis=0, order=1),
                c.gaussian_laplace(small, [1.0, 2.0], mode="wrap"),
                c.gaussian_gradient_magnitude(big, 1.5, mode="nearest"),
                c.gaussian_laplace(big, 2.0, axes=[-1]),
            )
            with pytest.raises(tw.InvalidArgument):
                await c.gaussian_laplace(small, [1.0])
            with pytest.raises(tw.InvalidArgument):  # refused by the server
                await c.gaussian_filter1d(small, 1.0, axis=5)
            out = np.empty(big.shape, np.float64)
            assert await c.gaussian_gradient_magnitude(big, 1.0, output=out) is out
            return results, out

    results, out = asyncio.run(main())
    expected = [
        scipy_op("gaussian_filter1d", small, sigma=2.0, axis=0, order=1),
        scipy_op("gaussian_laplace", small, sigma=[1.0, 2.0], mode="wrap"),
        scipy_op("gaussian_gradient_magnitude", big, sigma=1.5, mode="nearest"),
        scipy_op("gaussian_laplace", big, sigma=2.0, axes=[-1]),
    ]
    for result, want in zip(results, expected, strict=True):
        assert_same_bits(result, want)
    assert_same_bits(
        out, scipy_op("gaussian_gradient_magnitude", big, sigma=1.0, output=np.float64)
    )


def test_progress_bar_names_the_operation(address: str, capsys) -> None:
    need("tqdm")
    a = np.ones((1024, 1024), np.float32)  # 4 MiB each way
    with tw.Client(address, progress=True) as c:
        c.gaussian_filter1d(a, 1.0)
        bar = capsys.readouterr().err
        assert "gaussian_filter1d" in bar and "8.00M/8.00M" in bar, bar
        c.gaussian_laplace(a, 1.0, progress=False)
        assert capsys.readouterr().err == ""
