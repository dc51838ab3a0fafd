"""Encoded images given as a path, bytes, or a binary file object; and their
decoding into H×W×C arrays (Pillow, the ``image`` extra) the way the server's
``tensorwire filter photo.jpg`` decodes them."""

from __future__ import annotations

import io
import os
from typing import IO, Union

import numpy as np

__all__ = ["ImageSource", "read_image", "decode_image"]

#: An encoded image: a path, its bytes, or a binary file object open for reading.
ImageSource = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, IO[bytes]]


def read_image(source: ImageSource) -> tuple[memoryview, str]:
    """The bytes of an image (without copying bytes given as bytes) and its
    file name (a hint for the server; empty when unknown)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return memoryview(source).cast("B"), ""
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as f:
            return memoryview(f.read()), os.path.basename(os.fspath(source))
    if hasattr(source, "read"):
        data = source.read()
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError("the file object must be opened in binary mode ('rb')")
        name = getattr(source, "name", "")
        return memoryview(data), os.path.basename(name) if isinstance(name, str) else ""
    raise TypeError(
        f"an image is a path, bytes, or a binary file object, not {type(source).__name__}"
    )


def decode_image(data: memoryview) -> np.ndarray:
    """Decodes an image into H×W×C: uint8 for 8-bit images, uint16 for
    16-bit grey, float32 for floating-point ones; palette images become RGB(A)."""
    try:
        from PIL import Image
    except ImportError as err:
        raise ImportError("decoding images needs Pillow: pip install 'tensorwire[image]'") from err
    with Image.open(io.BytesIO(data)) as image:
        if image.mode == "P":
            image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        elif image.mode in ("1", "CMYK", "YCbCr", "LAB", "HSV"):
            image = image.convert("L" if image.mode == "1" else "RGB")
        elif image.mode.startswith("I;16"):
            image = image.convert("I;16")
        array = np.asarray(image)
    if array.ndim == 2:
        array = array[:, :, np.newaxis]
    if array.dtype.byteorder not in ("=", "|"):
        array = array.astype(array.dtype.newbyteorder("="))
    return array
