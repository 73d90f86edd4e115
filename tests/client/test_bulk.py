"""Bulk: result mapping (pure), chunking, 413 halving, partial failures, transient retries."""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gcx import AsyncClient, RetryPolicy
from gcx.errors import UnauthorizedError, ValidationError
from gcx.resources.bulk import INVALID, OUTCOME_UNKNOWN, UNMAPPED
from gcx.resources.bulk_mapping import _assign, _ContentIndex, map_by_content, map_by_id
from tests.client.conftest import BASE, CREDS, FakeApi, json_of

BULK_ORGS = "/api/v2/externalcontacts/bulk/organizations"
BULK_CONTACTS = "/api/v2/externalcontacts/bulk/contacts"


# -- pure mapping ----------------------------------------------------------------------


def test_map_by_id_in_any_order() -> None:
    results = [
        {"id": "c", "success": True, "entity": {"id": "c"}},
        {"success": False, "error": {"status": 404, "entity": {"id": "a"}}},
        {"id": "b", "success": True, "entity": {"id": "b"}},
        {"id": "zz", "success": True},
    ]
    assigned, unmatched = map_by_id(["a", "b", "c", "d"], results)
    assert [(r and r.get("id")) or (r and r["error"]["entity"]["id"]) for r in assigned] == [
        "a",
        "b",
        "c",
        None,
    ]
    assert unmatched == [{"id": "zz", "success": True}]


def test_map_by_id_duplicates_are_assigned_in_order() -> None:
    results = [{"id": "a", "success": True, "n": 1}, {"id": "a", "success": True, "n": 2}]
    assigned, unmatched = map_by_id(["a", "a"], results)
    assert [r["n"] for r in assigned if r] == [1, 2] and unmatched == []


def test_map_add_results_by_echo_key_and_fields() -> None:
    ext = {"externalSource": {"id": "src"}, "value": "k-2"}
    requests: list[dict[str, Any]] = [
        {"firstName": "Ada", "cellPhone": {"display": "+442079460958"}},
        {"firstName": "Bob", "externalIds": [ext]},
        {"firstName": "Bad", "workEmail": "nope"},
        {"firstName": "Cy"},
    ]
    results = [
        {"success": True, "entity": {"id": "id-cy", "firstName": "Cy", "createDate": "x"}},
        {
            "success": False,
            "error": {
                "status": 400,
                "message": "bad email",
                "entity": {"firstName": "Bad", "workEmail": "nope"},
            },
        },
        {
            "success": True,
            "entity": {
                "id": "id-ada",
                "firstName": "Ada",
                "cellPhone": {"display": "+44 20 7946 0958", "e164": "+442079460958", "countryCode": "GB"},
            },
        },
        {
            "success": True,
            "entity": {"id": "id-bob", "firstName": "Robert", "externalIds": [ext]},
        },  # renamed, same key
    ]
    assigned, unmatched = map_by_content(requests, results)
    assert unmatched == []
    ids = [(r.get("entity") or {}).get("id") if r else None for r in assigned]
    assert ids == ["id-ada", "id-bob", None, "id-cy"]
    assert assigned[2] is not None and assigned[2]["error"]["message"] == "bad email"


