"""The emulator's rules and state, callable without HTTP.

Every operation takes and returns JSON-ready values in the API's shape, or raises
:class:`EmulatorError` (status, code, message, details). The ASGI layer only parses,
calls and serialises. State lives in a :class:`~gcx.emulator.store.Store`.

Kinds: ``"contacts"`` and ``"organizations"`` (the two record types share most rules),
plus external sources.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import random
import re
import secrets
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import Any, TypeVar, cast, overload
from urllib.parse import urlencode

from gcx.emulator.faults import FaultInjector, RateLimiter
from gcx.emulator.schema import Cleaner, FieldProblem, max_items
from gcx.emulator.settings import EmulatorSettings
from gcx.emulator.store import IdentifierKey, MemoryStore, Record, Store

Clock = Callable[[], float]
T = TypeVar("T")

CONTACTS = "contacts"
ORGS = "organizations"
SOURCES = "externalsources"
NOTES = "notes"
RELATIONSHIPS = "relationships"
RECORD_KINDS = (CONTACTS, ORGS)
ALL_KINDS = (SOURCES, ORGS, CONTACTS, NOTES, RELATIONSHIPS)

API = "/api/v2/externalcontacts"
SCHEMA_OF = {
    CONTACTS: "ExternalContact",
    ORGS: "ExternalOrganization",
    SOURCES: "ExternalSource",
    NOTES: "Note",
    RELATIONSHIPS: "Relationship",
}
IDENTIFIER_SCHEMA = {CONTACTS: "ContactIdentifier", ORGS: "ExternalOrganizationIdentifier"}
NOUN = {
    CONTACTS: "contact",
    ORGS: "external organization",
    SOURCES: "external source",
    NOTES: "note",
    RELATIONSHIPS: "relationship",
}
NOTE_ENTITY_TYPE = {CONTACTS: "contact", ORGS: "organization"}
#: Fields a PATCH of a note or relationship may not name.
CHILD_PATCH_FORBIDDEN = frozenset(
    {"id", "selfUri", "createDate", "modifyDate", "entityId", "entityType", "externalDataSources", "division"}
)

#: Fields the server manages on stored records (never taken from a request body).
SERVER_FIELDS = frozenset(
    {"id", "createDate", "modifyDate", "selfUri", "type", "division", "identifiers", "trustor"}
)
#: Fields a PATCH may not name.
PATCH_FORBIDDEN = frozenset(
    {
        "id",
        "createDate",
        "modifyDate",
        "selfUri",
        "type",
        "division",
        "identifiers",
        "trustor",
        "externalDataSources",
        "canonicalContact",
        "mergeSet",
        "mergedFrom",
        "mergedTo",
        "mergeOperation",
    }
)
SORT_FIELDS = {
    CONTACTS: ("firstName", "lastName", "middleName", "title"),
    ORGS: ("companyType", "industry", "name"),
}
DEFAULT_SORT_FIELD = {CONTACTS: "lastName", ORGS: "name"}
PATCH_ACTIONS = (
    "Update",
    "UpdateIfEmpty",
    "UpdateIfExists",
    "Remove",
    "AppendToCollection",
    "RemoveFromCollection",
)
ENRICH_ACTIONS = {CONTACTS: ("Merge", "Upsert", "Update", "Insert"), ORGS: ("Upsert", "Update", "Insert")}
FIELD_ACTIONS = ("AlwaysUseProvided", "PreferExisting", "PreferProvided")
ARRAY_ACTIONS = ("Replace", "Extend", "Fill")
_PATH = re.compile(r"^\$\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)$")
_UUIDISH = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


# --------------------------------------------------------------------------- errors


class EmulatorError(Exception):
    """An API error: becomes an ErrorBody with ``status``, ``code``, ``message``, ``details``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        *,
        entity_id: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.entity_id = entity_id
        self.headers = headers or {}

    def body(self, context_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "message": self.message,
            "code": self.code,
            "status": self.status,
            "messageParams": {},
            "contextId": context_id,
            "details": [
                {k: v for k, v in d.items() if k in ("errorCode", "fieldName", "entityId", "entityName")}
                for d in self.details
            ],
            "errors": [],
        }
        if self.entity_id:
            body["entityId"] = self.entity_id
        return body

    def bulk_error(self, entity: Any) -> dict[str, Any]:
        """The per-item error of a bulk result (``BulkEntityError*``), echoing the item sent."""
        error: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "status": self.status,
            "retryable": self.status in (408, 429) or self.status >= 500,
            "details": [
                {
                    k: v
                    for k, v in (
                        ("fieldName", d.get("fieldName")),
                        ("value", None if d.get("value") is None else str(d.get("value"))),
                        ("message", d.get("message")),
                    )
                    if v is not None
                }
                for d in self.details
            ],
        }
        if isinstance(entity, dict):
            error["entity"] = entity
        return error


def bad_request(message: str, problems: Iterable[FieldProblem] = ()) -> EmulatorError:
    details = [
        {"errorCode": p.code, "fieldName": p.field, "message": f"{p.field} {p.message}", "value": p.value}
        for p in problems
    ]
    return EmulatorError(400, "bad.request", message, details)


def invalid(problems: list[FieldProblem], what: str = "request body") -> EmulatorError:
    text = "; ".join(f"{p.field} {p.message}" for p in problems[:5])
    if len(problems) > 5:
        text += f"; and {len(problems) - 5} more"
    return bad_request(f"The {what} is invalid: {text}", problems)


def not_found(kind: str, record_id: str) -> EmulatorError:
    return EmulatorError(
        404, "not.found", f"No {NOUN[kind]} with id {record_id!r} exists", entity_id=record_id
    )


# --------------------------------------------------------------------------- helpers


def iso_ms(epoch: float) -> str:
    """``2026-01-02T03:04:05.678Z``."""
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def clone(value: T) -> T:
    """A deep copy of JSON-shaped data (dicts, lists, scalars); several times faster than deepcopy."""
    if isinstance(value, dict):
        return cast(T, {k: clone(v) for k, v in value.items()})
    if isinstance(value, list):
        return cast(T, [clone(v) for v in value])
    return value


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _record_ref(kind: str, record_id: str) -> dict[str, str]:
    return {"id": record_id, "selfUri": f"{API}/{kind}/{record_id}"}


@dataclass
class Stats:
    """Request counts by (method, route template, status), plus tokens and faults."""

    by_route: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    tokens_issued: int = 0
    faults_injected: int = 0
    dropped_after_commit: int = 0
    rate_limited: int = 0

    def record(self, method: str, route: str, status: int) -> None:
        self.by_route[(method, route, status)] += 1

    @property
    def total(self) -> int:
        return sum(self.by_route.values())

    def count(self, method: str | None = None, route: str | None = None, status: int | None = None) -> int:
        """Requests matching every given criterion."""
        return sum(
            n
            for (m, r, s), n in self.by_route.items()
            if (method is None or m == method)
            and (route is None or r == route)
            and (status is None or s == status)
        )

    def api_calls(self) -> int:
        """Requests to ``/api/v2`` (what a client's rate budget is spent on)."""
        return sum(n for (_, r, _), n in self.by_route.items() if r.startswith("/api/v2"))

    def as_dict(self) -> dict[str, Any]:
        routes = [
            {"method": m, "route": r, "status": s, "count": n}
            for (m, r, s), n in sorted(self.by_route.items())
        ]
        return {
            "total": self.total,
            "apiCalls": self.api_calls(),
            "tokensIssued": self.tokens_issued,
            "faultsInjected": self.faults_injected,
            "droppedAfterCommit": self.dropped_after_commit,
            "rateLimited": self.rate_limited,
            "routes": routes,
        }

    def reset(self) -> None:
        self.by_route.clear()
        self.tokens_issued = self.faults_injected = self.dropped_after_commit = self.rate_limited = 0


@dataclass
class Token:
    client_id: str
    expires_at: float


@dataclass
class _Plan:
    """A write worked out but not applied (so dry runs and conflicts never leave traces)."""

    kind: str
    record: Record
    previous: Record | None
    claim: list[IdentifierKey]
    created: bool
    remove: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- backend


