"""OAuth tokens, bearer checks, rate limits, faults, commit-then-drop, bad input, admin endpoints."""

from __future__ import annotations

import base64

import httpx
import pytest

from gcx.emulator import Emulator, EmulatorSettings
from tests.conftest import CANARY_CLIENT_ID, CANARY_SECRET
from tests.emulator.conftest import API, FakeClock, client_for
from tests.emulator.openapi_check import error_body

FORM = {"grant_type": "client_credentials"}


async def get_token(client: httpx.AsyncClient, cid: str = "id", secret: str = "secret") -> httpx.Response:
    return await client.post("/oauth/token", auth=(cid, secret), data=FORM)


# ------------------------------------------------------------------ tokens and bearer checks


async def test_token_then_api_call(anon: httpx.AsyncClient, emu: Emulator) -> None:
    r = await get_token(anon)
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 86400 and body["access_token"]
    assert r.headers["ININ-Correlation-Id"]
    me = await anon.get(
        "/api/v2/organizations/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.status_code == 200
    assert emu.stats()["tokensIssued"] == 1


async def test_token_form_credentials_and_configured_ttl(clock: FakeClock) -> None:
    emu = Emulator(EmulatorSettings(token_ttl=2), clock=clock)
    async with client_for(emu) as anon:
        r = await anon.post("/oauth/token", data={**FORM, "client_id": "a", "client_secret": "b"})
        assert r.json()["expires_in"] == 2
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        assert (await anon.get("/api/v2/organizations/me", headers=headers)).status_code == 200
        clock.advance(2)
        expired = await anon.get("/api/v2/organizations/me", headers=headers)
        assert expired.status_code == 401 and error_body(expired)["code"] == "bad.credentials"
        assert "expired" in expired.json()["message"]


async def test_listed_credentials_only(clock: FakeClock) -> None:
    emu = Emulator(EmulatorSettings(credentials=((CANARY_CLIENT_ID, CANARY_SECRET),)), clock=clock)
    async with client_for(emu) as anon:
        bad = await get_token(anon, CANARY_CLIENT_ID, "wrong")
        assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
        assert CANARY_SECRET not in bad.text
        good = await get_token(anon, CANARY_CLIENT_ID, CANARY_SECRET)
        assert good.status_code == 200
        accented = await get_token(anon, "cliënt", "sécret")
        assert accented.status_code == 401
    assert CANARY_SECRET not in repr(emu.settings) and CANARY_SECRET not in str(emu.settings.public())


@pytest.mark.parametrize(
    ("kwargs", "status", "error"),
    [
        ({"data": {"grant_type": "password"}, "auth": ("a", "b")}, 400, "unsupported_grant_type"),
        ({"data": FORM}, 401, "invalid_client"),
        ({"json": FORM, "auth": ("a", "b")}, 400, "invalid_request"),
        ({"data": FORM, "headers": {"Authorization": "Basic !!!"}}, 401, "invalid_client"),
        (
            {"data": FORM, "headers": {"Authorization": "Basic " + base64.b64encode(b"nocolon").decode()}},
            401,
            "invalid_client",
        ),
    ],
)
async def test_token_errors(anon: httpx.AsyncClient, kwargs: dict, status: int, error: str) -> None:
    r = await anon.post("/oauth/token", **kwargs)
    assert r.status_code == status and r.json()["error"] == error and r.json()["error_description"]


async def test_token_endpoint_wrong_method(anon: httpx.AsyncClient) -> None:
    r = await anon.get("/oauth/token")
    assert r.status_code == 405 and error_body(r)["code"] == "method.not.allowed"
    assert r.headers["Allow"] == "POST"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer "}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}],
)
async def test_missing_or_unknown_token_is_401(anon: httpx.AsyncClient, headers: dict) -> None:
    r = await anon.get(f"{API}/contacts", headers=headers)
    assert r.status_code == 401
    assert error_body(r)["code"] in ("authentication.required", "bad.credentials")


