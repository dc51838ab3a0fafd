"""The optional progress bar (tqdm, the ``progress`` extra) for large transfers."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = ["PROGRESS_MIN_BYTES", "progress_bar"]

#: Transfers at least this large (bytes sent plus received) show a bar.
PROGRESS_MIN_BYTES = 4 << 20


@contextlib.contextmanager
def progress_bar(enabled: bool, total: int, description: str) -> Iterator[Any]:
    """A tqdm bar over ``total`` bytes, or None when off or the transfer is small."""
    if not enabled or total < PROGRESS_MIN_BYTES:
        yield None
        return
    try:
        from tqdm.auto import tqdm
    except ImportError as err:
        raise ImportError("progress=True needs tqdm: pip install 'tensorwire[progress]'") from err
    bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=description)
    try:
        yield bar
    finally:
        bar.close()