class Backend:
    """The rules of the External Contacts API over a store. Thread-safe (one lock)."""

    def __init__(
        self,
        settings: EmulatorSettings | None = None,
        *,
        store: Store | None = None,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
    ) -> None:
        self.settings = settings or EmulatorSettings()
        self.store: Store = store if store is not None else MemoryStore()
        self.clock = clock
        self.wall_clock = wall_clock
        self.cleaner = Cleaner()
        self.lock = threading.RLock()
        self.stats = Stats()
        self.rng = random.Random(self.settings.seed)
        self.faults = FaultInjector(self.settings, random.Random(self.rng.random()))
        self.rate_limiter = RateLimiter(self.settings.rate_limit, clock)
        self.token_limiter = RateLimiter(self.settings.token_rate_limit, clock)
        self.tokens: dict[str, Token] = {}
        self.revoked: set[str] = set()
        self._cursor_key = secrets.token_hex(4)
        self._hay: dict[tuple[str, str], tuple[Record, str]] = {}
        self._trustor_links: dict[str, set[str]] = {}

    # ----------------------------------------------------------------- settings

    def update_settings(self, **changes: Any) -> EmulatorSettings:
        with self.lock:
            new = self.settings.replace(**changes)
            self.settings = new
            self.faults.settings = new
            if "seed" in changes:
                self.rng.seed(new.seed)
                self.faults.rng.seed(self.rng.random())
            self.rate_limiter.per_minute = new.rate_limit
            self.token_limiter.per_minute = new.token_rate_limit
            return new

    # ----------------------------------------------------------------- tokens

    def issue_token(self, client_id: str, client_secret: str) -> dict[str, Any]:
        """``POST /oauth/token``: a bearer token for accepted credentials."""
        with self.lock:
            allowed = self.settings.credentials
            given = (
                client_id.encode("utf-8", "surrogateescape"),
                client_secret.encode("utf-8", "surrogateescape"),
            )
            if allowed and not any(
                secrets.compare_digest(given[0], cid.encode("utf-8", "surrogateescape"))
                and secrets.compare_digest(given[1], sec.encode("utf-8", "surrogateescape"))
                for cid, sec in allowed
            ):
                raise EmulatorError(401, "invalid_client", "client credentials are not valid")
            token = secrets.token_urlsafe(32)
            ttl = self.settings.token_ttl
            self.tokens[token] = Token(client_id=client_id, expires_at=self.clock() + ttl)
            self.stats.tokens_issued += 1
            if len(self.tokens) > 50_000:
                now = self.clock()
                for key in [k for k, t in self.tokens.items() if t.expires_at <= now]:
                    del self.tokens[key]
            return {"access_token": token, "token_type": "bearer", "expires_in": ttl}

    def check_token(self, token: str | None) -> Token:
        """The token's owner, or a 401 ErrorBody (missing, unknown, expired, revoked)."""
        with self.lock:
            if not token:
                raise EmulatorError(
                    401, "authentication.required", "No authentication bearer token specified in header."
                )
            info = self.tokens.get(token)
            if info is None:
                if token in self.revoked:
                    raise EmulatorError(401, "bad.credentials", "Invalid login credentials: token revoked.")
                raise EmulatorError(401, "bad.credentials", "Invalid login credentials.")
            if self.clock() >= info.expires_at:
                del self.tokens[token]
                raise EmulatorError(401, "bad.credentials", "Invalid login credentials: token expired.")
            return info

    def revoke_tokens(self, token: str | None = None) -> int:
        """Revoke one token, or every token when ``token`` is None. Returns how many."""
        with self.lock:
            if token is not None:
                if self.tokens.pop(token, None) is None:
                    return 0
                self.revoked.add(token)
                return 1
            count = len(self.tokens)
            self.revoked.update(self.tokens)
            self.tokens.clear()
            return count

    # ----------------------------------------------------------------- identity

    def me(self) -> dict[str, Any]:
        s = self.settings
        return {
            "id": s.org_id,
            "name": s.org_name,
            "defaultLanguage": "en",
            "defaultCountryCode": "US",
            "thirdPartyOrgName": re.sub(r"[^a-z0-9]+", "", s.org_name.lower()) or "gcxemulator",
            "domain": "gcx-emulator.local",
            "version": 1,
            "state": "active",
            "voicemailEnabled": False,
            "productPlatform": "GenesysCloud",
            "features": {},
            "selfUri": f"/api/v2/organizations/{s.org_id}",
        }

    def _division(self) -> dict[str, Any]:
        s = self.settings
        return {
            "id": s.division_id,
            "name": s.division_name,
            "selfUri": f"/api/v2/authorization/divisions/{s.division_id}",
        }

    def _now(self) -> str:
        return iso_ms(self.wall_clock())

    # ----------------------------------------------------------------- rendering

    def render(self, kind: str, record: Record) -> dict[str, Any]:
        """A stored record as the API returns it (a private copy)."""
        out = clone(record)
        if kind in (CONTACTS, RELATIONSHIPS):
            ref = out.pop("externalOrganization", None)
            if isinstance(ref, dict) and isinstance(ref.get("id"), str):
                org = self.store.get(ORGS, ref["id"])
                if org is not None:
                    out["externalOrganization"] = clone(org)
        return out

    def _input_form(self, kind: str, record: Record) -> dict[str, Any]:
        """The writable part of a stored record (what a PUT would send)."""
        return {k: clone(v) for k, v in record.items() if k not in SERVER_FIELDS}

    # ----------------------------------------------------------------- body cleaning

    def _clean_body(
        self, kind: str, body: Any, problems: list[FieldProblem], *, partial: bool = False
    ) -> dict[str, Any]:
        if not isinstance(body, dict):
            problems.append(FieldProblem("body", f"must be a JSON object ({NOUN[kind]})"))
            return {}
        raw = dict(body)
        raw.pop("identifiers", None)  # claimed separately (see _clean_identifiers)
        org_ref = raw.pop("externalOrganization", None) if kind == CONTACTS else None
        division = raw.get("division")
        cleaned: dict[str, Any] = self.cleaner.clean(SCHEMA_OF[kind], raw, "", problems) or {}
        cleaned.pop("division", None)
        cleaned.pop("identifiers", None)
        if division is not None:
            div_id = division.get("id") if isinstance(division, dict) else None
            if div_id is not None and div_id != self.settings.division_id:
                problems.append(FieldProblem("division.id", "is not a known division", value=div_id))
        if kind == CONTACTS and org_ref is not None:
            org_id = org_ref.get("id") if isinstance(org_ref, dict) else None
            if not isinstance(org_id, str) or not org_id.strip():
                problems.append(FieldProblem("externalOrganization", "must be an object with an id"))
            elif self.store.get(ORGS, org_id.strip()) is None:
                problems.append(
                    FieldProblem("externalOrganization.id", "names no external organization", value=org_id)
                )
            else:
                cleaned["externalOrganization"] = {"id": org_id.strip()}
        if kind == ORGS and not partial and not cleaned.get("name"):
            problems.append(FieldProblem("name", "is required", code="missing.property"))
        ext_ids = cleaned.get("externalIds")
        if ext_ids:
            fixed = []
            for i, item in enumerate(ext_ids):
                source_id = self._source_id(item.get("externalSource"), f"externalIds[{i}]", problems)
                if not item.get("value"):
                    problems.append(FieldProblem(f"externalIds[{i}].value", "is required"))
                    continue
                if source_id is not None:
                    fixed.append({"externalSource": self._source_ref(source_id), "value": item["value"]})
            cleaned["externalIds"] = fixed
        return cleaned

    def _source_id(self, source: Any, path: str, problems: list[FieldProblem]) -> str | None:
        source_id = source.get("id") if isinstance(source, dict) else None
        if not isinstance(source_id, str) or not source_id:
            problems.append(FieldProblem(f"{path}.externalSource.id", "is required"))
            return None
        if self.store.get(SOURCES, source_id) is None:
            problems.append(
                FieldProblem(f"{path}.externalSource.id", "names no external source", value=source_id)
            )
            return None
        return source_id

    def _source_ref(self, source_id: str) -> dict[str, Any]:
        return {"id": source_id, "selfUri": f"{API}/externalsources/{source_id}"}

    def _clean_identifiers(
        self, kind: str, items: Any, path: str, problems: list[FieldProblem]
    ) -> list[dict[str, Any]]:
        """Identifiers from a request (``identifiers`` or enrich ``matchingIdentifiers``)."""
        if items is None:
            return []
        if not isinstance(items, list):
            problems.append(FieldProblem(path, "must be a JSON array"))
            return []
        out = []
        for i, item in enumerate(items):
            out.append(self._clean_identifier(kind, item, f"{path}[{i}]", problems))
        return [x for x in out if x]

    def _clean_identifier(
        self, kind: str, item: Any, path: str, problems: list[FieldProblem]
    ) -> dict[str, Any]:
        before = len(problems)
        cleaned = self.cleaner.clean(IDENTIFIER_SCHEMA[kind], item, path, problems) or {}
        prefix = f"{path}." if path else ""
        if not cleaned.get("type") and len(problems) == before:
            problems.append(FieldProblem(f"{prefix}type", "is required", code="missing.property"))
        if not cleaned.get("value") and len(problems) == before:
            problems.append(FieldProblem(f"{prefix}value", "is required", code="missing.property"))
        if len(problems) != before:
            return {}
        out: dict[str, Any] = {"type": cleaned["type"], "value": cleaned["value"]}
        if cleaned.get("externalSource") is not None:
            source_id = self._source_id(cleaned["externalSource"], path, problems)
            if source_id is None:
                return {}
            out["externalSource"] = self._source_ref(source_id)
        return out

    @staticmethod
    def _key(identifier: dict[str, Any]) -> IdentifierKey:
        source = identifier.get("externalSource")
        source_id = source.get("id") if isinstance(source, dict) else None
        return IdentifierKey(identifier["type"], identifier["value"], source_id)

    # ----------------------------------------------------------------- write planning

    def _plan(
        self,
        kind: str,
        cleaned: dict[str, Any],
        previous: Record | None,
        identifiers: list[dict[str, Any]],
        *,
        contact_type: str | None = None,
        record_id: str | None = None,
        ignore_holders: Iterable[str] = (),
    ) -> _Plan:
        """Work out the stored record for a create (``previous`` None) or a full replacement."""
        now = self._now()
        if previous is None:
            rid = record_id or str(uuid.uuid4())
            record: Record = {"id": rid}
            record.update(cleaned)
            record["division"] = self._division()
            record["createDate"] = now
            record["modifyDate"] = now
            if kind == CONTACTS:
                record["type"] = contact_type or "Curated"
            held: list[dict[str, Any]] = []
        else:
            rid = previous["id"]
            record = {"id": rid}
            record.update(cleaned)
            record["division"] = clone(previous.get("division") or self._division())
            record["createDate"] = previous.get("createDate", now)
            if "trustor" in previous:  # linked by the trustor endpoints only
                record["trustor"] = clone(previous["trustor"])
            record["modifyDate"] = now
            if kind == CONTACTS:
                record["type"] = contact_type or previous.get("type", "Curated")
                for merge_field in ("mergedFrom", "mergeSet", "canonicalContact", "mergedTo"):
                    if merge_field in previous:  # read-only merge history survives updates
                        record[merge_field] = clone(previous[merge_field])
            held = clone(previous.get("identifiers", []))
        record["selfUri"] = f"{API}/{kind}/{rid}"
        held_keys = {self._key(i) for i in held}
        wanted = list(identifiers)
        for ext in record.get("externalIds", []):
            wanted.append(
                {"type": "ExternalId", "value": ext["value"], "externalSource": ext["externalSource"]}
            )
        claim: list[IdentifierKey] = []
        skip = {rid, *ignore_holders}
        for ident in wanted:
            key = self._key(ident)
            if key in held_keys:
                continue
            self._check_claim(kind, key, skip)
            entry = dict(ident)
            entry["division"] = self._division()
            entry["dateCreated"] = now
            held.append(entry)
            held_keys.add(key)
            claim.append(key)
        if held:
            record["identifiers"] = held
        return _Plan(kind=kind, record=record, previous=previous, claim=claim, created=previous is None)

    def _check_claim(self, kind: str, key: IdentifierKey, skip: set[str]) -> None:
        if key.type == "ExternalId" and not self.settings.unique_external_ids:
            return
        others = [h for h in self.store.holders(kind, key) if h not in skip]
        if others:
            source = f" (external source {key.source})" if key.source else ""
            raise EmulatorError(
                409,
                "identifier.conflict",
                f"The {key.type} identifier {key.value!r}{source} is already claimed by "
                f"{NOUN[kind]} {others[0]}",
                [{"errorCode": "identifier.conflict", "fieldName": "identifiers", "entityId": others[0]}],
                entity_id=others[0],
            )

    def _apply(self, plan: _Plan) -> Record:
        """Store a planned write with its index changes."""
        kind, record = plan.kind, plan.record
        for other in plan.remove:
            self._move_notes(kind, other, record["id"])
            self._delete_record(kind, other)
        rid = record["id"]
        if kind == CONTACTS:
            old_org = (plan.previous or {}).get("externalOrganization", {}).get("id")
            new_org = record.get("externalOrganization", {}).get("id")
            if old_org != new_org:
                if old_org:
                    self.store.unlink_member(old_org, rid)
                if new_org:
                    self.store.link_member(new_org, rid)
        for key in plan.claim:
            self.store.add_identifier(kind, key, rid)
        self.store.put(kind, record)
        return record

    def _delete_record(self, kind: str, record_id: str) -> Record | None:
        record = self.store.get(kind, record_id)
        if record is None:
            return None
        self._hay.pop((kind, record_id), None)
        for note_id in self.store.children(NOTES, record_id):  # a record's notes go with it
            self.store.delete(NOTES, note_id)
            self.store.unlink_child(NOTES, record_id, note_id)
        if kind == ORGS:
            trustor = (record.get("trustor") or {}).get("id")
            if isinstance(trustor, str):
                self._trustor_links.get(trustor, set()).discard(record_id)
        if kind == ORGS:  # so do an organization's relationships
            for rel_id in self.store.children(RELATIONSHIPS, record_id):
                self.store.delete(RELATIONSHIPS, rel_id)
                self.store.unlink_child(RELATIONSHIPS, record_id, rel_id)
        for ident in record.get("identifiers", []):
            self.store.remove_identifier(kind, self._key(ident), record_id)
        if kind == CONTACTS:
            org_id = record.get("externalOrganization", {}).get("id")
            if org_id:
                self.store.unlink_member(org_id, record_id)
        return self.store.delete(kind, record_id)

    def _require(self, kind: str, record_id: str) -> Record:
        record = self.store.get(kind, record_id)
        if record is None:
            raise not_found(kind, record_id)
        return record

    # ----------------------------------------------------------------- CRUD

    def create(self, kind: str, body: Any) -> dict[str, Any]:
        """POST a contact or organization (HTTP 200 with the stored record)."""
        with self.lock:
            plan = self._plan_create(kind, body)
            return self.render(kind, self._apply(plan))

    def _plan_create(self, kind: str, body: Any) -> _Plan:
        problems: list[FieldProblem] = []
        cleaned = self._clean_body(kind, body, problems)
        identifiers = self._clean_identifiers(
            kind, body.get("identifiers") if isinstance(body, dict) else None, "identifiers", problems
        )
        if problems:
            raise invalid(problems, f"{NOUN[kind]}")
        return self._plan(kind, cleaned, None, identifiers)

    def get(self, kind: str, record_id: str) -> dict[str, Any]:
        with self.lock:
            return self.render(kind, self._require(kind, record_id))

    def replace(self, kind: str, record_id: str, body: Any) -> dict[str, Any]:
        """PUT: full replacement, a field left out is erased. Identifiers are never released."""
        with self.lock:
            plan = self._plan_replace(kind, record_id, body)
            return self.render(kind, self._apply(plan))

    def _plan_replace(self, kind: str, record_id: str, body: Any) -> _Plan:
        previous = self._require(kind, record_id)
        problems: list[FieldProblem] = []
        if isinstance(body, dict) and body.get("id") not in (None, record_id):
            problems.append(FieldProblem("id", f"does not match the id in the path ({record_id})"))
        cleaned = self._clean_body(kind, body, problems)
        identifiers = self._clean_identifiers(
            kind, body.get("identifiers") if isinstance(body, dict) else None, "identifiers", problems
        )
        if problems:
            raise invalid(problems, f"{NOUN[kind]} {record_id}")
        return self._plan(kind, cleaned, previous, identifiers)

    def delete(self, kind: str, record_id: str) -> None:
        with self.lock:
            self._require(kind, record_id)
            if kind == ORGS:
                self._delete_org_members(record_id)
            self._delete_record(kind, record_id)

    def _delete_org_members(self, org_id: str) -> None:
        members = self.store.members(org_id)
        if not members:
            return
        mode = self.settings.org_delete_with_contacts
        if mode == "reject":
            raise EmulatorError(
                409,
                "organization.has.contacts",
                f"External organization {org_id} still has {len(members)} contact(s); "
                "move or delete them first",
                entity_id=org_id,
            )
        now = self._now()
        for contact_id in members:
            if mode == "cascade":
                self._delete_record(CONTACTS, contact_id)
                continue
            contact = self.store.get(CONTACTS, contact_id)
            if contact is not None:
                updated = {k: v for k, v in contact.items() if k != "externalOrganization"}
                updated["modifyDate"] = now
                self.store.unlink_member(org_id, contact_id)
                self.store.put(CONTACTS, updated)

    # ----------------------------------------------------------------- PATCH

    def patch(self, kind: str, record_id: str, body: Any) -> dict[str, Any]:
        """PATCH with ``changes`` (six actions on ``$.a`` / ``$.a.b`` paths)."""
        with self.lock:
            previous = self._require(kind, record_id)
            doc = self._input_form(kind, previous)
            self._apply_changes(kind, doc, body)
            problems: list[FieldProblem] = []
            cleaned = self._clean_body(kind, doc, problems)
            if problems:
                raise invalid(problems, f"patched {NOUN[kind]} {record_id}")
            plan = self._plan(kind, cleaned, previous, [])
            return self.render(kind, self._apply(plan))

    def _apply_changes(self, kind: str, doc: dict[str, Any], body: Any) -> None:
        changes = body.get("changes") if isinstance(body, dict) else None
        if not isinstance(changes, list) or not changes:
            raise bad_request(
                "The patch request needs a non-empty 'changes' array",
                [FieldProblem("changes", "must be a non-empty array")],
            )
        parsed: list[tuple[list[str], str, Any, int]] = []
        problems: list[FieldProblem] = []
        for i, change in enumerate(changes):
            where = f"changes[{i}]"
            if not isinstance(change, dict):
                problems.append(FieldProblem(where, "must be a JSON object"))
                continue
            action = change.get("action")
            if action not in PATCH_ACTIONS:
                problems.append(
                    FieldProblem(
                        f"{where}.action", f"must be one of {', '.join(PATCH_ACTIONS)}", value=action
                    )
                )
            path = self._patch_path(kind, change.get("field"), f"{where}.field", problems)
            if path is not None and action in PATCH_ACTIONS:
                parsed.append((path, str(action), change.get("value"), i))
        if problems:
            raise invalid(problems, "patch request")
        for a, (pa, *_rest) in enumerate(parsed):
            for pb, *_ in parsed[a + 1 :]:
                short, long_ = (pa, pb) if len(pa) <= len(pb) else (pb, pa)
                if short != long_ and long_[: len(short)] == short:
                    raise EmulatorError(
                        409,
                        "conflict",
                        f"The patch names both $.{'.'.join(short)} and its child $.{'.'.join(long_)}",
                        [{"errorCode": "conflict", "fieldName": ".".join(long_)}],
                    )
        for path, action, value, i in parsed:
            self._apply_change(kind, doc, path, action, value, f"changes[{i}]")

    def _patch_path(self, kind: str, raw: Any, where: str, problems: list[FieldProblem]) -> list[str] | None:
        match = _PATH.match(raw) if isinstance(raw, str) else None
        if match is None:
            problems.append(
                FieldProblem(where, "must be a dot path such as $.firstName or $.address.city", value=raw)
            )
            return None
        path = match.group(1).split(".")
        forbidden = CHILD_PATCH_FORBIDDEN if kind in (NOTES, RELATIONSHIPS) else PATCH_FORBIDDEN
        if path[0] in forbidden:
            problems.append(FieldProblem(where, f"names the read-only field {path[0]}", value=raw))
            return None
        if kind in (CONTACTS, RELATIONSHIPS) and path[0] == "externalOrganization":
            if len(path) > 2 or (len(path) == 2 and path[1] != "id"):
                problems.append(
                    FieldProblem(where, "only $.externalOrganization or its .id may be patched", value=raw)
                )
                return None
            return path
        if self.cleaner.field_schema(SCHEMA_OF[kind], path) is None:
            problems.append(FieldProblem(where, f"names no field of {SCHEMA_OF[kind]}", value=raw))
            return None
        return path

    def _apply_change(
        self, kind: str, doc: dict[str, Any], path: list[str], action: str, value: Any, where: str
    ) -> None:
        parent: Any = doc
        for part in path[:-1]:
            child = parent.get(part)
            if not isinstance(child, dict):
                if action in ("Remove", "RemoveFromCollection", "UpdateIfExists"):
                    return
                child = {}
                parent[part] = child
            parent = child
        leaf = path[-1]
        current = parent.get(leaf)
        prop = self.cleaner.field_schema(SCHEMA_OF[kind], path) or {}
        if action == "Update":
            if value is None:
                parent.pop(leaf, None)
            else:
                parent[leaf] = value
        elif action == "UpdateIfEmpty":
            if is_empty(current) and value is not None:
                parent[leaf] = value
        elif action == "UpdateIfExists":
            if not is_empty(current):
                if value is None:
                    parent.pop(leaf, None)
                else:
                    parent[leaf] = value
        elif action == "Remove":
            parent.pop(leaf, None)
        else:
            free_form = not prop and (current is None or isinstance(current, list))
            if prop.get("type") != "array" and not free_form:
                raise bad_request(
                    f"{where}: {action} needs a collection, and $.{'.'.join(path)} is not one",
                    [FieldProblem(f"{where}.field", "is not a collection")],
                )
            items = value if isinstance(value, list) else [value]
            existing = list(current) if isinstance(current, list) else []
            if action == "AppendToCollection":
                parent[leaf] = existing + [x for x in items if x is not None and x not in existing]
            else:
                parent[leaf] = [x for x in existing if not any(_matches(x, pattern) for pattern in items)]

    # ----------------------------------------------------------------- reading many

    def search(
        self,
        kind: str,
        *,
        q: str | None = None,
        page_size: int | None = None,
        page_number: int | None = None,
        sort_order: str | None = None,
        org_id: str | None = None,
        ids: list[str] | None = None,
        path: str | None = None,
    ) -> dict[str, Any]:
        """A search page (``ContactListing``/``ExternalOrganizationListing``); at most 1,000 records."""
        with self.lock:
            size = 25 if page_size is None else page_size
            number = 1 if page_number is None else page_number
            problems = []
            if not 1 <= size <= self.settings.search_max_page_size:
                problems.append(
                    FieldProblem("pageSize", f"must be between 1 and {self.settings.search_max_page_size}")
                )
            if number < 1:
                problems.append(FieldProblem("pageNumber", "must be 1 or more"))
            if not problems and size * number > 1000:
                problems.append(
                    FieldProblem("pageNumber", "pageNumber * pageSize must be <= 1000 (search is capped)")
                )
            sort_key = self._sort_key(kind, sort_order, problems)
            if problems:
                raise invalid(problems, "search request")
            if org_id is not None:
                self._require(ORGS, org_id)
                pool: Iterable[Record] = self._members_in_order(org_id)
            elif ids is not None:
                pool = (r for r in (self.store.get(kind, i) for i in dict.fromkeys(ids)) if r is not None)
            else:
                pool = self.store.all(kind)
            needle = (q or "").strip().lower()
            base = path or (f"{API}/organizations/{org_id}/contacts" if org_id else f"{API}/{kind}")
            extra = {k: v for k, v in (("q", q), ("sortOrder", sort_order)) if v}
            if not needle and sort_key is None and org_id is None and ids is None:
                # Nothing to filter: read only up to the page asked for.
                start = (number - 1) * size
                head: list[Record] = list(islice(pool, start + size))
                window = _Window(head, self.store.count(kind))
                return self._paged(
                    kind, window, page_size=size, page_number=number, max_size=size, base=base, extra=extra
                )
            matched = [r for r in pool if not needle or needle in self._haystack(kind, r)]
            if sort_key is not None:
                field_name, reverse = sort_key
                matched.sort(key=lambda r: (str(r.get(field_name) or "").lower(), r["id"]), reverse=reverse)
            return self._paged(
                kind, matched, page_size=size, page_number=number, max_size=size, base=base, extra=extra
            )

    def _members_in_order(self, org_id: str) -> list[Record]:
        members = [self.store.get(CONTACTS, cid) for cid in self.store.members(org_id)]
        found = [m for m in members if m is not None]
        found.sort(key=lambda r: self.store.seq_of(CONTACTS, r["id"]) or 0)
        return found

    def _sort_key(
        self, kind: str, sort_order: str | None, problems: list[FieldProblem]
    ) -> tuple[str, bool] | None:
        if not sort_order:
            return None
        raw = sort_order.strip()
        if raw.lower() in ("asc", "desc"):
            return DEFAULT_SORT_FIELD[kind], raw.lower() == "desc"
        name, _, direction = raw.partition(":")
        direction = direction.lower() or "asc"
        if name not in SORT_FIELDS[kind] or direction not in ("asc", "desc"):
            problems.append(
                FieldProblem(
                    "sortOrder",
                    f"must be field:direction with field one of {', '.join(SORT_FIELDS[kind])} "
                    "and direction asc or desc",
                    value=sort_order,
                )
            )
            return None
        return name, direction == "desc"

    def _haystack(self, kind: str, record: Record) -> str:
        """Lower-cased searchable text of a record (cached per stored version), plus its org's name."""
        key = (kind, record["id"])
        cached = self._hay.get(key)
        if cached is not None and cached[0] is record:
            text = cached[1]
        else:
            text = self._record_text(kind, record)
            self._hay[key] = (record, text)
        if kind == CONTACTS:
            org_id = (record.get("externalOrganization") or {}).get("id")
            org = self.store.get(ORGS, org_id) if org_id else None
            if org is not None:
                return f"{text}\n{str(org.get('name', '')).lower()}"
        return text

    @staticmethod
    def _record_text(kind: str, record: Record) -> str:
        parts: list[str] = []
        names: tuple[str, ...]
        phones: tuple[str, ...]
        if kind == CONTACTS:
            names = (
                "firstName",
                "middleName",
                "lastName",
                "workEmail",
                "personalEmail",
                "otherEmail",
                "title",
            )
            phones = ("workPhone", "cellPhone", "homePhone", "otherPhone")
        else:
            names = ("name", "companyType", "industry")
            phones = ("phoneNumber", "faxNumber")
            parts.extend(str(w) for w in record.get("websites", []))
        parts.extend(str(record.get(n, "")) for n in names)
        for p in phones:
            phone = record.get(p)
            if isinstance(phone, dict):
                parts.append(str(phone.get("display", "")))
                parts.append(str(phone.get("e164", "")))
        return "\n".join(parts).lower()

    def scan(
        self,
        kind: str,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        division_id: str | None = None,
    ) -> dict[str, Any]:
        """A scan page (``CursorContactListing``): stable insertion order, opaque cursors."""
        with self.lock:
            size = 100 if limit is None else limit
            if not 10 <= size <= 200:
                raise invalid(
                    [FieldProblem("limit", "must be between 10 and 200", value=size)], "scan request"
                )
            after = self._decode_cursor(kind, cursor) if cursor else 0
            rows: list[tuple[int, Record]] = []
            more = False
            for seq, record in self.store.scan_after(kind, after):
                if division_id and record.get("division", {}).get("id") != division_id:
                    continue
                if len(rows) == size:
                    more = True
                    break
                rows.append((seq, record))
            base = f"{API}/scan/{kind}"
            self_query = {"limit": size, **({"cursor": cursor} if cursor else {})}
            listing: dict[str, Any] = {
                "entities": [self.render(kind, r) for _, r in rows],
                "selfUri": f"{base}?{urlencode(self_query)}",
            }
            if more:
                token = self._encode_cursor(kind, rows[-1][0])
                listing["cursors"] = {"after": token}
                listing["nextUri"] = f"{base}?{urlencode({'limit': size, 'cursor': token})}"
            return listing

    def _encode_cursor(self, kind: str, seq: int) -> str:
        payload = json.dumps(
            {"k": kind, "s": seq, "t": int(self.wall_clock()), "e": self._cursor_key}, separators=(",", ":")
        )
        return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")

    def _decode_cursor(self, kind: str, cursor: str) -> int:
        problem = [FieldProblem("cursor", "is not a cursor this service issued", value=cursor[:40])]
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            data = json.loads(raw)
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise invalid(problem, "scan request") from None
        if (
            not isinstance(data, dict)
            or data.get("k") != kind
            or not isinstance(data.get("s"), int)
            or not isinstance(data.get("t"), int)
        ):
            raise invalid(problem, "scan request")
        if self.wall_clock() - data["t"] > self.settings.cursor_ttl:
            raise invalid([FieldProblem("cursor", "has expired (cursors live 24 hours)")], "scan request")
        seq: int = data["s"]
        return seq

    # ----------------------------------------------------------------- bulk

    def _bulk_entities(self, body: Any, *, limit: int | None = None, status_over: int = 413) -> list[Any]:
        entities = body.get("entities") if isinstance(body, dict) else None
        if not isinstance(entities, list) or not entities:
            raise bad_request(
                "The bulk request needs a non-empty 'entities' array",
                [FieldProblem("entities", "must be a non-empty array")],
            )
        cap = self.settings.max_bulk_size if limit is None else limit
        if len(entities) > cap:
            raise EmulatorError(
                status_over,
                "request.too.large" if status_over == 413 else "bad.request",
                f"The bulk request holds {len(entities)} entities; at most {cap} are allowed",
                [{"errorCode": "too.many.entities", "fieldName": "entities"}],
            )
        return entities

    def _bulk_response(self, results: list[dict[str, Any]]) -> dict[str, Any]:
        if self.settings.shuffle_bulk_results and len(results) > 1:
            original = list(results)
            self.rng.shuffle(results)
            if results == original:
                results.append(results.pop(0))
        errors = [i for i, r in enumerate(results) if not r["success"]]
        return {"results": results, "errorCount": len(errors), "errorIndexes": errors}

    def _bulk_each(
        self, entities: list[Any], op: Callable[[Any], tuple[str | None, dict[str, Any] | None]]
    ) -> dict[str, Any]:
        results: list[dict[str, Any]] = []
        for item in entities:
            try:
                rid, entity = op(item)
            except EmulatorError as err:
                result: dict[str, Any] = {
                    "success": False,
                    "error": err.bulk_error(item),
                    "status": err.status,
                }
                item_id = item.get("id") if isinstance(item, dict) else None
                if isinstance(item_id, str) and item_id:
                    result["id"] = item_id
                results.append(result)
                continue
            ok: dict[str, Any] = {"success": True, "status": 200}
            if rid is not None:
                ok["id"] = rid
            if entity is not None:
                ok["entity"] = entity
            results.append(ok)
        return self._bulk_response(results)

    @staticmethod
    def _item_id(item: Any) -> str:
        item_id = item.get("id") if isinstance(item, dict) else None
        if not isinstance(item_id, str) or not item_id.strip():
            raise bad_request("The item needs an id", [FieldProblem("id", "is required")])
        return item_id.strip()

    def bulk_fetch(self, kind: str, body: Any) -> dict[str, Any]:
        with self.lock:
            entities = self._bulk_entities(body)

            def op(item: Any) -> tuple[str, dict[str, Any]]:
                rid = self._item_id(item)
                return rid, self.render(kind, self._require(kind, rid))

            return self._bulk_each(entities, op)

    def bulk_add(self, kind: str, body: Any) -> dict[str, Any]:
        with self.lock:
            entities = self._bulk_entities(body)

            def op(item: Any) -> tuple[str, dict[str, Any]]:
                record = self._apply(self._plan_create(kind, item))
                return record["id"], self.render(kind, record)

            return self._bulk_each(entities, op)

    def bulk_update(self, kind: str, body: Any) -> dict[str, Any]:
        with self.lock:
            entities = self._bulk_entities(body)

            def op(item: Any) -> tuple[str, dict[str, Any]]:
                rid = self._item_id(item)
                record = self._apply(self._plan_replace(kind, rid, item))
                return rid, self.render(kind, record)

            return self._bulk_each(entities, op)

    def bulk_remove(self, kind: str, body: Any) -> dict[str, Any]:
        with self.lock:
            entities = self._bulk_entities(body)

            def op(item: Any) -> tuple[str, None]:
                rid = self._item_id(item)
                self._require(kind, rid)
                if kind == ORGS:
                    self._delete_org_members(rid)
                self._delete_record(kind, rid)
                return rid, None

            return self._bulk_each(entities, op)

    # ----------------------------------------------------------------- identifiers

    def list_identifiers(self, kind: str, record_id: str) -> dict[str, Any]:
        with self.lock:
            record = self._require(kind, record_id)
            return {"entities": clone(record.get("identifiers", []))}

    def patch_identifiers(self, kind: str, record_id: str, body: Any) -> dict[str, Any]:
        """Claim or release one identifier; returns the identifier."""
        with self.lock:
            record = self._require(kind, record_id)
            problems: list[FieldProblem] = []
            operation = body.get("operation") if isinstance(body, dict) else None
            if operation not in ("Claim", "Release"):
                problems.append(FieldProblem("operation", "must be Claim or Release", value=operation))
            raw = body.get("identifier") if isinstance(body, dict) else None
            if raw is None:
                problems.append(FieldProblem("identifier", "is required", code="missing.property"))
                ident: dict[str, Any] = {}
            else:
                ident = self._clean_identifier(kind, raw, "identifier", problems)
            if problems:
                raise invalid(problems, "identifier request")
            key = self._key(ident)
            held = record.get("identifiers", [])
            existing = next((i for i in held if self._key(i) == key), None)
            if operation == "Release":
                if existing is None:
                    raise EmulatorError(
                        404,
                        "not.found",
                        f"{NOUN[kind].capitalize()} {record_id} does not hold the {key.type} "
                        f"identifier {key.value!r}",
                        entity_id=record_id,
                    )
                updated = dict(record)
                updated["identifiers"] = [i for i in held if self._key(i) != key]
                if not updated["identifiers"]:
                    del updated["identifiers"]
                updated["modifyDate"] = self._now()
                self.store.remove_identifier(kind, key, record_id)
                self.store.put(kind, updated)
                return clone(existing)
            if existing is not None:
                return clone(existing)
            self._check_claim(kind, key, {record_id})
            entry = dict(ident)
            entry["division"] = self._division()
            entry["dateCreated"] = self._now()
            updated = dict(record)
            updated["identifiers"] = [*held, entry]
            updated["modifyDate"] = entry["dateCreated"]
            self.store.add_identifier(kind, key, record_id)
            self.store.put(kind, updated)
            return clone(entry)

    def lookup(self, kind: str, body: Any) -> dict[str, Any]:
        """The record holding an identifier (404 when none)."""
        with self.lock:
            problems: list[FieldProblem] = []
            ident = self._clean_identifier(kind, body, "", problems)
            if problems:
                raise invalid(problems, "identifier lookup")
            found = self._find_holders(kind, ident)
            if not found:
                raise EmulatorError(
                    404,
                    "not.found",
                    f"No {NOUN[kind]} holds the {ident['type']} identifier {ident['value']!r}",
                )
            return self.render(kind, self._require(kind, found[0]))

    def _find_holders(self, kind: str, ident: dict[str, Any]) -> list[str]:
        key = self._key(ident)
        if key.source is not None:
            ids = self.store.holders(kind, key)
        else:
            ids = self.store.holders_any_source(kind, key.type, key.value)
        return sorted(ids, key=lambda i: self.store.seq_of(kind, i) or 0)

    # ----------------------------------------------------------------- enrich

    def enrich(self, kind: str, body: Any, *, dry_run: bool = False) -> tuple[dict[str, Any], bool]:
        """Server-side upsert; returns ``(record, created)`` (HTTP 201 when created)."""
        with self.lock:
            plan = self._plan_enrich(kind, body)
            record = plan.record if dry_run else self._apply(plan)
            return self.render(kind, record), plan.created

    def bulk_enrich(self, kind: str, body: Any, *, dry_run: bool = False) -> dict[str, Any]:
        with self.lock:
            entities = self._bulk_entities(body, limit=self.settings.max_enrich_bulk_size, status_over=400)
            results: list[dict[str, Any]] = []
            for item in entities:
                tracker = item.get("id") if isinstance(item, dict) else None
                try:
                    plan = self._plan_enrich(kind, item)
                    record = plan.record if dry_run else self._apply(plan)
                except EmulatorError as err:
                    result: dict[str, Any] = {
                        "success": False,
                        "error": err.bulk_error(item),
                        "status": err.status,
                    }
                else:
                    result = {
                        "success": True,
                        "entity": self.render(kind, record),
                        "status": 201 if plan.created else 200,
                    }
                if isinstance(tracker, str):
                    result["id"] = tracker
                results.append(result)
            return self._bulk_response(results)

    def _plan_enrich(self, kind: str, body: Any) -> _Plan:
        problems: list[FieldProblem] = []
        if not isinstance(body, dict):
            raise invalid([FieldProblem("body", "must be a JSON object")], "enrich request")
        action = body.get("action")
        if action not in ENRICH_ACTIONS[kind]:
            problems.append(
                FieldProblem("action", f"must be one of {', '.join(ENRICH_ACTIONS[kind])}", value=action)
            )
        raw_ids = body.get("matchingIdentifiers")
        if not isinstance(raw_ids, list) or not 1 <= len(raw_ids) <= 25:
            problems.append(FieldProblem("matchingIdentifiers", "must hold between 1 and 25 identifiers"))
            matching: list[dict[str, Any]] = []
        else:
            matching = self._clean_identifiers(kind, raw_ids, "matchingIdentifiers", problems)
        data_field = "contact" if kind == CONTACTS else "externalOrganization"
        raw_data = body.get(data_field)
        provided: dict[str, Any] = {}
        if raw_data is not None:
            sub: list[FieldProblem] = []
            provided = self._clean_body(kind, raw_data, sub, partial=True)
            problems.extend(FieldProblem(f"{data_field}.{p.field}", p.message, p.code, p.value) for p in sub)
        extra_ids = (
            self._clean_identifiers(kind, raw_data.get("identifiers"), f"{data_field}.identifiers", problems)
            if isinstance(raw_data, dict)
            else []
        )
        rules = self._field_rules(kind, body.get("fieldRules"), problems)
        promote = False
        options = body.get("options")
        if kind == CONTACTS and options is not None:
            if not isinstance(options, dict) or not isinstance(options.get("promote", False), bool):
                problems.append(FieldProblem("options.promote", "must be true or false"))
            else:
                promote = bool(options.get("promote", False))
        if problems:
            raise invalid(problems, "enrich request")

        matches: list[str] = []
        for ident in matching:
            for rid in self._find_holders(kind, ident):
                if rid not in matches:
                    matches.append(rid)
        identifiers = matching + extra_ids
        if action == "Insert" and matches:
            raise EmulatorError(
                409,
                "conflict",
                f"Insert refused: {NOUN[kind]} {matches[0]} already holds a matching identifier",
                entity_id=matches[0],
            )
        if action == "Update" and not matches:
            raise EmulatorError(404, "not.found", f"No {NOUN[kind]} holds any of the matching identifiers")
        if not matches:
            if kind == ORGS and not provided.get("name"):
                raise invalid(
                    [FieldProblem("externalOrganization.name", "is required to create", "missing.property")],
                    "enrich request",
                )
            return self._plan(
                kind, provided, None, identifiers, contact_type="Curated" if promote else "Identified"
            )
        target = self._require(kind, matches[0])
        existing = self._input_form(kind, target)
        merged_away: list[str] = []
        if action == "Merge" and len(matches) > 1:
            for other_id in matches[1:]:
                other = self._require(kind, other_id)
                existing = self._combine(
                    kind, existing, self._input_form(kind, other), EnrichRules("PreferExisting", "Fill", {})
                )
                merged_away.append(other_id)
                identifiers.extend(
                    {k: v for k, v in i.items() if k in ("type", "value", "externalSource")}
                    for i in other.get("identifiers", [])
                )
        combined = self._combine(kind, existing, provided, rules)
        check: list[FieldProblem] = []
        cleaned = self._clean_body(kind, combined, check)
        if check:
            raise invalid(check, "enriched record")
        contact_type = "Curated" if promote else None
        plan = self._plan(
            kind, cleaned, target, identifiers, contact_type=contact_type, ignore_holders=merged_away
        )
        if merged_away:
            plan.remove = merged_away
            history = plan.record.get("mergedFrom", [])
            plan.record["mergedFrom"] = [*history, *(_record_ref(kind, i) for i in merged_away)]
        return plan

    # ----------------------------------------------------------------- merge

    def merge_contacts(self, body: Any) -> dict[str, Any]:
        """``POST /contacts/merge``: 2..25 contacts become one new contact (see docs/emulator.md)."""
        with self.lock:
            problems: list[FieldProblem] = []
            ids = body.get("contactIds") if isinstance(body, dict) else None
            if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
                problems.append(FieldProblem("contactIds", "must be an array of contact ids"))
                ids = []
            elif not 2 <= len(set(ids)) <= 25 or len(set(ids)) != len(ids):
                problems.append(FieldProblem("contactIds", "must hold 2 to 25 distinct contact ids"))
            override_raw = body.get("valueOverride") if isinstance(body, dict) else None
            sub: list[FieldProblem] = []
            override = (
                self._clean_body(CONTACTS, override_raw, sub, partial=True)
                if override_raw is not None
                else {}
            )
            problems.extend(FieldProblem(f"valueOverride.{p.field}", p.message, p.code, p.value) for p in sub)
            if problems:
                raise invalid(problems, "merge request")
            inputs = [self._require(CONTACTS, i) for i in ids]
            return self.render(CONTACTS, self._apply(self._plan_merge(inputs, None, override)))

    def merge_into(self, body: Any) -> dict[str, Any]:
        """``POST /merge/contacts``: the source contact is folded into the target, which keeps its id."""
        with self.lock:
            problems: list[FieldProblem] = []
            names = ("sourceContactId", "targetContactId")
            values = [body.get(n) if isinstance(body, dict) else None for n in names]
            for name, value in zip(names, values, strict=True):
                if not isinstance(value, str) or not value:
                    problems.append(FieldProblem(name, "is required (a contact id)", "missing.property"))
            if not problems and values[0] == values[1]:
                problems.append(FieldProblem("sourceContactId", "must differ from targetContactId"))
            if problems:
                raise invalid(problems, "merge request")
            source, target = (self._require(CONTACTS, str(v)) for v in values)
            return self.render(CONTACTS, self._apply(self._plan_merge([target, source], target, {})))

    def _plan_merge(self, inputs: list[Record], survivor: Record | None, override: dict[str, Any]) -> _Plan:
        """Combine ``inputs`` (earlier ones win, later ones fill gaps), then apply ``override``.

        ``survivor`` None makes a new contact; otherwise the survivor keeps its id. Every other
        input is deleted, its identifiers and notes moving to the result.
        """
        keep = EnrichRules("PreferExisting", "Fill", {})
        combined: dict[str, Any] = {}
        for record in inputs:
            combined = self._combine(CONTACTS, combined, self._input_form(CONTACTS, record), keep)
        combined = self._combine(CONTACTS, combined, override, EnrichRules("PreferProvided", "Fill", {}))
        problems: list[FieldProblem] = []
        cleaned = self._clean_body(CONTACTS, combined, problems)
        if problems:
            raise invalid(problems, "merged contact")
        merged_away = [r["id"] for r in inputs if survivor is None or r["id"] != survivor["id"]]
        identifiers = [
            {k: v for k, v in ident.items() if k in ("type", "value", "externalSource")}
            for record in inputs
            for ident in record.get("identifiers", [])
        ]
        plan = self._plan(
            CONTACTS, cleaned, survivor, identifiers, contact_type="Curated", ignore_holders=merged_away
        )
        plan.remove = merged_away
        history = plan.record.get("mergedFrom", [])
        plan.record["mergedFrom"] = [*history, *(_record_ref(CONTACTS, i) for i in merged_away)]
        return plan

    def _move_notes(self, kind: str, from_id: str, to_id: str) -> None:
        for note_id in self.store.children(NOTES, from_id):
            note = self.store.get(NOTES, note_id)
            self.store.unlink_child(NOTES, from_id, note_id)
            if note is None:
                continue
            moved = {**note, "entityId": to_id, "selfUri": f"{API}/{kind}/{to_id}/notes/{note_id}"}
            self.store.put(NOTES, moved)
            self.store.link_child(NOTES, to_id, note_id)

    def _field_rules(self, kind: str, raw: Any, problems: list[FieldProblem]) -> EnrichRules:
        if raw is None:
            return EnrichRules("PreferProvided", "Fill", {})
        if not isinstance(raw, dict):
            problems.append(FieldProblem("fieldRules", "must be a JSON object"))
            return EnrichRules("PreferProvided", "Fill", {})
        default = raw.get("defaultAction") or "PreferProvided"
        if default not in FIELD_ACTIONS:
            problems.append(
                FieldProblem("fieldRules.defaultAction", f"must be one of {', '.join(FIELD_ACTIONS)}")
            )
        default_array = raw.get("defaultArrayAction") or "Fill"
        if default_array not in ARRAY_ACTIONS:
            problems.append(
                FieldProblem("fieldRules.defaultArrayAction", f"must be one of {', '.join(ARRAY_ACTIONS)}")
            )
        per_field: dict[str, tuple[str | None, str | None]] = {}
        rules = raw.get("rules") or []
        if not isinstance(rules, list):
            problems.append(FieldProblem("fieldRules.rules", "must be a JSON array"))
            rules = []
        for i, rule in enumerate(rules):
            where = f"fieldRules.rules[{i}]"
            if not isinstance(rule, dict):
                problems.append(FieldProblem(where, "must be a JSON object"))
                continue
            field_raw = rule.get("field")
            match = _PATH.match(field_raw) if isinstance(field_raw, str) else None
            if match is None or self.cleaner.field_schema(SCHEMA_OF[kind], match.group(1).split(".")) is None:
                problems.append(
                    FieldProblem(f"{where}.field", "names no field of the record", value=field_raw)
                )
                continue
            action = rule.get("action")
            array_action = rule.get("arrayAction")
            if action is not None and action not in FIELD_ACTIONS:
                problems.append(FieldProblem(f"{where}.action", f"must be one of {', '.join(FIELD_ACTIONS)}"))
            if array_action is not None and array_action not in ARRAY_ACTIONS:
                problems.append(
                    FieldProblem(f"{where}.arrayAction", f"must be one of {', '.join(ARRAY_ACTIONS)}")
                )
            per_field[match.group(1)] = (action, array_action)
        return EnrichRules(str(default), str(default_array), per_field)

    def _combine(
        self, kind: str, existing: dict[str, Any], provided: dict[str, Any], rules: EnrichRules
    ) -> dict[str, Any]:
        return self._combine_obj(SCHEMA_OF[kind], existing, provided, rules, [])

    def _combine_obj(
        self,
        schema_name: str,
        existing: dict[str, Any],
        provided: dict[str, Any],
        rules: EnrichRules,
        prefix: list[str],
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in dict.fromkeys([*existing, *provided]):
            path = [*prefix, key]
            dotted = ".".join(path)
            action, array_action = rules.fields.get(dotted, (None, None))
            e, p = existing.get(key), provided.get(key)
            prop = self.cleaner.properties(schema_name).get(key, {})
            ref = self.cleaner.ref_name(prop)
            value: Any
            if (
                action is None
                and ref is not None
                and key != "externalOrganization"
                and isinstance(e, dict)
                and isinstance(p, dict)
                and "properties" in self.cleaner.schemas.get(ref, {})
            ):
                value = self._combine_obj(ref, e, p, rules, path) or None
            elif prop.get("type") == "array" or isinstance(e, list) or isinstance(p, list):
                value = self._combine_array(
                    action or rules.default, array_action or rules.default_array, e, p, prop, dotted
                )
            else:
                value = _pick(action or rules.default, e, p)
            if value is not None:
                out[key] = value
        return out

    def _combine_array(
        self, action: str, array_action: str, e: Any, p: Any, prop: dict[str, Any], dotted: str
    ) -> Any:
        if array_action == "Replace" or not isinstance(e, list) or not isinstance(p, list):
            return _pick(action, e, p)
        combined = list(e) + [x for x in p if x not in e]
        limit = max_items(str(prop.get("description") or ""))
        if limit is not None and len(combined) > limit:
            if array_action == "Extend":
                raise invalid(
                    [FieldProblem(dotted, f"would hold more than {limit} items after Extend")],
                    "enrich request",
                )
            combined = combined[:limit]
        return combined

    # ----------------------------------------------------------------- external sources

    def create_source(self, body: Any) -> dict[str, Any]:
        with self.lock:
            cleaned = self._clean_source(body, None)
            record = {"id": str(uuid.uuid4()), **cleaned}
            record["selfUri"] = f"{API}/externalsources/{record['id']}"
            self.store.put(SOURCES, record)
            return clone(record)

    def get_source(self, source_id: str) -> dict[str, Any]:
        with self.lock:
            return clone(self._require(SOURCES, source_id))

    def replace_source(self, source_id: str, body: Any) -> dict[str, Any]:
        with self.lock:
            self._require(SOURCES, source_id)
            if isinstance(body, dict) and body.get("id") not in (None, source_id):
                raise invalid([FieldProblem("id", "does not match the id in the path")], "external source")
            cleaned = self._clean_source(body, source_id)
            record = {"id": source_id, **cleaned, "selfUri": f"{API}/externalsources/{source_id}"}
            self.store.put(SOURCES, record)
            return clone(record)

    def delete_source(self, source_id: str) -> None:
        with self.lock:
            self._require(SOURCES, source_id)
            self.store.delete(SOURCES, source_id)

    def list_sources(
        self,
        *,
        cursor: str | None = None,
        limit: int | None = None,
        name: str | None = None,
        active: bool | None = None,
    ) -> dict[str, Any]:
        with self.lock:
            size = 100 if limit is None else limit
            if not 10 <= size <= 200:
                raise invalid([FieldProblem("limit", "must be between 10 and 200", value=size)], "listing")
            after = self._decode_cursor(SOURCES, cursor) if cursor else 0
            prefix = (name or "").strip().lower()
            rows: list[tuple[int, Record]] = []
            more = False
            for seq, record in self.store.scan_after(SOURCES, after):
                if prefix and not str(record.get("name", "")).lower().startswith(prefix):
                    continue
                if active is not None and bool(record.get("active", False)) != active:
                    continue
                if len(rows) == size:
                    more = True
                    break
                rows.append((seq, record))
            base = f"{API}/externalsources"
            listing: dict[str, Any] = {
                "entities": [clone(r) for _, r in rows],
                "selfUri": f"{base}?{urlencode({'limit': size})}",
            }
            if more:
                token = self._encode_cursor(SOURCES, rows[-1][0])
                listing["cursors"] = {"after": token}
                listing["nextUri"] = f"{base}?{urlencode({'limit': size, 'cursor': token})}"
            return listing

    def _clean_source(self, body: Any, source_id: str | None) -> dict[str, Any]:
        problems: list[FieldProblem] = []
        cleaned = self.cleaner.clean("ExternalSource", body, "", problems) if isinstance(body, dict) else None
        if not isinstance(body, dict):
            problems.append(FieldProblem("body", "must be a JSON object (external source)"))
        cleaned = cleaned or {}
        if not problems and not cleaned.get("name"):
            problems.append(FieldProblem("name", "is required", code="missing.property"))
        if problems:
            raise invalid(problems, "external source")
        lowered = cleaned["name"].lower()
        for other in self.store.all(SOURCES):
            if other["id"] != source_id and str(other.get("name", "")).lower() == lowered:
                raise EmulatorError(
                    409,
                    "conflict",
                    f"An external source named {cleaned['name']!r} already exists",
                    [{"errorCode": "duplicate.name", "fieldName": "name", "entityId": other["id"]}],
                    entity_id=other["id"],
                )
        cleaned.setdefault("active", True)
        return cleaned

    # ----------------------------------------------------------------- trustors

    def link_trustor(self, org_id: str, trustor_id: str) -> dict[str, Any]:
        """``PUT /organizations/{id}/trustor/{trustorId}``: the org now stands for that trustor org."""
        with self.lock:
            org = self._require(ORGS, org_id)
            trustor = trustor_id.strip()
            if not trustor:
                raise invalid([FieldProblem("trustorId", "is required")], "trustor link")
            others = sorted(self._trustor_links.get(trustor, set()) - {org_id})
            if others:
                raise EmulatorError(
                    409,
                    "conflict",
                    f"Trustor {trustor} is already linked to external organization {others[0]}",
                    entity_id=others[0],
                )
            now = self._now()
            previous = org.get("trustor", {}).get("id")
            if previous and previous != trustor:
                self._trustor_links.get(previous, set()).discard(org_id)
            updated = {
                **org,
                "trustor": {"id": trustor, "enabled": True, "dateCreated": now},
                "modifyDate": now,
            }
            self.store.put(ORGS, updated)
            self._trustor_links.setdefault(trustor, set()).add(org_id)
            return {
                "division": clone(org.get("division") or self._division()),
                "externalOrganizationId": org_id,
                "trustorOrgId": trustor,
                "dateCreated": now,
                "externalOrganizationUri": f"{API}/organizations/{org_id}",
            }

    def unlink_trustor(self, org_id: str) -> None:
        """``DELETE /organizations/{id}/trustor`` (404 when the org has no trustor)."""
        with self.lock:
            org = self._require(ORGS, org_id)
            trustor = org.get("trustor", {}).get("id")
            if not trustor:
                raise EmulatorError(
                    404,
                    "not.found",
                    f"External organization {org_id} is not linked to a trustor",
                    entity_id=org_id,
                )
            self._trustor_links.get(trustor, set()).discard(org_id)
            self.store.put(
                ORGS, {**{k: v for k, v in org.items() if k != "trustor"}, "modifyDate": self._now()}
            )

    # ----------------------------------------------------------------- notes

    def _paged(
        self,
        kind: str,
        records: Sequence[Record],
        *,
        page_size: int | None,
        page_number: int | None,
        max_size: int,
        base: str,
        extra: dict[str, str],
    ) -> dict[str, Any]:
        """One page of ``records`` as a ``*Listing`` (same 1,000-record cap as search)."""
        size = 25 if page_size is None else page_size
        number = 1 if page_number is None else page_number
        problems = []
        if not 1 <= size <= max_size:
            problems.append(FieldProblem("pageSize", f"must be between 1 and {max_size}", value=size))
        if number < 1:
            problems.append(FieldProblem("pageNumber", "must be 1 or more", value=number))
        if not problems and size * number > 1000:
            problems.append(FieldProblem("pageNumber", "pageNumber * pageSize must be <= 1000"))
        if problems:
            raise invalid(problems, "listing request")
        total = len(records)
        page_count = math.ceil(total / size) if total else 0
        start = (number - 1) * size

        def uri(n: int) -> str:
            return f"{base}?{urlencode({'pageSize': size, 'pageNumber': n, **extra})}"

        listing: dict[str, Any] = {
            "entities": [self.render(kind, r) for r in records[start : start + size]],
            "pageSize": size,
            "pageNumber": number,
            "total": total,
            "firstUri": uri(1),
            "selfUri": uri(number),
            "lastUri": uri(max(page_count, 1)),
            "pageCount": page_count,
        }
        if number < page_count and (number + 1) * size <= 1000:
            listing["nextUri"] = uri(number + 1)
        if number > 1:
            listing["previousUri"] = uri(number - 1)
        return listing

    def _children_in_order(
        self, kind: str, parent_id: str, sort_order: str | None, fields: tuple[str, ...]
    ) -> list[Record]:
        found = [
            r
            for r in (self.store.get(kind, i) for i in self.store.children(kind, parent_id))
            if r is not None
        ]
        found.sort(key=lambda r: self.store.seq_of(kind, r["id"]) or 0)
        if not sort_order:
            return found
        name, _, direction = sort_order.strip().partition(":")
        direction = direction.lower() or "asc"
        if name not in fields or direction not in ("asc", "desc"):
            raise invalid(
                [
                    FieldProblem(
                        "sortOrder",
                        f"must be field:direction with field one of {', '.join(fields)} and direction asc or desc",
                        value=sort_order,
                    )
                ],
                "listing request",
            )
        if name != "createDate":  # insertion order is creation order
            found.sort(key=lambda r: str(r.get(name) or "").lower())
        if direction == "desc":
            found.reverse()
        return found

    def _clean_note(self, body: Any) -> dict[str, Any]:
        problems: list[FieldProblem] = []
        if not isinstance(body, dict):
            raise invalid([FieldProblem("body", "must be a JSON object (note)")], "note")
        raw = {k: v for k, v in body.items() if k not in ("createdBy", "entityId", "entityType", "division")}
        cleaned: dict[str, Any] = self.cleaner.clean("Note", raw, "", problems) or {}
        if not problems and not cleaned.get("noteText"):
            problems.append(
                FieldProblem("noteText", "is required (1 to 32,000 characters)", "missing.property")
            )
        author = body.get("createdBy")
        if author is not None:
            author_id = author.get("id") if isinstance(author, dict) else None
            if not isinstance(author_id, str) or not author_id.strip():
                problems.append(FieldProblem("createdBy.id", "must be a user id"))
            else:
                cleaned["createdBy"] = {
                    "id": author_id.strip(),
                    "selfUri": f"/api/v2/users/{author_id.strip()}",
                }
        if problems:
            raise invalid(problems, "note")
        return cleaned

    def _require_note(self, kind: str, parent_id: str, note_id: str) -> Record:
        self._require(kind, parent_id)
        note = self.store.get(NOTES, note_id)
        if note is None or note.get("entityId") != parent_id:
            raise not_found(NOTES, note_id)
        return note

    def create_note(self, kind: str, parent_id: str, body: Any) -> dict[str, Any]:
        """POST a note on a contact or organization."""
        with self.lock:
            self._require(kind, parent_id)
            cleaned = self._clean_note(body)
            note_id = str(uuid.uuid4())
            now = self._now()
            record: Record = {
                "id": note_id,
                "entityId": parent_id,
                "entityType": NOTE_ENTITY_TYPE[kind],
                **cleaned,
                "createDate": now,
                "modifyDate": now,
                "selfUri": f"{API}/{kind}/{parent_id}/notes/{note_id}",
            }
            self.store.put(NOTES, record)
            self.store.link_child(NOTES, parent_id, note_id)
            return self.render(NOTES, record)

    def get_note(self, kind: str, parent_id: str, note_id: str) -> dict[str, Any]:
        with self.lock:
            return self.render(NOTES, self._require_note(kind, parent_id, note_id))

    def replace_note(self, kind: str, parent_id: str, note_id: str, body: Any) -> dict[str, Any]:
        with self.lock:
            previous = self._require_note(kind, parent_id, note_id)
            record = {k: previous[k] for k in ("id", "entityId", "entityType", "createDate", "selfUri")}
            record.update(self._clean_note(body))
            record["modifyDate"] = self._now()
            self.store.put(NOTES, record)
            return self.render(NOTES, record)

    def patch_note(self, kind: str, parent_id: str, note_id: str, body: Any) -> dict[str, Any]:
        with self.lock:
            previous = self._require_note(kind, parent_id, note_id)
            doc = {k: clone(v) for k, v in previous.items() if k in ("noteText", "createdBy")}
            self._apply_changes(NOTES, doc, body)
            return self.replace_note(kind, parent_id, note_id, doc)

    def delete_note(self, kind: str, parent_id: str, note_id: str) -> None:
        with self.lock:
            self._require_note(kind, parent_id, note_id)
            self.store.delete(NOTES, note_id)
            self.store.unlink_child(NOTES, parent_id, note_id)

    def list_notes(
        self,
        kind: str,
        parent_id: str,
        *,
        page_size: int | None = None,
        page_number: int | None = None,
        sort_order: str | None = None,
    ) -> dict[str, Any]:
        """A page of a record's notes (``NoteListing``), oldest first unless ``createDate:desc``."""
        with self.lock:
            self._require(kind, parent_id)
            notes = self._children_in_order(NOTES, parent_id, sort_order, ("createDate",))
            extra = {"sortOrder": sort_order} if sort_order else {}
            return self._paged(
                NOTES,
                notes,
                page_size=page_size,
                page_number=page_number,
                max_size=100,
                base=f"{API}/{kind}/{parent_id}/notes",
                extra=extra,
            )

    # ----------------------------------------------------------------- relationships

    def _clean_relationship(self, body: Any) -> dict[str, Any]:
        problems: list[FieldProblem] = []
        if not isinstance(body, dict):
            raise invalid([FieldProblem("body", "must be a JSON object (relationship)")], "relationship")
        raw = {k: v for k, v in body.items() if k not in ("user", "externalOrganization", "division")}
        cleaned: dict[str, Any] = self.cleaner.clean("Relationship", raw, "", problems) or {}
        if not problems and not cleaned.get("relationship"):
            problems.append(
                FieldProblem("relationship", "is required (1 to 100 characters)", "missing.property")
            )
        user = body.get("user")
        user_id = user.get("id") if isinstance(user, dict) else None
        if not isinstance(user_id, str) or not user_id.strip():
            problems.append(
                FieldProblem("user.id", "is required (the user in this relationship)", "missing.property")
            )
        else:
            cleaned["user"] = {"id": user_id.strip(), "selfUri": f"/api/v2/users/{user_id.strip()}"}
        org = body.get("externalOrganization")
        org_id = org.get("id") if isinstance(org, dict) else None
        if not isinstance(org_id, str) or not org_id.strip():
            problems.append(FieldProblem("externalOrganization.id", "is required", "missing.property"))
        elif self.store.get(ORGS, org_id.strip()) is None:
            problems.append(
                FieldProblem("externalOrganization.id", "names no external organization", value=org_id)
            )
        else:
            cleaned["externalOrganization"] = {"id": org_id.strip()}
        if problems:
            raise invalid(problems, "relationship")
        return cleaned

    def _store_relationship(self, record: Record, previous: Record | None) -> dict[str, Any]:
        old_org = (previous or {}).get("externalOrganization", {}).get("id")
        new_org = record["externalOrganization"]["id"]
        if old_org != new_org:
            if old_org:
                self.store.unlink_child(RELATIONSHIPS, old_org, record["id"])
            self.store.link_child(RELATIONSHIPS, new_org, record["id"])
        self.store.put(RELATIONSHIPS, record)
        return self.render(RELATIONSHIPS, record)

    def create_relationship(self, body: Any) -> dict[str, Any]:
        with self.lock:
            rel_id = str(uuid.uuid4())
            record: Record = {"id": rel_id, **self._clean_relationship(body)}
            record["division"] = self._division()
            record["selfUri"] = f"{API}/relationships/{rel_id}"
            return self._store_relationship(record, None)

    def get_relationship(self, rel_id: str) -> dict[str, Any]:
        with self.lock:
            return self.render(RELATIONSHIPS, self._require(RELATIONSHIPS, rel_id))

    def replace_relationship(self, rel_id: str, body: Any) -> dict[str, Any]:
        with self.lock:
            previous = self._require(RELATIONSHIPS, rel_id)
            record: Record = {"id": rel_id, **self._clean_relationship(body)}
            record["division"] = clone(previous.get("division") or self._division())
            record["selfUri"] = previous.get("selfUri", f"{API}/relationships/{rel_id}")
            return self._store_relationship(record, previous)

    def patch_relationship(self, rel_id: str, body: Any) -> dict[str, Any]:
        with self.lock:
            previous = self._require(RELATIONSHIPS, rel_id)
            doc = {
                k: clone(v)
                for k, v in previous.items()
                if k in ("user", "externalOrganization", "relationship")
            }
            self._apply_changes(RELATIONSHIPS, doc, body)
            return self.replace_relationship(rel_id, doc)

    def delete_relationship(self, rel_id: str) -> None:
        with self.lock:
            record = self._require(RELATIONSHIPS, rel_id)
            self.store.delete(RELATIONSHIPS, rel_id)
            self.store.unlink_child(RELATIONSHIPS, record["externalOrganization"]["id"], rel_id)

    def list_relationships(
        self,
        org_id: str,
        *,
        page_size: int | None = None,
        page_number: int | None = None,
        sort_order: str | None = None,
    ) -> dict[str, Any]:
        """A page of an organization's relationships (``RelationshipListing``)."""
        with self.lock:
            self._require(ORGS, org_id)
            rels = self._children_in_order(RELATIONSHIPS, org_id, sort_order, ("createDate", "relationship"))
            extra = {"sortOrder": sort_order} if sort_order else {}
            return self._paged(
                RELATIONSHIPS,
                rels,
                page_size=page_size,
                page_number=page_number,
                max_size=self.settings.search_max_page_size,
                base=f"{API}/organizations/{org_id}/relationships",
                extra=extra,
            )

    # ----------------------------------------------------------------- admin

    def reset(self) -> None:
        """Forget every record and the statistics (tokens stay valid)."""
        with self.lock:
            self.store.clear()
            self._hay.clear()
            self._trustor_links.clear()
            self.stats.reset()
            self.rate_limiter.reset()
            self.token_limiter.reset()
            self.faults.clear_forced()

    def dump(self) -> dict[str, Any]:
        """The full state as JSON (records in insertion order); :meth:`load` restores it."""
        with self.lock:
            return {
                "version": 1,
                "externalsources": [clone(r) for r in self.store.all(SOURCES)],
                "organizations": [clone(r) for r in self.store.all(ORGS)],
                "contacts": [clone(r) for r in self.store.all(CONTACTS)],
                "notes": [clone(r) for r in self.store.all(NOTES)],
                "relationships": [clone(r) for r in self.store.all(RELATIONSHIPS)],
            }

    def load(self, state: Any) -> dict[str, int]:
        """Replace the state with a :meth:`dump`. Raises a 400 :class:`EmulatorError` naming bad parts."""
        with self.lock:
            problems = _check_state(state)
            if problems:
                raise invalid(problems, "state")
            self.store.clear()
            self._hay.clear()
            self._trustor_links.clear()
            for kind in ALL_KINDS:
                for record in state.get(kind, []):
                    stored = clone(record)
                    self.store.put(kind, stored)
                    if kind == NOTES:
                        self.store.link_child(NOTES, stored["entityId"], stored["id"])
                    if kind == RELATIONSHIPS:
                        self.store.link_child(
                            RELATIONSHIPS, stored["externalOrganization"]["id"], stored["id"]
                        )
                    if kind in (SOURCES, NOTES, RELATIONSHIPS):
                        continue
                    trustor = stored.get("trustor", {}).get("id") if kind == ORGS else None
                    if isinstance(trustor, str):
                        self._trustor_links.setdefault(trustor, set()).add(stored["id"])
                    for ident in stored.get("identifiers", []):
                        self.store.add_identifier(kind, self._key(ident), stored["id"])
                    org_id = stored.get("externalOrganization", {}).get("id") if kind == CONTACTS else None
                    if org_id:
                        self.store.link_member(org_id, stored["id"])
            return {kind: self.store.count(kind) for kind in ALL_KINDS}

    def counts(self) -> dict[str, int]:
        with self.lock:
            return {kind: self.store.count(kind) for kind in ALL_KINDS}

    def iter_records(self, kind: str) -> Iterator[dict[str, Any]]:
        """Every record of a kind, rendered (for tests and tools; O(total))."""
        with self.lock:
            records = list(self.store.all(kind))
        for record in records:
            yield self.render(kind, record)


class _Window(Sequence[Record]):
    """The first records of a kind plus the kind's total: a page reads no further than it needs."""

    def __init__(self, head: list[Record], total: int) -> None:
        self._head = head
        self._total = total

    def __len__(self) -> int:
        return self._total

    @overload
    def __getitem__(self, index: int) -> Record: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Record]: ...
    def __getitem__(self, index: int | slice) -> Record | Sequence[Record]:
        return self._head[index]


