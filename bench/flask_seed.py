"""The Flask + scipy baseline of the seed routes, for bench/gateway_vs_flask.sh.

The same routes, answers and errors as tensorwire's gateway (SPEC §3), in the
idiom of the Flask originals: numpy to read the arrays, scipy to filter,
Pillow for image sizes. Run it with gunicorn, two workers:

    gunicorn -w 2 -b 127.0.0.1:5000 --chdir bench flask_seed:app
"""

import base64
import binascii
import io

import numpy as np
from flask import Flask, Response, jsonify, make_response, request
from scipy.ndimage import gaussian_filter

app = Flask(__name__)


def _load(payload):
    return np.load(io.BytesIO(payload), allow_pickle=False)


def _receive(field, noun, received):
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict) or field not in data:
        return jsonify({"message": f"Missing '{field}'"}), 400
    try:
        array = _load(base64.b64decode(data[field]))
    except (ValueError, TypeError, binascii.Error, OSError) as e:
        return jsonify({"message": f"Error decoding {noun}: {e}"}), 400
    return jsonify({"message": received, "shape": list(array.shape)})


@app.route("/receive_array", methods=["POST"])
def receive_array():
    return _receive("array_data", "array", "Array received successfully")


@app.route("/receive_tensor", methods=["POST"])
def receive_tensor():
    return _receive("tensor_data", "tensor", "Tensor received successfully")


@app.route("/receive_list", methods=["POST"])
def receive_list():
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict) or "array_list" not in data:
        return jsonify({"message": "Missing 'array_list'"}), 400
    try:
        array = np.array(data["array_list"])
        if array.dtype.kind not in "biuf":
            raise ValueError(f"non-numeric list (dtype {array.dtype})")
    except ValueError as e:
        return jsonify({"message": f"Error decoding array: {e}"}), 400
    return jsonify({"message": "Array received successfully", "shape": list(array.shape)})


@app.route("/im_size", methods=["POST"])
def im_size():
    from PIL import Image

    blobs = [f.read() for f in request.files.getlist("image")]
    blobs += [base64.b64decode(v) for v in request.form.getlist("image")]
    if not blobs:
        return jsonify({"message": "Missing 'image'"}), 400
    sizes = []
    for blob in blobs:
        try:
            with Image.open(io.BytesIO(blob)) as img:
                sizes.append([img.width, img.height])
        except Exception as e:  # noqa: BLE001 - Pillow raises many kinds
            return jsonify({"message": f"Error decoding image: {e}"}), 400
    answer = {"msg": "success", "size": sizes[0]}
    if len(sizes) > 1:
        answer["sizes"] = sizes
    return jsonify(answer)


@app.route("/", methods=["POST"])
def filter_upload():
    if "array" not in request.files:
        response = make_response("", 400)
        response.headers["Input-Error"] = "No input file received"
        return response
    try:
        array = _load(request.files["array"].read())
    except (ValueError, OSError) as e:
        return jsonify({"message": f"Error decoding array: {e}"}), 400
    out = io.BytesIO()
    np.save(out, gaussian_filter(array, 0.5))
    return Response(out.getvalue(), mimetype="application/octet-stream")
