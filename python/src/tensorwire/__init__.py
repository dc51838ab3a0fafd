"""tensorwire: scipy's Gaussian filter and NumPy tensors, computed by a server.

>>> import tensorwire as tw
>>> with tw.Client("127.0.0.1:50051") as c:
...     smoothed = c.gaussian_filter(a, 2.0)      # scipy.ndimage.gaussian_filter(a, 2.0)

``from tensorwire import ndimage`` is a drop-in for ``scipy.ndimage``'s
``gaussian_filter`` using the server named by ``TENSORWIRE_SERVER``.
"""

from . import ndimage
from .aio import AsyncClient
from .calls import TensorInfo
from .client import Client
from .errors import (
    DeadlineExceeded,
    Error,
    InvalidArgument,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)

__version__ = "0.1.0"

__all__ = [
    "Client",
    "AsyncClient",
    "TensorInfo",
    "Error",
    "InvalidArgument",
    "ResourceExhausted",
    "Unauthenticated",
    "Unavailable",
    "DeadlineExceeded",
    "ndimage",
]