@dataclass(frozen=True)
class EnrichRules:
    default: str
    default_array: str
    fields: dict[str, tuple[str | None, str | None]]


def _pick(action: str, existing: Any, provided: Any) -> Any:
    if action == "AlwaysUseProvided":
        return clone(provided)
    if action == "PreferExisting":
        return clone(existing if not is_empty(existing) else provided)
    return clone(provided if not is_empty(provided) else existing)


def _matches(item: Any, pattern: Any) -> bool:
    """RemoveFromCollection: equal values, or for objects every key of the pattern equal."""
    if isinstance(item, dict) and isinstance(pattern, dict):
        return all(item.get(k) == v for k, v in pattern.items())
    return bool(item == pattern)


def _check_state(state: Any) -> list[FieldProblem]:
    if not isinstance(state, dict):
        return [FieldProblem("state", "must be a JSON object (from GET /_emulator/state)")]
    problems: list[FieldProblem] = []
    if state.get("version") != 1:
        problems.append(FieldProblem("version", "must be 1"))
    for kind in ALL_KINDS:
        records = state.get(kind, [])
        if not isinstance(records, list):
            problems.append(FieldProblem(kind, "must be a JSON array"))
            continue
        seen: set[str] = set()
        for i, record in enumerate(records):
            rid = record.get("id") if isinstance(record, dict) else None
            if not isinstance(rid, str) or not _UUIDISH.match(rid):
                problems.append(FieldProblem(f"{kind}[{i}].id", "must be a record id"))
            elif rid in seen:
                problems.append(FieldProblem(f"{kind}[{i}].id", "is duplicated", value=rid))
            else:
                seen.add(rid)
            if isinstance(record, dict) and not isinstance(record.get("identifiers", []), list):
                problems.append(FieldProblem(f"{kind}[{i}].identifiers", "must be a JSON array"))
            elif isinstance(record, dict):
                for j, ident in enumerate(record.get("identifiers", [])):
                    if not _valid_identifier(ident):
                        problems.append(
                            FieldProblem(f"{kind}[{i}].identifiers[{j}]", "needs string type and value")
                        )
            division = record.get("division") if isinstance(record, dict) else None
            if division is not None and not (
                isinstance(division, dict) and isinstance(division.get("id"), str)
            ):
                problems.append(FieldProblem(f"{kind}[{i}].division", "must be {id: string, ...}"))
            if kind == NOTES and isinstance(record, dict) and not isinstance(record.get("entityId"), str):
                problems.append(FieldProblem(f"{kind}[{i}].entityId", "must be the id of the noted record"))
            ref = record.get("externalOrganization") if isinstance(record, dict) else None
            if (
                kind == CONTACTS
                and ref is not None
                and not (isinstance(ref, dict) and isinstance(ref.get("id"), str))
            ):
                problems.append(FieldProblem(f"{kind}[{i}].externalOrganization", "must be {id: string}"))
    return problems


def _valid_identifier(ident: Any) -> bool:
    if not isinstance(ident, dict):
        return False
    if not isinstance(ident.get("type"), str) or not isinstance(ident.get("value"), str):
        return False
    source = ident.get("externalSource")
    return source is None or (isinstance(source, dict) and isinstance(source.get("id"), str))
