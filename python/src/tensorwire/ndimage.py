"""A drop-in for ``scipy.ndimage``'s Gaussian filters, computed by a server.

``from tensorwire import ndimage`` then ``ndimage.gaussian_filter(a, 2.0)``:
the same signature, defaults and results as ``scipy.ndimage.gaussian_filter``;
likewise every other operation the server's catalogue lists
(``gaussian_filter1d``, ``gaussian_laplace``, ``gaussian_gradient_magnitude``,
...: :mod:`tensorwire.operations` makes them from ``operations.json``).
The server is ``TENSORWIRE_SERVER`` (``host:port`` or an ``http(s)://`` URL;
default ``127.0.0.1:50051``), with the key ``TENSORWIRE_API_KEY`` if set. One
client per (server, key) is opened on first use and shared by all threads.

Every function also takes a :class:`~tensorwire.RemoteTensor` (a tensor
kept in a server's store) as ``input``, called through that tensor's own
client, and the keyword-only ``keep=True`` (beyond scipy's signature), which
leaves the result in the store and returns its handle.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from .calls import env_settings
from .client import Client
from .operations import client_of, install_functions
from .params import Scalars
from .remote import RemoteTensor

__all__ = ["gaussian_filter", "default_client"]

_clients: dict[tuple[str, Any], Client] = {}
_lock = threading.Lock()


def default_client() -> Client:
    """The shared client for the server the environment names."""
    settings = env_settings()
    key = (settings["address"], settings["api_key"])
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = Client(**settings)
        return client


def gaussian_filter(
    input: Any,
    sigma: Scalars,
    order: int | Sequence[int] = 0,
    output: Any = None,
    mode: str | Sequence[str] = "reflect",
    cval: complex = 0.0,
    truncate: float = 4.0,
    *,
    radius: int | Sequence[int] | None = None,
    axes: int | Sequence[int] | None = None,
    keep: bool = False,
) -> np.ndarray | RemoteTensor:
    """Multidimensional Gaussian filter (``scipy.ndimage.gaussian_filter``).

    Parameters
    ----------
    input : array_like or RemoteTensor
        The input array, or a tensor stored on a server (then that tensor's
        client makes the call; only its id is sent).
    sigma : scalar or sequence of scalars
        Standard deviation for Gaussian kernel. The standard deviations of
        the Gaussian filter are given for each axis as a sequence, or as a
        single number, in which case it is equal for all axes.
    order : int or sequence of ints, optional
        The order of the filter along each axis is given as a sequence of
        integers, or as a single number. An order of 0 corresponds to
        convolution with a Gaussian kernel. A positive order corresponds to
        convolution with that derivative of a Gaussian.
    output : array or dtype, optional
        The array in which to place the output, or the dtype of the returned
        array. By default an array of the same dtype as input will be
        created.
    mode : str or sequence, optional
        How the input array is extended when the filter overlaps a border:
        'reflect', 'constant', 'nearest', 'mirror', 'wrap', 'grid-constant',
        'grid-mirror', 'grid-wrap'; one for all axes or one per axis.
        Default is 'reflect'.
    cval : scalar, optional
        Value to fill past edges of input if `mode` is 'constant'. Default
        is 0.0.
    truncate : float, optional
        Truncate the filter at this many standard deviations. Default is 4.0.
    radius : None or int or sequence of ints, optional
        Radius of the Gaussian kernel, per axis or one for all; overrides
        `truncate`. Default is None.
    axes : tuple of int or None, optional
        If None, `input` is filtered along all axes. Otherwise, `input` is
        filtered along the specified axes; tuples for `sigma`, `order`,
        `mode` and/or `radius` must then match the length of `axes`.
    keep : bool, optional
        Keep the result in the server's store and return its RemoteTensor
        instead of downloading it. Default False.

    Returns
    -------
    gaussian_filter : ndarray or RemoteTensor
        Returned array of same shape as `input`; with ``keep=True`` the
        stored result's handle.

    See Also
    --------
    tensorwire.Client.gaussian_filter : the same with an explicit client.
    """
    return client_of(input, default_client).gaussian_filter(
        input, sigma, order, output, mode, cval, truncate, radius=radius, axes=axes, keep=keep
    )


# A function for every other operation of the catalogue, scipy's signature.
__all__ += install_functions(globals(), default_client)
