"""gcx at scale: a first sync, no-op runs and a plan of N contacts, each process measured apart.

The emulator runs in its own process (``gcx emulator`` on a loopback port) and every gcx run in
another (``python -m gcx.cli.main sync ...``), so that gcx's CPU and peak RSS (``wait4``) are not
mixed with the emulator's (``/proc/<pid>``). The source is canonical JSONL: ~200 contacts per
organization, each with first and last name, title, work email, cell phone and city.

Rows of the table:

* ``plan, empty org``: ``gcx sync plan`` against an empty emulator (reads only);
* ``first sync``: ``gcx sync apply`` into the empty org, paced at ``--rate`` requests/minute on
  both sides (emulator limit and client pacing; ``--unpaced``: no limit anywhere);
* ``no-op, scan``: the same source again, unpaced (the scan reads every record);
* ``no-op, --trust-ledger``: again, comparing with the ledger only;
* ``--changes N``: then two more runs, a no-op and one where N contacts changed their title (a
  third run that writes), to show how the ledger grows over later runs;
* ``--hand-made N``: N contacts made by hand (no key) before the first sync, which then runs
  adoption checks: every source key is unmatched and checked against them;
* ``--adopt``: last, the ledger lost (its files deleted) while Genesys holds every record: the
  same source applied again with a new ledger, unpaced. Every record must be adopted (matched
  by the scan, the ledger rebuilt, no write) and none created twice (the emulator's state is
  read after it: records stored and distinct ``externalIds`` values).

``--count-duplicates``: at the end, the same count after the first sync's runs (the records the
emulator holds, none created twice), read last since reading the whole state raises its RSS.

After the table, the ledger's size after each run (its WAL checkpointed into the file) divided by
the records it holds.

``--ledger-url postgresql+psycopg://USER[:PASSWORD]@HOST:PORT/DB`` runs the same runs with the ledger
on PostgreSQL instead: each tree's ledger in a schema of its own in that database,
``gcx_scale_<label>_<hash of the label>`` (gcx's connections get ``search_path`` set to it through the URL's libpq
``options``), dropped with everything in it before the tree's runs, after them, and for ``--adopt``. Its size after a
run is measured by PostgreSQL: a plain ``VACUUM`` of the schema's tables (dead row versions the run
left become free space, counted as such: plain ``VACUUM`` gives the operating system back only the
empty pages at a table's end), then the sum of ``pg_total_relation_size`` over the schema's tables:
their heap, indexes, TOAST table and TOAST index, free-space and visibility maps. Not counted:
the sequences (8 KiB each) and the system catalogs' rows describing the tables. After a tree's
last run, a ``VACUUM FULL`` (rewriting each table with its live rows only) gives the compacted
size too. The password (if any) never appears in what is printed nor on gcx's command line: gcx
gets it in ``PGPASSWORD``.

Beside each paced run, the floor: the requests it made at the allowed rate (a first sync cannot
make fewer than one bulk request per 200 records). The emulator's CPU and RSS are per stored record
after the first sync. ``--tree before=/path/to/checkout`` (repeatable) runs the same table with
another checkout's code (its ``src/`` first on ``PYTHONPATH``, for gcx and its emulator), side by
side with the current tree in one run.

    python benchmarks/scale.py --quick                       # 2,000 contacts, seconds
    python benchmarks/scale.py --contacts 100000             # paced first sync: ~2 minutes
    python benchmarks/scale.py --contacts 100000 --unpaced --profile /tmp/first.prof
    python benchmarks/scale.py --contacts 100000 --unpaced --first-only --emulator-profile /tmp/emu.prof
    python benchmarks/scale.py --contacts 100000 --tree before=/tmp/gcx-before
    python benchmarks/scale.py --contacts 100000 --unpaced --first-only --adopt
    python benchmarks/scale.py --contacts 100000 --unpaced --first-only --hand-made 1
    python benchmarks/scale.py --quick --ledger-url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent
PER_ORG = 200
BULK = 200

FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "John", "Radia", "Ken", "Margaret"]
LAST = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Backus",
    "Perlman",
    "Thompson",
]
TITLES = ["Buyer", "CTO", "Engineer", "Account Manager", "Director", "Analyst", None]
CITIES = ["Boston", "Paris", "Lyon", "Berlin", "Dublin", "Austin", "Osaka", "Madrid"]


def generate(path: Path, contacts: int, *, seed: int = 1) -> int:
    """Write the JSONL source (organizations first); return the number of organizations."""
    orgs = max(1, round(contacts / PER_ORG))
    rnd = random.Random(seed)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as out:
        for o in range(orgs):
            rec = {
                "kind": "organization",
                "externalId": f"org-{o}",
                "name": f"Org {o} Ltd",
                "industry": "Retail",
            }
            out.write(json.dumps(rec) + "\n")
        for c in range(contacts):
            first, last = rnd.choice(FIRST), rnd.choice(LAST)
            rec: dict[str, Any] = {
                "kind": "contact",
                "externalId": f"c-{c}",
                "organization": f"org-{c % orgs}",
                "firstName": first,
                "lastName": f"{last}{c}",
                "workEmail": f"{first.lower()}.{last.lower()}{c}@example.com",
                "cellPhone": {
                    "display": f"+1 {200 + c // 10_000_000 % 800} {c // 10_000 % 1000:03d} {c % 10_000:04d}"
                },
                "address": {"city": rnd.choice(CITIES)},
            }
            title = rnd.choice(TITLES)
            if title is not None:
                rec["title"] = title
            out.write(json.dumps(rec) + "\n")
    tmp.replace(path)
    return orgs


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _http(method: str, url: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as resp:
        raw = resp.read()
    return json.loads(raw) if raw else None


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _proc_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


@dataclass
class Emulator:
    env: dict[str, str]
    rate: int
    tokens: int = 1
    org_rate: int = 0
    profile: str | None = None
    #: A command that runs the emulator's Python (``valgrind --tool=callgrind ...``), and how long
    #: its start may take: under valgrind the imports alone take a minute.
    wrap: tuple[str, ...] = ()
    start_timeout: float = 60.0
    url: str = ""
    base_rss: int = 0
    proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Emulator:
        port = _free_port()
        head = [*self.wrap, sys.executable]
        if self.profile:
            head += ["-m", "cProfile", "-o", self.profile]
        cmd = [
            *head,
            "-m",
            "gcx.cli.main",
            "emulator",
            "--port",
            str(port),
            "--rate-limit",
            str(self.rate),
        ]
        if self.org_rate:
            cmd += ["--org-rate-limit", str(self.org_rate)]
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            try:
                self.stats()
                self.base_rss = _proc_rss(self.pid)
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the emulator did not start")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            # SIGINT: uvicorn stops and Python exits, then cProfile or callgrind writes its file
            if self.profile or self.wrap:
                self.proc.send_signal(signal.SIGINT)
            else:
                self.proc.terminate()
            self.proc.wait(timeout=600 if self.wrap else 30)

    def stats(self) -> dict[str, Any]:
        return dict(_http("GET", f"{self.url}/_emulator/stats"))

    def set_rate(self, rate: int) -> None:
        _http("PATCH", f"{self.url}/_emulator/settings", {"rate_limit": rate})

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid


@dataclass
class Row:
    run: str
    requests: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    rss: int = 0
    emu_cpu: float = 0.0
    emu_rss: int = 0
    rate: int = 0
    tokens: int = 1
    limited: int = 0
    exit: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def run_gcx(
    emu: Emulator, args: list[str], *, env: dict[str, str], rate: int, profile: str | None = None
) -> Row:
    before = emu.stats()
    cpu0 = _proc_cpu(emu.pid)
    head = [sys.executable]
    if profile:
        head += ["-m", "cProfile", "-o", profile]
    cmd = [*head, "-m", "gcx.cli.main", "--quiet", "--region", emu.url, "--rate-limit", str(rate), *args]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - t0
    after = emu.stats()
    if proc.returncode not in (0, 3):
        sys.stderr.write(err.decode(errors="replace")[-3000:])
        raise SystemExit(f"gcx {' '.join(args[:2])} failed with exit {proc.returncode}")
    return Row(
        run="",
        requests=int(after["apiCalls"]) - int(before["apiCalls"]),
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        rss=usage.ru_maxrss * 1024,
        emu_cpu=_proc_cpu(emu.pid) - cpu0,
        emu_rss=_proc_rss(emu.pid),
        rate=rate,
        limited=int(after.get("rateLimited", 0)) - int(before.get("rateLimited", 0)),
        exit=proc.returncode,
    )


def edited(source: Path, changes: int) -> Path:
    """The source with the title of its first ``changes`` contacts changed."""
    out = source.with_name(f"{source.stem}-changed-{changes}.jsonl")
    if out.exists():
        return out
    left = changes
    with source.open(encoding="utf-8") as src, out.open("w", encoding="utf-8") as dst:
        for line in src:
            rec = json.loads(line)
            if left and rec.get("kind") == "contact":
                rec["title"] = "Changed"
                left -= 1
            dst.write(json.dumps(rec) + "\n")
    return out


def ledger_size(ledger: Path) -> int:
    """The ledger file's size once its WAL is checkpointed into it (the WAL itself counted too)."""
    import sqlite3

    with sqlite3.connect(ledger) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return sum(p.stat().st_size for p in ledger.parent.glob(ledger.name + "*") if p.is_file())