def test_add_answers_without_identifiers_map_to_requests_that_sent_some() -> None:
    """Genesys shows identifiers only with expand=identifiers, never in bulk answers, and claims
    nothing from a body's ``identifiers`` (docs/emulator.md): an answer without them still maps
    to the request that sent some, by its other fields; ``externalIds`` (a plain field, shown)
    still count."""
    ident = [{"type": "ExternalId", "value": "dup-1"}]
    ext = {"externalSource": {"id": "src"}, "value": "k-9"}
    requests: list[dict[str, Any]] = [
        {"firstName": "A", "identifiers": ident},
        {"firstName": "B"},
        {"firstName": "C", "identifiers": ident},
        {"firstName": "D", "externalIds": [ext], "identifiers": ident},
        {"firstName": "E", "externalIds": [ext]},
    ]
    results = [
        {"success": True, "entity": {"id": "id-c", "firstName": "C"}},
        {"success": True, "entity": {"id": "id-a", "firstName": "A"}},
        {"success": True, "entity": {"id": "id-b", "firstName": "B"}},
        {"success": True, "entity": {"id": "id-d", "firstName": "D", "externalIds": [ext]}},
        {"success": True, "entity": {"id": "id-e", "firstName": "E"}},  # lost its externalIds: not E's
    ]
    assigned, unmatched = map_by_content(requests, results)
    ids = [(r.get("entity") or {}).get("id") if r else None for r in assigned]
    assert ids == ["id-a", "id-b", "id-c", "id-d", None]
    assert [u["entity"]["id"] for u in unmatched] == ["id-e"]
    # identical but for their identifiers: never guessed
    twins = [
        {"firstName": "T", "identifiers": ident},
        {"firstName": "T", "identifiers": [{"type": "ExternalId", "value": "x"}]},
    ]
    answers = [
        {"success": True, "entity": {"id": "1", "firstName": "T"}},
        {"success": True, "entity": {"id": "2", "firstName": "T"}},
    ]
    assigned, unmatched = map_by_content(twins, answers)
    assert assigned == [None, None] and len(unmatched) == 2


def test_identical_requests_are_interchangeable() -> None:
    requests = [{"name": "Same"}, {"name": "Same"}]
    results = [
        {"success": True, "entity": {"id": "2", "name": "Same"}},
        {"success": True, "entity": {"id": "1", "name": "Same"}},
    ]
    assigned, unmatched = map_by_content(requests, results)
    assert sorted(r["entity"]["id"] for r in assigned if r) == ["1", "2"] and unmatched == []


def test_ambiguous_results_are_not_guessed() -> None:
    requests = [{"name": "A"}, {"name": "A", "industry": "x"}]
    # Both created records carry every field of both requests: cannot tell them apart.
    results = [
        {"success": True, "entity": {"id": "1", "name": "A", "industry": "x"}},
        {"success": True, "entity": {"id": "2", "name": "A", "industry": "x"}},
    ]
    assigned, unmatched = map_by_content(requests, results)
    assert assigned == [None, None]
    assert len(unmatched) == 2


def test_elimination_resolves_a_subset() -> None:
    requests = [{"name": "A"}, {"name": "A", "industry": "x"}]
    results = [
        {"success": True, "entity": {"id": "2", "name": "A", "industry": "x"}},  # fits both
        {"success": True, "entity": {"id": "1", "name": "A"}},  # fits only the first
    ]
    assigned, _ = map_by_content(requests, results)
    assert [r["entity"]["id"] for r in assigned if r] == ["1", "2"]


# -- against a fake bulk API -------------------------------------------------------------


