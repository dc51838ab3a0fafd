"""Each exception class from a real refusal of a real server."""

from __future__ import annotations

import socket
import threading

import grpc
import numpy as np
import pytest
from conftest import need, serve

import tensorwire as tw
from tensorwire.v1 import tensorwire_pb2 as pb
from tensorwire.v1 import tensorwire_pb2_grpc as pb_grpc


def test_a_closed_port_is_unavailable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tw.Client(f"127.0.0.1:{port}") as c, pytest.raises(tw.Unavailable) as refused:
        c.describe(np.zeros(3))
    assert isinstance(refused.value, ConnectionError) and isinstance(refused.value, tw.Error)


def test_a_missing_or_wrong_key_is_unauthenticated() -> None:
    with serve("--api-key", "sesame") as address:
        a = np.arange(6.0)
        for key in [None, "wrong"]:
            with tw.Client(address, api_key=key) as c, pytest.raises(tw.Unauthenticated) as no:
                c.gaussian_filter(a, 1.0)
            assert "key" in no.value.message
        with tw.Client(address, api_key="sesame") as c:
            assert c.describe(a).max == 5.0
            big = np.zeros((1024, 1100), np.float32)  # streamed with the key too
            assert c.gaussian_filter(big, 1.0).shape == big.shape


def test_a_tiny_timeout_is_deadline_exceeded(client: tw.Client) -> None:
    a = np.zeros((2048, 2048), np.float32)
    with pytest.raises(tw.DeadlineExceeded) as late:
        client.gaussian_filter(a, 30.0, timeout=0.005)
    assert isinstance(late.value, TimeoutError)


def test_a_busy_budget_is_resource_exhausted_with_retry_after() -> None:
    with serve("--memory-budget", "12M") as address:
        holder = tw.Client(address)
        release = threading.Event()

        def hold():  # a stream whose header reserves 8 MiB, then waits
            start = pb.GaussianFilterStart(
                header=pb.TensorHeader(dtype=pb.DTYPE_FLOAT32, shape=[1024, 1024]),
                params=pb.GaussianParams(sigma=[1.0]),
            )
            yield pb.GaussianFilterChunk(start=start)
            release.wait(30)

        stub = pb_grpc.TensorServiceStub(holder._channel)
        held = stub.GaussianFilterStream(hold())
        try:
            a = np.zeros((1024, 1024), np.float32)  # another 8 MiB: does not fit now
            with tw.Client(address) as c:
                for _ in range(100):  # until the holder's header has been read
                    if held.done():
                        # The holder came second and was refused itself (this
                        # loop's call had the budget when its header arrived).
                        held = stub.GaussianFilterStream(hold())
                    try:
                        c.gaussian_filter(a, 1.0)
                    except tw.ResourceExhausted as busy:
                        assert busy.retry_after == 1.0, busy.message
                        assert (busy.reason, busy.limit) == ("BUSY", "--memory-budget")
                        assert "busy" in busy.message
                        break
                    threading.Event().wait(0.05)
                else:
                    pytest.fail("never refused as busy")
                # Larger than the whole budget: refused for good, no retry_after.
                with pytest.raises(tw.ResourceExhausted) as never:
                    c.gaussian_filter(np.zeros((2048, 2048), np.float32), 1.0)
                assert never.value.retry_after is None
                assert never.value.reason == "BUDGET_EXCEEDED"
                assert never.value.limit == "--memory-budget"
        finally:
            release.set()
            held.cancel()
            holder.close()


def test_refusals_carry_the_server_s_reason_and_details() -> None:
    with serve("--max-tensor-bytes", "1000") as address, tw.Client(address) as c:
        # The server names the parameter it refused (BadRequest).
        with pytest.raises(tw.InvalidArgument) as bad:
            c.gaussian_filter(np.zeros(8, np.uint8), 1.0, truncate=-8.0)
        got = (bad.value.reason, bad.value.field, bad.value.limit)
        assert got == ("BAD_ARGUMENT", "truncate", None)
        assert bad.value.code == grpc.StatusCode.INVALID_ARGUMENT
        # A limit names its flag (QuotaFailure); retrying cannot help.
        with pytest.raises(tw.ResourceExhausted) as big:
            c.describe(np.zeros(1001, np.uint8))
        got = (big.value.reason, big.value.limit, big.value.retry_after)
        assert got == ("LIMIT_EXCEEDED", "--max-tensor-bytes", None)
        # What the client itself refuses has no server details.
        with pytest.raises(tw.InvalidArgument) as local:
            c.gaussian_filter(np.zeros(8), 1.0, order=-1)
        assert (local.value.code, local.value.reason, local.value.field) == (None, None, None)


def test_tls_with_the_server_s_root_certificate(tmp_path) -> None:
    trustme = need("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    chain, key = tmp_path / "chain.pem", tmp_path / "key.pem"
    chain.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    key.write_bytes(cert.private_key_pem.bytes())
    with serve("--tls-cert", str(chain), "--tls-key", str(key)) as address:
        a = np.arange(12.0).reshape(3, 4)
        with tw.Client(address, tls=ca.cert_pem.bytes()) as c:
            assert c.describe(a).mean == 5.5
        with tw.Client(f"https://{address}", tls=ca.cert_pem.bytes()) as c:
            assert c.gaussian_filter(a, 0.0).tolist() == a.tolist()
        with tw.Client(address) as plain, pytest.raises(tw.Unavailable):
            plain.describe(a)  # plain text to a TLS listener
