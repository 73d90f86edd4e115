"""Request execution against httpx.MockTransport: retries, 429, outcome unknown, error mapping, stats."""

from __future__ import annotations

import logging

import httpx
import pytest

from gcx import AsyncClient, RetryPolicy
from gcx.errors import (
    ApiError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitedError,
    ServerError,
    TransportError,
    ValidationError,
)
from gcx.transport import Ending, call_ends, error_from_response
from tests.client.conftest import BASE, CREDS, FakeApi, json_of

CONTACTS = "/api/v2/externalcontacts/contacts"


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def client(
    api: FakeApi, sleeps: Sleeps, *, retry: RetryPolicy | None = None, rate_limit: float = 0
) -> AsyncClient:
    return AsyncClient(
        BASE,
        **CREDS,
        transport=api.transport(),
        rate_limit=rate_limit,
        sleep=sleeps,
        rand=lambda: 1.0,
        retry=retry or RetryPolicy(max_attempts=4, base=0.5, cap=4.0, deadline=60),
    )


def scripted(api: FakeApi, method: str, path: str, outcomes: list[httpx.Response | Exception]) -> None:
    @api.route(method, path)
    def handler(request: httpx.Request) -> httpx.Response:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def ok_contact(cid: str = "c1") -> httpx.Response:
    return httpx.Response(200, json={"id": cid, "firstName": "Ada"})


RATE_BODY = {
    "message": "Rate limit exceeded the maximum. Retry the request in [2] seconds",
    "code": "too.many.requests.retry.after",
    "status": 429,
}


async def test_429_waits_retry_after_then_succeeds(api: FakeApi) -> None:
    sleeps = Sleeps()
    scripted(
        api,
        "GET",
        f"{CONTACTS}/c1",
        [httpx.Response(429, headers={"Retry-After": "2"}, json=RATE_BODY), ok_contact()],
    )
    async with client(api, sleeps) as gc:
        contact = await gc.contacts.get("c1")
    assert contact.firstName == "Ada"
    assert sleeps.calls == [2.0]
    assert gc.stats.rate_limited == 1 and gc.stats.retries == 1
    assert gc.stats.by_status == {429: 1, 200: 1}


async def test_429_on_a_create_is_retried(api: FakeApi) -> None:
    sleeps = Sleeps()
    created = httpx.Response(200, json={"id": "o1", "name": "Acme"})
    scripted(
        api,
        "POST",
        "/api/v2/externalcontacts/organizations",
        [httpx.Response(429, headers={"Retry-After": "1"}, json=RATE_BODY), created],
    )
    async with client(api, sleeps) as gc:
        org = await gc.organizations.create({"name": "Acme"})
    assert org.id == "o1"


async def test_persistent_429_raises_rate_limited(api: FakeApi) -> None:
    sleeps = Sleeps()
    scripted(
        api, "GET", f"{CONTACTS}/c1", [httpx.Response(429, headers={"Retry-After": "3"}, json=RATE_BODY)] * 4
    )
    policy = RetryPolicy(max_attempts=4, base=0.5, cap=4.0, deadline=60, max_rate_limited_attempts=4)
    async with client(api, sleeps, retry=policy) as gc:
        with pytest.raises(RateLimitedError) as info:
            await gc.contacts.get("c1")
    assert info.value.retry_after == 3.0
    assert info.value.code == "too.many.requests.retry.after"
    assert len(sleeps.calls) == 3


async def test_429s_outlast_the_general_attempt_budget(api: FakeApi) -> None:
    # Eight 429s in a row, then success: more than max_attempts (4), within the 429 budget.
    sleeps = Sleeps()
    busy = [httpx.Response(429, headers={"Retry-After": "1"}, json=RATE_BODY)] * 8
    scripted(api, "GET", f"{CONTACTS}/c1", [*busy, ok_contact()])
    async with client(api, sleeps) as gc:
        contact = await gc.contacts.get("c1")
    assert contact.id == "c1"
    assert len(sleeps.calls) == 8 and min(sleeps.calls) >= 1.0