class BulkServer:
    """Bulk endpoints with a size limit, shuffled answers and scripted per-item failures."""

    def __init__(self, api: FakeApi, *, max_size: int = 200, seed: int = 3) -> None:
        self.max_size = max_size
        self.sizes: list[int] = []
        self.rng = random.Random(seed)
        self.transient: dict[str, int] = {}  # id -> remaining transient failures
        self.store: dict[str, dict[str, Any]] = {}
        self.next_id = 0
        self.drop_connection_on: set[int] = set()  # request numbers (1-based) that lose their answer
        for kind in ("organizations", "contacts"):
            base = f"/api/v2/externalcontacts/bulk/{kind}"
            api.routes[("POST", f"{base}/add")] = self.add
            api.routes[("POST", base)] = self.fetch
            api.routes[("POST", f"{base}/update")] = self.update
            api.routes[("POST", f"{base}/remove")] = self.remove

    def _gate(self, request: httpx.Request) -> list[dict[str, Any]] | httpx.Response:
        entities = json_of(request)["entities"]
        self.sizes.append(len(entities))
        if len(self.sizes) in self.drop_connection_on:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        if len(entities) > self.max_size:
            return httpx.Response(
                413, json={"message": "too many", "code": "request.entity.too.large", "status": 413}
            )
        return list(entities)

    def _answer(self, results: list[dict[str, Any]]) -> httpx.Response:
        self.rng.shuffle(results)
        errors = [i for i, r in enumerate(results) if not r["success"]]
        return httpx.Response(
            200, json={"results": results, "errorCount": len(errors), "errorIndexes": errors}
        )

    def add(self, request: httpx.Request) -> httpx.Response:
        gate = self._gate(request)
        if isinstance(gate, httpx.Response):
            return gate
        results = []
        for item in gate:
            if str(item.get("name", item.get("firstName", ""))).startswith("bad"):
                results.append(
                    {
                        "success": False,
                        "status": 400,
                        "error": {
                            "code": "bad.request",
                            "message": "invalid name",
                            "status": 400,
                            "retryable": False,
                            "entity": item,
                        },
                    }
                )
                continue
            self.next_id += 1
            entity = {**item, "id": f"id-{self.next_id}", "createDate": "2026-01-01T00:00:00Z"}
            self.store[entity["id"]] = entity
            results.append({"id": entity["id"], "success": True, "entity": entity, "status": 200})
        return self._answer(results)

    def _by_id(self, request: httpx.Request, op: str) -> httpx.Response:
        gate = self._gate(request)
        if isinstance(gate, httpx.Response):
            return gate
        results = []
        for item in gate:
            rid = item["id"]
            if self.transient.get(rid, 0) > 0:
                self.transient[rid] -= 1
                results.append(
                    {
                        "id": rid,
                        "success": False,
                        "error": {
                            "status": 503,
                            "code": "unavailable",
                            "message": "busy",
                            "retryable": True,
                            "entity": {"id": rid},
                        },
                    }
                )
            elif rid not in self.store:
                results.append(
                    {
                        "id": rid,
                        "success": False,
                        "error": {
                            "status": 404,
                            "code": "not.found",
                            "message": "no such record",
                            "entity": {"id": rid},
                        },
                    }
                )
            else:
                if op == "update":
                    self.store[rid] = dict(item)
                if op == "remove":
                    del self.store[rid]
                    results.append({"id": rid, "success": True})
                    continue
                results.append({"id": rid, "success": True, "entity": self.store[rid]})
        return self._answer(results)

    def fetch(self, request: httpx.Request) -> httpx.Response:
        return self._by_id(request, "fetch")

    def update(self, request: httpx.Request) -> httpx.Response:
        return self._by_id(request, "update")

    def remove(self, request: httpx.Request) -> httpx.Response:
        return self._by_id(request, "remove")


async def no_sleep(_: float) -> None:
    return None


def client(api: FakeApi, **kw: Any) -> AsyncClient:
    kw.setdefault("retry", RetryPolicy(max_attempts=3, base=0.01, cap=0.01))
    return AsyncClient(BASE, **CREDS, transport=api.transport(), rate_limit=0, sleep=no_sleep, **kw)


async def test_bulk_add_chunks_and_maps_in_request_order(api: FakeApi) -> None:
    server = BulkServer(api)
    orgs = [{"name": f"Org {i}"} if i % 7 else {"name": f"bad {i}"} for i in range(450)]
    async with client(api, bulk_batch_size=200) as gc:
        result = await gc.organizations.bulk_add(orgs)
    assert server.sizes == [200, 200, 50]
    assert result.requests == 3 and len(result) == 450
    for item in result:
        assert item.request is orgs[item.index]
        if item.index % 7:
            assert item.ok and item.entity is not None and item.entity.name == f"Org {item.index}"
            assert item.id == item.entity.id
        else:
            assert not item.ok and item.error is not None
            assert item.error.status == 400 and item.error.message == "invalid name"
    assert len(result.failed) == len(range(0, 450, 7))
    assert result.unmatched == []