async def test_revocation(emu: Emulator) -> None:
    token = emu.issue_token()
    async with client_for(emu, token) as api:
        assert (await api.get(f"{API}/contacts")).status_code == 200
        assert emu.revoke_tokens() == 1
        r = await api.get(f"{API}/contacts")
        assert r.status_code == 401 and "revoked" in r.json()["message"]
    token2 = emu.issue_token()
    async with client_for(emu) as anon:
        r = await anon.post("/_emulator/revoke-tokens", json={"token": token2})
        assert r.json() == {"revoked": 1}
        r = await anon.get(f"{API}/contacts", headers={"Authorization": f"Bearer {token2}"})
        assert r.status_code == 401
        emu.issue_token()
        assert (await anon.post("/_emulator/revoke-tokens")).json() == {"revoked": 1}


# ------------------------------------------------------------------ rate limits


async def test_rate_limit_per_token(clock: FakeClock) -> None:
    emu = Emulator(EmulatorSettings(rate_limit=3), clock=clock)
    token_a, token_b = emu.issue_token(), emu.issue_token()
    async with client_for(emu, token_a) as a, client_for(emu, token_b) as b:
        for _ in range(3):
            assert (await a.get(f"{API}/contacts")).status_code == 200
        clock.advance(20)
        r = await a.get(f"{API}/contacts")
        assert r.status_code == 429
        body = error_body(r)
        assert body["code"] == "too.many.requests.retry.after"
        assert r.headers["Retry-After"] == "40"
        assert body["message"] == "Rate limit exceeded the maximum. Retry the request in [40] seconds"
        assert (await b.get(f"{API}/contacts")).status_code == 200  # another token has its own budget
        clock.advance(40)
        assert (await a.get(f"{API}/contacts")).status_code == 200
    assert emu.stats()["rateLimited"] == 1


async def test_org_rate_limit_counts_every_token(clock: FakeClock) -> None:
    emu = Emulator(EmulatorSettings(rate_limit=3, org_rate_limit=4), clock=clock)
    token_a, token_b = emu.issue_token(), emu.issue_token()
    async with client_for(emu, token_a) as a, client_for(emu, token_b) as b:
        for _ in range(3):
            assert (await a.get(f"{API}/contacts")).status_code == 200
        assert (await a.get(f"{API}/contacts")).status_code == 429  # a's own budget (3)
        assert (await b.get(f"{API}/contacts")).status_code == 200  # the org's 4th
        r = await b.get(f"{API}/contacts")  # b has budget left, the org has none
        assert r.status_code == 429 and r.headers["Retry-After"] == "60"
        clock.advance(61)
        assert (await b.get(f"{API}/contacts")).status_code == 200
    # a refused request consumes neither budget
    assert emu.stats()["rateLimited"] == 2
    emu.backend.update_settings(org_rate_limit=0)
    async with client_for(emu, token_b) as b:
        assert (await b.get(f"{API}/contacts")).status_code == 200


async def test_rate_limit_off(emu: Emulator) -> None:
    async with client_for(emu, emu.issue_token()) as api:
        for _ in range(400):
            assert (await api.get("/api/v2/organizations/me")).status_code == 200


async def test_token_issuance_limit(clock: FakeClock) -> None:
    emu = Emulator(EmulatorSettings(token_rate_limit=2), clock=clock)
    async with client_for(emu) as anon:
        assert (await get_token(anon)).status_code == 200
        assert (await get_token(anon)).status_code == 200
        r = await get_token(anon)
        assert r.status_code == 429 and r.headers["Retry-After"] == "60"
        assert r.json()["code"] == "too.many.requests.retry.after"
        assert (await get_token(anon, "other-client")).status_code == 200


# ------------------------------------------------------------------ faults


async def test_fault_rate_is_seeded_and_repeatable() -> None:
    async def run() -> list[int]:
        emu = Emulator(EmulatorSettings(rate_limit=0, seed=42, fault_rate=0.3))
        async with client_for(emu, emu.issue_token()) as api:
            return [(await api.get("/api/v2/organizations/me")).status_code for _ in range(60)]

    first, second = await run(), await run()
    assert first == second
    assert set(first) - {200} and set(first) <= {200, 500, 503, 504}
    assert 5 < sum(s != 200 for s in first) < 35


async def test_faults_never_touch_admin_or_token_routes() -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0, seed=1, fault_rate=1.0))
    async with client_for(emu) as anon:
        assert (await get_token(anon)).status_code == 200
        assert (await anon.get("/_emulator/stats")).status_code == 200
        r = await anon.get(f"{API}/contacts", headers={"Authorization": f"Bearer {emu.issue_token()}"})
        assert r.status_code in (500, 503, 504) and error_body(r)


