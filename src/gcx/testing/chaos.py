"""The chaos harness: ``gcx sync apply`` against the emulator under faults, kills and edits.

One :func:`run_chaos` call:

1. generates a deterministic source (canonical JSONL, or a dirty CSV + mapping with invalid
   rows of every kind) from ``seed``;
2. serves the emulator over real loopback HTTP in this process, behind :class:`ChaosGate`,
   an ASGI observer that counts API calls, records every token the emulator issues (to
   look for them in the output later) and fires scheduled actions at given call numbers:
   SIGKILL of the gcx process (before a request is handled, or after a write is committed
   and before its answer leaves), token revocation, bursts of 429, edits by a "person";
3. pre-seeds the Genesys side, faults off: records created by a person that carry the
   ExternalId identifier, with managed values that differ from the source and unmanaged
   values (social ids, custom fields, other phones and emails) that must survive;
4. turns the faults on (5xx, commit-then-drop, 429 bursts, a token lifetime of seconds)
   and runs ``python -m gcx.cli.main --verbose sync apply ...`` as a subprocess, killed with
   SIGKILL at seeded points and started again until a run ends cleanly (bounded);
5. turns the faults off and verifies the state (:func:`gcx.testing.verify.verify`), the
   ledger, the reports (invalid rows once each, conflicts) and every captured byte for the
   client secret and the bearer tokens.

With ``edits > 0`` a first clean sync runs, the source changes for some records, and the
chaos runs happen while a person edits records on the Genesys side (managed and unmanaged
fields): between runs (after a kill) for records whose source changed, at any moment for
the others; the edits not made yet are made before the last run (same faults, no kill).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gcx import extras

try:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send
except ImportError as _exc:
    raise extras.missing(_exc, "The chaos harness") from _exc

from gcx.emulator import Emulator, EmulatorSettings
from gcx.emulator.server import serve_in_thread
from gcx.emulator.settings import KIND_IDENTITY
from gcx.sync.ledger import Ledger
from gcx.testing.verify import Expectation, Leak, VerifyReport, find_secrets, verify

CANARY_CLIENT_ID = "gcx-chaos-client"
#: A canary client secret, made anew in each harness process (never a literal that a secret scanner
#: would flag): every output of a run is searched for it.
CANARY_SECRET = "chaos-canary-" + secrets.token_hex(8)

_FIRST = ["Ada", "Alan", "Grace", "Linus", "Ken", "Barbara", "Edsger", "Frances", "Donald", "Margaret"]
_LAST = ["Lovelace", "Turing", "Hopper", "Torvalds", "Thompson", "Liskov", "Dijkstra", "Allen", "Knuth"]
_TITLES = ["Buyer", "CTO", "Engineer", "Operations Lead", "Analyst", "Director", "Manager"]
_CITIES = ["Austin", "Boston", "Chicago", "Denver", "Portland", "Seattle", "Atlanta", "Phoenix"]
_INDUSTRIES = ["Travel", "Retail", "Banking", "Energy", "Media", "Health"]
_AREAS = ["212", "312", "415", "617", "206", "303", "512", "404"]
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
class ChaosConfig:
    """Every knob of a chaos run (defaults: the CI-sized run)."""

    contacts: int = 500
    orgs: int = 10
    seed: int = 7
    kills: int = 3
    fault_rate: float = 0.05
    drop_rate: float = 0.02
    drop_mode: str = "mixed"
    burst_429_rate: float = 0.005
    burst_429_length: int = 3
    bursts_per_run: int = 1
    drops_per_run: int = 1
    revokes_per_run: int = 1
    token_ttl: int = 3
    unique_external_ids: bool = False
    #: The emulator's earlier, kind identity rules (``KIND_IDENTITY``: identifiers from
    #: ``externalIds``, shown in scans). Pinned until the sync adopts under the strict ones
    #: (issue 10 item 3); False runs the documented, strict defaults.
    kind_identity: bool = True
    on_conflict: str = "source-wins"
    preseed_fraction: float = 0.1
    edits: int = 0
    changed_fraction: float = 0.05
    dirty_fraction: float = 0.0
    batch_size: int = 50
    emulator_rate_limit: int = 0
    client_rate_limit: int = 0
    max_runs: int = 15
    run_timeout: float = 600.0
    deadline: float = 1800.0
    verbose: bool = True
    launcher: str = "subprocess"
    noop_check: bool = True
    client_id: str = CANARY_CLIENT_ID
    client_secret: str = field(default=CANARY_SECRET, repr=False)
    ledger_url: str | None = None

    def settings(self) -> EmulatorSettings:
        return EmulatorSettings(
            rate_limit=self.emulator_rate_limit,
            token_ttl=86400,
            unique_external_ids=self.unique_external_ids,
            seed=self.seed,
            credentials=((self.client_id, self.client_secret),),
            **(KIND_IDENTITY if self.kind_identity else {}),
        )

    def fault_settings(self) -> dict[str, Any]:
        return {
            "fault_rate": self.fault_rate,
            "drop_after_commit": self.drop_rate,
            "drop_mode": self.drop_mode,
            "burst_429_rate": self.burst_429_rate,
            "burst_429_length": self.burst_429_length,
            "token_ttl": self.token_ttl,
        }


OFF = {"fault_rate": 0.0, "drop_after_commit": 0.0, "burst_429_rate": 0.0, "token_ttl": 86400}


# --------------------------------------------------------------------------- the source


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


def _phone(rng: random.Random, national: bool) -> str:
    area, exchange, line = rng.choice(_AREAS), rng.randint(201, 989), rng.randint(0, 9999)
    return f"({area}) {exchange}-{line:04d}" if national else f"+1{area}{exchange}{line:04d}"


def make_records(cfg: ChaosConfig) -> list[dict[str, Any]]:
    """Organizations first, then contacts; deterministic from ``cfg.seed``."""
    rng = random.Random(cfg.seed)
    out: list[dict[str, Any]] = []
    for i in range(cfg.orgs):
        out.append(
            {
                "kind": "organization",
                "externalId": f"ORG-{i:05d}",
                "name": f"{rng.choice(_LAST)} {rng.choice(_INDUSTRIES)} {i}",
                "industry": rng.choice(_INDUSTRIES),
                "phoneNumber": _phone(rng, national=False),
                "address": {"city": rng.choice(_CITIES)},
            }
        )
    for i in range(cfg.contacts):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        out.append(
            {
                "kind": "contact",
                "externalId": f"C-{i:06d}",
                "organization": f"ORG-{rng.randrange(cfg.orgs):05d}",
                "firstName": first,
                "lastName": last,
                "title": rng.choice(_TITLES),
                "workEmail": f"{first}.{last}{i}@example.com".lower(),
                "cellPhone": _phone(rng, national=i % 2 == 0),
                "address": {"city": rng.choice(_CITIES)},
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
    orgs = {
        f"ACC-{i:04d}": (f"{rng.choice(_LAST)} {rng.choice(_INDUSTRIES)} {i}", rng.choice(_INDUSTRIES))
        for i in range(cfg.orgs)
    }
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
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        key = f"CRM-{i:06d}"
        row = {
            "contact_id": key,
            "first_name": first,
            "last_name": last,
            "title": rng.choice(_TITLES),
            "email": f"{first}.{last}{i}@example.com".lower(),
            "mobile": _phone(rng, national=i % 2 == 0),
            "city": rng.choice(_CITIES),
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


# --------------------------------------------------------------------------- the gate


@dataclass
class Action:
    """Something done when the gate sees a given API call of the current run."""

    kind: str  # kill | revoke | burst | drop | edit
    at: int  # the call number in the run (0: see ``path``)
    phase: str = "before"  # kill: before the call is handled, or after it committed
    count: int = 0  # burst length
    edit: Edit | None = None
    path: str | None = None  # with at=0: the first call whose path contains this


@dataclass
class Edit:
    """A person's edit on the Genesys side: managed and unmanaged values of one record."""

    kind: str
    key: str
    managed: dict[str, Any]
    unmanaged: dict[str, Any]
    live: bool
    done: bool = False