async def test_413_halves_the_chunk_down_to_what_fits(api: FakeApi) -> None:
    server = BulkServer(api, max_size=30)
    async with client(api, bulk_batch_size=100) as gc:
        result = await gc.organizations.bulk_add([{"name": f"Org {i}"} for i in range(130)])
    assert result.ok
    # 100 -> 413, 50 -> 413, 25 fits; later chunks use 25 straight away
    assert server.sizes[:3] == [100, 50, 25]
    assert all(s <= 25 for s in server.sizes[3:])
    assert sum(s for s in server.sizes if s <= 30) == 130


async def test_413_on_a_single_item_fails_that_item(api: FakeApi) -> None:
    BulkServer(api, max_size=0)
    async with client(api) as gc:
        result = await gc.organizations.bulk_add([{"name": "A"}, {"name": "B"}])
    assert [i.error.status for i in result if i.error] == [413, 413]


async def test_bulk_add_lost_answer_marks_chunk_outcome_unknown(api: FakeApi) -> None:
    server = BulkServer(api)
    server.drop_connection_on = {2}
    async with client(api, bulk_batch_size=10) as gc:
        result = await gc.organizations.bulk_add([{"name": f"Org {i}"} for i in range(30)])
    unknown = [i.index for i in result if i.error and i.error.code == OUTCOME_UNKNOWN]
    assert unknown == list(range(10, 20))
    assert all(i.outcome_unknown for i in result.failed)
    assert len(result.succeeded) == 20
    assert server.sizes == [10, 10, 10]  # the lost chunk was not re-sent


async def test_bulk_add_validates_locally(api: FakeApi) -> None:
    server = BulkServer(api)
    async with client(api) as gc:
        result = await gc.organizations.bulk_add(
            [{"name": "A"}, {"industry": "no name"}, {"name": "C", "employeeCount": "many"}]
        )
    assert [i.ok for i in result] == [True, False, False]
    assert (
        result[1].error is not None
        and result[1].error.code == INVALID
        and "organization #1" in result[1].error.message
    )
    assert result[2].error is not None and "employeeCount" in result[2].error.message
    assert server.sizes == [1]


async def test_bulk_items_refused_locally_are_named_by_their_place(api: FakeApi) -> None:
    """Contacts have no checks of a new record of their own (their items are not named unless
    one is refused); organizations, checked bodies or not, are each checked and named."""
    server = BulkServer(api)
    async with client(api) as gc:
        added = await gc.contacts.bulk_add([{"firstName": "A"}, {"firstName": "B", "cellPhone": 7}])
        updated = await gc.contacts.bulk_update(
            [{"id": "x", "firstName": "A"}, {"firstName": "B"}], checked=True
        )
        orgs = await gc.organizations.bulk_add([{"name": "A"}, {"name": " "}], checked=True)
    assert gc.contacts._bulk._check_new is None and gc.organizations._bulk._check_new is not None
    assert added[0].ok and added[1].error is not None and added[1].error.code == INVALID
    assert "contact #1" in added[1].error.message
    assert updated[1].error is not None
    assert updated[1].error.message == "contact #1: an update needs the record's id"
    assert updated[1].error.details == [{"fieldName": "id"}]
    assert orgs[1].error is not None
    assert orgs[1].error.message == "organization #1: an organization needs a name"
    assert orgs[1].error.details == [{"fieldName": "name"}]
    assert server.sizes == [1, 1, 1]


async def test_checked_bodies_are_sent_as_given_and_entities_parse_on_access(api: FakeApi) -> None:
    server = BulkServer(api)
    bodies = [{"name": "A", "customFields": {"tier": "gold"}}, {"industry": "no name"}]
    async with client(api) as gc:
        result = await gc.organizations.bulk_add(bodies, checked=True)
    # a checked body skips the model round trip, but the required fields are still checked
    assert [i.ok for i in result] == [True, False]
    assert result[1].error is not None and result[1].error.code == INVALID
    assert server.sizes == [1]
    item = result[0]
    assert item.raw is not None and item.raw["name"] == "A" and item.raw["id"] == item.id
    assert item._entity is None  # not parsed until asked for
    assert item.entity is not None and item.entity.name == "A" and item.entity.id == item.id


