"""A bulk add read only as far as matching needs (``entities=False``, gcx.resources.bulk_lean)
gives the items the full path gives (``entities=True``), whatever the answer."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import httpx
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from gcx.resources.bulk import BulkResult
from gcx.resources.bulk_lean import read_add_answer
from gcx.resources.contacts import Contacts
from gcx.resources.core import MAX_ANSWER_DEPTH, Core
from gcx.retry import RetryPolicy

SID = "6cdc82a5-32d0-4616-89e8-2cbdb9efc19a"


class Answers:
    """A requester answering each bulk add with the next scripted body (bytes)."""

    def __init__(self, bodies: list[bytes]) -> None:
        self.bodies = bodies
        self.sent = 0

    async def request(self, method: str, path: str, **_: Any) -> httpx.Response:
        body = self.bodies[self.sent % len(self.bodies)]
        self.sent += 1
        return httpx.Response(200, content=body, request=httpx.Request(method, "http://gcx.test" + path))


def _add(requests: list[dict[str, Any]], answers: list[bytes], *, entities: bool, size: int = 200) -> Any:
    core = Core(requester=Answers(answers), bulk_batch_size=size, retry=RetryPolicy(), sleep=asyncio.sleep)  # type: ignore[arg-type]
    contacts = Contacts(core)
    return asyncio.run(contacts.bulk_add(copy.deepcopy(requests), checked=True, entities=entities))


def _outcome(result: BulkResult[Any]) -> list[tuple[Any, ...]]:
    return [(i.index, i.ok, i.id, i.error, i.attempts, i.mapped) for i in result.items]


def assert_same(requests: list[dict[str, Any]], answers: list[bytes], size: int = 200) -> None:
    full = _add(requests, answers, entities=True, size=size)
    lean = _add(requests, answers, entities=False, size=size)
    assert _outcome(lean) == _outcome(full)
    assert lean.unmatched == full.unmatched
    assert lean.requests == full.requests
    assert all(i.raw is None and i.entity is None for i in lean.items)


def request(key: str | None, n: int, *, second: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "firstName": f"Ada{n}",
        "lastName": "Lovelace",
        "cellPhone": {"display": "+12000000000"},
    }
    if key is not None:
        body["externalIds"] = [{"externalSource": {"id": SID}, "value": key}]
        body["identifiers"] = [{"type": "ExternalId", "value": key, "externalSource": {"id": SID}}]
        if second is not None:
            body["externalIds"].append({"externalSource": {"id": SID}, "value": second})
    return body


def created(body: dict[str, Any], n: int) -> dict[str, Any]:
    """What the server answers for ``body``: the record with the fields it fills."""
    entity = {k: v for k, v in body.items() if k != "identifiers"}
    entity["id"] = f"id-{n}"
    entity["cellPhone"] = {**body.get("cellPhone", {}), "e164": "+12000000000", "countryCode": "1"}
    entity["division"] = {"id": "d", "name": "Home", "selfUri": "/d"}
    entity["externalIds"] = [
        {"externalSource": {"id": e["externalSource"]["id"], "selfUri": "/s"}, "value": e["value"]}
        for e in body.get("externalIds", [])
    ]
    entity["externalOrganization"] = {
        "id": "o",
        "name": "Org",
        "externalIds": [{"externalSource": {"id": SID, "selfUri": "/s"}, "value": "org-1"}],
        "division": {"id": "d", "name": "Home", "selfUri": "/d"},
    }
    entity["createDate"] = entity["modifyDate"] = "2026-12-01T13:20:48.840Z"
    entity["selfUri"] = f"/api/v2/externalcontacts/contacts/id-{n}"
    return {"success": True, "status": 200, "id": f"id-{n}", "entity": entity}


def plain(requests: list[dict[str, Any]], order: list[int] | None = None) -> dict[str, Any]:
    order = list(range(len(requests))) if order is None else order
    results = [created(requests[i], i) for i in order]
    return {"results": results, "errorCount": 0, "errorIndexes": []}


def test_a_plain_answer_is_read_lean_and_gives_the_same_items() -> None:
    requests = [request(f"c-{n}", n) for n in range(6)]
    body = plain(requests, [3, 1, 5, 0, 2, 4])
    assigned = read_add_answer(orjson.dumps(body), requests, MAX_ANSWER_DEPTH)
    assert assigned is not None
    assert [a and a["id"] for a in assigned] == [f"id-{n}" for n in range(6)]
    assert_same(requests, [orjson.dumps(body)])
    assert_same(requests, [orjson.dumps(plain(requests[:3])), orjson.dumps(plain(requests[3:]))], size=3)


def test_what_the_lean_reading_leaves_to_the_full_path() -> None:
    requests = [request(f"c-{n}", n) for n in range(3)] + [request(None, 3)]
    base = plain(requests[:3])

    def variant(change: Any) -> bytes:
        body = copy.deepcopy(base)
        out = change(body)
        return out if isinstance(out, bytes) else orjson.dumps(body)

    deep: Any = "x"
    for _ in range(MAX_ANSWER_DEPTH + 5):
        deep = [deep]
    cases = [
        variant(lambda b: b["results"][0].update(success=False, error={"message": "no", "status": 400})),
        variant(lambda b: b["results"][0].update(error={})),
        variant(lambda b: b["results"][0]["entity"].update(identifiers=[])),
        variant(lambda b: b["results"][0]["entity"].update(customFields={"deep": deep})),
        variant(lambda b: b.update(extra=deep)),
        variant(lambda b: b["results"][1]["entity"].update(externalIds=[])),  # matched by its fields
        variant(lambda b: b["results"].append(copy.deepcopy(b["results"][0]))),  # a duplicate
        variant(lambda b: b["results"][2].update(id=7)),
        variant(lambda b: b["results"][2].update(success=False)),
        variant(lambda b: b["results"][2].update(success=None)),
        variant(lambda b: b["results"][2].update(id="")),
        variant(lambda b: b["results"][2].update(id="r")),  # the result's id before its record's
        variant(lambda b: b["results"][2]["entity"].update(id="")),
        variant(lambda b: b["results"][2].update(id=None) or b["results"][2]["entity"].update(id=None)),
        variant(lambda b: b["results"][0]["entity"].update(firstName="Ada\u00e9")),
        variant(lambda b: orjson.dumps(b).replace(b"Ada1", b"Ad\xff1")),  # not UTF-8
        variant(lambda b: orjson.dumps(b).replace(b'"status":200', b'"status":NaN', 1)),
        variant(lambda b: orjson.dumps(b).replace(b'"Ada0"', b'"Ada0","firstName":"Bob"', 1)),
        variant(lambda b: orjson.dumps(b)[:-1]),
        b"",
        b"[]",
    ]
    for answer in cases:
        assert_same(requests, [answer])


def test_requests_sharing_a_key_are_told_apart_by_the_full_path() -> None:
    requests = [request("c-1", 0), request("c-1", 1), request("c-2", 2, second="c-3")]
    answer = {"results": [created(requests[1], 1), created(requests[2], 2)]}
    answer["results"][1]["id"] = ""  # the record's own id names it
    assert read_add_answer(orjson.dumps(answer), requests, MAX_ANSWER_DEPTH) is None
    full = _add(requests, [orjson.dumps(answer)], entities=True)
    assert [i.id for i in full.items] == [None, "id-1", "id-2"]
    assert_same(requests, [orjson.dumps(answer)])
    fewer = created(requests[2], 2)
    fewer["entity"]["externalIds"] = fewer["entity"]["externalIds"][:1]  # c-2 only: not request 2's keys
    assert read_add_answer(orjson.dumps({"results": [fewer]}), requests, MAX_ANSWER_DEPTH) is None
    assert_same(requests, [orjson.dumps({"results": [fewer]})])


def test_a_too_deep_answer_fails_the_chunk_as_before() -> None:
    requests = [request(f"c-{n}", n) for n in range(2)]
    body = plain(requests)
    deep: Any = {}
    for _ in range(MAX_ANSWER_DEPTH):
        deep = {"a": deep}
    body["results"][0]["entity"]["customFields"] = deep
    lean = _add(requests, [orjson.dumps(body)], entities=False)
    assert not lean.ok and "nested deeper" in str(lean.items[0].error)
    assert_same(requests, [orjson.dumps(body)])


KEYS = st.sampled_from(["c-1", "c-2", " c-1", "c-3", "c-4", "c-5", ""])


@st.composite
def exchanges(draw: st.DrawFn) -> tuple[list[dict[str, Any]], bytes]:
    n = draw(st.integers(1, 6))
    requests = []
    for i in range(n):
        key = draw(st.one_of(KEYS, KEYS, KEYS, st.none()))
        second = draw(st.one_of(st.none(), st.none(), KEYS)) if key is not None else None
        requests.append(request(key, draw(st.integers(0, 2)) if draw(st.booleans()) else i, second=second))
    order = draw(st.permutations(range(n)))[: draw(st.integers(0, n))]
    if draw(st.integers(0, 5)) == 0:
        order.append(draw(st.integers(0, n - 1)))  # a request answered twice
    results = [created(requests[i], i) for i in order]
    for result in results:
        entity = result["entity"]
        change = draw(st.integers(0, 40))  # mostly plain: the lean reading is tried
        if change == 1:
            result.update(success=False, error={"message": "bad", "status": 400, "entity": requests[0]})
        elif change == 2:
            entity["externalIds"] = draw(st.lists(st.fixed_dictionaries({"value": KEYS}), max_size=2))
        elif change == 3:
            entity["externalIds"] = [{"externalSource": None, "value": draw(KEYS)}]
        elif change == 4:
            entity["identifiers"] = draw(
                st.sampled_from([None, [], [{"type": "ExternalId", "value": "c-1"}]])
            )
        elif change == 5:
            result["id"] = draw(st.sampled_from(["", None, 5, "r"]))
            entity["id"] = draw(st.sampled_from(["", None, "e"]))
        elif change == 6:
            entity[draw(st.sampled_from(["twitterId", "tags", "firstName"]))] = draw(
                st.sampled_from([{"a": [[1]]}, ["t"], 3, None])
            )
        elif change == 7:
            result["success"] = draw(st.sampled_from([1, "yes", None, False]))
        elif change == 8:
            del result["entity"]
        elif change == 9:
            entity["externalIds"] = ["c-1"]
        elif change == 10:
            entity["externalIds"] = entity["externalIds"][-1:]  # shows fewer keys than were sent
    body: Any = {"results": results}
    if draw(st.booleans()):
        body.update(errorCount=0, errorIndexes=[])
    if draw(st.integers(0, 19)) == 0:
        body = draw(st.sampled_from([results, {"results": None}, {"results": results, "more": {"a": 1}}]))
    return requests, json.dumps(body, ensure_ascii=draw(st.booleans())).encode()


@settings(max_examples=300, deadline=None)
@given(exchanges())
def test_lean_reading_agrees_with_the_full_path(case: tuple[list[dict[str, Any]], bytes]) -> None:
    requests, answer = case
    assert_same(requests, [answer])
