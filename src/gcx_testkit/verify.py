"""Is the Genesys side exactly what the source says, with nothing else lost? Pure checks.

:func:`verify` takes

* ``state``: the emulator's full state (``GET /_emulator/state`` or ``Emulator.dump()``);
* ``source``: the valid source records in canonical JSON (``{"kind", "externalId",
  "organization"?, <API fields>}``, the JSONL form of ``gcx sync``);
* an :class:`Expectation`: values people set on the Genesys side that must still be there
  (``unmanaged``), managed values that must stay as a person set them (``kept``: conflicts
  left in place by ``--on-conflict report``), keys that must not exist (``absent``);
* optionally the ledger (``(kind, key, genesys id)`` rows) and how many of its operations
  are still open;

and returns a :class:`VerifyReport`: duplicates (several records holding one ExternalId),
missing records, managed fields that differ, unmanaged fields lost, records that should
not exist, and ledger rows that do not match the remote state.

Comparison rules (independent from the sync engine's own, on purpose): strings are
trimmed and an empty string is no value; phones compare by E.164 (the ``e164`` the
server fills, else the ``display`` parsed, US by default); emails case-insensitively;
lists item by item (trimmed); objects as subsets (every expected key equal); a contact's
``organization`` is the ExternalId of the organization its ``externalOrganization.id``
points at.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import phonenumbers

from gcx.merge import get_path

KINDS = ("organization", "contact")
STATE_KEYS = {"organization": "organizations", "contact": "contacts"}
ORG_REF = "organization"
PHONE_FIELDS = frozenset({"workPhone", "cellPhone", "homePhone", "otherPhone", "phoneNumber", "faxNumber"})
EMAIL_FIELDS = frozenset({"workEmail", "personalEmail", "otherEmail"})
#: Objects whose sub-fields are managed one by one (``address.city``, ``customFields.tier``).
FLAT_OBJECTS = frozenset({"address", "customFields"})

RecordKey = tuple[str, str]


@dataclass
class Expectation:
    """What must hold besides "every managed field equals the source".

    ``unmanaged``: (kind, ExternalId) -> {dot path: value} set on the Genesys side that
    must survive. ``kept``: (kind, ExternalId) -> {dot path: value} managed values that must
    stay as a person set them (they override the source). ``absent``: (kind, ExternalId)
    that must not exist (invalid source rows).
    """

    unmanaged: dict[RecordKey, dict[str, Any]] = field(default_factory=dict)
    kept: dict[RecordKey, dict[str, Any]] = field(default_factory=dict)
    absent: set[RecordKey] = field(default_factory=set)


@dataclass(frozen=True)
class Mismatch:
    kind: str
    key: str
    field: str
    expected: Any
    actual: Any

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "externalId": self.key,
            "field": self.field,
            "expected": self.expected,
            "actual": self.actual,
        }


@dataclass
class VerifyReport:
    """Everything that is not exact. ``ok`` when every list is empty."""

    expected: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    present: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    missing: list[RecordKey] = field(default_factory=list)
    mismatches: list[Mismatch] = field(default_factory=list)
    lost: list[Mismatch] = field(default_factory=list)
    unexpected: list[dict[str, Any]] = field(default_factory=list)
    ledger: list[str] = field(default_factory=list)
    fields_checked: int = 0
    unmanaged_checked: int = 0

    @property
    def duplicate_records(self) -> int:
        """Records beyond the first for each ExternalId (what a cleanup would delete)."""
        return sum(len(d["ids"]) - 1 for d in self.duplicates)

    @property
    def ok(self) -> bool:
        return not (
            self.duplicates or self.missing or self.mismatches or self.lost or self.unexpected or self.ledger
        )

    def counts(self) -> dict[str, int]:
        return {
            "duplicates": self.duplicate_records,
            "missing": len(self.missing),
            "managed mismatches": len(self.mismatches),
            "fields lost": len(self.lost),
            "unexpected records": len(self.unexpected),
            "ledger problems": len(self.ledger),
        }

    def summary_rows(self) -> list[tuple[str, str]]:
        rows = [
            (
                "records expected / present",
                ", ".join(f"{k}s {self.expected[k]}/{self.present[k]}" for k in KINDS),
            ),
            ("managed fields checked", str(self.fields_checked)),
            ("unmanaged fields checked", str(self.unmanaged_checked)),
        ]
        rows += [(name, str(n)) for name, n in self.counts().items()]
        return rows

    def describe(self, limit: int = 10) -> str:
        """A readable account of the problems (for assertion messages)."""
        lines = [f"{name}: {value}" for name, value in self.summary_rows()]
        for d in self.duplicates[:limit]:
            lines.append(f"duplicate {d['kind']} {d['externalId']!r}: {d['ids']}")
        for kind, key in self.missing[:limit]:
            lines.append(f"missing {kind} {key!r}")
        for m in self.mismatches[:limit]:
            lines.append(f"mismatch {m.kind} {m.key!r} {m.field}: expected {m.expected!r}, got {m.actual!r}")
        for m in self.lost[:limit]:
            lines.append(f"lost {m.kind} {m.key!r} {m.field}: expected {m.expected!r}, got {m.actual!r}")
        for u in self.unexpected[:limit]:
            lines.append(f"unexpected {u['kind']} {u['externalId']!r}: {u['reason']}")
        lines += [f"ledger: {p}" for p in self.ledger[:limit]]
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "counts": self.counts(),
            "expected": self.expected,
            "present": self.present,
            "fieldsChecked": self.fields_checked,
            "unmanagedChecked": self.unmanaged_checked,
            "duplicates": self.duplicates,
            "missing": [{"kind": k, "externalId": key} for k, key in self.missing],
            "mismatches": [m.to_json() for m in self.mismatches],
            "lost": [m.to_json() for m in self.lost],
            "unexpected": self.unexpected,
            "ledger": self.ledger,
        }


# --------------------------------------------------------------------------- values


def flatten(record: Mapping[str, Any]) -> dict[str, Any]:
    """Canonical record -> {dot path: value} (``address``/``customFields`` split, the rest whole)."""
    out: dict[str, Any] = {}
    for name, value in record.items():
        if name in ("kind", "externalId"):
            continue
        if name in FLAT_OBJECTS and isinstance(value, Mapping):
            for sub, v in value.items():
                out[f"{name}.{sub}"] = v
        else:
            out[name] = value
    return out


def _phone(value: Any, country: str | None) -> str | None:
    if isinstance(value, Mapping):
        e164 = value.get("e164")
        if isinstance(e164, str) and e164.strip():
            return e164.strip()
        value = value.get("display")
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else (country or "US"))
    except phonenumbers.NumberParseException:
        return text
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def normalize(path: str, value: Any, *, phone_country: str | None = "US") -> Any:
    """A value in the form two sides are compared in (see the module docs)."""
    leaf = path.rsplit(".", 1)[-1]
    if path in PHONE_FIELDS or leaf in PHONE_FIELDS:
        return _phone(value, phone_country)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        return text.casefold() if leaf in EMAIL_FIELDS else text
    if isinstance(value, list):
        items = [normalize(path + "[]", v, phone_country=phone_country) for v in value]
        items = [i for i in items if i is not None]
        return items or None
    if isinstance(value, Mapping):
        return {k: normalize(f"{path}.{k}", v, phone_country=phone_country) for k, v in value.items()}
    return value


def matches(path: str, expected: Any, actual: Any, *, phone_country: str | None = "US") -> bool:
    """Does ``actual`` (from Genesys) hold ``expected``? Objects compare as subsets."""
    e = normalize(path, expected, phone_country=phone_country)
    a = normalize(path, actual, phone_country=phone_country)
    if isinstance(e, dict) and not (path in PHONE_FIELDS or path.rsplit(".", 1)[-1] in PHONE_FIELDS):
        if not isinstance(a, dict):
            return False
        return all(matches(f"{path}.{k}", v, a.get(k), phone_country=phone_country) for k, v in e.items())
    scalar = bool | int | float
    if (isinstance(e, scalar) and isinstance(a, str)) or (isinstance(a, scalar) and isinstance(e, str)):
        return str(e) == str(a)
    return bool(e == a)


def keys_of(record: Mapping[str, Any], external_source_id: str | None = None) -> set[str]:
    """Every ExternalId a Genesys record holds (identifiers and ``externalIds``)."""
    keys: set[str] = set()
    for ident in record.get("identifiers") or []:
        if isinstance(ident, Mapping) and ident.get("type") == "ExternalId" and ident.get("value"):
            keys.add(str(ident["value"]).strip())
    for ext in record.get("externalIds") or []:
        if not isinstance(ext, Mapping) or not ext.get("value"):
            continue
        src = ext.get("externalSource")
        src_id = src.get("id") if isinstance(src, Mapping) else None
        if external_source_id is None or src_id == external_source_id:
            keys.add(str(ext["value"]).strip())
    return keys


# --------------------------------------------------------------------------- verify


def verify(
    state: Mapping[str, Any],
    source: Iterable[Mapping[str, Any]],
    expectation: Expectation | None = None,
    *,
    ledger: Sequence[tuple[str, str, str]] | None = None,
    open_ops: int = 0,
    external_source_id: str | None = None,
    phone_country: str | None = "US",
    strict_extra: bool = False,
) -> VerifyReport:
    """Compare the Genesys side with the source (see the module docs).

    ``strict_extra``: records holding an ExternalId the source does not have are reported
    (use it when nothing else holds ExternalIds in the org).
    """
    exp = expectation or Expectation()
    rep = VerifyReport()
    by_key: dict[str, dict[str, list[dict[str, Any]]]] = {k: {} for k in KINDS}
    by_id: dict[str, dict[str, Mapping[str, Any]]] = {k: {} for k in KINDS}
    for kind in KINDS:
        for rec in state.get(STATE_KEYS[kind]) or []:
            rid = str(rec.get("id"))
            by_id[kind][rid] = rec
            for key in keys_of(rec, external_source_id):
                by_key[kind].setdefault(key, []).append(rec)
    org_key_of_id: dict[str, str] = {}
    for key, recs in by_key["organization"].items():
        for rec in recs:
            org_key_of_id[str(rec.get("id"))] = key

    wanted: dict[str, dict[str, Mapping[str, Any]]] = {k: {} for k in KINDS}
    for rec in source:
        kind = str(rec.get("kind"))
        if kind not in KINDS:
            raise ValueError(f"source record {rec.get('externalId')!r}: kind must be organization or contact")
        wanted[kind][str(rec["externalId"]).strip()] = rec

    for kind in KINDS:
        rep.expected[kind] = len(wanted[kind])
        for key, recs in sorted(by_key[kind].items()):
            if len(recs) > 1:
                rep.duplicates.append(
                    {"kind": kind, "externalId": key, "ids": sorted(str(r.get("id")) for r in recs)}
                )
            if (kind, key) in exp.absent:
                rep.unexpected.append(
                    {"kind": kind, "externalId": key, "reason": "an invalid source row was written"}
                )
            elif strict_extra and key not in wanted[kind] and (kind, key) not in exp.unmanaged:
                rep.unexpected.append({"kind": kind, "externalId": key, "reason": "not in the source"})
        for key, want in wanted[kind].items():
            recs = by_key[kind].get(key) or []
            if not recs:
                rep.missing.append((kind, key))
                continue
            rep.present[kind] += 1
            kept = exp.kept.get((kind, key), {})
            for remote in recs:  # with duplicates, every copy is checked
                _check_managed(rep, kind, key, want, kept, remote, org_key_of_id, phone_country)
                for path, value in exp.unmanaged.get((kind, key), {}).items():
                    rep.unmanaged_checked += 1
                    actual = get_path(remote, path)
                    if not matches(path, value, actual, phone_country=phone_country):
                        rep.lost.append(Mismatch(kind, key, path, value, actual))
        for (k, key), values in exp.unmanaged.items():  # records the source does not manage
            if k != kind or key in wanted[kind]:
                continue
            for remote in by_key[kind].get(key) or []:
                for path, value in values.items():
                    rep.unmanaged_checked += 1
                    if not matches(path, value, get_path(remote, path), phone_country=phone_country):
                        rep.lost.append(Mismatch(kind, key, path, value, get_path(remote, path)))

    if ledger is not None:
        _check_ledger(rep, ledger, open_ops, wanted, by_id, external_source_id)
    return rep


def _check_managed(
    rep: VerifyReport,
    kind: str,
    key: str,
    want: Mapping[str, Any],
    kept: Mapping[str, Any],
    remote: Mapping[str, Any],
    org_key_of_id: Mapping[str, str],
    phone_country: str | None,
) -> None:
    for path, value in flatten(want).items():
        if path in kept:
            value = kept[path]
        rep.fields_checked += 1
        if path == ORG_REF and kind == "contact":
            org = remote.get("externalOrganization")
            org_id = str(org.get("id")) if isinstance(org, Mapping) and org.get("id") else None
            actual = org_key_of_id.get(org_id, f"(genesys id {org_id})") if org_id else None
            if (value or None) != actual:
                rep.mismatches.append(Mismatch(kind, key, path, value, actual))
            continue
        actual = get_path(remote, path)
        if not matches(path, value, actual, phone_country=phone_country):
            rep.mismatches.append(Mismatch(kind, key, path, value, actual))


def _check_ledger(
    rep: VerifyReport,
    ledger: Sequence[tuple[str, str, str]],
    open_ops: int,
    wanted: Mapping[str, Mapping[str, Any]],
    by_id: Mapping[str, Mapping[str, Mapping[str, Any]]],
    external_source_id: str | None,
) -> None:
    if open_ops:
        rep.ledger.append(f"{open_ops} operation(s) still open (started or unknown)")
    held: set[RecordKey] = set()
    for kind, key, gid in ledger:
        held.add((kind, key))
        remote = by_id.get(kind, {}).get(gid)
        if remote is None:
            rep.ledger.append(f"{kind} {key!r} -> {gid}: no such record in Genesys")
        elif key not in keys_of(remote, external_source_id):
            rep.ledger.append(f"{kind} {key!r} -> {gid}: that record does not hold the ExternalId")
    for kind in KINDS:
        for key in wanted[kind]:
            if (kind, key) not in held:
                rep.ledger.append(f"{kind} {key!r}: synced but not in the ledger")


# --------------------------------------------------------------------------- secrets

#: An ``Authorization: Bearer`` value that is not masked.
BEARER = re.compile(r"(?i)\bbearer(?:\s+|%20)(?!\*\*\*)([A-Za-z0-9._~+/=\-]{8,})")


@dataclass(frozen=True)
class Leak:
    """Where a secret showed up. ``what`` describes it without repeating it."""

    where: str
    what: str
    offset: int

    def __str__(self) -> str:
        return f"{self.what} in {self.where} at offset {self.offset}"


def find_secrets(
    texts: Mapping[str, str | bytes], secrets: Iterable[str], *, tokens: Iterable[str] = ()
) -> list[Leak]:
    """Every occurrence of a secret, a known bearer token or an unmasked ``Bearer x`` in ``texts``.

    ``texts`` maps a name (a file, "stdout of run 3") to its content. The result never holds
    the secret itself, only where it is.
    """
    named = [(s, f"secret #{i + 1}") for i, s in enumerate(s for s in secrets if s)]
    named += [(t, f"bearer token #{i + 1}") for i, t in enumerate(t for t in tokens if t)]
    leaks: list[Leak] = []
    for where, content in texts.items():
        text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
        for value, what in named:
            start = text.find(value)
            while start != -1:
                leaks.append(Leak(where, what, start))
                start = text.find(value, start + 1)
        for m in BEARER.finditer(text):
            leaks.append(Leak(where, "an unmasked 'Bearer' credential", m.start()))
    return leaks
