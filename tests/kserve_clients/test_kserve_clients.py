"""The Open Inference Protocol (KServe v2) with kserve's own clients from
PyPI (InferenceGRPCClient, InferenceRESTClient), unchanged: health, raw and
typed contents, binary and JSON REST, equal to scipy bit for bit, and
refusals raised as the clients' own exceptions (grpc.RpcError,
httpx.HTTPStatusError) carrying tensorwire's message.

Needs TENSORWIRE_GRPC (host:port) and TENSORWIRE_HTTP (http://host:port) of a
running server."""

import asyncio

import grpc
import httpx
import numpy as np
import pytest
from oip_cases import GRPC, HTTP, assert_bit_equal, sample, scipy_reference

from kserve import (
    InferenceGRPCClient,
    InferenceRESTClient,
    InferInput,
    InferRequest,
    RESTConfig,
)


def test_kserve_grpc_client_raw_and_typed_contents():
    async def run():
        client = InferenceGRPCClient(url=GRPC)
        assert await client.is_server_live() and await client.is_server_ready()
        assert await client.is_model_ready("gaussian_filter")
        array = sample("float32", shape=(8, 9))
        raw_input = InferInput("INPUT", [8, 9], "FP32")
        raw_input.set_data_from_numpy(array)
        answer = await client.infer(
            InferRequest(
                "gaussian_filter", [raw_input], parameters={"sigma": "0.7,1.3", "mode": "wrap"}
            )
        )
        assert_bit_equal(
            answer.outputs[0].as_numpy(), scipy_reference(array, sigma=[0.7, 1.3], mode="wrap")
        )
        # Typed contents in (a list, not numpy): typed contents back.
        ints = [1, 2, 3, 40, 50, 60]
        typed_input = InferInput("INPUT", [2, 3], "INT32", data=ints)
        answer = await client.infer(
            InferRequest("gaussian_filter", [typed_input], parameters={"sigma": "1", "order": 0})
        )
        want = scipy_reference(np.array(ints, np.int32).reshape(2, 3), sigma=1.0)
        np.testing.assert_array_equal(answer.outputs[0].as_numpy(), want)
        await client.close()

    asyncio.run(run())


def test_kserve_rest_client_binary_and_json():
    async def run():
        client = InferenceRESTClient(RESTConfig(protocol="v2"))
        assert await client.is_server_live(HTTP) and await client.is_server_ready(HTTP)
        assert await client.is_model_ready(HTTP, "describe")
        array = sample("int16", shape=(5, 6))
        for binary in (True, False):
            infer_input = InferInput("INPUT", [5, 6], "INT16")
            infer_input.set_data_from_numpy(array, binary_data=binary)
            answer = await client.infer(
                HTTP,
                InferRequest("gaussian_filter", [infer_input], parameters={"sigma": "1.5"}),
                model_name="gaussian_filter",
            )
            np.testing.assert_array_equal(
                answer.outputs[0].as_numpy().reshape(5, 6), scipy_reference(array, sigma=1.5)
            )
        await client.close()

    asyncio.run(run())


def test_complex_and_unknown_datatypes_are_refused_naming_tensorwire_v1():
    async def run():
        client = InferenceGRPCClient(url=GRPC)
        infer_input = InferInput("INPUT", [2], "COMPLEX64")
        infer_input._raw_data = np.zeros(2, np.complex64).tobytes()
        with pytest.raises(grpc.RpcError) as caught:
            await client.infer(
                InferRequest("gaussian_filter", [infer_input], parameters={"sigma": "1"})
            )
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "tensorwire.v1" in caught.value.details()
        await client.close()

    asyncio.run(run())


def test_kserve_rest_errors_are_httpx_errors_with_our_message():
    async def run():
        client = InferenceRESTClient(RESTConfig(protocol="v2"))
        infer_input = InferInput("INPUT", [2], "FP32")
        infer_input.set_data_from_numpy(np.zeros(2, np.float32))
        with pytest.raises(httpx.HTTPStatusError) as caught:
            await client.infer(HTTP, InferRequest("nope", [infer_input]), model_name="nope")
        assert caught.value.response.status_code == 404
        assert 'unknown model "nope"' in str(caught.value)
        await client.close()

    asyncio.run(run())
