"""The pure planner: three-way diff, moves, adoption, bodies, remote index, prune guard."""

from __future__ import annotations

from typing import Any

import pytest

from gcx.sync.errors import PruneRefusedError
from gcx.sync.packing import pack_json
from gcx.sync.plan import (
    After,
    applied_after,
    applied_hash,
    create_body,
    decide,
    key_of,
    prune_candidates,
    update_body,
)
from gcx.sync.records import Record
from gcx.sync.rows import JsonObject, LedgerEntry, PackedObject, json_text

SRC = "src-1"


def rec(values: dict[str, Any], org: str | None = "o-1", key: str = "c-1") -> Record:
    return Record("contact", key, values, org_key=org, manages_org=True, line=2)


def entry(applied: dict[str, Any], gid: str = "g-1", key: str = "c-1") -> LedgerEntry:
    return LedgerEntry("contact", key, gid, "h", applied, applied.get("organization"), True)


def remote(**fields: Any) -> dict[str, Any]:
    return {"id": "g-1", "externalIds": [{"externalSource": {"id": SRC}, "value": "c-1"}], **fields}


CASES = [
    # (name, source values, ledger applied (None = unknown), remote fields, policy, op, changed, conflicts)
    ("create", {"firstName": "A"}, None, None, "source-wins", "create", [], []),
    (
        "unchanged",
        {"firstName": "A"},
        {"firstName": "A"},
        {"firstName": "A"},
        "source-wins",
        "unchanged",
        [],
        [],
    ),
    (
        "source changed",
        {"firstName": "B"},
        {"firstName": "A"},
        {"firstName": "A"},
        "source-wins",
        "update",
        ["firstName"],
        [],
    ),
    (
        "remote edited, source same: conflict, source wins",
        {"firstName": "A"},
        {"firstName": "A"},
        {"firstName": "Z"},
        "source-wins",
        "update",
        ["firstName"],
        ["firstName"],
    ),
    (
        "remote edited, report",
        {"firstName": "A"},
        {"firstName": "A"},
        {"firstName": "Z"},
        "report",
        "unchanged",
        [],
        ["firstName"],
    ),
    (
        "both changed to the same value",
        {"firstName": "Z"},
        {"firstName": "A"},
        {"firstName": "Z"},
        "report",
        "unchanged",
        [],
        [],
    ),
    (
        "empty source, gcx never wrote: keep remote",
        {"title": None},
        {"title": None},
        {"title": "CEO"},
        "source-wins",
        "unchanged",
        [],
        [],
    ),
    (
        "empty source, gcx wrote it: remove",
        {"title": None},
        {"title": "CEO"},
        {"title": "CEO"},
        "source-wins",
        "update",
        ["title"],
        [],
    ),
    (
        "adoption without ledger: source wins, no conflict",
        {"firstName": "A"},
        None,
        {"firstName": "Z"},
        "report",
        "update",
        ["firstName"],
        [],
    ),
    (
        "phone display rewritten by server is not a change",
        {"cellPhone": "+15550100100"},
        {"cellPhone": "+15550100100"},
        {"cellPhone": {"display": "+1 555-010-0100", "e164": "+15550100100"}},
        "source-wins",
        "unchanged",
        [],
        [],
    ),
    (
        "email case is not a change",
        {"workEmail": "jane@x.com"},
        {"workEmail": "jane@x.com"},
        {"workEmail": "Jane@X.com"},
        "source-wins",
        "unchanged",
        [],
        [],
    ),
]


@pytest.mark.parametrize(
    ("name", "values", "applied", "remote_fields", "policy", "op", "changed", "conflicts"),
    CASES,
    ids=[c[0] for c in CASES],
)
def test_decide(
    name: str,
    values: dict[str, Any],
    applied: dict[str, Any] | None,
    remote_fields: dict[str, Any] | None,
    policy: Any,
    op: str,
    changed: list[str],
    conflicts: list[str],
) -> None:
    record = Record("contact", "c-1", values, line=2)
    ent = entry(applied) if applied is not None else None
    rem = remote(**remote_fields) if remote_fields is not None else None
    result = decide(record, ent, rem, policy=policy)
    assert result.op == op
    assert [c.path for c in result.changes] == changed
    assert [c.path for c in result.conflicts] == conflicts


def test_move_is_an_update_of_the_org_link() -> None:
    r = rec({"firstName": "A"}, org="o-2")
    op = decide(
        r, entry({"firstName": "A", "organization": "o-1"}), remote(firstName="A"), remote_org_key="o-1"
    )
    assert op.op == "move"
    body = update_body(
        op, remote(firstName="A", externalOrganization={"id": "g-o1"}, notes="keep"), SRC, "g-o2"
    )
    assert body["externalOrganization"] == {"id": "g-o2"}
    assert body["notes"] == "keep" and body["id"] == "g-1"