async def test_token_fault_rate() -> None:
    emu = Emulator(EmulatorSettings(seed=3, token_fault_rate=1.0, fault_statuses=(503,)))
    async with client_for(emu) as anon:
        r = await get_token(anon)
        assert r.status_code == 503 and error_body(r)["code"] == "service.unavailable"


async def test_injected_faults_and_429_bursts(emu: Emulator) -> None:
    emu.inject_faults(503, 2)
    emu.inject_429_burst(2, retry_after=3)
    async with client_for(emu, emu.issue_token()) as api:
        statuses = [(await api.get(f"{API}/contacts")) for _ in range(5)]
    assert [r.status_code for r in statuses] == [503, 503, 429, 429, 200]
    assert statuses[2].headers["Retry-After"] == "3"
    assert statuses[2].json()["message"].endswith("[3] seconds")
    assert emu.stats()["faultsInjected"] == 4


async def test_random_429_bursts() -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0, seed=5, burst_429_rate=0.1, burst_429_length=4))
    async with client_for(emu, emu.issue_token()) as api:
        statuses = [(await api.get("/api/v2/organizations/me")).status_code for _ in range(80)]
    text = "".join("x" if s == 429 else "." for s in statuses)
    assert "xxxx" in text and set(statuses) == {200, 429}


async def test_latency_setting(emu: Emulator) -> None:
    emu.configure(latency=0.01, latency_jitter=0.01)
    assert 0.01 <= emu.backend.faults.latency() <= 0.02
    async with client_for(emu, emu.issue_token()) as api:
        assert (await api.get("/api/v2/organizations/me")).status_code == 200


async def test_commit_then_drop_disconnect_applies_the_write(emu: Emulator) -> None:
    emu.drop_next_writes(1)
    async with client_for(emu, emu.issue_token(), validate=False) as api:
        with pytest.raises(httpx.RemoteProtocolError):
            await api.post(f"{API}/contacts", json={"firstName": "Ghost"})
        listing = (await api.get(f"{API}/contacts", params={"q": "ghost"})).json()
        assert listing["total"] == 1  # the write happened: a naive retry would duplicate it
    assert emu.stats()["droppedAfterCommit"] == 1


async def test_commit_then_drop_504(emu: Emulator) -> None:
    emu.drop_next_writes(1, mode="504")
    async with client_for(emu, emu.issue_token()) as api:
        r = await api.post(f"{API}/organizations", json={"name": "Ghost Inc"})
        assert r.status_code == 504 and error_body(r)["code"] == "gateway.timeout"
        assert (await api.get(f"{API}/organizations", params={"q": "ghost"})).json()["total"] == 1


async def test_drop_after_commit_rate_only_hits_successful_writes() -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0, seed=9, drop_after_commit=1.0, drop_mode="504"))
    async with client_for(emu, emu.issue_token()) as api:
        assert (await api.get(f"{API}/contacts")).status_code == 200
        assert (await api.post(f"{API}/bulk/contacts", json={"entities": [{"id": "x"}]})).status_code == 200
        assert (await api.post(f"{API}/contacts", json={"workEmail": "bad"})).status_code == 400
        assert (await api.post(f"{API}/contacts", json={"firstName": "x"})).status_code == 504
        body = {
            "matchingIdentifiers": [{"type": "Email", "value": "a@b.c"}],
            "action": "Upsert",
            "contact": {},
        }
        assert (
            await api.post(f"{API}/contacts/enrich", params={"dryRun": "true"}, json=body)
        ).status_code == 201


async def test_mixed_drop_mode_uses_both() -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0, seed=11, drop_after_commit=1.0, drop_mode="mixed"))
    outcomes = set()
    async with client_for(emu, emu.issue_token(), validate=False) as api:
        for i in range(20):
            try:
                r = await api.post(f"{API}/contacts", json={"firstName": f"m{i}"})
                outcomes.add(r.status_code)
            except httpx.RemoteProtocolError:
                outcomes.add("cut")
    assert outcomes == {504, "cut"}
    assert emu.backend.counts()["contacts"] == 20


