"""What a chaos run found: its runs, the verification, leaks, and the checks of the last report."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gcx_testkit.chaos.config import ChaosConfig
from gcx_testkit.chaos.gate import Edit
from gcx_testkit.verify import Leak, VerifyReport, flatten, matches


@dataclass
class RunInfo:
    index: int
    phase: str
    exit_code: int | None
    killed: str | None  # "before call N" / "after call N"
    seconds: float
    api_calls: int
    report: dict[str, Any] | None


@dataclass
class ChaosResult:
    config: ChaosConfig
    runs: list[RunInfo]
    verification: VerifyReport
    leaks: list[Leak]
    stats: dict[str, Any]
    emulator_stats: dict[str, Any]
    final_report: dict[str, Any] | None
    invalid_problems: list[str] = field(default_factory=list)
    conflict_problems: list[str] = field(default_factory=list)
    noop_writes: int | None = None
    seconds: float = 0.0
    workdir: Path | None = None

    @property
    def kills(self) -> int:
        return sum(1 for r in self.runs if r.killed)

    @property
    def completed(self) -> bool:
        return self.final_report is not None

    @property
    def ok(self) -> bool:
        return (
            self.completed
            and self.verification.ok
            and not self.leaks
            and not self.invalid_problems
            and not self.conflict_problems
            and not self.noop_writes
        )

    def problems(self) -> str:
        out = [self.verification.describe()]
        if not self.completed:
            out.append(f"no run completed cleanly in {len(self.runs)} runs")
        out += [f"secret leak: {leak}" for leak in self.leaks[:10]]
        out += self.invalid_problems[:10] + self.conflict_problems[:10]
        if self.noop_writes:
            out.append(f"the no-op run after the chaos wrote {self.noop_writes} record(s)")
        return "\n".join(out)

    def summary(self) -> str:
        """A readable table of the run."""
        cfg = self.config
        rows: list[tuple[str, str]] = [
            ("contacts / orgs", f"{cfg.contacts} / {cfg.orgs}"),
            ("seed", str(cfg.seed)),
            ("ExternalIds in the emulator", "unique" if cfg.unique_external_ids else "duplicates allowed"),
            ("identity rules", "kind (KIND_IDENTITY)" if cfg.kind_identity else "strict (documented)"),
            ("conflict policy", cfg.on_conflict),
            (
                "faults",
                f"5xx {cfg.fault_rate:.0%}, commit-then-drop {cfg.drop_rate:.0%} ({cfg.drop_mode}) + {cfg.drops_per_run}/run, "
                f"429 bursts {cfg.burst_429_rate:.1%} x{cfg.burst_429_length} + {cfg.bursts_per_run}/run, "
                f"token TTL {cfg.token_ttl}s, {cfg.revokes_per_run} revocation(s)/run",
            ),
            ("gcx runs (SIGKILLed)", f"{len(self.runs)} ({self.kills})"),
            ("kill points", ", ".join(r.killed or "-" for r in self.runs)),
            ("API calls seen", str(self.emulator_stats.get("apiCalls"))),
            ("faults injected (5xx/429)", str(self.emulator_stats.get("faultsInjected"))),
            ("answers dropped after commit", str(self.emulator_stats.get("droppedAfterCommit"))),
            ("429 answers", str(self.emulator_stats.get("rateLimited"))),
            ("tokens issued (revocations)", f"{self.stats.get('tokens')} ({self.stats.get('revocations')})"),
        ]
        if cfg.edits:
            rows.append(("edits by a person", str(self.stats.get("edits"))))
        if cfg.dirty_fraction:
            rows.append(("invalid rows (expected)", str(self.stats.get("invalid"))))
        rows += self.verification.summary_rows()
        rows += [
            ("secret / token leaks", str(len(self.leaks))),
            ("invalid-row report problems", str(len(self.invalid_problems))),
            ("conflict report problems", str(len(self.conflict_problems))),
            ("writes by a no-op run after", str(self.noop_writes)),
            ("wall time", f"{self.seconds:.1f} s"),
            ("RESULT", "EXACT" if self.ok else "NOT EXACT"),
        ]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "runs": [
                {
                    "index": r.index,
                    "phase": r.phase,
                    "exit": r.exit_code,
                    "killed": r.killed,
                    "calls": r.api_calls,
                }
                for r in self.runs
            ],
            "verification": self.verification.to_json(),
            "leaks": [str(x) for x in self.leaks],
            "stats": self.stats,
            "emulator": {k: v for k, v in self.emulator_stats.items() if k != "routes"},
            "invalidProblems": self.invalid_problems,
            "conflictProblems": self.conflict_problems,
            "noopWrites": self.noop_writes,
            "seconds": self.seconds,
        }


def check_invalid(report: dict[str, Any], expected: dict[int, str | None]) -> list[str]:
    """Each expected invalid line reported exactly once, with its field and a reason; nothing else."""
    problems: list[str] = []
    seen: dict[int, list[dict[str, Any]]] = {}
    for item in report.get("invalid") or []:
        seen.setdefault(int(item.get("line") or 0), []).append(item)
    for line, fld in sorted(expected.items()):
        items = seen.get(line, [])
        if len(items) != 1:
            problems.append(f"line {line}: reported {len(items)} times (expected once)")
        elif items[0].get("field") != fld:
            problems.append(f"line {line}: reported for field {items[0].get('field')!r}, expected {fld!r}")
        elif not items[0].get("reason"):
            problems.append(f"line {line}: reported without a reason")
    for line in sorted(set(seen) - set(expected)):
        problems.append(f"line {line}: reported as invalid but it is valid ({seen[line][0].get('reason')})")
    if expected and len(report.get("failures") or []) > 0:
        problems.append(f"{len(report['failures'])} valid record(s) failed")
    return problems


def check_conflicts(
    report: dict[str, Any], edits: list[Edit], records: list[dict[str, Any]], policy: str
) -> list[str]:
    """With ``report``: every edited managed field that differs from the source is a conflict in the
    last report (left as the person set it; the values are checked by :func:`verify`)."""
    if policy != "report":
        return []
    by_key = {(r["kind"], r["externalId"]): flatten(r) for r in records}
    reported = {
        (c["kind"], c["externalId"], f["field"])
        for c in report.get("conflicts") or []
        for f in c.get("fields") or []
    }
    problems = []
    for edit in edits:
        if not edit.done:
            continue
        src = by_key.get((edit.kind, edit.key), {})
        for path, value in edit.managed.items():
            if (
                path in src
                and not matches(path, value, src[path])
                and (edit.kind, edit.key, path) not in reported
            ):
                problems.append(
                    f"{edit.kind} {edit.key} {path}: edited in Genesys but not reported as a conflict"
                )
    return problems
