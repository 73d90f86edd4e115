"""Shared helpers: configs, records, signed webhook posts, waiting for runs."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gcx.service.signing import sign
from gcx_testkit.service_fleet import ENV as FLEET_ENV
from gcx_testkit.service_fleet import query, wait_for

SECRET = "whsec-test-0123456789abcdef"
ENV = dict(FLEET_ENV)


def org(i: int, **extra: Any) -> dict[str, Any]:
    return {"kind": "organization", "externalId": f"org-{i}", "name": f"Org {i}", **extra}


def contact(i: int, org_i: int | None = None, **extra: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "kind": "contact",
        "externalId": f"c-{i}",
        "firstName": f"First{i}",
        "lastName": f"Last{i}",
        "workEmail": f"c{i}@example.com",
    }
    if org_i is not None:
        rec["organization"] = f"org-{org_i}"
    rec.update(extra)
    return rec


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def config_text(profiles: dict[str, str], jobs: str, **service: Any) -> str:
    lines = ["[service]"]
    defaults = {"heartbeat_interval": 1, "stalled_after": 8, "coalesce_seconds": 0.5}
    for key, value in {**defaults, **service}.items():
        lines.append(f"{key} = {json.dumps(value)}")
    for name, region in profiles.items():
        lines += [
            f"[profiles.{name}]",
            f'region = "{region}"',
            'client_id_env = "GC_ID"',
            'client_secret_env = "GC_SECRET"',
            "rate_limit = 0",
        ]
    return "\n".join(lines) + "\n" + jobs


def signed(body: bytes, *, secret: str = SECRET, ts: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if ts is None else ts)
    return {
        "content-type": "application/json",
        "x-gcx-timestamp": stamp,
        "x-gcx-signature": sign(secret, stamp, body),
    }


def events_body(records: Iterable[dict[str, Any]], ids: Iterable[str]) -> bytes:
    return json.dumps(
        {"events": [{"id": i, "record": r} for i, r in zip(ids, records, strict=True)]}
    ).encode()


__all__ = ["query", "wait_for"]