# ------------------------------------------------------------------ malformed requests


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        (
            "POST",
            f"{API}/contacts",
            {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
            400,
        ),
        ("POST", f"{API}/contacts", {"content": b"", "headers": {"Content-Type": "application/json"}}, 400),
        ("POST", f"{API}/contacts", {"content": b"a=b", "headers": {"Content-Type": "text/plain"}}, 415),
        ("POST", f"{API}/contacts", {"json": [1, 2, 3]}, 400),
        ("POST", f"{API}/contacts", {"json": "string"}, 400),
        ("POST", f"{API}/organizations", {"json": None}, 400),
        ("PUT", f"{API}/contacts", {"json": {}}, 405),
        ("DELETE", f"{API}/scan/contacts", {}, 405),
        ("GET", f"{API}/nothing/here", {}, 404),
        ("GET", "/api/v2/users/me", {}, 404),
        ("GET", "/nowhere", {}, 404),
        ("POST", f"{API}/identifierlookup/contacts", {"json": {"value": "x"}}, 400),
        ("POST", f"{API}/contacts/search", {"json": {"operation": {"simpleSearch": "x"}}}, 400),
        ("POST", f"{API}/contacts/search", {"json": {"pageSize": "1"}}, 400),
        ("POST", f"{API}/contacts/search", {"json": {"operation": {"simpleSearch": {"query": 5}}}}, 400),
        ("POST", f"{API}/contacts/search", {"json": {"operation": {"simpleSearch": {"ids": [1]}}}}, 400),
        ("GET", f"{API}/contacts", {"params": {"pageNumber": "1.5"}}, 400),
        (
            "POST",
            f"{API}/contacts/enrich",
            {"json": {"action": "Upsert"}, "params": {"dryRun": "maybe"}},
            400,
        ),
        ("POST", f"{API}/externalsources", {"json": ["x"]}, 400),
        # Not JSON: NaN and Infinity literals, a number too large for a double.
        ("POST", f"{API}/contacts", {"content": b'{"firstName": "a", "customFields": {"x": NaN}}'}, 400),
        (
            "POST",
            f"{API}/contacts",
            {"content": b'{"firstName": "a", "customFields": {"x": -Infinity}}'},
            400,
        ),
        ("POST", f"{API}/contacts", {"content": b'{"firstName": "a", "customFields": {"x": 1e999}}'}, 400),
        # Nesting deeper than any record needs (and deeper than the parser's recursion limit).
        (
            "POST",
            f"{API}/contacts",
            {"content": b'{"customFields": ' + b'{"a": ' * 200 + b"1" + b"}" * 201},
            400,
        ),
        (
            "POST",
            f"{API}/contacts",
            {"content": b'{"customFields": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5001},
            400,
        ),
        (
            "POST",
            f"{API}/contacts",
            {"content": b'{"customFields": {"a": ' + b"[" * 5000 + b"]" * 5000 + b"}}"},
            400,
        ),
    ],
)
async def test_malformed_requests_get_4xx_error_body(
    api: httpx.AsyncClient, method: str, path: str, kwargs: dict, status: int
) -> None:
    r = await api.request(method, path, **kwargs)
    assert r.status_code == status, r.text
    assert "Traceback" not in r.text
    error_body(r)


# ------------------------------------------------------------------ admin endpoints


async def test_stats_by_route_and_reset(emu: Emulator, anon: httpx.AsyncClient) -> None:
    async with client_for(emu, emu.issue_token()) as api:
        c = (await api.post(f"{API}/contacts", json={"firstName": "A"})).json()
        await api.get(f"{API}/contacts/{c['id']}")
        await api.get(f"{API}/contacts/missing")
    stats = (await anon.get("/_emulator/stats")).json()
    routes = {(x["method"], x["route"], x["status"]): x["count"] for x in stats["routes"]}
    assert routes[("GET", f"{API}/contacts/{{contactId}}", 200)] == 1
    assert routes[("GET", f"{API}/contacts/{{contactId}}", 404)] == 1
    assert routes[("POST", f"{API}/contacts", 200)] == 1
    assert stats["apiCalls"] == 3
    assert emu.backend.stats.count(method="GET", route=f"{API}/contacts/{{contactId}}") == 2
    assert (await anon.delete("/_emulator/stats")).status_code == 200
    assert emu.backend.stats.api_calls() == 0


