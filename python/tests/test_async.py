"""AsyncClient: the same answers and exceptions as Client, awaited."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from conftest import assert_same_bits
from scipy import ndimage as scipy_ndimage

import tensorwire as tw


def test_async_client_filters_describes_and_raises(address: str) -> None:
    small = np.random.default_rng(1).random((30, 20))
    big = np.random.default_rng(2).random((1500, 1100), dtype=np.float32)  # 6.3 MiB: streamed

    async def main():
        async with tw.AsyncClient(address, timeout=60) as c:
            results = await asyncio.gather(
                c.gaussian_filter(small, 2.0, mode="mirror"),
                c.gaussian_filter(big, [1.0, 3.0], order=[0, 1]),
                c.describe(big),
            )
            with pytest.raises(tw.InvalidArgument):
                await c.gaussian_filter(small, 1.0, axes=[0, 0])
            with pytest.raises(tw.InvalidArgument) as bad:  # refused by the server
                await c.gaussian_filter(small, 1.0, truncate=-8.0)
            assert (bad.value.reason, bad.value.field) == ("BAD_ARGUMENT", "truncate")
            out = np.empty_like(big)
            assert await c.gaussian_filter(big, 1.0, output=out) is out
            return results, out

    (s, b, info), out = asyncio.run(main())
    assert_same_bits(s, scipy_ndimage.gaussian_filter(small, 2.0, mode="mirror"))
    assert_same_bits(b, scipy_ndimage.gaussian_filter(big, [1.0, 3.0], order=[0, 1]))
    assert_same_bits(out, scipy_ndimage.gaussian_filter(big, 1.0))
    assert info.shape == big.shape and info.dtype == np.float32