async def test_429_slows_the_shared_limiter(api: FakeApi) -> None:
    sleeps = Sleeps()
    scripted(
        api,
        "GET",
        f"{CONTACTS}/c1",
        [httpx.Response(429, headers={"Retry-After": "1"}, json=RATE_BODY), ok_contact()],
    )
    async with client(api, sleeps, rate_limit=300) as gc:
        await gc.contacts.get("c1")
        assert gc.limiter.snapshot().decreases == 1
        assert gc.limiter.current_rate < 300


async def test_5xx_backs_off_exponentially(api: FakeApi) -> None:
    sleeps = Sleeps()
    scripted(
        api,
        "GET",
        f"{CONTACTS}/c1",
        [httpx.Response(503), httpx.Response(500), httpx.Response(502), ok_contact()],
    )
    async with client(api, sleeps) as gc:
        await gc.contacts.get("c1")
    assert sleeps.calls == [0.5, 1.0, 2.0]  # rand() == 1: the full exponential
    assert gc.stats.retries == 3


async def test_5xx_exhausted_raises_server_error(api: FakeApi) -> None:
    sleeps = Sleeps()
    body = {"message": "boom", "code": "internal.server.error", "status": 503}
    scripted(api, "DELETE", f"{CONTACTS}/c1", [httpx.Response(503, json=body)] * 4)
    async with client(api, sleeps) as gc:
        with pytest.raises(ServerError) as info:
            await gc.contacts.delete("c1")
    assert info.value.status == 503 and info.value.code == "internal.server.error"


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("connection reset"),
        httpx.Response(504),
        httpx.Response(500),
    ],
)
async def test_create_with_lost_answer_raises_outcome_unknown(
    api: FakeApi, failure: Exception | httpx.Response
) -> None:
    sleeps = Sleeps()
    scripted(api, "POST", CONTACTS, [failure, ok_contact()])
    async with client(api, sleeps) as gc:
        with pytest.raises(OutcomeUnknownError) as info:
            await gc.contacts.create({"firstName": "Ada"})
    assert len(api.calls("POST", CONTACTS)) == 1  # never blindly retried
    assert info.value.method == "POST"
    assert info.value.url.endswith(CONTACTS)
    assert "look the record up" in str(info.value)
    assert gc.stats.outcome_unknown == 1


async def test_connect_error_retries_even_a_create(api: FakeApi) -> None:
    sleeps = Sleeps()
    scripted(api, "POST", CONTACTS, [httpx.ConnectError("refused"), ok_contact()])
    async with client(api, sleeps) as gc:
        contact = await gc.contacts.create({"firstName": "Ada"})
    assert contact.id == "c1"
    assert gc.stats.network_errors == 1 and gc.stats.retries == 1


async def test_idempotent_writes_are_retried_after_a_lost_answer(api: FakeApi) -> None:
    sleeps = Sleeps()
    scripted(api, "PUT", f"{CONTACTS}/c1", [httpx.ReadTimeout("slow"), ok_contact()])
    scripted(
        api,
        "PATCH",
        f"{CONTACTS}/c1/identifiers",
        [httpx.RemoteProtocolError("cut"), httpx.Response(200, json={"type": "Email", "value": "a@b.c"})],
    )
    async with client(api, sleeps) as gc:
        await gc.contacts.update({"id": "c1", "firstName": "Ada"})
        ident = await gc.contacts.identifiers.claim("c1", "Email", "a@b.c")
    assert ident.value == "a@b.c"


async def test_append_patch_is_not_idempotent(api: FakeApi) -> None:
    sleeps = Sleeps()
    scripted(api, "PATCH", f"{CONTACTS}/c1", [httpx.ReadTimeout("slow")])
    async with client(api, sleeps) as gc:
        with pytest.raises(OutcomeUnknownError):
            await gc.contacts.patch("c1", [{"field": "$.tags", "value": "x", "action": "AppendToCollection"}])


