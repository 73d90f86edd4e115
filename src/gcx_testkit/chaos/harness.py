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
5. turns the faults off and verifies the state (:func:`gcx_testkit.verify.verify`), the
   ledger, the reports (invalid rows once each, conflicts) and every captured byte for the
   client secret and the bearer tokens.

With ``edits > 0`` a first clean sync runs, the source changes for some records, and the
chaos runs happen while a person edits records on the Genesys side (managed and unmanaged
fields): between runs (after a kill) for records whose source changed, at any moment for
the others; the edits not made yet are made before the last run (same faults, no kill).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from gcx.emulator import Emulator
from gcx.emulator.server import serve_in_thread
from gcx.sync.ledger import Ledger
from gcx_testkit.chaos.config import OFF, ChaosConfig
from gcx_testkit.chaos.gate import Action, ChaosGate, Edit
from gcx_testkit.chaos.launch import ForkLauncher, Launcher, SubprocessLauncher
from gcx_testkit.chaos.results import ChaosResult, RunInfo, check_conflicts, check_invalid
from gcx_testkit.chaos.source import Source, change_source, make_dirty_csv, make_records, write_jsonl
from gcx_testkit.verify import Expectation, find_secrets, verify


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
        """Records "created by a person" before the run, each tagged with the ExternalId identifier
        (``PATCH .../identifiers`` Claim, no ``externalIds``: a body's identifiers are not honoured)."""
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
            org_body = {"name": rec["name"] + (" (old name)" if n % 2 else ""), **unmanaged}
            created = backend.create("organizations", org_body)
            backend.patch_identifiers("organizations", created["id"], _claim(key))
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
                **unmanaged,
            }
            org_id = self.ids.get(("organization", rec.get("organization") or ""))
            if org_id and n % 2 == 0:
                body["externalOrganization"] = {"id": org_id}
            created = backend.create("contacts", body)
            backend.patch_identifiers("contacts", created["id"], _claim(key))
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
            found = None  # no record holds that identifier
        rid = found.get("id") if isinstance(found, dict) else None
        if rid:
            return str(rid)
        # Under Genesys' documented identity rules a record gcx created holds no ExternalId
        # identifier (externalIds derive none): a person finds it by its external id field.
        plural = "contacts" if kind == "contact" else "organizations"
        for record in backend.dump()[plural]:
            for ext in record.get("externalIds") or []:
                if isinstance(ext, dict) and ext.get("value") == key:
                    return str(record["id"])
        return None

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
            new_records, changed = change_source(source.records, cfg)
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


def _claim(key: str) -> dict[str, Any]:
    """A person's ``PATCH .../identifiers`` body tagging a record with ExternalId ``key``."""
    return {"operation": "Claim", "identifier": {"type": "ExternalId", "value": key}}
