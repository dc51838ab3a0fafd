"""Fixtures: tensorwire servers started from the repository's binary on port 0.

The server under test is ``TENSORWIRE_GRPC`` (host:port) when set, otherwise
``target/debug/tensorwire serve`` started here (``TENSORWIRE_BIN`` names
another binary). Tests that need a server with other flags (a key, a tiny
memory budget) start their own with :func:`serve`.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import tensorwire as tw

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"


def numpy_exp_target() -> str:
    """The code NumPy runs for float64 ``exp`` in this process: an AVX-512
    target (``X86_V4``, ``AVX512F``, ...) computes NumPy's own AVX-512 ``exp``;
    any other calls the C library's."""
    from numpy.lib.introspect import opt_func_info

    return opt_func_info(func_name="^exp$", signature="float64")["exp"]["dd"]["current"]


def numpy_exp_is_libm() -> bool:
    """True when this process's NumPy computes float64 ``exp`` with the C library."""
    return "AVX512" not in numpy_exp_target() and "X86_V4" not in numpy_exp_target()


def pytest_terminal_summary(terminalreporter) -> None:
    """Says, even under ``-q``, which ``exp`` the kernels of this run's scipy
    used, so the output tells what was checked."""
    kind = "the C library's exp" if numpy_exp_is_libm() else "NumPy's AVX-512 exp (SVML)"
    disabled = os.environ.get("NPY_DISABLE_CPU_FEATURES") or "(unset)"
    terminalreporter.write_line(
        f"scipy compared in this process: numpy {np.__version__}, float64 exp runs "
        f"{numpy_exp_target()} = {kind}; NPY_DISABLE_CPU_FEATURES={disabled}"
    )


def need(module: str):
    """Imports an optional test dependency: skips without it, unless
    ``TENSORWIRE_TEST_ALL=1`` (CI), where a missing one fails the test."""
    if os.environ.get("TENSORWIRE_TEST_ALL") == "1":
        return importlib.import_module(module)
    return pytest.importorskip(module)


def binary() -> Path:
    """The server binary the tests start."""
    path = Path(os.environ.get("TENSORWIRE_BIN") or ROOT / "target" / "debug" / "tensorwire")
    if not path.exists():
        pytest.fail(f"{path} does not exist: run `cargo build` first (or set TENSORWIRE_BIN)")
    return path


@contextlib.contextmanager
def serve(*flags: str) -> Iterator[str]:
    """Starts ``tensorwire serve`` on loopback port 0 with ``flags``; yields
    its gRPC ``host:port`` and stops it afterwards."""
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(
            [
                str(binary()),
                "serve",
                "--grpc-addr",
                "127.0.0.1:0",
                "--http-addr",
                "127.0.0.1:0",
                *flags,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            address = None
            while address is None:
                log.seek(0)
                text = re.sub(r"\x1b\[[0-9;]*m", "", log.read())
                found = re.search(r"grpc_addr=([0-9.]+:[0-9]+)", text)
                if found:
                    address = found.group(1)
                elif process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the server did not start:\n{text}")
                else:
                    time.sleep(0.05)
            yield address
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="session")
def address() -> Iterator[str]:
    """host:port of the server under test."""
    given = os.environ.get("TENSORWIRE_GRPC")
    if given:
        yield given
        return
    with serve() as started:
        yield started


@pytest.fixture(scope="session")
def client(address: str) -> Iterator[tw.Client]:
    """A client with the default settings."""
    with tw.Client(address, timeout=120) as c:
        yield c


@pytest.fixture(scope="session")
def streaming_client(address: str) -> Iterator[tw.Client]:
    """A client that streams everything over 100 bytes, in odd 37-byte
    pieces, so small arrays take the streaming path."""
    with tw.Client(address, timeout=120, max_message_bytes=100, piece_bytes=37) as c:
        yield c


def random_array(dtype, shape, seed) -> np.ndarray:
    """Random values of ``dtype`` (bool, integer, float or complex)."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.integers(0, 2, shape).astype(bool)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)
    if dtype.kind == "c":
        return (rng.normal(size=shape) * 50 + 1j * rng.normal(size=shape)).astype(dtype)
    return (rng.normal(size=shape) * 100).astype(dtype)


def assert_same_bits(actual: np.ndarray, expected: np.ndarray) -> None:
    """Equal dtype, shape and bits, ``-0.0`` included; any NaN equals any NaN."""
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    a, e = np.ascontiguousarray(actual), np.ascontiguousarray(expected)
    if a.dtype.kind == "c":
        a, e = a.view(a.real.dtype), e.view(e.real.dtype)
    if a.dtype.kind == "f" or a.dtype.name == "bfloat16":
        nan = np.isnan(a.astype(np.float64)) & np.isnan(e.astype(np.float64))
        width = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}[a.dtype.itemsize]
        differ = (a.view(width) != e.view(width)) & ~nan
    else:
        differ = a != e
    if differ.any():
        where = np.argwhere(differ)[:5].tolist()
        raise AssertionError(
            f"{int(differ.sum())} of {differ.size} elements differ, first at {where}: "
            f"{a[differ][:5]} != {e[differ][:5]}"
        )
