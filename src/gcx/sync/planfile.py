"""Saved plans (``gcx sync plan --out plan.json``) and applying them (``gcx sync apply --plan``).

A plan file is one JSON document written as the plan streams::

    {"gcxPlan": 1, "created": ..., "source": ..., "options": {...},
     "ops": [ {op, kind, externalId, line, changes..., "record": <canonical record>}, ... ],
     "invalid": [ {line, kind, externalId, field, reason}, ... ],
     "summary": {...}}

A run's ops file (:mod:`gcx.sync.runfiles`) is in the same format; one whose run did not finish
(it failed, stopped or raised) ends with ``"incomplete": true, "error": "<one line>"``.

Every valid source record is in it (unchanged ones too) as a canonical record, so applying a
plan needs neither the source nor the mapping. Applying re-plans those records against the
current state of Genesys and the ledger (a saved plan never writes blindly: what changed since
is taken into account, and nothing already applied is applied twice).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from gcx import redact
from gcx.errors import ConfigError
from gcx.private import open_private
from gcx.sync.fields import KINDS, Kind
from gcx.sync.plan import Op
from gcx.sync.records import Issue, record_from_json
from gcx.sync.report import RunReport
from gcx.sync.source import Item

PLAN_VERSION = 1


class PlanWriter:
    """Streams a plan document to a file: ops as they are decided, summary at the end."""

    def __init__(
        self, path: Path, *, source: str, options: dict[str, Any], keep_incomplete: bool = False
    ) -> None:
        self.path = path
        self.keep_incomplete = keep_incomplete  # a run's ops file: what a failed run did is kept
        self.ops = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = path.with_name(path.name + ".tmp")
        self._fh: IO[str] = open_private(self._tmp)  # every record of the source: contact data
        head = {
            "gcxPlan": PLAN_VERSION,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "source": source,
            "options": options,
        }
        self._fh.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "ops": [\n')

    def op(self, op: Op) -> None:
        data = op.to_json()
        if op.record is not None:
            data["record"] = op.record.to_json()
        self._fh.write(("" if self.ops == 0 else ",\n") + json.dumps(data, ensure_ascii=False, default=str))
        self.ops += 1

    def close(self, report: RunReport | None, *, error: str | None = None) -> None:
        """End the document. A plan that did not complete (no report, or one neither ``ok`` nor
        ``partial``) is not saved, unless the writer keeps incomplete ones: then its tail says
        ``"incomplete": true`` and ``"error"``: ``error``, else the report's (secrets masked)."""
        if self._fh.closed:
            return
        complete = report is not None and report.status in ("ok", "partial")
        tail: dict[str, Any] = {"invalid": [], "summary": {}}
        if report is not None:
            tail = {
                "invalid": report.invalid,
                "summary": {
                    "planned": report.planned.to_json(),
                    "conflicts": len(report.conflicts),
                    "warnings": report.warnings,
                    "orgId": report.org_id,
                    "requests": report.requests,
                },
            }
        if not complete:
            why = error or (report.error if report is not None else None) or "it did not finish"
            tail |= {"incomplete": True, "error": redact.scrub(why)}
        self._fh.write("\n], " + json.dumps(tail, ensure_ascii=False, default=str)[1:] + "\n")
        self._fh.close()
        if complete or self.keep_incomplete:
            self._tmp.replace(self.path)
        else:
            self._tmp.unlink(missing_ok=True)


@dataclass
class PlanSource:
    """The records of a saved plan, replayed as a source (issues included, reported again)."""

    path: Path

    @property
    def description(self) -> str:
        return f"plan:{self.path}"

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"plan file {self.path} does not exist") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"plan file {self.path} is not a gcx plan (invalid JSON: {exc})") from None
        if (
            not isinstance(data, dict)
            or data.get("gcxPlan") != PLAN_VERSION
            or not isinstance(data.get("ops"), list)
        ):
            raise ConfigError(f"plan file {self.path} is not a gcx plan (version {PLAN_VERSION})")
        if data.get("incomplete"):  # a failed run's ops: a part of a source, not a plan
            why = redact.scrub(str(data.get("error") or "no error recorded"))
            raise ConfigError(
                f"plan file {self.path} is the record of a run that did not finish ({why}): "
                "not a plan to apply; plan the source again"
            )
        return data

    def options(self) -> dict[str, Any]:
        opts = self._load().get("options")
        return opts if isinstance(opts, dict) else {}

    def items(self, kinds: Collection[Kind] = KINDS) -> Iterator[Item]:
        data = self._load()
        for n, op in enumerate(data["ops"], start=1):
            if not isinstance(op, dict) or "record" not in op or op.get("kind") not in kinds:
                continue
            line = op.get("line") if isinstance(op.get("line"), int) else None
            built = record_from_json(op["record"], line=line, phone_country=None)
            if built.record is None:
                raise ConfigError(
                    f"plan file {self.path}: op #{n} holds an invalid record: "
                    + "; ".join(str(i) for i in built.issues)
                )
            yield built.record
        for raw in data.get("invalid") or []:
            if isinstance(raw, dict):
                kind = raw.get("kind") if raw.get("kind") in KINDS else None
                if kind is not None and kind not in kinds:
                    continue
                yield Issue(
                    raw.get("line"),
                    str(raw.get("reason") or "invalid in the plan"),
                    field=raw.get("field"),
                    key=raw.get("externalId"),
                    kind=kind,
                    structural=raw.get("structural") is True,
                )