async def test_network_failure_exhausted_raises_transport_error(api: FakeApi) -> None:
    sleeps = Sleeps()
    scripted(api, "GET", f"{CONTACTS}/c1", [httpx.ConnectError("refused")] * 4)
    async with client(api, sleeps) as gc:
        with pytest.raises(TransportError, match="ConnectError"):
            await gc.contacts.get("c1")


@pytest.mark.parametrize(
    "status,cls",
    [(400, BadRequestError), (404, NotFoundError), (409, ConflictError), (422, BadRequestError)],
)
async def test_error_mapping(api: FakeApi, status: int, cls: type[Exception]) -> None:
    sleeps = Sleeps()
    body = {
        "message": "firstName is too long",
        "code": "bad.request",
        "status": status,
        "contextId": "ctx-9",
        "details": [{"fieldName": "firstName"}],
    }
    scripted(
        api,
        "PUT",
        f"{CONTACTS}/c1",
        [httpx.Response(status, json=body, headers={"ININ-Correlation-Id": "corr-7"})],
    )
    async with client(api, sleeps) as gc:
        with pytest.raises(cls) as info:
            await gc.contacts.update({"id": "c1", "firstName": "x"})
    err = info.value
    assert err.status == status  # type: ignore[attr-defined]
    assert err.code == "bad.request"  # type: ignore[attr-defined]
    assert err.correlation_id == "corr-7"  # type: ignore[attr-defined]
    assert err.body["contextId"] == "ctx-9"  # type: ignore[attr-defined]
    assert "firstName" in str(err) and "corr-7" in str(err)
    assert sleeps.calls == []


def test_error_from_non_json_response() -> None:
    response = httpx.Response(502, text="<html>Bad gateway</html>", request=httpx.Request("GET", f"{BASE}/x"))
    err = error_from_response(response)
    assert isinstance(err, ServerError)
    assert err.status == 502 and "Bad gateway" in err.message
    assert err.body == {}


async def test_request_log_has_no_headers(api: FakeApi, caplog: pytest.LogCaptureFixture) -> None:
    sleeps = Sleeps()
    caplog.set_level(logging.DEBUG, logger="gcx")
    async with client(api, sleeps) as gc:
        await gc.me()
    lines = [r.getMessage() for r in caplog.records if r.name == "gcx.http"]
    assert any(
        "GET http://127.0.0.1:9/api/v2/organizations/me -> 200" in line and "corr-1" in line for line in lines
    )
    assert not any("Bearer" in line or "tok-" in line for line in lines)


async def test_query_parameters(api: FakeApi) -> None:
    seen: list[httpx.URL] = []

    @api.route("GET", CONTACTS)
    def search(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json={"entities": [], "total": 0, "pageCount": 0})

    async with client(api, Sleeps()) as gc:
        found = [
            c
            async for c in gc.contacts.search(
                "ada", expand=["externalOrganization"], division_ids=["d1", "d2"]
            )
        ]
    assert found == []
    params = seen[0].params
    assert params["q"] == "ada" and params["pageNumber"] == "1" and params["pageSize"] == "100"
    assert params.get_list("divisionIds") == ["d1", "d2"]
    assert params["expand"] == "externalOrganization"


async def test_raw_request_escape_hatch(api: FakeApi) -> None:
    @api.route("POST", "/api/v2/externalcontacts/contacts/search")
    def search(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"entities": [json_of(request)]})

    async with client(api, Sleeps()) as gc:
        data = await gc.request(
            "POST", "/api/v2/externalcontacts/contacts/search", json={"pageSize": 5}, idempotent=True
        )
    assert data == {"entities": [{"pageSize": 5}]}


async def test_undecodable_answer(api: FakeApi) -> None:
    def garbled(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=b"not gzip at all")

    api.routes[("GET", f"{CONTACTS}/c1")] = garbled
    api.routes[("POST", CONTACTS)] = garbled
    async with client(api, Sleeps()) as gc:
        with pytest.raises(TransportError, match="DecodingError"):
            await gc.contacts.get("c1")
        with pytest.raises(OutcomeUnknownError, match="may have been applied") as info:
            await gc.contacts.create({"firstName": "Ada"})
    assert len(api.calls("POST", CONTACTS)) == 1
    assert isinstance(info.value.cause, httpx.DecodingError)
    with pytest.raises(RuntimeError, match="not been set"):
        info.value.cause.request  # noqa: B018 - the cause keeps no request (its headers hold the token)


