"""The source a chaos run syncs, generated deterministically from the seed.

Values come from the demo CRM generator (:mod:`gcx.demo.crm`: its US names, titles, cities,
industries and phone numbers); what this module adds is the shape the harness needs: canonical
JSONL records, or a CSV + mapping whose invalid rows are known line by line (the report must
name each of them once, with its field).
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gcx.demo import crm
from gcx_testkit.chaos.config import ChaosConfig

BAD_KINDS = ("email", "phone", "too_long", "missing_org", "duplicate", "malformed", "encoding")
_BAD_FIELD = {
    "email": "workEmail",
    "phone": "cellPhone",
    "too_long": "address.city",
    "missing_org": "organization",
    "duplicate": "externalId",
    "malformed": None,
    "encoding": None,
}


@dataclass
class Source:
    """The generated source: the file gcx reads and what it means."""

    path: Path
    mapping: Path | None
    records: list[dict[str, Any]]  # valid records, canonical JSON (what Genesys must hold)
    invalid: dict[int, str | None] = field(default_factory=dict)  # line -> field expected in the report
    absent: set[tuple[str, str]] = field(default_factory=set)  # keys of invalid rows: never written

    def args(self) -> list[str]:
        return [str(self.path)] + (["--mapping", str(self.mapping)] if self.mapping else [])


#: The country of every generated person: canonical JSONL is read with the default phone
#: country (US), so national numbers must be American.
COUNTRY = "US"


def _phone(rng: random.Random, national: bool) -> str:
    """A US number as a person writes it (``(212) 555-0123``), or with its +1."""
    number = crm.phone(COUNTRY, rng, mobile=False)
    return number if national else crm.international(COUNTRY, number)


def _person(rng: random.Random) -> tuple[str, str]:
    return rng.choice(crm.FIRST[COUNTRY]), rng.choice(crm.LAST[COUNTRY])


def _city(rng: random.Random) -> str:
    return rng.choice(crm.CITIES[COUNTRY])[0]


def _company(rng: random.Random, i: int) -> str:
    """A company name, distinct per index."""
    first, second = crm.COMPANY_WORDS[rng.randrange(len(crm.COMPANY_WORDS))]
    return f"{first} {second} {i}"


def make_records(cfg: ChaosConfig) -> list[dict[str, Any]]:
    """Organizations first, then contacts; deterministic from ``cfg.seed``."""
    rng = random.Random(cfg.seed)
    out: list[dict[str, Any]] = []
    for i in range(cfg.orgs):
        out.append(
            {
                "kind": "organization",
                "externalId": f"ORG-{i:05d}",
                "name": _company(rng, i),
                "industry": rng.choice(crm.INDUSTRIES),
                "phoneNumber": _phone(rng, national=False),
                "address": {"city": _city(rng)},
            }
        )
    for i in range(cfg.contacts):
        first, last = _person(rng)
        out.append(
            {
                "kind": "contact",
                "externalId": f"C-{i:06d}",
                "organization": f"ORG-{rng.randrange(cfg.orgs):05d}",
                "firstName": first,
                "lastName": last,
                "title": rng.choice(crm.TITLES),
                "workEmail": f"{first}.{last}{i}@example.com".lower(),
                "cellPhone": _phone(rng, national=i % 2 == 0),
                "address": {"city": _city(rng)},
                "customFields": {"tier": rng.choice(["gold", "silver", "bronze"])},
            }
        )
    return out


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")


CSV_HEADER = [
    "contact_id",
    "first_name",
    "last_name",
    "title",
    "email",
    "mobile",
    "city",
    "account_id",
    "account_name",
    "industry",
]

CSV_MAPPING = """\
[source]
format = "csv"
encoding = "utf-8"

[options]
phone_country = "US"

[organization]
key = "account_id"

[organization.fields]
name = "account_name"
industry = "industry"

[contact]
key = "contact_id"
organization = "account_id"

