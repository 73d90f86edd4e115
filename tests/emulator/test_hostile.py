"""Hostile requests the emulator must bound (issue 11 items 6 and 7), each reproduced first."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from gcx.emulator import Emulator, EmulatorSettings
from tests.emulator.conftest import API, client_for
from tests.emulator.openapi_check import detail_fields, error_body


def deep_path(levels: int) -> str:
    return "$.customFields" + ".a" * (levels - 1)


@pytest.mark.parametrize("levels", [3000, 400, 65])
async def test_a_patch_path_deeper_than_bodies_is_400_and_breaks_nothing(
    api: httpx.AsyncClient, anon: httpx.AsyncClient, levels: int
) -> None:
    c = (await api.post(f"{API}/contacts", json={"firstName": "A"})).json()
    change = {"field": deep_path(levels), "value": "x", "action": "Update"}
    r = await api.patch(f"{API}/contacts/{c['id']}", json={"changes": [change]})
    assert r.status_code == 400 and detail_fields(r) == ["changes[0].field"]
    assert "levels" in error_body(r)["message"]
    assert (await api.get(f"{API}/contacts")).status_code == 200
    assert (await api.get(f"{API}/scan/contacts")).status_code == 200
    assert (await anon.get("/_emulator/state")).status_code == 200


async def test_a_patch_whose_result_nests_too_deep_is_400(api: httpx.AsyncClient) -> None:
    c = (await api.post(f"{API}/contacts", json={"firstName": "A"})).json()
    value: dict = {}
    cursor = value
    for _ in range(60):  # a body of 62 levels is fine; under a 10-level path it is not
        cursor["b"] = {}
        cursor = cursor["b"]
    change = {"field": deep_path(10), "value": value, "action": "Update"}
    r = await api.patch(f"{API}/contacts/{c['id']}", json={"changes": [change]})
    assert r.status_code == 400 and "levels" in error_body(r)["message"]
    shallow = {"field": deep_path(3), "value": {"b": 1}, "action": "Update"}
    assert (await api.patch(f"{API}/contacts/{c['id']}", json={"changes": [shallow]})).status_code == 200


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-32-be"])
@pytest.mark.parametrize("levels", [64, 65])
async def test_a_body_nesting_past_64_levels_is_400_in_any_encoding(
    api: httpx.AsyncClient, encoding: str, levels: int
) -> None:
    """The limit counts levels in the text (UTF-8) or in the parsed value (UTF-16, UTF-32), with
    brackets and escaped quotes inside strings not counted."""
    inner = '{"a": "[[{\\\\", "b": "\\"[["}'  # levels 2 and up: a customFields object nesting
    body = '{"firstName": "A", "customFields": ' + '{"x": ' * (levels - 2) + inner + "}" * (levels - 2) + "}"
    r = await api.post(
        f"{API}/contacts",
        content=body.encode(encoding),
        headers={"Content-Type": "application/json"},
    )
    if levels <= 64:
        assert r.status_code == 200, r.text
    else:
        assert r.status_code == 400 and "nests deeper than 64 levels" in error_body(r)["message"]


@pytest.fixture
async def small(emu: Emulator) -> AsyncIterator[tuple[Emulator, httpx.AsyncClient]]:
    emu.configure(max_body_bytes=2000)
    async with client_for(emu, emu.issue_token()) as client:
        yield emu, client


async def test_a_body_over_the_limit_is_413(small: tuple[Emulator, httpx.AsyncClient]) -> None:
    emu, api = small
    big = {"firstName": "x" * 3000}
    r = await api.post(f"{API}/contacts", json=big)
    assert r.status_code == 413 and error_body(r)["code"] == "request.too.large"
    assert "2000 bytes" in error_body(r)["message"]
    assert (await api.post(f"{API}/contacts", json={"firstName": "x" * 500})).status_code == 200
    assert emu.backend.counts()["contacts"] == 1


async def test_a_streamed_body_over_the_limit_is_413_without_reading_it_all(
    small: tuple[Emulator, httpx.AsyncClient],
) -> None:
    emu, _ = small
    sent = [0]

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the server must count
        yield b'{"firstName": "'
        for _ in range(10_000):
            sent[0] += 1
            yield b"x" * 100
        yield b'"}'

    headers = {"Content-Type": "application/json"}
    async with client_for(emu, emu.issue_token(), validate=False) as api:
        r = await api.post(f"{API}/contacts", content=chunks(), headers=headers)
    assert r.status_code == 413
    assert emu.backend.counts()["contacts"] == 0


def test_the_default_body_limit_is_10_mib() -> None:
    assert EmulatorSettings().max_body_bytes == 10 * 1024 * 1024


async def test_admin_endpoints_need_the_secret_when_one_is_set() -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0, admin_secret="admin-pass-1"))
    async with client_for(emu) as anon:
        for method, path in (("GET", "/_emulator/state"), ("PATCH", "/_emulator/settings")):
            r = await anon.request(method, path, json={"credentials": []})
            assert r.status_code == 401 and error_body(r)["code"] == "admin.secret.required"
        wrong = await anon.get("/_emulator/stats", headers={"X-Gcx-Admin-Secret": "nope"})
        assert wrong.status_code == 401
        good = await anon.get("/_emulator/settings", headers={"X-Gcx-Admin-Secret": "admin-pass-1"})
        assert good.status_code == 200
        assert "admin-pass-1" not in good.text and good.json()["admin_secret"] == "set"
        token = await anon.post(
            "/oauth/token", data={"grant_type": "client_credentials", "client_id": "a", "client_secret": "b"}
        )
        assert token.status_code == 200  # the API itself is unchanged