async def test_delete_retried_after_lost_answer_counts_404_as_deleted(api: FakeApi) -> None:
    sleeps = Sleeps()
    gone = {"message": "not found", "code": "not.found", "status": 404}
    scripted(api, "DELETE", f"{CONTACTS}/c1", [httpx.ReadTimeout("slow"), httpx.Response(404, json=gone)])
    scripted(api, "DELETE", f"{CONTACTS}/c2", [httpx.Response(404, json=gone)])
    async with client(api, sleeps) as gc:
        await gc.contacts.delete("c1")  # the first attempt deleted it
        with pytest.raises(NotFoundError):
            await gc.contacts.delete("c2")  # never existed


async def test_429_without_retry_after_uses_the_message(api: FakeApi) -> None:
    sleeps = Sleeps()
    scripted(api, "GET", f"{CONTACTS}/c1", [httpx.Response(429, json=RATE_BODY), ok_contact()])
    scripted(api, "GET", f"{CONTACTS}/c2", [httpx.Response(429, json=RATE_BODY)] * 4)
    policy = RetryPolicy(max_attempts=4, base=0.5, cap=4.0, deadline=60, max_rate_limited_attempts=4)
    async with client(api, sleeps, retry=policy) as gc:
        await gc.contacts.get("c1")
        assert sleeps.calls == [2.0]  # "Retry the request in [2] seconds"
        with pytest.raises(RateLimitedError) as info:
            await gc.contacts.get("c2")
    assert info.value.retry_after == 2.0


@pytest.mark.parametrize("bad_id", [".", "..", " .. ", "%2e%2e"])
async def test_dot_segment_ids_are_refused_before_sending(api: FakeApi, bad_id: str) -> None:
    # httpx removes dot segments from a URL: DELETE .../organizations/.. would reach another
    # endpoint (.../externalcontacts), and a proxy may decode %2e%2e into the same.
    sleeps = Sleeps()
    async with client(api, sleeps) as gc:
        with pytest.raises(ValidationError) as caught:
            await gc.organizations.delete(bad_id)
        assert caught.value.field == "id" and caught.value.record == "organization"
        with pytest.raises(ValidationError):
            await gc.contacts.identifiers.claim(bad_id, "ExternalId", "k-1")
        with pytest.raises(ValidationError):
            await gc.contacts.get(bad_id)
    assert [r for r in api.log if r.url.path != "/oauth/token"] == []


async def test_ids_with_slashes_stay_one_segment(api: FakeApi) -> None:
    async with client(api, Sleeps()) as gc:
        with pytest.raises(NotFoundError):
            await gc.contacts.get("a/../b")
    sent = [r.url.raw_path for r in api.log if r.url.path != "/oauth/token"]
    assert sent == [b"/api/v2/externalcontacts/contacts/a%2F..%2Fb"]