async def test_bulk_get_update_remove_with_missing_and_transient(api: FakeApi) -> None:
    server = BulkServer(api)
    async with client(api, bulk_batch_size=4) as gc:
        added = await gc.contacts.bulk_add(
            [{"firstName": f"P{i}", "externalIds": [{"value": f"k{i}"}]} for i in range(10)]
        )
        ids = [i.id for i in added]
        assert all(ids)
        server.transient = {ids[3]: 1, ids[7]: 5}  # one recovers, one keeps failing
        fetched = await gc.contacts.bulk_get([*ids, "missing"])
        assert [i.ok for i in fetched] == [True] * 7 + [False] + [True, True, False]
        assert (
            fetched[3].attempts == 2 and fetched[3].entity is not None and fetched[3].entity.firstName == "P3"
        )
        assert fetched[7].error is not None and fetched[7].error.status == 503 and fetched[7].attempts == 3
        assert fetched[10].error is not None and fetched[10].error.status == 404
        assert [i.id for i in fetched] == [*ids, "missing"]
        assert [i.entity.id for i in fetched.succeeded if i.entity] == [
            x for n, x in enumerate(ids) if n != 7
        ]

        server.transient = {}
        updates = [{**server.store[x], "title": "Dr"} for x in ids[:5]]
        updated = await gc.contacts.bulk_update(updates)
        assert updated.ok and all(i.entity and i.entity.title == "Dr" for i in updated)
        removed = await gc.contacts.bulk_remove([*ids[:3], "missing"])
        assert [i.ok for i in removed] == [True, True, True, False]
        assert set(server.store) == set(ids[3:])


async def test_bulk_update_requires_ids(api: FakeApi) -> None:
    BulkServer(api)
    async with client(api) as gc:
        result = await gc.contacts.bulk_update([{"firstName": "no id"}])
    assert result[0].error is not None and result[0].error.code == INVALID


async def test_unmapped_items_are_reported(api: FakeApi) -> None:
    @api.route("POST", f"{BULK_ORGS}/add")
    def add(request: httpx.Request) -> httpx.Response:
        # The server answers with records that match none of the requests.
        n = len(json_of(request)["entities"])
        return httpx.Response(
            200,
            json={"results": [{"success": True, "entity": {"id": f"x{i}", "name": "?"}} for i in range(n)]},
        )

    async with client(api) as gc:
        result = await gc.organizations.bulk_add([{"name": "A"}, {"name": "B"}])
    assert all(not i.ok and not i.mapped and i.error and i.error.code == UNMAPPED for i in result)
    assert len(result.unmatched) == 2


async def test_systemic_errors_abort(api: FakeApi) -> None:
    @api.route("POST", f"{BULK_ORGS}/add")
    def add(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"message": "no", "status": 401})

    async with client(api) as gc:
        with pytest.raises(UnauthorizedError):
            await gc.organizations.bulk_add([{"name": "A"}])


async def test_bulk_enrich_chunks_of_ten(api: FakeApi) -> None:
    sizes: list[int] = []

    @api.route("POST", f"{BULK_CONTACTS}/enrich")
    def enrich(request: httpx.Request) -> httpx.Response:
        ops = json_of(request)["entities"]
        sizes.append(len(ops))
        assert request.url.params["dryRun"] == "true"
        results = []
        for op in reversed(ops):
            if op["contact"]["firstName"] == "fail":
                results.append({"success": False, "error": {"status": 400, "message": "no", "entity": op}})
            else:
                results.append(
                    {"success": True, "entity": {"id": "e-" + op["contact"]["firstName"], **op["contact"]}}
                )
        return httpx.Response(200, json={"results": results})

    ops = [
        {
            "action": "Upsert",
            "matchingIdentifiers": [{"type": "ExternalId", "value": f"v{i}"}],
            "contact": {"firstName": "fail" if i == 4 else f"n{i}"},
        }
        for i in range(23)
    ]
    async with client(api) as gc:
        result = await gc.contacts.bulk_enrich(ops, dry_run=True)
        with pytest.raises(ValidationError):
            await gc.contacts.bulk_enrich(ops, batch_size=11)
    assert sizes == [10, 10, 3]
    assert [i.ok for i in result] == [n != 4 for n in range(23)]
    assert all(i.entity.id == f"e-n{i.index}" for i in result if i.entity)