def ledger_files(ledger: Path) -> list[Path]:
    return [ledger, ledger.with_name(ledger.name + "-wal"), ledger.with_name(ledger.name + "-shm")]


def duplicates(emu: Emulator) -> dict[str, int]:
    """Per kind: the records the emulator holds, and how many of them repeat another's key
    (an ``externalIds`` value of the same External Source: a record created twice).

    Counted in a process of its own: the state read whole would raise this process's peak RSS,
    which every gcx process started after it inherits (``ru_maxrss`` counts the fork's copy)."""
    out = subprocess.run(
        [sys.executable, __file__, "--count-state", emu.url], check=True, capture_output=True, text=True
    ).stdout
    return dict(json.loads(out))


def count_state(url: str) -> dict[str, int]:
    state = _http("GET", f"{url}/_emulator/state")
    out: dict[str, int] = {}
    for kind, name in (("organizations", "organization"), ("contacts", "contact")):
        records = state.get(kind, [])
        keys = [
            (str(e.get("externalSource", {}).get("id")), str(e.get("value")))
            for r in records
            for e in r.get("externalIds") or []
        ]
        out[name] = len(records)
        out[f"{name} duplicates"] = len(keys) - len(set(keys))
    return out


@dataclass
class PgLedger:
    """A tree's PostgreSQL ledger: the schema ``schema`` of the database at ``url`` (--ledger-url)."""

    url: str = field(repr=False)
    schema: str = ""

    @classmethod
    def for_tree(cls, url: str, label: str) -> PgLedger:
        """The tree's schema: its label made an identifier, plus a hash of the label itself, so
        labels that differ only in punctuation or case (or past the 63 bytes PostgreSQL keeps of
        a name) never share one."""
        name = "".join(ch if ch.isascii() and ch.isalnum() else "_" for ch in label.lower())[:32]
        digest = hashlib.sha256(label.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        return cls(url, f"gcx_scale_{name}_{digest}")

    @property
    def shown(self) -> str:
        """The URL as printed: its password masked."""
        from gcx.sync.ledger import safe_url

        return safe_url(self.url)

    def gcx_url(self) -> tuple[str, dict[str, str]]:
        """The URL gcx is given (no password; ``search_path`` set to the schema) and the
        environment it needs besides (the password, in ``PGPASSWORD``)."""
        from sqlalchemy.engine import URL, make_url

        url = make_url(self.url)
        options = str(url.query.get("options", ""))
        options = f"{options} -csearch_path={self.schema}".strip()
        query = {**url.query, "options": options}
        out = URL.create(url.drivername, url.username, None, url.host, url.port, url.database, query)
        env = {"PGPASSWORD": str(url.password)} if url.password is not None else {}
        return out.render_as_string(hide_password=False), env

    def _connect(self) -> Any:
        import psycopg
        from sqlalchemy.engine import make_url

        url = make_url(self.url)
        params = {k: v for k, v in url.query.items() if isinstance(v, str)}
        try:
            return psycopg.connect(
                host=url.host,
                port=url.port,
                user=url.username,
                password=url.password,
                dbname=url.database,
                autocommit=True,
                connect_timeout=10,
                **params,
            )
        except psycopg.Error as exc:
            from gcx import redact

            raise SystemExit(f"cannot connect to {self.shown}: {redact.scrub(str(exc))}") from None

    def reset(self, *, create: bool = True) -> None:
        """Drop the schema and everything in it; then (``create``) make it again, empty."""
        from psycopg import sql

        schema = sql.Identifier(self.schema)
        with self._connect() as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(schema))
            if create:
                conn.execute(sql.SQL("CREATE SCHEMA {}").format(schema))

    def size(self, *, full: bool = False) -> int:
        """Bytes of the schema's tables after a ``VACUUM`` (``full``: ``VACUUM FULL``) of them."""
        from psycopg import sql

        with self._connect() as conn:
            found = conn.execute(
                "SELECT c.oid, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relkind IN ('r', 'p')",
                (self.schema,),
            ).fetchall()
            if not found:
                return 0
            tables = sql.SQL(", ").join(sql.Identifier(self.schema, name) for _, name in found)
            conn.execute(sql.SQL("VACUUM {}{}").format(sql.SQL("FULL " if full else ""), tables))
            row = conn.execute(
                "SELECT sum(pg_total_relation_size(o)) FROM unnest(%s::oid[]) AS o",
                ([oid for oid, _ in found],),
            ).fetchone()
        return int(row[0] or 0) if row else 0