async def test_reset_dump_load(emu: Emulator, anon: httpx.AsyncClient) -> None:
    source = emu.backend.create_source({"name": "crm"})
    org = emu.backend.create("organizations", {"name": "O"})
    ext = [{"externalSource": {"id": source["id"]}, "value": "k"}]
    contact = emu.backend.create(
        "contacts",
        {
            "firstName": "A",
            "workEmail": "a@example.com",
            "externalOrganization": {"id": org["id"]},
            "externalIds": ext,
        },
    )
    state = (await anon.get("/_emulator/state")).json()
    assert [len(state[k]) for k in ("externalsources", "organizations", "contacts")] == [1, 1, 1]
    reset = await anon.post("/_emulator/reset")
    assert set(reset.json()["counts"].values()) == {0}
    loaded = await anon.put("/_emulator/state", json=state)
    assert loaded.json()["loaded"]["contacts"] == 1
    assert emu.backend.get("contacts", contact["id"]) == contact
    found = emu.backend.lookup("contacts", {"type": "Email", "value": "A@Example.com"})
    assert found["id"] == contact["id"]
    assert emu.backend.search("contacts", org_id=org["id"])["total"] == 1
    bad = await anon.put("/_emulator/state", json={"version": 1, "contacts": [{"id": 5}]})
    assert bad.status_code == 400 and error_body(bad)["details"][0]["fieldName"] == "contacts[0].id"
    assert emu.backend.counts()["contacts"] == 1  # a bad state changes nothing


async def test_settings_endpoint(emu: Emulator, anon: httpx.AsyncClient) -> None:
    r = await anon.patch(
        "/_emulator/settings", json={"max_bulk_size": 3, "org_delete_with_contacts": "cascade"}
    )
    assert r.status_code == 200 and r.json()["max_bulk_size"] == 3
    assert emu.settings.org_delete_with_contacts == "cascade"
    r = await anon.patch("/_emulator/settings", json={"fault_rate": 2})
    assert r.status_code == 400 and "fault_rate" in error_body(r)["message"]
    r = await anon.patch("/_emulator/settings", json={"no_such_setting": 1})
    assert r.status_code == 400 and "no_such_setting" in r.json()["message"]
    assert (await anon.get("/_emulator/settings")).json()["max_bulk_size"] == 3


async def test_fault_endpoint(emu: Emulator, anon: httpx.AsyncClient) -> None:
    assert (
        await anon.post("/_emulator/faults", json={"fault": "status", "status": 500, "count": 1})
    ).status_code == 200
    assert (await anon.post("/_emulator/faults", json={"fault": "drop", "mode": "504"})).status_code == 200
    for bad in (
        {"fault": "status", "status": 404},
        {"fault": "drop", "mode": "x"},
        {"fault": "?"},
        {"fault": "status", "count": 0},
    ):
        r = await anon.post("/_emulator/faults", json=bad)
        assert r.status_code == 400, bad
    async with client_for(emu, emu.issue_token()) as api:
        assert (await api.get(f"{API}/contacts")).status_code == 500
        assert (await api.post(f"{API}/contacts", json={"firstName": "a"})).status_code == 504


async def test_admin_routes_are_not_under_api(anon: httpx.AsyncClient) -> None:
    assert (await anon.get("/api/v2/_emulator/stats")).status_code in (401, 404)


async def test_a_request_is_counted_before_its_answer_leaves(emu: Emulator) -> None:
    """The server runs in another thread in most tests: a client that has its answer must find
    its request in the stats already (counting after the body had gone made a count read right
    after a write miss that write now and then)."""
    token = emu.issue_token()
    seen_at_start: list[int] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.start":
            seen_at_start.append(emu.stats()["total"])

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/api/v2/organizations/me",
        "raw_path": b"/api/v2/organizations/me",
        "query_string": b"",
        "headers": [(b"authorization", f"Bearer {token}".encode())],
        "http_version": "1.1",
        "scheme": "http",
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 1),
        "root_path": "",
    }
    before = emu.stats()["total"]
    await emu.app(scope, receive, send)
    assert seen_at_start == [before + 1]
    assert emu.stats()["total"] == before + 1  # and only once
