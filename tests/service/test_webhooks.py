"""Webhook intake: signatures, stale timestamps, size limit, malformed bodies; nothing stored on refusal."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from gcx.service.config import load_config
from gcx.service.intake import coalesce, parse_body
from gcx.service.signing import check_timestamp, sign, verify
from gcx.service.tasks import Service
from gcx.service.web import create_app

from .helpers import ENV, SECRET, config_text, contact, events_body, org, query, signed

# ---------------------------------------------------------------- pure parts


def test_signature_covers_timestamp_and_body() -> None:
    body = b'{"id": "e1"}'
    good = sign(SECRET, 1700000000, body)
    assert good.startswith("sha256=") and len(good) == 7 + 64
    assert verify(SECRET, "1700000000", body, good).ok
    assert not verify(SECRET, "1700000001", body, good).ok  # another timestamp
    assert not verify(SECRET, "1700000000", body + b" ", good).ok  # another body
    assert not verify("another-secret-value", "1700000000", body, good).ok
    assert verify(SECRET, "1700000000", body, None).reason.startswith("missing")


def test_timestamps_are_checked_both_ways() -> None:
    assert check_timestamp("1000", now=1200, max_age=300).ok
    assert check_timestamp("1400", now=1200, max_age=300).ok
    assert "stale" in check_timestamp("800", now=1200, max_age=300).reason
    assert "stale" in check_timestamp("1600", now=1200, max_age=300).reason
    assert "Unix seconds" in check_timestamp("12:00", now=1200, max_age=300).reason
    assert "missing" in check_timestamp(None, now=1200, max_age=300).reason


def test_parse_body_one_or_many_and_reasons_per_event() -> None:
    one = json.dumps({"id": "e1", "record": contact(1)}).encode()
    events, problems = parse_body(one, max_events=10)
    assert problems == [] and [(e.event_id, e.kind, e.external_id) for e in events] == [
        ("e1", "contact", "c-1")
    ]
    bad = events_body(
        [contact(1), contact(2, workEmail="not an email"), {"kind": "person", "externalId": "x"}],
        ["e1", "e2", "e3"],
    )
    events, problems = parse_body(bad, max_events=10)
    assert events == []
    by_index = {p.index: p.to_json() for p in problems}
    assert set(by_index) == {1, 2}
    assert by_index[1]["eventId"] == "e2" and by_index[1]["externalId"] == "c-2"
    assert by_index[1]["field"] == "workEmail"
    assert "kind must be" in by_index[2]["reason"]
    assert parse_body(b"{nope", max_events=10)[1][0].reason.startswith("the body is not JSON")
    assert (
        "limit is 1"
        in parse_body(events_body([contact(1), contact(2)], ["a", "b"]), max_events=1)[1][0].reason
    )
    no_id = json.dumps({"record": contact(1)}).encode()
    assert parse_body(no_id, max_events=10)[1][0].field == "id"


def test_coalesce_merges_by_record_in_order_orgs_first() -> None:
    merged = coalesce(
        [
            contact(1, firstName="A", address={"city": "Paris"}),
            org(1),
            {"kind": "contact", "externalId": "c-1", "lastName": "B", "address": {"postalCode": "75001"}},
            contact(2),
            {"kind": "contact", "externalId": "c-1", "firstName": "C"},
        ]
    )
    assert [r["externalId"] for r in merged] == ["org-1", "c-1", "c-2"]
    c1 = merged[1]
    assert (c1["firstName"], c1["lastName"], c1["address"]) == (
        "C",
        "B",
        {"city": "Paris", "postalCode": "75001"},
    )


# ---------------------------------------------------------------- over HTTP


@pytest.fixture
async def web(pg_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    text = config_text(
        {"emu": "http://127.0.0.1:9"},
        '[jobs.push]\nprofile = "emu"\nsource = { type = "webhook", secret_env = "HOOK_SECRET" }\n'
        '[jobs.nosecret]\nprofile = "emu"\nsource = { type = "webhook", secret_env = "UNSET_SECRET" }\n',
        max_body_bytes=4096,
        max_events_per_request=20,
        signature_max_age=60,
    )
    (tmp_path / "service.toml").write_text(text)
    service = Service(load_config(tmp_path / "service.toml"), pg_url)
    service.fleet.env = dict(ENV)
    await service.open()
    app = create_app(service, manage_service=False)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as client:
            client.pg_url = pg_url  # type: ignore[attr-defined]
            yield client
    finally:
        await service.close()


def stored(url: str) -> int:
    return int(query(url, "SELECT count(*) FROM gcx_svc_events")[0][0])


@pytest.mark.postgres
async def test_refusals_store_nothing_and_the_service_keeps_serving(web: httpx.AsyncClient) -> None:
    url = web.pg_url  # type: ignore[attr-defined]
    body = events_body([contact(1), contact(2)], ["e1", "e2"])
    cases: list[tuple[bytes, dict[str, str], int, str]] = [
        (body, {"content-type": "application/json"}, 401, "missing x-gcx-timestamp"),
        (body, {**signed(body), "x-gcx-signature": "sha256=" + "0" * 64}, 401, "bad signature"),
        (
            body,
            {k: v for k, v in signed(body).items() if k != "x-gcx-signature"},
            401,
            "missing x-gcx-signature",
        ),
        (body, signed(body, secret="not-the-secret-at-all"), 401, "bad signature"),
        (body, signed(body, ts=int(time.time()) - 3600), 401, "stale timestamp"),
        (body, signed(body, ts=int(time.time()) + 3600), 401, "stale timestamp"),
        (b"{not json", signed(b"{not json"), 400, "not JSON"),
    ]
    big = events_body([contact(i, jobTitle="x" * 300) for i in range(20)], [f"b{i}" for i in range(20)])
    assert len(big) > 4096
    cases.append((big, signed(big), 413, "larger than 4096 bytes"))
    many = events_body([contact(i) for i in range(21)], [f"m{i}" for i in range(21)])
    if len(many) <= 4096:
        cases.append((many, signed(many), 400, "limit is 20"))
    bad_record = events_body([contact(1), contact(2, workEmail="@@")], ["e1", "e2"])
    cases.append((bad_record, signed(bad_record), 400, "invalid events"))
    for content, headers, status, text in cases:
        r = await web.post("/hooks/push", content=content, headers=headers)
        assert r.status_code == status, (text, r.text)
        assert text in r.text, r.text
        assert stored(url) == 0
    r = await web.post("/hooks/push", content=bad_record, headers=signed(bad_record))
    problems = r.json()["problems"]
    assert [(p["index"], p["eventId"], p["field"]) for p in problems] == [(1, "e2", "workEmail")]

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the cap holds while reading
        for _ in range(10):
            yield b" " * 1000

    r = await web.post("/hooks/push", content=chunks(), headers=signed(b""))
    assert r.status_code == 413
    assert (await web.post("/hooks/nope", content=body, headers=signed(body))).status_code == 404
    assert (await web.post("/hooks/nosecret", content=body, headers=signed(body))).status_code == 503
    assert stored(url) == 0
    r = await web.post("/hooks/push", content=body, headers=signed(body))
    assert r.status_code == 202 and r.json() == {"accepted": 2, "duplicates": 0}
    assert stored(url) == 2
    assert (await web.get("/healthz")).json() == {"status": "ok"}
    metrics = (await web.get("/metrics")).text
    assert 'gcx_webhook_requests_total{code="401",job="push"} 6.0' in metrics
    assert 'gcx_webhook_events_pending{job="push"} 2.0' in metrics
    assert SECRET not in metrics
