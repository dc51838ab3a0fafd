"""The seed routes of the HTTP gateway, called exactly as Python clients of
the Flask originals call them (requests + numpy), against a running server
whose gateway base URL is in TENSORWIRE_HTTP (e.g. http://127.0.0.1:8080).

Every format of SPEC §3, plus the error cases; `POST /` is checked against
scipy.ndimage.gaussian_filter(array, 0.5) bit for bit."""

import base64
import io
import os
import struct
import zlib

import numpy as np
import pytest
import requests
from scipy.ndimage import gaussian_filter


@pytest.fixture(scope="session")
def http():
    base = os.environ.get("TENSORWIRE_HTTP")
    if not base:
        pytest.fail("TENSORWIRE_HTTP (base URL of a running gateway) is not set")
    return base.rstrip("/")


def npy_bytes(array, version=None):
    buf = io.BytesIO()
    if version is None:
        np.save(buf, array)
    else:
        np.lib.format.write_array(buf, array, version=version)
    return buf.getvalue()


def b64_npy(array, **kw):
    return base64.b64encode(npy_bytes(array, **kw)).decode("ascii")


def png_bytes(width, height):
    """A valid RGB PNG, written with zlib alone (no Pillow needed)."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(
        b"\x00" + bytes((x * 7 + y) % 256 for x in range(width * 3)) for y in range(height)
    )
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


SAMPLES = {
    "int32": np.arange(24, dtype=np.int32).reshape(2, 3, 4),
    "float64": np.linspace(-1, 1, 10),
    "uint8": np.arange(12, dtype=np.uint8).reshape(3, 4),
    "bool": np.array([[True, False], [False, True]]),
    "complex64": np.array([1 + 2j, 3 - 4j], dtype=np.complex64),
    "float16": np.ones((2, 2), dtype=np.float16),
    "big-endian": np.arange(6, dtype=">i4").reshape(2, 3),
    "fortran": np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)),
    "scalar": np.float64(3.5),
    "empty": np.zeros((0, 3), dtype=np.int64),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_receive_array_answers_the_shape(http, name):
    array = np.asarray(SAMPLES[name])
    r = requests.post(f"{http}/receive_array", json={"array_data": b64_npy(array)})
    assert r.status_code == 200, r.text
    assert r.json() == {"message": "Array received successfully", "shape": list(array.shape)}


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
def test_receive_tensor_reads_every_npy_version(http, version):
    array = np.arange(10, dtype=np.int16).reshape(2, 5)
    r = requests.post(
        f"{http}/receive_tensor", json={"tensor_data": b64_npy(array, version=version)}
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"message": "Tensor received successfully", "shape": [2, 5]}


def test_receive_array_of_a_large_array(http):
    array = np.random.default_rng(1).normal(size=(700, 500, 3))  # ~8 MB: streamed
    r = requests.post(f"{http}/receive_array", json={"array_data": b64_npy(array)})
    assert r.status_code == 200, r.text
    assert r.json()["shape"] == [700, 500, 3]


@pytest.mark.parametrize(
    "route, field",
    [
        ("/receive_array", "array_data"),
        ("/receive_tensor", "tensor_data"),
        ("/receive_list", "array_list"),
    ],
)
def test_missing_field_is_400(http, route, field):
    r = requests.post(f"{http}{route}", json={"something_else": 1})
    assert r.status_code == 400
    assert r.json()["message"] == f"Missing '{field}'"


@pytest.mark.parametrize(
    "payload",
    [
        "!!! not base64 !!!",
        base64.b64encode(b"definitely not a npy file").decode(),
        base64.b64encode(npy_bytes(np.array(["a", "bc"]))).decode(),  # string dtype
        base64.b64encode(npy_bytes(np.zeros(2, dtype=[("a", "<i4"), ("b", "<f8")]))).decode(),
    ],
)
def test_undecodable_array_is_400_error_decoding(http, payload):
    r = requests.post(f"{http}/receive_array", json={"array_data": payload})
    assert r.status_code == 400
    assert r.json()["message"].startswith("Error decoding array: ")
    r = requests.post(f"{http}/receive_tensor", json={"tensor_data": payload})
    assert r.status_code == 400
    assert r.json()["message"].startswith("Error decoding tensor: ")


def test_object_arrays_are_refused(http):
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    r = requests.post(
        f"{http}/receive_array", json={"array_data": base64.b64encode(buf.getvalue()).decode()}
    )
    assert r.status_code == 400
    assert "object" in r.json()["message"] or "dtype" in r.json()["message"]


@pytest.mark.parametrize(
    "array",
    [
        np.arange(6).reshape(2, 3),
        np.linspace(0, 1, 4).reshape(2, 2),
        np.array([True, False]),
        np.zeros((2, 0)),
        np.arange(8).reshape(2, 2, 2),
    ],
)
def test_receive_list_answers_numpys_shape(http, array):
    r = requests.post(f"{http}/receive_list", json={"array_list": array.tolist()})
    assert r.status_code == 200, r.text
    assert r.json() == {
        "message": "Array received successfully",
        "shape": list(np.array(array.tolist()).shape),
    }


@pytest.mark.parametrize("bad", [[[1, 2], [3]], [1, [2]], ["a", "b"], [1, None], "text"])
def test_receive_list_refuses_ragged_and_non_numeric(http, bad):
    r = requests.post(f"{http}/receive_list", json={"array_list": bad})
    assert r.status_code == 400
    assert r.json()["message"].startswith("Error decoding array: ")


def test_im_size_with_one_multipart_file_and_extra_fields(http):
    files = {"image": ("photo.png", png_bytes(40, 30), "image/png")}
    r = requests.post(f"{http}/im_size", files=files, data={"id": "7", "type": "png"})
    assert r.status_code == 200, r.text
    assert r.json() == {"msg": "success", "size": [40, 30]}


def test_im_size_with_several_files(http):
    files = [
        ("image", ("a.png", png_bytes(4, 5), "image/png")),
        ("image", ("b.png", png_bytes(6, 7), "image/png")),
    ]
    r = requests.post(f"{http}/im_size", files=files)
    assert r.status_code == 200, r.text
    assert r.json() == {"msg": "success", "size": [4, 5], "sizes": [[4, 5], [6, 7]]}


def test_im_size_with_a_base64_form_field_and_repeated_fields(http):
    data = {"image": base64.b64encode(png_bytes(9, 3)).decode(), "id": ["1", "2"]}
    r = requests.post(f"{http}/im_size", data=data)
    assert r.status_code == 200, r.text
    assert r.json() == {"msg": "success", "size": [9, 3]}


def test_im_size_without_an_image_is_400(http):
    r = requests.post(f"{http}/im_size", data={"id": "1"})
    assert r.status_code == 400
    assert r.json()["message"] == "Missing 'image'"
    r = requests.post(f"{http}/im_size", files={"image": ("x.png", b"not an image")})
    assert r.status_code == 400


@pytest.mark.parametrize(
    "array",
    [
        np.random.default_rng(3).integers(0, 1000, (64, 48, 3), dtype=np.int32),
        np.random.default_rng(4).normal(size=(50, 40)).astype(np.float32),
        np.random.default_rng(5).integers(
            0, 255, (1024, 768, 3), dtype=np.int32
        ),  # the seed workload
    ],
    ids=["int32", "float32", "seed-1024x768x3"],
)
def test_root_answers_gaussian_filter_half_bit_for_bit(http, array):
    files = {"array": ("array.npy", npy_bytes(array), "application/octet-stream")}
    r = requests.post(f"{http}/", files=files)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/octet-stream"
    got = np.load(io.BytesIO(r.content))
    expected = gaussian_filter(array, 0.5)
    assert got.dtype == expected.dtype
    assert got.shape == expected.shape
    assert np.array_equal(got, expected)


def test_root_without_a_file_is_400_with_input_error(http):
    r = requests.post(f"{http}/", data={"id": "1"})
    assert r.status_code == 400
    assert r.headers["Input-Error"] == "No input file received"


def test_errors_have_message_and_code(http):
    r = requests.post(
        f"{http}/v1/gaussian_filter?sigma=1&mode=sideways", data=npy_bytes(np.zeros(3))
    )
    assert r.status_code == 400
    body = r.json()
    assert set(body) == {"message", "code"}
    assert body["code"] == "INVALID_ARGUMENT"
