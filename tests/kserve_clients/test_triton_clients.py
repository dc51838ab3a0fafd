"""The Open Inference Protocol (KServe v2) with tritonclient from PyPI, gRPC
and HTTP, unchanged: health, metadata, gaussian_filter on every datatype and
parameter set equal to scipy bit for bit, describe, image_size of a PNG and
a JPEG, binary and JSON REST, and refusals raised as tritonclient's own
InferenceServerException carrying tensorwire's message.

Needs TENSORWIRE_GRPC (host:port) and TENSORWIRE_HTTP (http://host:port) of a
running server."""

import httpx
import ml_dtypes
import numpy as np
import pytest
import tritonclient.grpc as triton_grpc
import tritonclient.http as triton_http
from oip_cases import (
    CASES,
    DTYPES,
    GRPC,
    HTTP,
    as_parameters,
    assert_bit_equal,
    encoded,
    sample,
    scipy_reference,
)
from tritonclient.utils import InferenceServerException, np_to_triton_dtype

HTTP_HOSTPORT = HTTP.removeprefix("http://")


@pytest.fixture(scope="module")
def tg():
    if not GRPC:
        pytest.fail("TENSORWIRE_GRPC is not set")
    return triton_grpc.InferenceServerClient(url=GRPC)


@pytest.fixture(scope="module")
def th():
    if not HTTP:
        pytest.fail("TENSORWIRE_HTTP is not set")
    return triton_http.InferenceServerClient(url=HTTP_HOSTPORT)


def triton_filter(module, client, array, datatype=None, **kwargs):
    datatype = datatype or np_to_triton_dtype(array.dtype)
    infer_input = module.InferInput("INPUT", list(array.shape), datatype)
    infer_input.set_data_from_numpy(array)
    result = client.infer(
        "gaussian_filter",
        [infer_input],
        outputs=[module.InferRequestedOutput("OUTPUT")],
        parameters=as_parameters(kwargs),
    )
    return result.as_numpy("OUTPUT")


def test_health_and_metadata_over_triton_grpc(tg):
    assert tg.is_server_live() and tg.is_server_ready()
    assert tg.is_model_ready("gaussian_filter") and tg.is_model_ready("image_size", "1")
    server = tg.get_server_metadata()
    assert server.name == "tensorwire" and "binary_tensor_data" in server.extensions
    model = tg.get_model_metadata("describe")
    assert model.versions == ["1"]
    assert [o.name for o in model.outputs] == ["SHAPE", "MIN", "MAX", "MEAN"]
    assert list(tg.get_model_metadata("gaussian_filter").inputs[0].shape) == [-1]


def test_health_and_metadata_over_triton_http(th):
    assert th.is_server_live() and th.is_server_ready()
    assert th.is_model_ready("describe") and not th.is_model_ready("resnet")
    assert th.get_server_metadata()["extensions"] == ["binary_tensor_data"]
    meta = th.get_model_metadata("image_size", "1")
    assert meta["inputs"] == [{"name": "IMAGE", "datatype": "BYTES", "shape": [1]}]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_gaussian_filter_over_triton_grpc_equals_scipy(tg, dtype, case):
    array = sample(dtype)
    got = triton_filter(triton_grpc, tg, array, **CASES[case])
    assert_bit_equal(got, scipy_reference(array, **CASES[case]))


def test_bfloat16_over_triton_grpc_is_filtered_in_float32_and_rounded(tg):
    values = (np.random.default_rng(3).normal(size=(12, 10)) * 10).astype(ml_dtypes.bfloat16)
    got = triton_filter(triton_grpc, tg, values, sigma=1.4)
    assert got.dtype == ml_dtypes.bfloat16
    want = scipy_reference(values.astype(np.float32), sigma=1.4).astype(ml_dtypes.bfloat16)
    np.testing.assert_array_equal(got.view(np.uint16), want.view(np.uint16))


@pytest.mark.parametrize("dtype", ["uint8", "int16", "float32", "float64", "bool"])
@pytest.mark.parametrize(
    "case", ["per_axis_sigma_and_mode", "first_derivative", "radius_overrides_truncate"]
)
def test_gaussian_filter_over_triton_http_binary_equals_scipy(th, dtype, case):
    array = sample(dtype)
    got = triton_filter(triton_http, th, array, **CASES[case])
    assert_bit_equal(got, scipy_reference(array, **CASES[case]))