async def test_enrich_created_flag(api: FakeApi) -> None:
    statuses = [201, 200]

    @api.route("POST", "/api/v2/externalcontacts/organizations/enrich")
    def enrich(request: httpx.Request) -> httpx.Response:
        body = json_of(request)
        return httpx.Response(statuses.pop(0), json={"id": "o1", **body["externalOrganization"]})

    req = {
        "action": "Upsert",
        "matchingIdentifiers": [{"type": "ExternalId", "value": "k"}],
        "externalOrganization": {"name": "Acme"},
    }
    async with client(api) as gc:
        first = await gc.organizations.enrich(req)
        second = await gc.organizations.enrich(req)
    assert first.created and not second.created and first.entity.name == "Acme"


async def test_bulk_remove_replayed_after_lost_answer(api: FakeApi) -> None:
    server = BulkServer(api)
    async with client(api) as gc:
        added = await gc.organizations.bulk_add([{"name": f"O{i}"} for i in range(4)])
        ids = [i.id for i in added if i.id]
        original = server.remove

        def flaky(request: httpx.Request) -> httpx.Response:
            api.routes[("POST", f"{BULK_ORGS}/remove")] = original
            original(request)  # applied...
            raise httpx.ReadTimeout("...but the answer was lost")

        api.routes[("POST", f"{BULK_ORGS}/remove")] = flaky
        result = await gc.organizations.bulk_remove([*ids, "never-existed"])
    # The replay finds the four records gone: deleted by the first attempt. The fifth never
    # existed, but after a lost answer the two cases cannot be told apart: both count as deleted.
    assert result.ok and [i.id for i in result] == [*ids, "never-existed"]
    assert server.store == {}


async def test_bulk_inputs_must_be_lists(api: FakeApi) -> None:
    BulkServer(api)
    async with client(api) as gc:
        with pytest.raises(ValidationError, match="wrap it"):
            await gc.contacts.bulk_get("c1")  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="records must be a list"):
            await gc.contacts.bulk_add({"firstName": "x"})  # type: ignore[arg-type]
        result = await gc.contacts.bulk_add({"firstName": f"g{i}"} for i in range(3))  # type: ignore[arg-type]
        assert result.ok and len(result) == 3


# -- property: mapping is never wrong ---------------------------------------------------------


small_records = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "firstName": st.sampled_from(["A", "B"]),
            "title": st.sampled_from(["Dr", "Mr"]),
            "cellPhone": st.sampled_from([{"display": "+442079460958"}, {"display": "+14155550100"}]),
            "externalIds": st.sampled_from([[{"externalSource": {"id": "s"}, "value": v}] for v in "xyz"]),
        },
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(small_records, st.randoms(use_true_random=False), st.sets(st.integers(0, 11)))
def test_content_mapping_is_never_wrong(
    records: list[dict[str, Any]], rnd: random.Random, failing: set[int]
) -> None:
    results = []
    origin: dict[int, int] = {}  # id(result) -> request index
    for i, rec in enumerate(records):
        if i in failing:
            result: dict[str, Any] = {
                "success": False,
                "error": {"status": 400, "message": "no", "entity": dict(rec)},
            }
        else:
            entity = {**rec, "id": f"id-{i}", "createDate": "2026-01-01"}
            if "cellPhone" in rec:  # the server rewrites phones
                e164 = rec["cellPhone"]["display"]
                entity["cellPhone"] = {"display": e164[:3] + " " + e164[3:], "e164": e164, "userInput": e164}
            result = {"success": True, "entity": entity}
        origin[id(result)] = i
        results.append(result)
    rnd.shuffle(results)
    assigned, unmatched = map_by_content(records, results)
    assert len([a for a in assigned if a is not None]) + len(unmatched) == len(records)
    for i, result in enumerate(assigned):
        if result is not None:
            # Assigned to the request that produced it, or to an identical one.
            assert records[origin[id(result)]] == records[i]


