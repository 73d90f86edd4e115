"""Helpers for the engine tests: datasets, a sync run over the emulator, state checks."""

from __future__ import annotations

from collections import Counter
from typing import Any

from gcx.client import AsyncClient
from gcx.emulator import Emulator
from gcx.sync.engine import SyncEngine
from gcx.sync.ledger import Ledger
from gcx.sync.options import SyncOptions
from gcx.sync.records import Record, build_record
from gcx.sync.remote import Remote
from gcx.sync.report import RunReport
from gcx.sync.source import RecordsSource, Source

BASE = "http://emu.test"


def org(key: str, name: str, line: int | None = None, **values: Any) -> Record:
    built = build_record("organization", key, {"name": name, **values}, line=line)
    assert built.record is not None, built.issues
    return built.record


def contact(key: str, org_key: str | None, line: int | None = None, **values: Any) -> Record:
    built = build_record("contact", key, values, line=line, org_key=org_key, manages_org=True)
    assert built.record is not None, built.issues
    return built.record


def dataset(n_orgs: int, n_contacts: int, *, changed: int = 0, moved: int = 0) -> list[Record]:
    out = [org(f"org-{o}", f"Org {o}", industry="retail") for o in range(n_orgs)]
    for c in range(n_contacts):
        org_index = (c + (1 if c < moved else 0)) % n_orgs
        out.append(
            contact(
                f"c-{c}",
                f"org-{org_index}",
                firstName=f"First{c}" + ("-v2" if c < changed else ""),
                lastName=f"Last{c}",
                workEmail=f"user{c}@example.com",
                cellPhone=f"+1415555{c % 10000:04d}",
            )
        )
    return out


async def sync(
    emu: Emulator,
    ledger: Ledger,
    source: list[Record] | Source,
    *,
    dry_run: bool = False,
    region: str = BASE,
    raise_errors: bool = True,
    **options: Any,
) -> RunReport:
    src = RecordsSource(source) if isinstance(source, list) else source
    async with AsyncClient(
        region, client_id="id", client_secret="secret", transport=emu.transport(), rate_limit=0
    ) as gc:
        engine = SyncEngine(
            ledger=ledger,
            source=src,
            remote=Remote(gc),
            region=region,
            options=SyncOptions(**options),
            dry_run=dry_run,
        )
        report = await engine.run()
    if raise_errors and engine.exception is not None:
        raise engine.exception
    return report


def writes(emu: Emulator) -> int:
    """API write requests the emulator accepted (anything but GET and the read-only POSTs; a refused
    request wrote nothing, e.g. the permission probes a sync makes before writing, gcx.access)."""
    stats = emu.stats()
    reads = ("/bulk/contacts", "/bulk/organizations", "identifierlookup")
    n = 0
    for r in stats["routes"]:
        if not r["route"].startswith("/api/v2") or int(r.get("status") or 0) >= 400:
            continue
        if r["method"] == "GET":
            continue
        if r["method"] == "POST" and (
            r["route"].endswith(reads[0]) or r["route"].endswith(reads[1]) or reads[2] in r["route"]
        ):
            continue
        n += r["count"]
    return n


def api_calls(emu: Emulator) -> int:
    return int(emu.stats()["apiCalls"])


def state(emu: Emulator) -> dict[str, Any]:
    return emu.dump()


def by_external_id(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        for e in r.get("externalIds") or []:
            out.setdefault(e["value"], []).append(r)
    return out


def assert_exact(emu: Emulator, records: list[Record]) -> None:
    """Every source record exists exactly once in the emulator with its managed values."""
    from gcx.sync.fields import remote_value, same

    st = state(emu)
    orgs = by_external_id(st["organizations"])
    contacts = by_external_id(st["contacts"])
    dup = [k for k, v in {**orgs, **contacts}.items() if len(v) > 1]
    assert not dup, f"duplicates: {dup[:5]}"
    org_key_by_id = {v[0]["id"]: k for k, v in orgs.items()}
    for rec in records:
        pool = orgs if rec.kind == "organization" else contacts
        assert rec.key in pool, f"{rec.kind} {rec.key} missing"
        body = pool[rec.key][0]
        for path, value in rec.values.items():
            assert same(rec.kind, path, remote_value(rec.kind, path, body), value), (rec.key, path)
        if rec.kind == "contact" and rec.manages_org:
            got = (body.get("externalOrganization") or {}).get("id")
            assert org_key_by_id.get(got) == rec.org_key, (rec.key, got)
    keys = Counter(r.kind for r in records)
    assert len(orgs) == keys["organization"] and len(contacts) == keys["contact"]