@dataclass
class SqliteLedger:
    """A tree's SQLite ledger file (the default); the same methods as :class:`PgLedger`."""

    path: Path

    def gcx_url(self) -> tuple[str, dict[str, str]]:
        return f"sqlite:///{self.path}", {}

    def reset(self, *, create: bool = True) -> None:
        for p in ledger_files(self.path):
            p.unlink(missing_ok=True)

    def size(self, *, full: bool = False) -> int:
        return ledger_size(self.path)


#: Imports (SQLAlchemy, psycopg, gcx) are made by PgLedger's methods only: a SQLite run's
#: benchmark process stays small (every gcx process it starts inherits its RSS as a floor).
Ledger = PgLedger | SqliteLedger


def tree_env(tree: Path) -> dict[str, str]:
    """The environment of gcx and the emulator run from ``tree``'s code (its ``src/`` first)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(tree / "src"),
        "GENESYSCLOUD_OAUTHCLIENT_ID": "bench",
        "GENESYSCLOUD_OAUTHCLIENT_SECRET": "bench-secret",
        "COLUMNS": "200",
        "NO_COLOR": "1",
    }
    env.pop("GCX_PROFILE", None)
    return env


def measure(label: str, tree: Path, source: Path, work: Path, args: argparse.Namespace) -> list[Row]:
    if not args.ledger_url:
        ledger: Ledger = SqliteLedger(work / f"ledger-{label}.sqlite")
        ledger.reset()
        return measure_runs(label, tree, source, work, args, ledger)
    ledger = PgLedger.for_tree(args.ledger_url, label)
    ledger.reset()
    try:
        rows = measure_runs(label, tree, source, work, args, ledger)
        rows[-1].extra["ledger_full"] = ledger.size(full=True)
        return rows
    finally:
        ledger.reset(create=False)


def measure_runs(
    label: str, tree: Path, source: Path, work: Path, args: argparse.Namespace, ledger: Ledger
) -> list[Row]:
    """The runs of one tree against ``ledger`` (reset by the caller)."""
    url, secret = ledger.gcx_url()
    env = {**tree_env(tree), **secret}
    reports = work / f"reports-{label}"
    reports.mkdir(exist_ok=True)
    common = ["--ledger", url]
    extra = ["--tokens", str(args.tokens)] if args.tokens > 1 else []
    rate = 0 if args.unpaced else args.rate
    rows: list[Row] = []
    profile = args.profile if label == "current" else None
    emu_profile = args.emulator_profile if label == "current" else None
    with Emulator(env, 0, tokens=args.tokens, org_rate=args.org_rate, profile=emu_profile) as emu:
        row = run_gcx(
            emu,
            ["sync", "plan", str(source), *common, "--report", str(reports / "plan.json")],
            env=env,
            rate=0,
        )
        row.run = "plan, empty org"
        rows.append(row)
        if args.hand_made:
            hand_made(emu, env, work / f"hand-made-{label}.jsonl", args.hand_made)
        emu.set_rate(rate)
        row = run_gcx(
            emu,
            ["sync", "apply", str(source), *common, *extra, "--report", str(reports / "first.json")],
            env=env,
            rate=rate,
            profile=profile,
        )
        row.run = "first sync" + (f", paced {rate}/min" if rate else ", unpaced")
        if args.hand_made:
            row.run += f", {args.hand_made:,} made by hand"
        if args.tokens > 1:
            row.run += f", {args.tokens} tokens"
            row.tokens = args.tokens
        row.extra["emu_base"] = emu.base_rss
        row.extra["ledger"] = ledger.size()
        rows.append(row)
        emu.set_rate(0)
        if not args.first_only:
            row = run_gcx(
                emu,
                ["sync", "apply", str(source), *common, "--report", str(reports / "noop.json")],
                env=env,
                rate=0,
            )
            row.run = "no-op, scan"
            rows.append(row)
            row = run_gcx(
                emu,
                [
                    "sync",
                    "apply",
                    str(source),
                    *common,
                    "--trust-ledger",
                    "--report",
                    str(reports / "trust.json"),
                ],
                env=env,
                rate=0,
            )
            row.run = "no-op, --trust-ledger"
            rows.append(row)
        for n, src in ((0, source), (args.changes, edited(source, args.changes))) if args.changes else ():
            row = run_gcx(
                emu,
                ["sync", "apply", str(src), *common, "--report", str(reports / f"changes-{n}.json")],
                env=env,
                rate=0,
            )
            row.run = f"{n:,} contacts changed" if n else "no-op, scan (again)"
            row.extra["ledger"] = ledger.size()
            rows.append(row)
        if args.adopt:
            last = edited(source, args.changes) if args.changes else source
            rows.append(adopt(emu, env, last, ledger, reports))
        written = json.loads((reports / "first.json").read_text()).get("applied", {})
        rows[1].extra["written"] = written
        if args.count_duplicates:  # last: reading the whole state raises the emulator's RSS
            rows[1].extra["stored"] = duplicates(emu)
    return rows


def hand_made(emu: Emulator, env: dict[str, str], path: Path, n: int) -> None:
    """``n`` contacts a person made (no ``externalIds``): adoption candidates of the first sync."""
    path.write_text(
        "".join(json.dumps({"firstName": f"Hand{i}", "title": "by hand"}) + "\n" for i in range(n))
    )
    run_gcx(emu, ["contacts", "create", "--file", str(path)], env=env, rate=0)


def adopt(emu: Emulator, env: dict[str, str], source: Path, ledger: Ledger, reports: Path) -> Row:
    """The ledger lost (a new machine): the same source again, every record already in Genesys."""
    ledger.reset()
    report = reports / "adopt.json"
    row = run_gcx(
        emu,
        ["sync", "apply", str(source), "--ledger", ledger.gcx_url()[0], "--report", str(report)],
        env=env,
        rate=0,
    )
    row.run = "adoption, ledger lost"
    applied = json.loads(report.read_text()).get("applied", {})
    row.extra["adopted"] = {kind: counts.get("adopted", 0) for kind, counts in applied.items()}
    row.extra["written"] = {
        kind: sum(n for what, n in counts.items() if what not in ("adopted", "failed"))
        for kind, counts in applied.items()
    }
    row.extra["ledger"] = ledger.size()
    row.extra["stored"] = duplicates(emu)
    return row


def pg_url(value: str) -> str:
    """``--ledger-url``: a PostgreSQL URL (an error names the option, never the URL: its password)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(value)
    except (ArgumentError, ValueError):  # their message may quote the URL
        raise argparse.ArgumentTypeError("not a database URL") from None
    if url.get_backend_name() != "postgresql":
        raise argparse.ArgumentTypeError(f"not a PostgreSQL URL ({url.get_backend_name()})")
    return value


