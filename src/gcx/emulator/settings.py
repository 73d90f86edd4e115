"""The emulator's settings: behaviour for the spec's unknowns, limits, credentials and faults."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

ORG_DELETE_MODES = ("reject", "unlink", "cascade")
DROP_MODES = ("disconnect", "504", "mixed")
FAULT_STATUSES = (500, 503, 504)
CONFLICT_MODES = ("keep", "reject")
CLAIM_CONFLICT_MODES = ("reject", "move")

#: The emulator's identity rules before issue 10 ("kind": identifiers in every answer, claimed from
#: ``externalIds`` and from a body's ``identifiers``, a conflicting write refused with 409, nothing
#: derived from named fields, PUT never releasing). Tests that still rely on them select these.
KIND_IDENTITY: dict[str, Any] = {
    "derive_identifiers": False,
    "claim_external_ids": True,
    "claim_body_identifiers": True,
    "write_claim_conflict": "reject",
    "release_on_change": False,
    "identifiers_in_all_reads": True,
}
#: The strictest combination of the identity settings (the defaults): identifiers only from named
#: fields, shown only with ``expand=identifiers``, a PATCH claim of a held identifier refused.
STRICT_IDENTITY: dict[str, Any] = {
    "derive_identifiers": True,
    "claim_external_ids": False,
    "claim_body_identifiers": False,
    "write_claim_conflict": "keep",
    "identifier_claim_conflict": "reject",
    "release_on_change": True,
    "identifiers_in_all_reads": False,
}


@dataclass(frozen=True)
class EmulatorSettings:
    """Everything that changes how the emulator behaves. Immutable; see :meth:`replace`.

    Limits and auth:
        rate_limit: requests per minute per bearer token (0 = off). Excess -> 429 + Retry-After.
        org_rate_limit: requests per minute for the whole org, all tokens together (0 = off): an
            undocumented limit, a setting so that a client spreading work over tokens is tested
            against it.
        token_rate_limit: tokens issued per minute per client id (0 = off).
        token_ttl: lifetime of a token in seconds (``expires_in``).
        credentials: accepted ``(client_id, client_secret)`` pairs; empty = accept any.
        admin_secret: when set, ``/_emulator/*`` needs it in the ``X-Gcx-Admin-Secret`` header
            (401 otherwise); empty = admin open (loopback test use).
        max_body_bytes: largest request body (413 above it; read as a stream, never whole).
        client_permissions: ``(client_id, (permission, ...))`` pairs: the role of that OAuth
            client. A client listed here may call only the operations one of its permissions
            allows (``gcx.permissions``; ``*`` and ``domain:*`` wildcards count); a client not
            listed holds every permission. A refusal is ``403 missing.any.permissions``.
        licensed: False = the org lacks the External Contacts licence: every External Contacts
            call is refused (403 ``missing.any.permissions``, as no role can hold the
            permissions); ``/organizations/me`` and tokens still work.
    The spec's unknowns:
        max_bulk_size: most entities in one bulk request (413 above it).
        org_delete_with_contacts: ``reject`` (409) | ``unlink`` | ``cascade``.
        unique_external_ids: a second record may not claim the same ExternalId identifier.
        shuffle_bulk_results: bulk results never come back in request order.
    Identity (docs/emulator.md "Identity"; defaults are the documented rules, the strictest for a
    client; :data:`KIND_IDENTITY` restores the emulator's earlier, kinder ones):
        derive_identifiers: a write claims the identifiers its named fields make (emails, phones,
            social ids) — documented.
        claim_external_ids: each ``externalIds`` entry also claims an ExternalId identifier.
        claim_body_identifiers: a POST/PUT/bulk body's ``identifiers`` array is claimed.
        write_claim_conflict: ``keep`` (a held identifier silently stays with its holder,
            documented) | ``reject`` (409).
        identifier_claim_conflict: ``PATCH .../identifiers`` Claim of an identifier another record
            holds: ``reject`` (409) | ``move`` (it moves to the claimer).
        release_on_change: a PUT/PATCH releases the identifiers of fields that changed — documented.
        identifiers_in_all_reads: identifiers in every answer (scans, bulk, writes) instead of
            only with ``expand=identifiers``.
    Faults (all seeded by ``seed``; probabilities in 0..1):
        fault_rate: a 500/503/504 (picked from ``fault_statuses``) instead of handling an API call.
        token_fault_rate: the same on ``POST /oauth/token``.
        latency, latency_jitter: seconds added before each API call (jitter: uniform 0..jitter).
        drop_after_commit: a write is applied, then the answer is lost (``drop_mode``:
            ``disconnect`` cuts the connection, ``504`` answers 504, ``mixed`` picks one).
        burst_429_rate: chance that an API call starts a burst of ``burst_429_length`` 429s.
    """

    org_id: str = "6f1c4b2a-0e9d-4c1b-9a53-2f7d0e8c5a11"
    org_name: str = "gcx emulator"
    division_id: str = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    division_name: str = "Home"
    rate_limit: int = 300
    org_rate_limit: int = 0
    token_rate_limit: int = 0
    token_ttl: int = 86400
    credentials: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    admin_secret: str = field(default="", repr=False)
    max_body_bytes: int = 10 * 1024 * 1024
    client_permissions: tuple[tuple[str, tuple[str, ...]], ...] = ()
    licensed: bool = True
    max_bulk_size: int = 200
    max_enrich_bulk_size: int = 10
    org_delete_with_contacts: str = "reject"
    unique_external_ids: bool = True
    shuffle_bulk_results: bool = True
    derive_identifiers: bool = True
    claim_external_ids: bool = False
    claim_body_identifiers: bool = False
    write_claim_conflict: str = "keep"
    identifier_claim_conflict: str = "reject"
    release_on_change: bool = True
    identifiers_in_all_reads: bool = False
    search_max_page_size: int = 200
    cursor_ttl: int = 86400
    seed: int | None = None
    fault_rate: float = 0.0
    fault_statuses: tuple[int, ...] = FAULT_STATUSES
    token_fault_rate: float = 0.0
    latency: float = 0.0
    latency_jitter: float = 0.0
    drop_after_commit: float = 0.0
    drop_mode: str = "disconnect"
    burst_429_rate: float = 0.0
    burst_429_length: int = 5

    def __post_init__(self) -> None:
        problems = validate_settings(self)
        if problems:
            raise ValueError("invalid emulator settings: " + "; ".join(problems))

    def replace(self, **changes: Any) -> EmulatorSettings:
        """A copy with some settings changed (validated; unknown names rejected)."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown emulator setting(s): {', '.join(unknown)}")
        if "credentials" in changes:
            changes["credentials"] = tuple(tuple(pair) for pair in changes["credentials"])
        if "client_permissions" in changes:
            value = changes["client_permissions"]
            items = value.items() if isinstance(value, dict) else value
            changes["client_permissions"] = tuple((str(cid), tuple(perms)) for cid, perms in items)
        if "fault_statuses" in changes:
            changes["fault_statuses"] = tuple(changes["fault_statuses"])
        return dataclasses.replace(self, **changes)

    def public(self) -> dict[str, Any]:
        """The settings as JSON, credentials reduced to their client ids (never the secrets)."""
        data = dataclasses.asdict(self)
        data["credentials"] = [client_id for client_id, _ in self.credentials]
        data["admin_secret"] = "set" if self.admin_secret else ""
        data["client_permissions"] = {cid: list(perms) for cid, perms in self.client_permissions}
        data["fault_statuses"] = list(self.fault_statuses)
        return data


def _is_prob(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0.0 <= value <= 1.0
    )


def _is_count(value: Any, minimum: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def validate_settings(s: EmulatorSettings) -> list[str]:
    """Every problem with ``s``, each naming the setting."""
    problems: list[str] = []
    for name in ("rate_limit", "org_rate_limit", "token_rate_limit"):
        if not _is_count(getattr(s, name)):
            problems.append(f"{name} must be an integer >= 0 (0 = off)")
    if not isinstance(s.admin_secret, str):
        problems.append("admin_secret must be a string (empty = admin endpoints open)")
    for name in (
        "max_body_bytes",
        "token_ttl",
        "max_bulk_size",
        "max_enrich_bulk_size",
        "search_max_page_size",
        "cursor_ttl",
    ):
        if not _is_count(getattr(s, name), 1):
            problems.append(f"{name} must be an integer >= 1")
    if not _is_count(s.burst_429_length, 1):
        problems.append("burst_429_length must be an integer >= 1")
    for name in ("fault_rate", "token_fault_rate", "drop_after_commit", "burst_429_rate"):
        if not _is_prob(getattr(s, name)):
            problems.append(f"{name} must be a probability between 0 and 1")
    for name in ("latency", "latency_jitter"):
        value = getattr(s, name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 60:
            problems.append(f"{name} must be a number of seconds between 0 and 60")
    if s.org_delete_with_contacts not in ORG_DELETE_MODES:
        problems.append(f"org_delete_with_contacts must be one of {', '.join(ORG_DELETE_MODES)}")
    if s.drop_mode not in DROP_MODES:
        problems.append(f"drop_mode must be one of {', '.join(DROP_MODES)}")
    if not s.fault_statuses or any(
        not isinstance(code, int) or not 500 <= code <= 599 for code in s.fault_statuses
    ):
        problems.append("fault_statuses must be a non-empty list of 5xx statuses")
    if s.seed is not None and (isinstance(s.seed, bool) or not isinstance(s.seed, int)):
        problems.append("seed must be an integer or null")
    if s.write_claim_conflict not in CONFLICT_MODES:
        problems.append(f"write_claim_conflict must be one of {', '.join(CONFLICT_MODES)}")
    if s.identifier_claim_conflict not in CLAIM_CONFLICT_MODES:
        problems.append(f"identifier_claim_conflict must be one of {', '.join(CLAIM_CONFLICT_MODES)}")
    for name in (
        "unique_external_ids",
        "shuffle_bulk_results",
        "derive_identifiers",
        "claim_external_ids",
        "claim_body_identifiers",
        "release_on_change",
        "identifiers_in_all_reads",
    ):
        if not isinstance(getattr(s, name), bool):
            problems.append(f"{name} must be true or false")
    for name in ("org_id", "org_name", "division_id", "division_name"):
        if not isinstance(getattr(s, name), str) or not getattr(s, name):
            problems.append(f"{name} must be a non-empty string")
    if not isinstance(s.credentials, tuple) or any(
        not isinstance(pair, tuple)
        or len(pair) != 2
        or not all(isinstance(part, str) and part for part in pair)
        for pair in s.credentials
    ):
        problems.append("credentials must be (client_id, client_secret) pairs of non-empty strings")
    if not isinstance(s.client_permissions, tuple) or any(
        not isinstance(pair, tuple)
        or len(pair) != 2
        or not isinstance(pair[0], str)
        or not isinstance(pair[1], tuple)
        or not all(isinstance(p, str) and p for p in pair[1])
        for pair in s.client_permissions
    ):
        problems.append("client_permissions must be (client_id, [permission, ...]) pairs")
    if not isinstance(s.licensed, bool):
        problems.append("licensed must be true or false")
    return problems