def test_gaussian_filter_over_rest_json_flat_and_nested(th):
    """JSON data in and out (no binary extension), flat and nested lists."""
    array = sample("int32", shape=(4, 5))
    want = scipy_reference(array, sigma=1.1, mode="nearest")
    for nested in (False, True):
        body = {
            "inputs": [
                {
                    "name": "INPUT",
                    "shape": [4, 5],
                    "datatype": "INT32",
                    "data": array.tolist() if nested else array.ravel().tolist(),
                }
            ],
            "parameters": {"sigma": 1.1, "mode": "nearest"},
            "outputs": [{"name": "OUTPUT", "parameters": {"binary_data": False}}],
        }
        response = httpx.post(f"{HTTP}/v2/models/gaussian_filter/infer", json=body)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        output = response.json()["outputs"][0]
        assert output["datatype"] == "INT32" and output["shape"] == [4, 5]
        np.testing.assert_array_equal(np.array(output["data"], np.int32).reshape(4, 5), want)


def test_output_dtype_parameter(tg):
    array = sample("uint8")
    got = triton_filter(triton_grpc, tg, array, sigma=1.5, output_dtype="FP64")
    assert_bit_equal(got, scipy_reference(array, sigma=1.5, output="float64"))


def test_describe_over_triton_grpc_and_http(tg, th):
    array = sample("float32", shape=(6, 7))
    for module, client in ((triton_grpc, tg), (triton_http, th)):
        infer_input = module.InferInput("INPUT", [6, 7], "FP32")
        infer_input.set_data_from_numpy(array)
        result = client.infer("describe", [infer_input])
        assert list(result.as_numpy("SHAPE")) == [6, 7]
        assert result.as_numpy("MIN")[0] == array.min()
        assert result.as_numpy("MAX")[0] == array.max()
        assert result.as_numpy("MEAN")[0] == pytest.approx(
            array.astype(np.float64).mean(), rel=1e-12
        )


@pytest.mark.parametrize("fmt,size", [("PNG", (37, 21)), ("JPEG", (64, 48))])
def test_image_size_over_triton_grpc_and_http(tg, th, fmt, size):
    image = np.array([encoded(fmt, size)], dtype=np.object_)
    for module, client in ((triton_grpc, tg), (triton_http, th)):
        infer_input = module.InferInput("IMAGE", [1], "BYTES")
        infer_input.set_data_from_numpy(image)
        result = client.infer("image_size", [infer_input])
        assert list(result.as_numpy("SIZE")) == list(size)


def triton_error(call):
    with pytest.raises(InferenceServerException) as caught:
        call()
    return caught.value.message()


def test_errors_are_the_triton_clients_exceptions_with_our_message(tg, th):
    array = sample("float32", shape=(3, 4))
    for module, client in ((triton_grpc, tg), (triton_http, th)):

        def infer(
            model="gaussian_filter",
            parameters=None,
            datatype="FP32",
            data=array,
            client=client,
            module=module,
        ):
            infer_input = module.InferInput("INPUT", list(data.shape), datatype)
            infer_input.set_data_from_numpy(data)
            return client.infer(model, [infer_input], parameters=parameters or {"sigma": "1"})

        assert 'unknown model "resnet"' in triton_error(lambda: infer(model="resnet"))
        assert '"sigmas"' in triton_error(lambda: infer(parameters={"sigmas": "1"}))
        assert 'unknown mode "bogus"' in triton_error(
            lambda: infer(parameters={"sigma": "1", "mode": "bogus"})
        )
        assert "tensorwire.v1" in triton_error(
            lambda: infer(parameters={"sigma": "1", "output_dtype": "complex64"})
        )
    # A datatype the data does not match: the server names the byte counts.
    message = triton_error(lambda: tg.infer("describe", [_raw_input(array, "FP64")]))
    assert "raw contents have 48 bytes" in message


def _raw_input(array, datatype):
    """An input whose declared datatype does not match its bytes (the
    client would refuse set_data_from_numpy)."""
    infer_input = triton_grpc.InferInput("INPUT", list(array.shape), datatype)
    infer_input._raw_content = array.tobytes()
    return infer_input


def test_unserved_rpcs_are_unimplemented_with_a_message(tg):
    with pytest.raises(InferenceServerException) as caught:
        tg.get_model_repository_index()
    assert "StatusCode.UNIMPLEMENTED" in caught.value.status()
    assert "RepositoryIndex is not implemented by tensorwire" in caught.value.message()