def _mib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def table(
    results: dict[str, list[Row]], contacts: int, orgs: int, *, ledger_note: str = "WAL checkpointed"
) -> str:
    stored = contacts + orgs
    lines = [
        "| code | run | requests | wall | floor | rate used | 429s | gcx CPU | gcx CPU/record | gcx peak RSS "
        "| emulator CPU | emulator RSS |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, rows in results.items():
        for r in rows:
            floor = r.requests * 60 / (r.rate * r.tokens) if r.rate else 0.0
            used = f"{floor / r.wall:.0%}" if r.rate and r.wall else "-"
            lines.append(
                f"| {label} | {r.run} | {r.requests:,} | {r.wall:.1f} s | "
                f"{f'{floor:.1f} s' if r.rate else '-'} | {used} | {r.limited} | {r.cpu:.1f} s | "
                f"{r.cpu / stored * 1000:.3f} ms | {_mib(r.rss)} | {r.emu_cpu:.1f} s | {_mib(r.emu_rss)} |"
            )
    lines.append("")
    for label, rows in results.items():
        sizes = [f"{r.run}: {r.extra['ledger'] / stored:.0f}" for r in rows if "ledger" in r.extra]
        if "ledger_full" in rows[-1].extra:
            sizes.append(f"after VACUUM FULL: {rows[-1].extra['ledger_full'] / stored:.0f}")
        lines.append(f"{label}: ledger bytes/record after each run ({ledger_note}): {'; '.join(sizes)}")
    for label, rows in results.items():
        first = rows[1]
        emu_rss = first.emu_rss - first.extra.get("emu_base", 0)
        per = first.extra.get("ledger", 0) / stored
        lines.append(
            f"{label}: ledger {per:.0f} bytes/record; emulator after the first sync "
            f"{emu_rss / stored / 1024:.2f} KB (RSS above the empty emulator's) and "
            f"{first.emu_cpu / stored * 1000:.3f} ms CPU per stored record; "
            f"written {json.dumps(first.extra.get('written'))}"
            + (
                f"; emulator holds {json.dumps(first.extra['stored'])} at the end"
                if "stored" in first.extra
                else ""
            )
        )
    for label, rows in results.items():
        for r in rows:
            if "adopted" in r.extra:
                lines.append(
                    f"{label}: {r.run}: adopted {json.dumps(r.extra['adopted'])}, "
                    f"written {json.dumps(r.extra['written'])}; emulator holds {json.dumps(r.extra['stored'])}; "
                    f"gcx peak RSS {r.rss / stored:.0f} bytes/record (first sync: {rows[1].rss / stored:.0f})"
                )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--contacts", type=int, default=100_000)
    ap.add_argument("--quick", action="store_true", help="2,000 contacts (iteration)")
    ap.add_argument("--rate", type=int, default=300, help="requests/minute of the paced first sync")
    ap.add_argument("--unpaced", action="store_true", help="first sync with no rate limit anywhere")
    ap.add_argument("--tokens", type=int, default=1, help="client-credential tokens (gcx --tokens)")
    ap.add_argument("--org-rate", type=int, default=0, help="emulator org-wide limit (requests/minute)")
    ap.add_argument("--changes", type=int, default=0, help="then a no-op and a run changing N contacts")
    ap.add_argument("--first-only", action="store_true", help="skip the no-op runs")
    ap.add_argument("--hand-made", type=int, default=0, help="N contacts made by hand before the first sync")
    ap.add_argument("--adopt", action="store_true", help="then the ledger lost: every record adopted")
    ap.add_argument(
        "--count-duplicates",
        action="store_true",
        help="at the end, count the records the emulator holds and those created twice (reads its whole state)",
    )
    ap.add_argument("--profile", help="cProfile output file of the first sync (current tree only)")
    ap.add_argument(
        "--emulator-profile", help="cProfile output file of the emulator process (current tree only)"
    )
    ap.add_argument("--tree", action="append", default=[], help="LABEL=PATH of another checkout (repeatable)")
    ap.add_argument("--workdir", help="keep the source, ledgers and reports here")
    ap.add_argument("--no-current", action="store_true", help="measure only the --tree checkouts")
    ap.add_argument(
        "--ledger-url",
        type=pg_url,
        help="the ledger on PostgreSQL (postgresql+psycopg://...), each tree's in a schema of its own",
    )
    ap.add_argument("--count-state", metavar="URL", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.count_state:
        print(json.dumps(count_state(args.count_state)))
        return
    contacts = 2000 if args.quick else args.contacts
    trees = [(t.split("=", 1)[0], Path(t.split("=", 1)[1]).resolve()) for t in args.tree]
    if not args.no_current or not trees:
        trees.append(("current", HERE))
    with tempfile.TemporaryDirectory(prefix="gcx-scale-") as tmp:
        work = Path(args.workdir) if args.workdir else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        source = work / f"contacts-{contacts}.jsonl"
        orgs = max(1, round(contacts / PER_ORG))
        if not source.exists():
            generate(source, contacts)
        floor_requests = -(-contacts // BULK) + -(-orgs // BULK)
        print(
            f"{contacts:,} contacts in {orgs:,} organizations; floor of a first sync: {floor_requests:,} bulk "
            f"requests = {floor_requests * 60 / args.rate / max(args.tokens, 1):.1f} s at {args.rate}/min"
            + (f" x {args.tokens} tokens" if args.tokens > 1 else ""),
            flush=True,
        )
        if args.ledger_url:
            pgs = [PgLedger.for_tree(args.ledger_url, label) for label, _ in trees]
            print(
                f"ledger on PostgreSQL: {pgs[0].shown}, schema {', '.join(p.schema for p in pgs)}", flush=True
            )
        results: dict[str, list[Row]] = {}
        for label, tree in trees:
            t0 = time.monotonic()
            results[label] = measure(label, tree, source, work, args)
            print(f"{label}: measured in {time.monotonic() - t0:.0f} s", flush=True)
        note = "PostgreSQL, after VACUUM" if args.ledger_url else "WAL checkpointed"
        print(table(results, contacts, orgs, ledger_note=note))


if __name__ == "__main__":
    main()