@pytest.mark.parametrize(
    ("value", "reason"),
    [(float("nan"), "not a JSON number"), (float("inf"), "not a JSON number"), (object(), "cannot be sent")],
)
async def test_values_json_cannot_carry_are_refused_naming_the_field(
    api: FakeApi, value: object, reason: str
) -> None:
    # NaN used to become null silently (the server then erased the field); an object raised
    # pydantic's serialization error instead of a gcx error.
    @api.route("POST", "/api/v2/externalcontacts/bulk/contacts/add")
    def bulk_add(request: httpx.Request) -> httpx.Response:
        results = [
            {"success": True, "status": 200, "entity": {**e, "id": f"id-{n}"}}
            for n, e in enumerate(json_of(request)["entities"])
        ]
        return httpx.Response(200, json={"results": results, "errorCount": 0, "errorIndexes": []})

    async with client(api, Sleeps()) as gc:
        with pytest.raises(ValidationError) as caught:
            await gc.contacts.create({"firstName": "Ada", "customFields": {"score": value}})
        assert caught.value.field == "customFields.score" and caught.value.record == "new contact"
        assert reason in str(caught.value)
        with pytest.raises(ValidationError) as caught:
            await gc.contacts.update({"id": "c1", "firstName": "Ada", "customFields": {"s": [1, value]}})
        assert caught.value.field == "customFields.s.1"
        bulk = await gc.contacts.bulk_add(
            [{"firstName": "A"}, {"firstName": "B", "customFields": {"x": value}}]
        )
        assert bulk[1].error is not None and bulk[1].error.code == "gcx.invalid"
        assert "customFields.x" in str(bulk[1].error)
        with pytest.raises(ValidationError) as caught:
            await gc.contacts.safe_update("c1", {"address.city": "Paris", "customFields.x": value})
        assert caught.value.field == "customFields.x" and caught.value.record == "contact c1"
        with pytest.raises(ValidationError) as caught:
            await gc.contacts.patch("c1", [{"field": "$.title", "value": [value], "action": "Update"}])
        assert caught.value.field in {"title", "title.0"}
    assert [r.url.path for r in api.log if r.url.path != "/oauth/token"] == [
        "/api/v2/externalcontacts/bulk/contacts/add"
    ]


async def test_answers_nested_too_deep_are_gcx_errors(api: FakeApi) -> None:
    # json.loads raises RecursionError (not ValueError) on such input: it used to escape raw.
    deep = b'{"a": ' * 100_000 + b"1" + b"}" * 100_000
    api.routes[("GET", f"{CONTACTS}/c1")] = lambda request: httpx.Response(200, content=deep)
    api.routes[("GET", f"{CONTACTS}/c2")] = lambda request: httpx.Response(400, content=deep)
    async with client(api, Sleeps()) as gc:
        with pytest.raises(ApiError, match="nested deeper than it can be read"):
            await gc.contacts.get("c1")
        with pytest.raises(BadRequestError) as caught:
            await gc.contacts.get("c2")
        assert caught.value.status == 400 and len(str(caught.value)) < 1000


def _nested(levels: int) -> str:
    return '{"a": ' * (levels - 1) + "{}" + "}" * (levels - 1)


@pytest.mark.parametrize("levels", [400, 3000])
async def test_parseable_answers_nested_past_what_a_record_can_be_are_api_errors(
    api: FakeApi, levels: int
) -> None:
    """Issue 11 item 6: a stored 400-level field made list, export and sync abort with pydantic's
    "Circular reference detected"; the client must say what is wrong instead."""
    record = '{"id": "c1", "firstName": "A", "customFields": ' + _nested(levels) + "}"
    body = record.encode()
    listing = ('{"entities": [' + record + '], "pageSize": 1, "pageNumber": 1, "total": 1}').encode()
    api.routes[("GET", f"{CONTACTS}/c1")] = lambda request: httpx.Response(200, content=body)
    api.routes[("GET", CONTACTS)] = lambda request: httpx.Response(200, content=listing)
    async with client(api, Sleeps()) as gc:
        with pytest.raises(ApiError, match="nested deeper than") as caught:
            await gc.contacts.get("c1")
        assert "Circular" not in str(caught.value)
        with pytest.raises(ApiError, match="nested deeper than"):
            async for _ in gc.contacts.search():
                pass


@pytest.mark.parametrize(
    ("status", "method", "maybe_applied", "ok", "expected"),
    [
        (200, "GET", False, (), Ending.OK),
        (204, "DELETE", True, (), Ending.OK),
        (404, "GET", False, (404,), Ending.OK),
        (404, "DELETE", True, (), Ending.DELETED_EARLIER),
        (404, "DELETE", False, (), None),
        (404, "GET", True, (), None),
        (500, "PUT", True, (), None),
        (429, "POST", False, (), None),
    ],
)
def test_which_answers_end_a_call(
    status: int, method: str, maybe_applied: bool, ok: tuple[int, ...], expected: Ending | None
) -> None:
    assert call_ends(status, method, maybe_applied=maybe_applied, ok_statuses=ok) is expected
