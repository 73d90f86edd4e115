"""``gcx sync status``, ``unlock`` and ``trim-history``: what a ledger holds, releasing its run
lock, and dropping the history of old runs."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gcx.cli.context import CliError, get_cli
from gcx.cli.output import OutputFormat
from gcx.cli.safety import terminal_safe
from gcx.cli.sync_options import LedgerOpt
from gcx.redact import redact_url

if TYPE_CHECKING:  # the ledger (SQLAlchemy) is imported when a command runs
    from gcx.sync.ledger import Ledger


@contextlib.contextmanager
def _existing_ledger(ledger: str | None) -> Iterator[tuple[Ledger, str]]:
    """The ledger (and its URL) status and unlock read: one that exists, never one made here."""
    from gcx.sync.ledger import Ledger, ledger_url, safe_url

    url = ledger_url(ledger)
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).exists():
        raise CliError(
            f"no ledger at {url[len('sqlite:///') :]} (run gcx sync apply first, or pass --ledger)"
        )
    with Ledger(url, create=False) as led:
        if not led.exists:
            raise CliError(f"{safe_url(url)} is not a gcx ledger (no ledger tables): nothing was changed")
        yield led, url


def status_cmd(
    ctx: typer.Context,
    ledger: LedgerOpt = None,
    runs: Annotated[int, typer.Option("--runs", min=1, help="How many recent runs to show.")] = 5,
    failed: Annotated[int, typer.Option("--failed", min=0, help="How many failed records to show.")] = 20,
) -> None:
    """What the ledger holds: its org, record counts, the last runs and what failed.

    Example: gcx sync status --ledger postgresql+psycopg://sync@db/gcx
    """
    from gcx.sync.ledger import safe_url

    cli = get_cli(ctx)
    with _existing_ledger(ledger) as (led, url):
        binding = led.binding()
        counts = led.record_counts()
        data: dict[str, Any] = {
            "ledger": safe_url(url),
            "org": (
                {
                    "id": binding.org_id,
                    "name": binding.org_name,
                    "region": redact_url(binding.region),
                    "externalSource": binding.external_source_name,
                    "externalSourceId": binding.external_source_id,
                }
                if binding
                else None
            ),
            "records": {
                kind: {"total": counts.get(kind, (0, 0))[0], "createdByGcx": counts.get(kind, (0, 0))[1]}
                for kind in ("organization", "contact")
            },
            "ops": led.op_counts(),
            "pending": len(led.open_ops()),
            "lock": led.lock_info(),
            "runs": [
                {
                    "id": r["id"],
                    "command": r["command"],
                    "started": r["started_at"],
                    "finished": r["finished_at"],
                    "status": r["status"],
                    "reason": (r["counts"] or {}).get("error"),
                    "applied": _applied_total(r["counts"]),
                    "source": r["source"],
                }
                for r in led.runs(runs)
            ],
            "failed": [
                {
                    "kind": o.kind,
                    "externalId": o.key,
                    "op": o.op,
                    "line": o.line,
                    "run": o.run_id,
                    "reason": (o.error or {}).get("reason"),
                    "status": (o.error or {}).get("status"),
                }
                for o in led.failed_ops(failed)
            ],
        }
    out = cli.out
    if out.format is not OutputFormat.table:
        out.data(data)
        return
    org = data["org"]

    def w(text: str) -> None:
        out.stdout.write(terminal_safe(text))

    w(f"ledger: {data['ledger']}\n")
    if org:
        w(
            f"org: {org['name'] or ''} ({org['id']}) in {org['region']}, external source {org['externalSource']}\n"
        )
    else:
        w("org: not bound yet (no apply has run)\n")
    for kind, c in data["records"].items():
        w(f"{kind}s: {c['total']} ({c['createdByGcx']} created by gcx)\n")
    w("operations: " + (", ".join(f"{k} {v}" for k, v in sorted(data["ops"].items())) or "none") + "\n")
    lock = data["lock"]
    if lock:
        w(
            f"lock: held by run {lock['run'][:12]} (pid {lock['pid']} on {lock['host']}), renewed "
            f"{lock['renewedSecondsAgo']:.0f} s ago"
            + (" - stale: the next run takes it over" if lock["stale"] else "")
            + "\n"
        )
    else:
        w("lock: free\n")
    if data["pending"]:
        w(f"pending: {data['pending']} operation(s) of an interrupted run (the next apply reconciles them)\n")
    if data["runs"]:
        out.records(data["runs"], noun="run")
    if data["failed"]:
        w("failed (not synced since):\n")
        out.records(data["failed"], noun="failed record")


def unlock_cmd(
    ctx: typer.Context,
    ledger: LedgerOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Release the ledger's run lock, whoever holds it (a run that was killed on another machine).

    A lock not renewed for two minutes is taken over by the next run anyway; this is for not
    waiting. A run still alive loses its lock and stops before its next write batch.

    Example: gcx sync unlock --ledger postgresql+psycopg://sync@db/gcx --yes
    """
    cli = get_cli(ctx)
    with _existing_ledger(ledger) as (led, _):
        lock = led.lock_info()
        if lock is None:
            cli.out.message("the ledger is not locked: nothing to release")
            return
        who = f"run {lock['run'][:12]} (pid {lock['pid']} on {lock['host']})"
        cli.confirm(f"Release the lock of {who}, renewed {lock['renewedSecondsAgo']:.0f} s ago?", yes=yes)
        led.unlock()
    cli.out.message(f"released the lock of {who}")


def trim_history_cmd(
    ctx: typer.Context,
    keep_runs: Annotated[
        int, typer.Option("--keep-runs", min=1, help="How many of the latest runs keep their operations.")
    ],
    ledger: LedgerOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Drop the done operations of runs older than the latest --keep-runs (the ledger's history).

    Each run adds one operation row per record it wrote; records, failed and unfinished
    operations and the list of runs stay. The console's pages of those older runs made outside it
    then list no operations. Waits for no run: refused while one holds the ledger.

    Example: gcx sync trim-history --keep-runs 30 --yes
    """
    from gcx.sync.ledger import Ledger

    cli = get_cli(ctx)
    with _existing_ledger(ledger) as (_, url):
        pass
    cli.confirm(f"Drop the done operations of the runs before the latest {keep_runs}?", yes=yes)
    with Ledger(url) as led:
        led.acquire()
        try:
            dropped = led.prune_history(keep_runs)
        finally:
            led.release()
    cli.out.message(f"dropped {dropped} done operation(s) of runs before the latest {keep_runs}")


def _applied_total(counts: Any) -> str:
    if not isinstance(counts, dict):
        return ""
    applied = counts.get("applied") or {}
    total: dict[str, int] = {}
    for kind_counts in applied.values():
        for k, v in kind_counts.items():
            total[k] = total.get(k, 0) + int(v)
    return ", ".join(f"{k} {v}" for k, v in total.items() if v)
