"""``gcx export``: every organization and contact to JSONL (or CSV), resumable.

Layout of ``--out DIR``::

    organizations.jsonl | organizations.csv
    contacts.jsonl      | contacts.csv
    .gcx-export.json    state: format, phase, scan cursor, records and bytes written

Organizations are scanned first, then contacts (scan: cursor paging, no 1,000 ceiling). Each
scan page is one chunk: its lines are appended with a single write and flushed to disk, then
the state file is replaced atomically with the cursor of the next page and the file's new
size. After an interruption a re-run truncates each file to the size the state recorded (a
half-written chunk disappears) and continues from the recorded cursor, so no line is ever
duplicated or lost. Scan cursors live 24 hours: an older state needs ``--restart``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gcx.cli.columns import CONTACT_CSV_COLUMNS, ORG_CSV_COLUMNS, to_dict
from gcx.cli.context import CliContext, CliError, get_cli
from gcx.cli.output import Progress, csv_header, render_csv
from gcx.errors import GcxError
from gcx.private import open_private, write_private

if TYPE_CHECKING:
    from gcx.client import AsyncClient

STATE_FILE = ".gcx-export.json"
STATE_VERSION = 1
#: Scan cursors live 24 h; refuse to resume from one older than this (seconds).
CURSOR_MAX_AGE = 23.5 * 3600
PHASES = ("organizations", "contacts")


class ExportFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"


@dataclass
class PhaseState:
    """Progress of one scan (organizations or contacts)."""

    cursor: str | None = None  # cursor of the next page to read; None = from the start
    written: int = 0  # records written to the file
    size: int = 0  # bytes of the file covered by the state
    done: bool = False
    cursor_time: float | None = None  # when the cursor was obtained (epoch seconds)


@dataclass
class ExportState:
    """The ``.gcx-export.json`` file."""

    format: str
    #: CSV cells as stored (--raw-csv) or neutralised: one choice for the whole export.
    raw_csv: bool = False
    version: int = STATE_VERSION
    phases: dict[str, PhaseState] = field(default_factory=lambda: {p: PhaseState() for p in PHASES})
    started: float = field(default_factory=time.time)
    finished: float | None = None

    @property
    def complete(self) -> bool:
        return all(self.phases[p].done for p in PHASES)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, where: Path) -> ExportState:
        try:
            data = json.loads(text)
            phases = {p: PhaseState(**data["phases"][p]) for p in PHASES}
            state = cls(
                format=str(data["format"]),
                raw_csv=bool(data.get("raw_csv", False)),
                version=int(data["version"]),
                phases=phases,
                started=float(data["started"]),
                finished=data.get("finished"),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise CliError(
                f"{where} is not a gcx export state file ({exc}); use --restart to start over"
            ) from None
        if state.version != STATE_VERSION:
            raise CliError(f"{where} was written by another gcx version; use --restart to start over")
        return state


def file_name(phase: str, fmt: str) -> str:
    return f"{phase}.{fmt}"


def save_state(directory: Path, state: ExportState) -> None:
    """Replace the state file atomically (write a temporary file, fsync, rename)."""
    write_private(directory / STATE_FILE, state.to_json())


def load_state(directory: Path) -> ExportState | None:
    path = directory / STATE_FILE
    if not path.exists():
        return None
    return ExportState.from_json(path.read_text(encoding="utf-8"), path)


def prepare(
    directory: Path, fmt: str, *, restart: bool, now: float, raw_csv: bool = False
) -> tuple[ExportState, bool]:
    """Pure-ish decision: the state to run with, and whether this is a resume.

    Raises :class:`CliError` when the directory holds an export in another format, other
    files that would be overwritten, or a state whose cursor has expired.
    """
    directory.mkdir(parents=True, exist_ok=True)
    state = None if restart else load_state(directory)
    if state is None:
        if not restart:
            existing = [
                n
                for p in PHASES
                for n in (file_name(p, "jsonl"), file_name(p, "csv"))
                if (directory / n).exists()
            ]
            if existing:
                raise CliError(
                    f"{directory} already holds {', '.join(existing)} but no export state: "
                    "pass --restart to overwrite, or choose another --out"
                )
        state = ExportState(format=fmt, raw_csv=raw_csv and fmt == "csv")
        for phase in PHASES:
            for ext in ("jsonl", "csv"):
                (directory / file_name(phase, ext)).unlink(missing_ok=True)
        return state, False
    if state.format != fmt:
        if state.complete:
            raise CliError(
                f"{directory} holds a complete {state.format} export: pass --restart to replace it "
                f"with a {fmt} export, or choose another --out"
            )
        raise CliError(
            f"{directory} holds an unfinished {state.format} export: re-run with --format {state.format} "
            "to resume it, or pass --restart"
        )
    if fmt == "csv" and state.raw_csv != raw_csv and not state.complete:
        raise CliError(
            f"{directory} holds an unfinished CSV export written "
            + ("with" if state.raw_csv else "without")
            + " --raw-csv: resume it the same way, or pass --restart"
        )
    for phase in PHASES:
        ph = state.phases[phase]
        if not ph.done and ph.cursor and ph.cursor_time is not None and now - ph.cursor_time > CURSOR_MAX_AGE:
            raise CliError(
                f"the saved {phase} scan cursor is {int((now - ph.cursor_time) // 3600)} h old and "
                "scan cursors live 24 h: pass --restart to export again from the start"
            )
    return state, True


def truncate_to_state(directory: Path, state: ExportState) -> None:
    """Cut each file back to the bytes the state covers (drops a half-written chunk)."""
    for phase in PHASES:
        path = directory / file_name(phase, state.format)
        size = state.phases[phase].size
        if not path.exists():
            if size:
                raise CliError(
                    f"{path} is missing but the export state says {size} bytes were written: use --restart"
                )
            continue
        actual = path.stat().st_size
        if actual < size:
            raise CliError(
                f"{path} is shorter than the export state says ({actual} < {size} bytes): use --restart"
            )
        if actual > size:
            with open(path, "r+b") as fh:
                fh.truncate(size)


def render_chunk(
    phase: str, fmt: str, rows: list[dict[str, Any]], *, header: bool, raw_csv: bool = False
) -> str:
    """The text appended for one page of records."""
    if fmt == "csv":
        columns = ORG_CSV_COLUMNS if phase == "organizations" else CONTACT_CSV_COLUMNS
        return (csv_header(columns) if header else "") + render_csv(rows, columns, raw=raw_csv)
    return "".join(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n" for row in rows)


def append_chunk(path: Path, text: str) -> int:
    """Append ``text`` in one write, flushed to disk; returns the file's new size. The file
    holds contact data: created 0600."""
    data = text.encode("utf-8")
    with open_private(path, "ab") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
        return fh.tell()


async def export_phase(
    gc: AsyncClient,
    directory: Path,
    state: ExportState,
    phase: str,
    *,
    page_size: int,
    progress: Progress,
    clock: Callable[[], float] = time.time,
) -> None:
    """Scan one kind of record page by page, appending each page and saving the state after it."""
    ph = state.phases[phase]
    if ph.done:
        return
    resource = gc.organizations if phase == "organizations" else gc.contacts
    path = directory / file_name(phase, state.format)
    pager = resource.scan(limit=page_size)
    if ph.cursor:
        pager.cursor = ph.cursor  # resume: the next page to read
    page: list[dict[str, Any]] = []
    pages_seen = pager.pages

    def flush(next_cursor: str | None, *, done: bool) -> None:
        nonlocal page
        if page:
            text = render_chunk(phase, state.format, page, header=ph.size == 0, raw_csv=state.raw_csv)
            ph.size = append_chunk(path, text)
            ph.written += len(page)
            progress.advance(len(page))
        elif state.format == "csv" and ph.size == 0 and done:
            ph.size = append_chunk(path, render_chunk(phase, "csv", [], header=True))
        elif not path.exists():
            path.touch()
        ph.cursor = next_cursor
        ph.cursor_time = clock()
        ph.done = done
        save_state(directory, state)
        page = []

    while True:
        cursor_before = pager.cursor
        try:
            record = await pager.__anext__()
        except StopAsyncIteration:
            break
        except BaseException:
            # Fetching the next page (with ``cursor_before``) failed or was interrupted: every
            # record of the current page was consumed, so keep them with that cursor.
            if page:
                flush(cursor_before, done=False)
            raise
        if pager.pages != pages_seen and page:
            # ``record`` opened a new page, fetched with ``cursor_before``: the previous page is complete.
            flush(cursor_before, done=False)
        pages_seen = pager.pages
        page.append(to_dict(record))
    flush(None, done=True)


def _total(gc: AsyncClient, phase: str) -> Coroutine[Any, Any, int | None]:
    """The number of records (from a one-record search), for the progress bar; None if unknown."""

    async def count() -> int | None:
        resource = gc.organizations if phase == "organizations" else gc.contacts
        pager = resource.search(page_size=1, max_records=1)
        try:
            async for _ in pager:
                break
        except GcxError:
            return None  # only the bar's total is lost; the scan decides what is exported
        return pager.total

    return count()


def run_export(
    cli: CliContext, directory: Path, fmt: str, *, restart: bool, page_size: int
) -> tuple[ExportState, bool]:
    """Run (or resume) the export; returns the final state and whether anything was done."""
    out = cli.out
    state, resumed = prepare(directory, fmt, restart=restart, now=time.time(), raw_csv=out.raw_csv)
    if resumed and state.complete:
        out.message(
            f"the export in {directory} is already complete "
            f"({state.phases['organizations'].written} organizations, {state.phases['contacts'].written} contacts); "
            "pass --restart to export again"
        )
        return state, False
    if resumed:
        truncate_to_state(directory, state)
        done = ", ".join(f"{state.phases[p].written} {p}" for p in PHASES)
        out.message(f"resuming the export in {directory} ({done} already written)")
    else:
        save_state(directory, state)
    cli.resume_hint = f"the export stopped cleanly; run the same command again to resume it ({directory})"

    async def go(gc: AsyncClient) -> None:
        for phase in PHASES:
            ph = state.phases[phase]
            if ph.done:
                continue
            total = await _total(gc, phase)
            with out.progress(f"{phase:<13}", total=total) as bar:
                bar.advance(ph.written)
                await export_phase(gc, directory, state, phase, page_size=page_size, progress=bar)

    cli.run(go)
    state.finished = time.time()
    save_state(directory, state)
    cli.resume_hint = None
    return state, True


def export(
    ctx: typer.Context,
    out_dir: Annotated[
        Path, typer.Option("--out", "-d", help="Directory to write into (created if needed).")
    ] = Path("gcx-export"),
    fmt: Annotated[
        ExportFormat,
        typer.Option(
            "--format",
            help="jsonl (API records, one per line) or csv (flattened columns, unknown fields in _extra).",
            case_sensitive=False,
        ),
    ] = ExportFormat.jsonl,
    restart: Annotated[
        bool, typer.Option("--restart", help="Ignore a previous (partial) export and start over.")
    ] = False,
    page_size: Annotated[
        int, typer.Option("--page-size", min=10, max=200, help="Records per scan page.")
    ] = 200,
) -> None:
    """Export every organization and contact to DIR as JSONL (or CSV), with a progress bar.

    Resumable: if interrupted (Ctrl-C, network loss), run the same command again and it
    continues where it stopped, never duplicating a line. A finished export is left alone
    unless --restart. Prints a summary (files, counts) on stdout.

    Example: gcx export --out backup/ --format csv
    """
    cli = get_cli(ctx)
    state, worked = run_export(cli, out_dir, fmt.value, restart=restart, page_size=page_size)
    summary = {
        "directory": str(out_dir),
        "format": state.format,
        "organizations": state.phases["organizations"].written,
        "contacts": state.phases["contacts"].written,
        "files": [str(out_dir / file_name(p, state.format)) for p in PHASES],
        "complete": state.complete,
    }
    if worked:
        cli.out.message(
            f"exported {summary['organizations']} organizations and {summary['contacts']} contacts to {out_dir}"
        )
    cli.out.data(summary)


def register(root: typer.Typer) -> None:
    """Add this module's commands to the root `gcx` app."""
    root.command("export")(export)
