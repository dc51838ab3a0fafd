"""tensorwire: scipy's Gaussian filters and NumPy tensors, computed by a server.

>>> import tensorwire as tw
>>> with tw.Client("127.0.0.1:50051") as c:
...     smoothed = c.gaussian_filter(a, 2.0)      # scipy.ndimage.gaussian_filter(a, 2.0)
...     edges = c.gaussian_gradient_magnitude(a, 2.0)

Every operation of the server's catalogue (``operations.json``:
``gaussian_filter``, ``gaussian_filter1d``, ``gaussian_laplace``,
``gaussian_gradient_magnitude``, ...) is a method of :class:`Client` and
:class:`AsyncClient` with scipy's signature. ``from tensorwire import
ndimage`` is a drop-in for those functions of ``scipy.ndimage``, using the
server named by ``TENSORWIRE_SERVER``.

``client.put(a)`` keeps an array in the server's tensor store and answers a
:class:`RemoteTensor`; every operation takes one as ``input``, and
``keep=True`` leaves an operation's result in the store, so pipelines run on
the server (:mod:`tensorwire.remote`).
"""

from . import ndimage
from .aio import AsyncClient
from .calls import TensorInfo
from .client import Client
from .errors import (
    DeadlineExceeded,
    Error,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)
from .remote import AsyncRemoteTensor, RemoteTensor

__version__ = "0.1.0"

__all__ = [
    "Client",
    "AsyncClient",
    "TensorInfo",
    "RemoteTensor",
    "AsyncRemoteTensor",
    "Error",
    "InvalidArgument",
    "ResourceExhausted",
    "Unauthenticated",
    "Unavailable",
    "DeadlineExceeded",
    "NotFound",
    "ndimage",
]