def test_update_body_keeps_unmanaged_and_unknown_fields() -> None:
    r = rec({"firstName": "B", "address.city": "Lyon"})
    rem = remote(
        firstName="A",
        lastName="Agent-edited",
        address={"city": "Paris", "address1": "1 rue X"},
        twitterId={"screenName": "jane"},
        customFields={"unmapped": 1},
        futureField={"x": [1, 2]},
        externalOrganization={"id": "g-o1"},
        modifyDate="2024-01-01",
    )
    op = decide(r, None, rem, remote_org_key="o-1")
    body = update_body(op, rem, SRC, "g-o1")
    assert body["firstName"] == "B" and body["address"] == {"city": "Lyon", "address1": "1 rue X"}
    for name in ("lastName", "twitterId", "customFields", "futureField"):
        assert body[name] == rem[name]
    assert "modifyDate" not in body
    assert body["identifiers"] == [{"type": "ExternalId", "value": "c-1", "externalSource": {"id": SRC}}]


def test_adopted_record_without_our_external_id_gets_it() -> None:
    rem = {"id": "g-9", "firstName": "A", "identifiers": [{"type": "ExternalId", "value": "c-1"}]}
    assert key_of(rem, SRC) == "c-1"
    op = decide(Record("contact", "c-1", {"firstName": "A"}), None, rem, has_identity=False)
    assert op.op == "update" and op.adopted and op.genesys_id == "g-9"
    body = update_body(op, rem, SRC, None)
    assert body["externalIds"] == [{"externalSource": {"id": SRC}, "value": "c-1"}]
    assert len(body["identifiers"]) == 1


def test_create_body() -> None:
    body = create_body(rec({"firstName": "A", "title": None, "cellPhone": "+15550100100"}), SRC, "g-o1")
    assert body == {
        "firstName": "A",
        "cellPhone": {"display": "+15550100100"},
        "externalOrganization": {"id": "g-o1"},
        "externalIds": [{"externalSource": {"id": SRC}, "value": "c-1"}],
        "identifiers": [{"type": "ExternalId", "value": "c-1", "externalSource": {"id": SRC}}],
    }


def test_reported_conflict_keeps_last_applied_so_it_is_reported_again() -> None:
    r = Record("contact", "c-1", {"firstName": "A", "title": "X"})
    op = decide(r, entry({"firstName": "A", "title": "W"}), remote(firstName="Z", title="W"), policy="report")
    assert op.op == "update" and [c.path for c in op.changes] == ["title"]
    applied = applied_after(op)
    assert applied == {"firstName": "A", "title": "X"}
    assert applied_hash(op, applied) != r.hash
    again = decide(r, entry(applied), remote(firstName="Z", title="X"), policy="report")
    assert [c.path for c in again.conflicts] == ["firstName"] and again.op == "unchanged"


def test_prune_guard() -> None:
    entries = [entry({}, gid=f"g{i}", key=f"c-{i}") for i in range(20)]
    entries.append(LedgerEntry("contact", "adopted", "gx", "h", {}, None, False))
    seen = {"contact": {f"c-{i}" for i in range(18)} | {"adopted"}, "organization": set()}
    out = prune_candidates(entries, seen, held=21, threshold=0.1, force=False)
    assert [e.key for e in out] == ["c-18", "c-19"]
    with pytest.raises(PruneRefusedError, match="would delete 20 of the 21"):
        prune_candidates(entries, {}, held=21, threshold=0.1, force=False)
    assert len(prune_candidates(entries, {}, held=21, threshold=0.1, force=True)) == 20


def test_ledger_values_are_held_as_json_text() -> None:
    values = JsonObject('{"firstName":"Ada","title":null}')
    assert values == {"firstName": "Ada", "title": None} and values.get("title", 1) is None
    assert dict(values.items()) == {"firstName": "Ada", "title": None} and len(values) == 2
    assert json_text(values) == values.text  # written back as it was read
    assert json_text({"b": 1, "a": "é"}) == '{"a":"é","b":1}'


@pytest.mark.parametrize(
    ("values", "remote_fields"),
    [
        ({"firstName": "Zoë", "lastName": "Ñandú"}, None),  # a create: format 2
        ({"firstName": "A", "title": 'say "hi"'}, {"firstName": "B"}),  # an update: format 1
    ],
)
def test_after_brings_the_bytes_its_record_stores(values: dict[str, Any], remote_fields: Any) -> None:
    """After.of's values carry their stored bytes, those packing their text gives (or none, the
    text then packed as before)."""
    op = decide(rec(values), None, remote(**remote_fields) if remote_fields else None)
    after = After.of(op)
    assert isinstance(after.applied, PackedObject) and after.applied.text == json_text(applied_after(op))
    packed = pack_json(after.applied.text)
    assert after.applied.packed == (packed if packed[0] == 2 else None)
