"""The emulator over real loopback HTTP (uvicorn in a thread)."""

from __future__ import annotations

import asyncio
import gc
import socket
import threading

import httpx
import pytest

from gcx.emulator import Emulator, EmulatorSettings
from gcx.emulator.server import FULL_COLLECTION_THRESHOLD, bind, settle_gc
from gcx.emulator.settings import KIND_IDENTITY
from tests.emulator.conftest import API


def test_serve_over_loopback_and_shutdown() -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0))
    with emu.serve() as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=base_url) as client:
            token = client.post("/oauth/token", auth=("a", "b"), data={"grant_type": "client_credentials"})
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            created = client.post(f"{API}/contacts", json={"firstName": "Loop"}, headers=headers)
            assert created.status_code == 200 and created.headers["ININ-Correlation-Id"]
            got = client.get(f"{API}/contacts/{created.json()['id']}", headers=headers)
            assert got.json()["firstName"] == "Loop"
    assert not any(t.name == "gcx-emulator" and t.is_alive() for t in threading.enumerate())
    with httpx.Client(base_url=base_url) as client, pytest.raises(httpx.ConnectError):
        client.get("/_emulator/stats")


def test_commit_then_drop_cuts_a_real_connection() -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0))
    token = emu.issue_token()
    with (
        emu.serve() as base_url,
        httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}) as client,
    ):
        emu.drop_next_writes(1)
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            client.post(f"{API}/contacts", json={"firstName": "Cut"})
        listing = client.get(f"{API}/contacts", params={"q": "cut"}).json()
        assert listing["total"] == 1
        assert client.get("/api/v2/organizations/me").status_code == 200  # the server lives on


async def test_async_client_over_loopback() -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0))
    token = emu.issue_token()
    with emu.serve() as base_url:
        async with httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}
        ) as client:
            r = await client.post(f"{API}/bulk/contacts/add", json={"entities": [{"firstName": "x"}] * 20})
            assert r.json()["errorCount"] == 0
            scan = (await client.get(f"{API}/scan/contacts", params={"limit": 10})).json()
            assert len(scan["entities"]) == 10 and scan["cursors"]["after"]


def test_listening_socket_is_tcp_nodelay() -> None:
    """Accepted sockets must not wait on Nagle (a 40 ms stall per response on loopback)."""
    sock = bind()
    try:
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    finally:
        sock.close()


async def test_concurrent_claims_of_one_external_id_have_one_winner() -> None:
    # The kind identity settings: externalIds claim an ExternalId and a conflicting claim is a 409.
    emu = Emulator(EmulatorSettings(rate_limit=0, **KIND_IDENTITY))
    source = emu.backend.create_source({"name": "crm"})
    body = {
        "firstName": "Race",
        "externalIds": [{"externalSource": {"id": source["id"]}, "value": "same-key"}],
    }
    token = emu.issue_token()
    with emu.serve() as base_url:
        async with httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}
        ) as client:
            answers = await asyncio.gather(*(client.post(f"{API}/contacts", json=body) for _ in range(20)))
    assert sorted(r.status_code for r in answers) == [200] + [409] * 19
    assert emu.backend.counts()["contacts"] == 1


def test_a_client_that_disconnects_mid_request_gets_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    import struct

    emu = Emulator(EmulatorSettings(rate_limit=0))
    token = emu.issue_token()
    with emu.serve() as base_url, caplog.at_level("INFO", logger="gcx.emulator"):
        port = int(base_url.rsplit(":", 1)[1])
        for _ in range(3):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(
                f"POST {API}/contacts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                'Content-Length: 100\r\n\r\n{"firstName":'.encode()
            )
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()  # reset: the body never arrives
        with httpx.Client(base_url=base_url) as client:  # still serving
            assert client.get("/_emulator/stats").status_code == 200
    assert not any(r.exc_info for r in caplog.records), [r.getMessage() for r in caplog.records]
    assert emu.backend.dump()["contacts"] == []


def test_settle_gc_freezes_the_heap_and_makes_full_collections_rarer() -> None:
    """What ``gcx emulator`` does before serving (the test process gets its settings back)."""
    thresholds = gc.get_threshold()
    try:
        settle_gc()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (thresholds[0], thresholds[1], FULL_COLLECTION_THRESHOLD)
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