_key_entries = st.lists(
    st.fixed_dictionaries(
        {"value": st.sampled_from(["k1", " k1", "k2", ""])},
        optional={
            "externalSource": st.sampled_from([{"id": "s"}, {"id": "t"}, {}, "s"]),
            "type": st.sampled_from(["ExternalId", "Email"]),
        },
    ),
    max_size=3,
)
keyed_records = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "firstName": st.sampled_from(["A", "B"]),
            "externalIds": _key_entries,
            "identifiers": _key_entries,
        },
    ),
    min_size=1,
    max_size=8,
)


def _reference_keys(record: dict[str, Any], *, identifiers: bool) -> set[tuple[str, str]]:
    """ExternalId keys as the index read them before it was built per kind of answer."""
    found = set()
    for name in ("identifiers", "externalIds") if identifiers else ("externalIds",):
        for entry in record.get(name) or []:
            if entry.get("value") and (name == "externalIds" or entry.get("type") == "ExternalId"):
                src = entry.get("externalSource")
                found.add(
                    (str((src.get("id") if isinstance(src, dict) else None) or ""), entry["value"].strip())
                )
    return found


@settings(max_examples=200, deadline=None)
@given(keyed_records, keyed_records)
def test_content_index_keys_agree_with_their_definition(
    requests: list[dict[str, Any]], answers: list[dict[str, Any]]
) -> None:
    """Requests with keys, all held by the answer (``plain``: an answer that shows no
    identifiers holds their ``externalIds`` keys only), whatever the index reads first."""
    index = _ContentIndex(requests)
    for whole in answers:
        for plain in (True, False):
            shown = {k: v for k, v in whole.items() if k != "identifiers"} if plain else whole
            held = _reference_keys(shown, identifiers=True)
            own = [_reference_keys(r, identifiers=not plain) for r in requests]
            assert index.keyed(shown, plain=plain) == [i for i, k in enumerate(own) if k and k <= held]
            assert [index.unkeyed(i, plain=plain) for i in range(len(requests))] == [not k for k in own]


def _reference_assign(
    candidates: list[tuple[dict[str, Any], list[int]]], n: int, fingerprint: Any
) -> tuple[list[dict[str, Any] | None], list[dict[str, Any]]]:
    """The assignment rounds as they were before a single candidate skipped the list of free
    ones (written as rounds over what is still undecided)."""
    assigned: list[dict[str, Any] | None] = [None] * n
    unmatched: list[dict[str, Any]] = []
    undecided = list(candidates)
    while undecided:
        later = []
        for result, cands in undecided:
            free = [i for i in cands if assigned[i] is None]
            if not free:
                unmatched.append(result)
            elif len({fingerprint(i) for i in free}) == 1:
                assigned[free[0]] = result
            else:
                later.append((result, cands))
        if len(later) == len(undecided):  # no result settled in this round: none will be
            unmatched.extend(result for result, _ in later)
            break
        undecided = later
    return assigned, unmatched


@settings(max_examples=400, deadline=None)
@given(
    st.integers(1, 6).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.lists(st.lists(st.integers(0, n - 1), max_size=4), max_size=8),
            st.lists(st.sampled_from("ab"), min_size=n, max_size=n),
        )
    )
)
def test_assignment_agrees_with_the_rounds_it_replaces(case: tuple[int, list[list[int]], list[str]]) -> None:
    """Single candidates (taken, or already taken), repeated ones, interchangeable twins, none."""
    n, cand_lists, prints = case
    candidates = [({"result": k}, cands) for k, cands in enumerate(cand_lists)]
    got = _assign(candidates, [None] * n, [], prints.__getitem__)
    want = _reference_assign(candidates, n, prints.__getitem__)
    assert [id(r) if r is not None else None for r in got[0]] == [
        id(r) if r is not None else None for r in want[0]
    ]
    assert [id(r) for r in got[1]] == [id(r) for r in want[1]]
