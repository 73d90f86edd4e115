"""A network failure is described by its reason and host, not only by httpx's class name."""

from __future__ import annotations

import socket

import httpx
import pytest

from gcx.neterrors import network_reason

REQ = httpx.Request("GET", "https://api.mypurecloud.ie/api/v2/x")


def _wrapped(outer: Exception, inner: BaseException) -> Exception:
    outer.__cause__ = inner
    return outer


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (httpx.ConnectError("[Errno 111] Connection refused", request=REQ), "connection refused"),
        (httpx.ConnectError("All connection attempts failed", request=REQ), "could not connect"),
        (
            _wrapped(httpx.ConnectError("", request=REQ), socket.gaierror(-2, "Name or service not known")),
            "the host name does not resolve",
        ),
        (httpx.ConnectError("[Errno -3] Temporary failure in name resolution"), "does not resolve"),
        (httpx.ConnectTimeout("", request=REQ), "timed out while connecting"),
        (httpx.ReadTimeout("", request=REQ), "timed out waiting for the answer"),
        (httpx.RemoteProtocolError("Server disconnected", request=REQ), "closed the connection"),
        (httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"), "not trusted"),
        (httpx.ConnectError("something else entirely"), "ConnectError: something else entirely"),
    ],
)
def test_reason_in_words(exc: BaseException, reason: str) -> None:
    assert reason in network_reason(exc)


def test_unreachable_host_names_the_endpoint_and_the_reason() -> None:
    from gcx import Client
    from gcx.errors import TransportError
    from gcx.retry import RetryPolicy

    # A port this test holds (bound, never listening): connecting to it is refused.
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        base = f"http://127.0.0.1:{held.getsockname()[1]}"
        with (
            Client(
                region=base, client_id="id", client_secret="secret", retry=RetryPolicy(max_attempts=1)
            ) as gc,
            pytest.raises(TransportError) as info,
        ):
            gc.me()
    text = str(info.value)
    assert f"{base}/oauth/token" in text
    assert "refused" in text or "could not connect" in text
    assert "check the region" in text