class ChaosGate:
    """ASGI wrapper around the emulator app: counts API calls, records issued tokens, fires actions.

    It only observes and triggers; every request is still handled by the emulator unchanged,
    except one killed *before* it was handled (it gets a 503 no one reads).
    """

    def __init__(self, app: ASGIApp, emu: Emulator) -> None:
        self.app = app
        self.emu = emu
        self.lock = threading.Lock()
        self.calls = 0
        self.tokens: set[str] = set()
        self.actions: dict[int, list[Action]] = {}
        self.by_path: list[Action] = []
        self.fired: list[Action] = []
        self.pid: int | None = None
        self.killed = False
        self.on_edit: Callable[[Edit], None] | None = None

    def arm(self, pid: int | None, actions: list[Action]) -> None:
        with self.lock:
            self.calls = 0
            self.pid = pid
            self.killed = False
            self.actions = {}
            self.by_path = [a for a in actions if a.at == 0 and a.path]
            for a in actions:
                if a.at:
                    self.actions.setdefault(a.at, []).append(a)

    def set_pid(self, pid: int) -> None:
        with self.lock:
            self.pid = pid

    def disarm(self) -> None:
        with self.lock:
            self.pid = None
            self.actions = {}
            self.by_path = []

    def _kill(self) -> None:
        if self.pid is not None and not self.killed:
            self.killed = True
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    def _fire(self, action: Action) -> None:
        self.fired.append(action)
        if action.kind == "kill":
            self._kill()
        elif action.kind == "revoke":
            self.emu.revoke_tokens()
        elif action.kind == "burst":
            self.emu.inject_429_burst(action.count, retry_after=1)
        elif action.kind == "drop":
            self.emu.drop_next_writes(action.count, mode=action.phase)
        elif action.kind == "edit" and action.edit is not None and self.on_edit is not None:
            self.on_edit(action.edit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if path == "/oauth/token":
            await self.app(scope, receive, self._token_recorder(send))
            return
        if not path.startswith("/api/v2"):
            await self.app(scope, receive, send)
            return
        with self.lock:
            self.calls += 1
            due = self.actions.pop(self.calls, [])
            for a in [a for a in self.by_path if a.path and a.path in path]:
                self.by_path.remove(a)
                due.append(a)
        after = [a for a in due if a.kind == "kill" and a.phase == "after"]
        for action in due:
            if action not in after:
                self._fire(action)
        if any(a.kind == "kill" for a in due if a not in after):
            await _answer(send, 503)
            return
        if not after:
            await self.app(scope, receive, send)
            return

        async def kill_then_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                for action in after:
                    self._fire(action)
            await send(message)

        await self.app(scope, receive, kill_then_send)

    def _token_recorder(self, send: Send) -> Send:
        chunks: list[bytes] = []

        async def recorder(message: Message) -> None:
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    with contextlib.suppress(ValueError, AttributeError):
                        token = json.loads(b"".join(chunks)).get("access_token")
                        if isinstance(token, str):
                            with self.lock:
                                self.tokens.add(token)
            await send(message)

        return recorder


async def _answer(send: Send, status: int) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


# --------------------------------------------------------------------------- launching gcx


class Launcher:
    """Runs ``gcx <args>`` as a separate process that can be SIGKILLed; returns its exit code
    (negative: killed by that signal; None: it outlived ``timeout`` and was killed)."""

    def run(
        self,
        args: list[str],
        cwd: Path,
        env: dict[str, str],
        out: Path,
        err: Path,
        on_pid: Callable[[int], None],
        timeout: float,
    ) -> int | None:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the launcher holds."""


class SubprocessLauncher(Launcher):
    """``python -m gcx.cli.main ARGS``: a fresh interpreter per run (the most faithful)."""

    def run(
        self,
        args: list[str],
        cwd: Path,
        env: dict[str, str],
        out: Path,
        err: Path,
        on_pid: Callable[[int], None],
        timeout: float,
    ) -> int | None:
        cmd = [sys.executable, "-m", "gcx.cli.main", *args]
        with out.open("wb") as fo, err.open("wb") as fe:
            proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                cmd, cwd=cwd, env=env, stdout=fo, stderr=fe, stdin=subprocess.DEVNULL
            )
            on_pid(proc.pid)
            try:
                return proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                return None


#: The fork server: imports gcx once, then forks one child per run. The child sets its working
#: directory, environment and output files, waits for "go" and calls the CLI's own ``main()``
#: (what ``python -m gcx.cli.main`` runs), so a run skips only the interpreter start and the
#: imports. The server itself has no threads, so forking it is safe.
_FORK_SERVER = r"""
import json, os, sys, traceback
import gcx.cli.main as cli

for line in sys.stdin:
    req = json.loads(line)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(w)
            os.read(r, 1)
            os.close(r)
            os.chdir(req["cwd"])
            os.environ.clear()
            os.environ.update(req["env"])
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            for fd, path in ((1, req["out"]), (2, req["err"])):
                f = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.dup2(f, fd)
                os.close(f)
            sys.argv = ["gcx", *req["args"]]
            try:
                cli.main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except BaseException:
                traceback.print_exc()
                code = 1
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)
    os.close(r)
    print(json.dumps({"pid": pid}), flush=True)
    sys.stdin.readline()  # "go": the harness knows the pid
    os.write(w, b"g")
    os.close(w)
    _, status = os.waitpid(pid, 0)
    print(json.dumps({"exit": os.waitstatus_to_exitcode(status)}), flush=True)
