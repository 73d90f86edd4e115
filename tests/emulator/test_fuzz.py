"""Arbitrary JSON never makes the emulator fail with a 500: it answers or refuses with a 4xx."""

from __future__ import annotations

from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gcx.emulator import Emulator, EmulatorError, EmulatorSettings
from gcx.emulator.backend import Backend
from tests.emulator.conftest import API, client_for

FIELDS = [
    "id",
    "name",
    "firstName",
    "lastName",
    "workEmail",
    "address",
    "city",
    "cellPhone",
    "display",
    "externalIds",
    "externalSource",
    "value",
    "type",
    "identifiers",
    "externalOrganization",
    "tags",
    "changes",
    "field",
    "action",
    "entities",
    "matchingIdentifiers",
    "contact",
    "fieldRules",
    "rules",
    "operation",
    "identifier",
    "customFields",
    "division",
    "websites",
    "employeeCount",
    "options",
]
PATHS = [
    "$.firstName",
    "$.address.city",
    "$.tags",
    "$.cellPhone",
    "$.nope",
    "$",
    "$.address",
    "x",
    "$.identifiers",
]
ACTIONS = [
    "Update",
    "UpdateIfEmpty",
    "UpdateIfExists",
    "Remove",
    "AppendToCollection",
    "RemoveFromCollection",
    "Merge",
    "Upsert",
    "Insert",
    "Claim",
    "Release",
    "ExternalId",
    "Email",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(PATHS + ACTIONS),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(FIELDS), children, max_size=5),
    ),
    max_leaves=25,
)
bodies = st.one_of(json_values, st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6))

BACKEND = Backend(EmulatorSettings(rate_limit=0, seed=1))
SOURCE = BACKEND.create_source({"name": "fuzz"})
ORG = BACKEND.create("organizations", {"name": "Fuzz Org"})
CONTACT = BACKEND.create("contacts", {"firstName": "Fuzz", "externalOrganization": {"id": ORG["id"]}})
NOTE = BACKEND.create_note("organizations", ORG["id"], {"noteText": "fuzz"})
RELATIONSHIP = BACKEND.create_relationship(
    {"user": {"id": "u"}, "externalOrganization": {"id": ORG["id"]}, "relationship": "fuzz"}
)


STATE = BACKEND.dump()


def call_everything(body: Any) -> None:
    b = BACKEND
    calls = [
        lambda: b.create("contacts", body),
        lambda: b.create("organizations", body),
        lambda: b.replace("contacts", CONTACT["id"], body),
        lambda: b.replace("organizations", ORG["id"], body),
        lambda: b.patch("contacts", CONTACT["id"], body),
        lambda: b.patch("organizations", ORG["id"], body),
        lambda: b.patch_identifiers("contacts", CONTACT["id"], body),
        lambda: b.patch_identifiers("organizations", ORG["id"], body),
        lambda: b.lookup("contacts", body),
        lambda: b.lookup("organizations", body),
        lambda: b.enrich("contacts", body, dry_run=True),
        lambda: b.enrich("organizations", body, dry_run=True),
        lambda: b.bulk_enrich("contacts", body, dry_run=True),
        lambda: b.bulk_add("contacts", body),
        lambda: b.bulk_update("organizations", body),
        lambda: b.bulk_fetch("contacts", body),
        lambda: b.create_source(body),
        lambda: b.create_note("contacts", CONTACT["id"], body),
        lambda: b.patch_note("organizations", ORG["id"], NOTE["id"], body),
        lambda: b.create_relationship(body),
        lambda: b.patch_relationship(RELATIONSHIP["id"], body),
        lambda: b.merge_contacts(body),
        lambda: b.merge_into(body),
        lambda: b.load(body),
    ]
    for call in calls:
        try:
            call()
        except EmulatorError as err:
            assert 400 <= err.status < 500, (err.status, err.message)
            assert err.message


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies)
def test_backend_never_fails_with_a_server_error(body: Any) -> None:
    call_everything(body)
    if (
        BACKEND.store.get("relationships", RELATIONSHIP["id"]) is None
    ):  # a fuzzed load() may replace the state
        BACKEND.load(
            {"version": 1, "externalsources": [SOURCE], "organizations": [ORG], "contacts": [CONTACT]}
        )


async def test_http_refuses_junk_with_error_bodies() -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0))
    junk = [b"\x00\xff", b"[", b'{"a":', b"null", b"1e999", b'""', b"{}" * 3, "\u00e9".encode("latin-1")]
    paths = [
        f"{API}/contacts",
        f"{API}/bulk/contacts/add",
        f"{API}/contacts/enrich",
        f"{API}/identifierlookup/contacts",
        f"{API}/contacts/search",
        "/_emulator/faults",
        "/_emulator/settings",
    ]
    async with client_for(emu, emu.issue_token(), validate=False) as api:
        for path in paths:
            for raw in junk:
                method = "PATCH" if path.endswith("settings") else "POST"
                r = await api.request(method, path, content=raw, headers={"Content-Type": "application/json"})
                assert 400 <= r.status_code < 500, (path, raw, r.status_code)
                assert r.json()["code"] and r.headers["ININ-Correlation-Id"]
        r = await api.get(f"{API}/contacts/%00%ff")
        assert r.status_code == 404
        assert isinstance(r, httpx.Response)