[contact.fields]
firstName = "first_name"
lastName = "last_name"
title = "title"
workEmail = "email"
cellPhone = "mobile"
"address.city" = "city"
"""


def make_dirty_csv(cfg: ChaosConfig, workdir: Path) -> Source:
    """A CSV (one contact per row, with its organization's columns) where ``dirty_fraction`` of
    the rows are invalid, the kinds of :data:`BAD_KINDS` in turn."""
    rng = random.Random(cfg.seed)
    orgs = {f"ACC-{i:04d}": (_company(rng, i), rng.choice(crm.INDUSTRIES)) for i in range(cfg.orgs)}
    n_bad = round(cfg.contacts * cfg.dirty_fraction)
    bad_rows = set(rng.sample(range(cfg.orgs, cfg.contacts), n_bad)) if n_bad else set()
    lines: list[bytes] = []

    def encode(row: list[str]) -> bytes:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(row)
        return buf.getvalue().encode("utf-8")

    lines.append(encode(CSV_HEADER))
    records: list[dict[str, Any]] = []
    org_written: set[str] = set()
    contacts: list[dict[str, Any]] = []
    invalid: dict[int, str | None] = {}
    absent: set[tuple[str, str]] = set()
    bad_index = 0
    for i in range(cfg.contacts):
        line = len(lines) + 1
        # the first rows give every organization a valid row
        acc = f"ACC-{i:04d}" if i < cfg.orgs else f"ACC-{rng.randrange(cfg.orgs):04d}"
        name, industry = orgs[acc]
        first, last = _person(rng)
        key = f"CRM-{i:06d}"
        row = {
            "contact_id": key,
            "first_name": first,
            "last_name": last,
            "title": rng.choice(crm.TITLES),
            "email": f"{first}.{last}{i}@example.com".lower(),
            "mobile": _phone(rng, national=i % 2 == 0),
            "city": _city(rng),
            "account_id": acc,
            "account_name": name,
            "industry": industry,
        }
        if i in bad_rows:
            kind = BAD_KINDS[bad_index % len(BAD_KINDS)]
            bad_index += 1
            invalid[line] = _BAD_FIELD[kind]
            if kind == "email":
                row["email"] = f"{first}.at.example.com"
            elif kind == "phone":
                row["mobile"] = "call me maybe"
            elif kind == "too_long":
                row["city"] = "X" * 101
            elif kind == "missing_org":
                row["account_id"] = f"ACC-MISSING-{i}"
                row["account_name"] = row["industry"] = ""
            elif kind == "duplicate":
                row["contact_id"] = contacts[rng.randrange(len(contacts))]["externalId"]
                row["title"] = "Duplicate row"
            if kind not in ("duplicate", "malformed", "encoding"):
                absent.add(("contact", key))
            if kind == "malformed":
                lines.append(encode([*row.values(), "unexpected", "columns"]))
                absent.add(("contact", key))
            elif kind == "encoding":
                lines.append(encode(list(row.values())).replace(b"@", b"\xff\xfe@", 1))
                absent.add(("contact", key))
            else:
                lines.append(encode(list(row.values())))
            continue
        lines.append(encode(list(row.values())))
        if acc not in org_written:
            org_written.add(acc)
            records.append({"kind": "organization", "externalId": acc, "name": name, "industry": industry})
        contacts.append(
            {
                "kind": "contact",
                "externalId": key,
                "organization": acc,
                "firstName": first,
                "lastName": last,
                "title": row["title"],
                "workEmail": row["email"],
                "cellPhone": row["mobile"],
                "address": {"city": row["city"]},
            }
        )
    path = workdir / "source.csv"
    path.write_bytes(b"".join(lines))
    mapping = workdir / "mapping.toml"
    mapping.write_text(CSV_MAPPING, encoding="utf-8")
    return Source(path, mapping, records + contacts, invalid, absent)


def change_source(records: list[dict[str, Any]], cfg: ChaosConfig) -> tuple[list[dict[str, Any]], set[str]]:
    """A copy of the records as the source reads a day later: ``changed_fraction`` of the
    contacts get a new last name, a third of those another organization. Returns the copy and
    the ExternalIds changed."""
    rng = random.Random(cfg.seed + 303)
    contacts = [i for i, r in enumerate(records) if r["kind"] == "contact"]
    picked = rng.sample(contacts, math.ceil(len(contacts) * cfg.changed_fraction))
    out = [json.loads(json.dumps(r)) for r in records]
    changed: set[str] = set()
    for n, i in enumerate(picked):
        rec = out[i]
        rec["lastName"] = rec["lastName"] + "-Changed"
        if n % 3 == 0:
            rec["organization"] = f"ORG-{rng.randrange(cfg.orgs):05d}"
        changed.add(rec["externalId"])
    return out, changed