"""


class ForkLauncher(Launcher):
    """Runs through a fork server that imported gcx once: much faster starts, same ``main()``."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None

    def _server(self) -> subprocess.Popen[str]:
        if self.proc is None:
            self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and code
                [sys.executable, "-c", _FORK_SERVER],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                env={k: v for k, v in os.environ.items() if not k.startswith(("GENESYSCLOUD_", "GCX_"))},
            )
        return self.proc

    def run(
        self,
        args: list[str],
        cwd: Path,
        env: dict[str, str],
        out: Path,
        err: Path,
        on_pid: Callable[[int], None],
        timeout: float,
    ) -> int | None:
        proc = self._server()
        assert proc.stdin is not None and proc.stdout is not None
        req = {"args": args, "cwd": str(cwd), "env": env, "out": str(out), "err": str(err)}
        proc.stdin.write(json.dumps(req) + "\n")
        proc.stdin.flush()
        pid = int(json.loads(proc.stdout.readline())["pid"])
        on_pid(pid)
        proc.stdin.write("go\n")
        proc.stdin.flush()
        fired: list[bool] = []

        def on_timeout() -> None:
            fired.append(True)
            _kill_quietly(pid)

        timer = threading.Timer(timeout, on_timeout)
        timer.start()
        try:
            line = proc.stdout.readline()
        finally:
            timer.cancel()
        if not line:
            raise RuntimeError("the gcx fork server stopped")
        code = int(json.loads(line)["exit"])
        return None if fired else code

    def close(self) -> None:
        if self.proc is not None:
            assert self.proc.stdin is not None and self.proc.stdout is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
            self.proc.stdout.close()
            self.proc = None


def _kill_quietly(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


# --------------------------------------------------------------------------- runs and results


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


# --------------------------------------------------------------------------- the harness


class Harness:
    """Holds the emulator, the gate and the work directory of one chaos run."""

    def __init__(self, cfg: ChaosConfig, workdir: Path, log: Callable[[str], None] | None = None) -> None:
        self.cfg = cfg
        self.workdir = workdir
        for sub in ("reports", "logs"):
            (workdir / sub).mkdir(parents=True, exist_ok=True)
        self.rng = random.Random(cfg.seed * 7919 + 1)
        self.emu = Emulator(cfg.settings())
        self.gate = ChaosGate(self.emu.app, self.emu)
        self.gate.on_edit = self._apply_edit
        self.launcher: Launcher = ForkLauncher() if cfg.launcher == "fork" else SubprocessLauncher()
        self.log = log or (lambda _msg: None)
        self.runs: list[RunInfo] = []
        self.outputs: dict[str, bytes] = {}
        self.expect = Expectation()
        self.edits: list[Edit] = []
        self.ids: dict[tuple[str, str], str] = {}
        self.revocations = 0
        self.ledger_url = cfg.ledger_url or f"sqlite:///{workdir / 'ledger.sqlite'}"
        self.base_url = ""
        self.t0 = time.monotonic()

    # -- pre-seeding and edits (through the emulator's backend: a person in the UI)

    def preseed(self, records: list[dict[str, Any]]) -> None:
        """Records "created by a person" before the run, each holding the ExternalId identifier."""
        frac = self.cfg.preseed_fraction
        orgs = [r for r in records if r["kind"] == "organization"]
        contacts = [r for r in records if r["kind"] == "contact"]
        rng = random.Random(self.cfg.seed + 101)
        seed_orgs = rng.sample(orgs, math.ceil(len(orgs) * frac)) if frac else []
        seed_contacts = rng.sample(contacts, math.ceil(len(contacts) * frac)) if frac else []
        backend = self.emu.backend
        for n, rec in enumerate(seed_orgs):
            key = rec["externalId"]
            unmanaged = {
                "companyType": "Partner",
                "websites": [f"https://org{n}.example.com"],
                "customFields": {"accountManager": f"Manager {n}"},
                "twitterId": {"screenName": f"org_{n}"},
            }
            org_body = {
                "name": rec["name"] + (" (old name)" if n % 2 else ""),
                "identifiers": [{"type": "ExternalId", "value": key}],
                **unmanaged,
            }
            created = backend.create("organizations", org_body)
            self.ids[("organization", key)] = created["id"]
            self.expect.unmanaged[("organization", key)] = _flat_unmanaged(unmanaged)
        for n, rec in enumerate(seed_contacts):
            key = rec["externalId"]
            unmanaged = {
                "salutation": "Dr.",
                "personalEmail": f"personal{n}@example.org",
                "homePhone": {"display": f"+1206555{n % 10000:04d}"},
                "twitterId": {"screenName": f"contact_{n}"},
                "customFields": {"agentNote": f"called back on day {n}"},
                "address": {"address2": f"Suite {n}"},
            }
            body: dict[str, Any] = {
                "firstName": rec.get("firstName"),
                "lastName": (rec.get("lastName") or "") + (" Old" if n % 2 else ""),
                "title": "Set by a person" if n % 3 == 0 else rec.get("title"),
                "identifiers": [{"type": "ExternalId", "value": key}],
                **unmanaged,
            }
            org_id = self.ids.get(("organization", rec.get("organization") or ""))
            if org_id and n % 2 == 0:
                body["externalOrganization"] = {"id": org_id}
            created = backend.create("contacts", body)
            self.ids[("contact", key)] = created["id"]
            self.expect.unmanaged[("contact", key)] = _flat_unmanaged(unmanaged)

    def plan_edits(self, records: list[dict[str, Any]], changed: set[str]) -> None:
        """``cfg.edits`` person edits on distinct contacts: live ones on records whose source did
        not change, between-run ones (after a kill) on records whose source changed."""
        rng = random.Random(self.cfg.seed + 202)
        contacts = [r for r in records if r["kind"] == "contact"]
        picked = rng.sample(contacts, min(self.cfg.edits, len(contacts)))
        for n, rec in enumerate(picked):
            key = rec["externalId"]
            managed = {"title": f"Edited by an agent {n}"}
            if n % 2:
                managed["address.city"] = f"Edited City {n}"
            unmanaged = {"customFields.agentNote": f"agent note {n}", "salutation": f"Agent-set {n}"}
            self.edits.append(Edit("contact", key, managed, unmanaged, live=key not in changed))

    def _apply_edit(self, edit: Edit) -> None:
        if edit.done:
            return
        backend = self.emu.backend
        rid = self._find_id(edit.kind, edit.key)
        if rid is None:
            return  # not created yet: the edit is not made (and not expected)
        kind = "contacts" if edit.kind == "contact" else "organizations"
        body = backend.get(kind, rid)  # what the UI does: read the record, change it, save it whole
        for path, value in {**edit.managed, **edit.unmanaged}.items():
            parent = body
            parts = path.split(".")
            for part in parts[:-1]:
                parent = parent.setdefault(part, {})
            parent[parts[-1]] = value
        backend.replace(kind, rid, body)
        edit.done = True
        rk = (edit.kind, edit.key)
        self.expect.unmanaged.setdefault(rk, {}).update(edit.unmanaged)
        if self.cfg.on_conflict == "report":
            self.expect.kept.setdefault(rk, {}).update(edit.managed)

    def _find_id(self, kind: str, key: str) -> str | None:
        backend = self.emu.backend
        try:
            found = backend.lookup(
                "contacts" if kind == "contact" else "organizations",
                {"type": "ExternalId", "value": key},
            )
        except Exception:
            return None
        rid = found.get("id") if isinstance(found, dict) else None
        return str(rid) if rid else None

    # -- running gcx

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GENESYSCLOUD_", "GCX_"))}
        env.update(
            {
                "GENESYSCLOUD_REGION": self.base_url,
                "GENESYSCLOUD_OAUTHCLIENT_ID": self.cfg.client_id,
                "GENESYSCLOUD_OAUTHCLIENT_SECRET": self.cfg.client_secret,
                "GCX_CONFIG": str(self.workdir / "gcx-config.toml"),
                "NO_COLOR": "1",
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    def run_gcx(
        self, source: Source, phase: str, actions: list[Action], on_conflict: str | None = None
    ) -> RunInfo:
        """One ``gcx sync apply`` subprocess, armed with ``actions``."""
        cfg = self.cfg
        index = len(self.runs) + 1
        report_path = self.workdir / "reports" / f"run-{index:02d}.json"
        args: list[str] = ["--verbose"] if cfg.verbose else []
        args += ["--rate-limit", str(cfg.client_rate_limit), "sync", "apply", *source.args()]
        args += [
            "--ledger",
            self.ledger_url,
            "--batch-size",
            str(cfg.batch_size),
            "--report",
            str(report_path),
            "--on-conflict",
            on_conflict or cfg.on_conflict,
        ]
        out_path = self.workdir / "logs" / f"run-{index:02d}.out"
        err_path = self.workdir / "logs" / f"run-{index:02d}.err"
        t0 = time.monotonic()
        timeout = max(1.0, min(cfg.run_timeout, cfg.deadline - (t0 - self.t0)))
        self.gate.arm(None, actions)
        try:
            code = self.launcher.run(
                args, self.workdir, self._env(), out_path, err_path, self.gate.set_pid, timeout
            )
        finally:
            calls = self.gate.calls
            killed_at = [a for a in self.gate.fired if a.kind == "kill" and a in actions]
            self.gate.disarm()
        self.outputs[out_path.name] = out_path.read_bytes()
        self.outputs[err_path.name] = err_path.read_bytes()
        report: dict[str, Any] | None = None
        if report_path.exists():
            self.outputs[report_path.name] = report_path.read_bytes()
            report = json.loads(report_path.read_text(encoding="utf-8"))
        self.revocations += sum(1 for a in self.gate.fired if a.kind == "revoke" and a in actions)
        killed = f"{killed_at[0].phase} call {killed_at[0].at}" if killed_at else None
        if code is None:
            killed = "timeout"
        info = RunInfo(index, phase, code, killed, time.monotonic() - t0, calls, report)
        self.runs.append(info)
        self.log(
            f"run {index} ({phase}): exit {code}, {calls} API calls, "
            f"{'killed ' + killed if killed else 'completed'} in {info.seconds:.1f} s"
        )
        return info

    def chaos_actions(self, expected_calls: int, kill: str | None, live_edits: list[Edit]) -> list[Action]:
        """The seeded actions of one run; ``kill``: the phase of its SIGKILL (None: no kill)."""
        rng = self.rng
        top = max(3, expected_calls)
        actions: list[Action] = []
        if kill:
            actions.append(Action("kill", rng.randint(2, top), phase=kill))
        for _ in range(self.cfg.revokes_per_run):
            actions.append(Action("revoke", rng.randint(2, max(2, top // 2))))
        for _ in range(self.cfg.bursts_per_run):
            actions.append(Action("burst", rng.randint(2, top), count=self.cfg.burst_429_length))
        for _ in range(self.cfg.drops_per_run):
            mode = rng.choice(("disconnect", "504"))
            actions.append(Action("drop", rng.randint(1, top), phase=mode, count=1))
        for edit in live_edits:
            actions.append(Action("edit", rng.randint(1, top), edit=edit))
        return actions

    def expected_calls(self, source: Source) -> int:
        cfg = self.cfg
        orgs = sum(1 for r in source.records if r["kind"] == "organization")
        contacts = len(source.records) - orgs
        scans = math.ceil(orgs / 200) + math.ceil(contacts / 200) + 2
        writes = math.ceil(orgs / cfg.batch_size) + math.ceil(contacts / cfg.batch_size)
        return 3 + scans + writes

    def chaos_loop(self, source: Source, phase: str) -> bool:
        """Runs under faults, SIGKILLed ``cfg.kills`` times, until one completes (bounded)."""
        cfg = self.cfg
        kills_left = cfg.kills
        expected = self.expected_calls(source)
        live = [e for e in self.edits if e.live]
        between = [e for e in self.edits if not e.live]
        per_kill = math.ceil(len(between) / max(1, cfg.kills))
        while len(self.runs) < cfg.max_runs and time.monotonic() - self.t0 < cfg.deadline:
            if kills_left > 0:
                # kills alternate: after a committed write (its answer never read), before a call
                kill: str | None = ("after", "before")[(cfg.kills - kills_left) % 2]
                edits = [e for e in live if not e.done]
            else:
                # the last runs: every edit is made before they start, so each of them sees
                # all edits when it reads Genesys (what it reports is then deterministic)
                kill, edits = None, []
                for edit in self.edits:
                    self._apply_edit(edit)
            actions = self.chaos_actions(expected, kill, edits)
            info = self.run_gcx(source, phase, actions)
            if info.killed:
                if info.killed != "timeout":
                    kills_left -= 1
                for edit in [e for e in between if not e.done][:per_kill]:
                    self._apply_edit(edit)
                continue
            if self._clean(info, source) and kills_left <= 0:
                return True
            # a run that gave up (exit 1, failures) is simply started again, as an operator would
            if kills_left > 0 and info.exit_code == 0:
                expected = max(3, info.api_calls - 1)  # kill the next runs inside what a run costs
        return False

    def _clean(self, info: RunInfo, source: Source) -> bool:
        rep = info.report or {}
        if source.invalid:
            return info.exit_code == 3 and not rep.get("failures") and rep.get("status") == "partial"
        return info.exit_code == 0


def _flat_unmanaged(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name in ("address", "customFields") and isinstance(value, dict):
            for k, v in value.items():
                out[f"{name}.{k}"] = v
        else:
            out[name] = value
    return out


def ledger_dump(url: str) -> str:
    """Every row of every table of the ledger database, as text (to look for secrets in it)."""
    from sqlalchemy import MetaData, create_engine, select

    engine = create_engine(url)
    try:
        meta = MetaData()
        meta.reflect(engine)
        lines: list[str] = []
        with engine.connect() as conn:
            for table in meta.sorted_tables:
                lines += [f"{table.name}: {tuple(row)!r}" for row in conn.execute(select(table))]
        return "\n".join(lines)
    finally:
        engine.dispose()


def _ledger_rows(url: str) -> tuple[list[tuple[str, str, str]], int, str | None]:
    with Ledger(url) as led:
        rows = [(str(e.kind), e.key, e.genesys_id) for e in led.entries().values()]
        binding = led.binding()
        return rows, len(led.open_ops()), binding.external_source_id if binding else None


def _change_source(records: list[dict[str, Any]], cfg: ChaosConfig) -> tuple[list[dict[str, Any]], set[str]]:
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


@contextlib.contextmanager
def served(h: Harness) -> Iterator[str]:
    """Serve ``h``'s emulator (behind its gate) over loopback; close the launcher on exit."""
    try:
        with serve_in_thread(h.gate, "127.0.0.1", 0) as url:
            h.base_url = url
            yield url
    finally:
        h.launcher.close()


def run_chaos(cfg: ChaosConfig, workdir: Path, log: Callable[[str], None] | None = None) -> ChaosResult:
    """The whole chaos run (see the module docs). ``workdir`` receives source, ledger, reports, logs."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "reports").mkdir(exist_ok=True)
    (workdir / "logs").mkdir(exist_ok=True)
    h = Harness(cfg, workdir, log)
    if cfg.dirty_fraction:
        source = make_dirty_csv(cfg, workdir)
    else:
        records = make_records(cfg)
        source = Source(workdir / "source.jsonl", None, records)
        write_jsonl(source.path, records)
    h.expect.absent |= source.absent
    stats: dict[str, Any] = {"invalid": len(source.invalid)}
    with served(h):
        h.preseed(source.records)
        changed: set[str] = set()
        if cfg.edits:
            first = h.run_gcx(source, "initial", [])
            if first.exit_code != 0:
                h.log("the initial (fault-free) sync did not complete")
            new_records, changed = _change_source(source.records, cfg)
            source = Source(workdir / "source-v2.jsonl", None, new_records)
            write_jsonl(source.path, new_records)
            h.plan_edits(new_records, changed)
        h.emu.configure(**cfg.fault_settings())
        clean = h.chaos_loop(source, "chaos")
        h.emu.configure(**OFF)
        final = h.runs[-1].report if clean else None
        state = h.emu.dump()
        ledger_rows, open_ops, source_id = _ledger_rows(h.ledger_url)
        report = verify(
            state,
            source.records,
            h.expect,
            ledger=ledger_rows,
            open_ops=open_ops,
            external_source_id=None,
            strict_extra=True,
        )
        noop: int | None = None
        if final is not None and cfg.noop_check:
            check = h.run_gcx(source, "no-op check", [], on_conflict="report")
            applied = (check.report or {}).get("applied") or {}
            noop = sum(
                v
                for kind in applied.values()
                for k, v in kind.items()
                if k in ("created", "updated", "moved", "deleted")
            )
        emu_stats = h.emu.stats()
        tokens = set(h.gate.tokens)
    stats.update(
        {
            "tokens": len(tokens),
            "revocations": h.revocations,
            "edits": sum(1 for e in h.edits if e.done),
            "externalSourceId": source_id,
        }
    )
    for path in workdir.rglob("*"):
        if path.is_file() and path.suffix in (
            ".json",
            ".out",
            ".err",
            ".log",
            ".sqlite",
            ".jsonl",
            ".csv",
            ".toml",
        ):
            h.outputs[str(path.relative_to(workdir))] = path.read_bytes()
    h.outputs["ledger tables"] = ledger_dump(h.ledger_url).encode("utf-8")
    leaks = find_secrets(h.outputs, [cfg.client_secret], tokens=tokens)
    result = ChaosResult(
        config=cfg,
        runs=h.runs,
        verification=report,
        leaks=leaks,
        stats=stats,
        emulator_stats=emu_stats,
        final_report=final,
        noop_writes=noop,
        seconds=time.monotonic() - h.t0,
        workdir=workdir,
    )
    if final is not None:
        result.invalid_problems = check_invalid(final, source.invalid)
        if cfg.edits:
            result.conflict_problems = check_conflicts(final, h.edits, source.records, cfg.on_conflict)
    return result


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
    from gcx.testing.verify import flatten, matches

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
