"""gcx sync vs the naive GET-before-POST pattern vs the official SDK doing the same job.

    .venv/bin/python benchmarks/compare_naive.py                       # the published figures
    .venv/bin/python benchmarks/compare_naive.py --contacts 500 --quick  # a fast look

Every approach syncs the same deterministic source (organizations, then contacts linked to
them; 10% of the records already exist in Genesys, created by a person with the ExternalId
identifier and unmanaged values) into a fresh emulator served over loopback HTTP:

* **gcx**: ``python -m gcx.cli.main sync apply`` (the real entry point, a subprocess); the
  no-op and 1%-changed runs also with ``--trust-ledger``;
* **naive**: for each record, look it up by identifier (``POST /identifierlookup``), create it
  when absent (404), else ``PUT`` the source's fields when they differ; raw httpx, retrying
  429 (after ``Retry-After``), 5xx and cut connections up to 5 attempts, as scripts do;
* **SDK**: the same pattern with ``PureCloudPlatformClientV2`` (when installed), on a subset
  of the contacts (``--sdk-contacts``); its per-contact figures are extrapolated (marked ~).

Figures (one run prints them all): API requests per contact for a first sync, a no-op sync
and a sync with 1% of the contacts changed (token requests excluded, organizations' calls
included); wall time under the documented 300 requests/minute limit (emulator enforcing it,
gcx with its default pacing), the fraction of the allowed rate actually used and the 429s
received; duplicates and lost fields under the chaos settings (5% 5xx, 2% commit-then-drop,
429 bursts, 3 s tokens, duplicates allowed; gcx also SIGKILLed, see benchmarks/chaos.py).
Every run is bounded in time (``--deadline`` per run).
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from gcx.emulator import Emulator, EmulatorSettings
from gcx_testkit.chaos import ChaosConfig, Harness, Source, make_records, run_chaos, write_jsonl
from gcx_testkit.verify import flatten, matches, verify

CLIENT_ID = "bench-client"
SECRET = "bench-secret-not-a-real-one"
API = "/api/v2/externalcontacts"
PATHS = {"organization": "organizations", "contact": "contacts"}
CHAOS = {
    "fault_rate": 0.05,
    "drop_after_commit": 0.02,
    "drop_mode": "mixed",
    "burst_429_rate": 0.005,
    "burst_429_length": 3,
    "token_ttl": 3,
}


class Deadline(Exception):
    """A run took longer than allowed."""


# --------------------------------------------------------------------------- naive pattern


def api_body(rec: dict[str, Any], org_ids: dict[str, str]) -> dict[str, Any]:
    """The source record as an API body (what a script would send)."""
    body: dict[str, Any] = {}
    for name, value in rec.items():
        if name in ("kind", "externalId", "organization"):
            continue
        if name in ("cellPhone", "workPhone", "homePhone", "otherPhone", "phoneNumber", "faxNumber"):
            value = {"display": value}
        body[name] = value
    if rec["kind"] == "contact" and rec.get("organization") in org_ids:
        body["externalOrganization"] = {"id": org_ids[rec["organization"]]}
    body["identifiers"] = [{"type": "ExternalId", "value": rec["externalId"]}]
    return body


def differs(rec: dict[str, Any], remote: dict[str, Any], org_ids: dict[str, str]) -> bool:
    for path, value in flatten(rec).items():
        if path == "organization":
            have = (remote.get("externalOrganization") or {}).get("id")
            if have != org_ids.get(value):
                return True
            continue
        cur: Any = remote
        for part in path.split("."):
            cur = cur.get(part) if isinstance(cur, dict) else None
        if not matches(path, value, cur):
            return True
    return False


@dataclass
class NaiveStats:
    requests: int = 0
    rate_limited: int = 0
    errors: int = 0


class NaiveHttp:
    """GET-before-POST with raw httpx, the way sync scripts are usually written."""

    def __init__(self, base_url: str, deadline: float, attempts: int = 5) -> None:
        self.base = base_url
        self.http = httpx.Client(base_url=base_url, timeout=30.0)
        self.token = ""
        self.attempts = attempts
        self.deadline = deadline
        self.stats = NaiveStats()

    def close(self) -> None:
        self.http.close()

    def _login(self) -> None:
        basic = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
        for _ in range(self.attempts):
            try:
                r = self.http.post(
                    "/oauth/token",
                    data={"grant_type": "client_credentials"},
                    headers={"Authorization": f"Basic {basic}"},
                )
            except httpx.TransportError:
                continue
            if r.status_code == 200:
                self.token = r.json()["access_token"]
                return
        raise RuntimeError("no token")

    def call(self, method: str, path: str, body: Any = None) -> httpx.Response | None:
        if not self.token:
            self._login()
        for attempt in range(self.attempts):
            if time.monotonic() > self.deadline:
                raise Deadline
            self.stats.requests += 1
            try:
                r = self.http.request(
                    method, path, json=body, headers={"Authorization": f"Bearer {self.token}"}
                )
            except httpx.TransportError:
                time.sleep(0.1 * (attempt + 1))
                continue
            if r.status_code == 401:
                self._login()
                continue
            if r.status_code == 429:
                self.stats.rate_limited += 1
                time.sleep(float(r.headers.get("Retry-After", "1")))
                continue
            if r.status_code >= 500:
                time.sleep(0.1 * (attempt + 1))
                continue
            return r
        self.stats.errors += 1
        return None

    def sync(self, records: list[dict[str, Any]]) -> None:
        org_ids: dict[str, str] = {}
        for rec in records:
            kind, key = rec["kind"], rec["externalId"]
            found = self.call(
                "POST", f"{API}/identifierlookup/{PATHS[kind]}", {"type": "ExternalId", "value": key}
            )
            if found is None:
                continue
            body = api_body(rec, org_ids)
            if found.status_code == 404:
                created = self.call("POST", f"{API}/{PATHS[kind]}", body)
                if created is not None and created.status_code == 200 and kind == "organization":
                    org_ids[key] = created.json()["id"]
                continue
            remote = found.json()
            if kind == "organization":
                org_ids[key] = remote["id"]
            if differs(rec, remote, org_ids):
                self.call("PUT", f"{API}/{PATHS[kind]}/{remote['id']}", {**body, "id": remote["id"]})


class NaiveSdk:
    """The same pattern with the official SDK (PureCloudPlatformClientV2)."""

    def __init__(self, base_url: str, deadline: float, attempts: int = 5) -> None:
        import PureCloudPlatformClientV2 as pc
        from PureCloudPlatformClientV2.api_client import ApiClient

        self.pc = pc
        self.client = ApiClient(host=base_url)
        self.api = pc.ExternalContactsApi(self.client)
        self.attempts = attempts
        self.deadline = deadline
        self.stats = NaiveStats()
        self._login()

    def close(self) -> None:
        self.client.get_http_client().rest_client.pool_manager.clear()

    def _login(self) -> None:
        for _ in range(self.attempts):
            try:
                self.client.get_client_credentials_token(CLIENT_ID, SECRET)
                return
            except Exception:
                continue
        raise RuntimeError("no token")

    def model(self, data: dict[str, Any], cls: str) -> Any:
        return self.client.deserialize(_FakeResponse(json.dumps(data)), cls)

    def call(self, fn: Callable[..., Any], *args: Any) -> tuple[int, Any]:
        from PureCloudPlatformClientV2.rest import ApiException

        for attempt in range(self.attempts):
            if time.monotonic() > self.deadline:
                raise Deadline
            self.stats.requests += 1
            try:
                return 200, fn(*args)
            except ApiException as exc:
                if exc.status == 404:
                    return 404, None
                if exc.status == 401:
                    self._login()
                    continue
                if exc.status == 429:
                    self.stats.rate_limited += 1
                    time.sleep(float((exc.headers or {}).get("Retry-After", "1")))
                    continue
                if exc.status and exc.status >= 500:
                    time.sleep(0.1 * (attempt + 1))
                    continue
                self.stats.errors += 1
                return exc.status or 0, None
            except Exception:  # cut connections surface as urllib3 errors
                time.sleep(0.1 * (attempt + 1))
        self.stats.errors += 1
        return 0, None

    def sync(self, records: list[dict[str, Any]]) -> None:
        pc, api = self.pc, self.api
        org_ids: dict[str, str] = {}
        for rec in records:
            kind, key = rec["kind"], rec["externalId"]
            is_org = kind == "organization"
            ident_cls = "ExternalOrganizationIdentifier" if is_org else "ContactIdentifier"
            lookup = (
                api.post_externalcontacts_identifierlookup_organizations
                if is_org
                else api.post_externalcontacts_identifierlookup_contacts
            )
            status, remote = self.call(lookup, self.model({"type": "ExternalId", "value": key}, ident_cls))
            if status not in (200, 404):
                continue
            body = api_body(rec, org_ids)
            model = self.model(body, "ExternalOrganization" if is_org else "ExternalContact")
            if status == 404:
                create = (
                    api.post_externalcontacts_organizations if is_org else api.post_externalcontacts_contacts
                )
                status, created = self.call(create, model)
                if status == 200 and is_org:
                    org_ids[key] = created.id
                continue
            remote_json = self.client.sanitize_for_serialization(remote)
            if is_org:
                org_ids[key] = remote.id
            if differs(rec, remote_json, org_ids):
                model.id = remote.id
                put = api.put_externalcontacts_organization if is_org else api.put_externalcontacts_contact
                self.call(put, remote.id, model)
        del pc


class _FakeResponse:
    def __init__(self, data: str) -> None:
        self.data = data

    def getheader(self, name: str, default: str | None = None) -> str | None:
        return "application/json" if name.lower() == "content-type" else default


# --------------------------------------------------------------------------- measuring


@dataclass
class Measure:
    approach: str
    step: str
    contacts: int
    requests: int
    seconds: float
    rate_limited: int
    extrapolated: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def per_contact(self) -> float:
        return self.requests / max(1, self.contacts)


def _calls(emu: Emulator) -> tuple[int, int]:
    s = emu.stats()
    return int(s["apiCalls"]), int(s["rateLimited"])


def change_one_percent(records: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    out = [dict(r) for r in records]
    contacts = [i for i, r in enumerate(out) if r["kind"] == "contact"]
    step = max(1, len(contacts) // max(1, math.ceil(len(contacts) * 0.01)))
    for i in contacts[seed % step :: step]:
        out[i]["title"] = "Changed title"
    return out


def gcx_run(
    h: Harness, source: Source, extra: list[str], timeout: float, rate_limit: int
) -> tuple[int, float]:
    cmd = [
        sys.executable,
        "-m",
        "gcx.cli.main",
        "--rate-limit",
        str(rate_limit),
        "sync",
        "apply",
        *source.args(),
    ]
    cmd += ["--ledger", h.ledger_url, "--report", str(h.workdir / "report.json"), *extra]
    t0 = time.monotonic()
    done = subprocess.run(cmd, cwd=h.workdir, env=h._env(), capture_output=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"gcx exited {done.returncode}: {done.stderr.decode()[-800:]}")
    return done.returncode, time.monotonic() - t0


def new_harness(cfg: ChaosConfig, workdir: Path) -> Harness:
    workdir.mkdir(parents=True, exist_ok=True)
    h = Harness(cfg, workdir)
    h.emu = Emulator(
        EmulatorSettings(
            rate_limit=cfg.emulator_rate_limit,
            seed=cfg.seed,
            unique_external_ids=False,
            credentials=((CLIENT_ID, SECRET),),
        )
    )
    h.gate.emu = h.emu
    h.gate.app = h.emu.app
    h.cfg.client_id, h.cfg.client_secret = CLIENT_ID, SECRET
    return h


def requests_per_contact(
    approach: str, n: int, orgs: int, seed: int, root: Path, deadline: float
) -> list[Measure]:
    cfg = ChaosConfig(contacts=n, orgs=orgs, seed=seed)
    records = make_records(cfg)
    changed = change_one_percent(records, seed)
    h = new_harness(cfg, root / f"rpc-{approach}")
    out: list[Measure] = []
    with h.emu.serve() as url:
        h.base_url = url
        h.preseed(records)
        steps = [("first sync", records, []), ("no-op sync", records, []), ("1% changed", changed, [])]
        if approach == "gcx":
            steps += [
                ("no-op --trust-ledger", changed, ["--trust-ledger"]),
                ("1% changed --trust-ledger", records, ["--trust-ledger"]),
            ]
        for step, recs, extra in steps:
            before, rl0 = _calls(h.emu)
            t0 = time.monotonic()
            if approach == "gcx":
                path = h.workdir / f"source-{len(out)}.jsonl"
                write_jsonl(path, recs)
                gcx_run(h, Source(path, None, recs), extra, deadline, 0)
            else:
                runner = (NaiveHttp if approach == "naive" else NaiveSdk)(url, time.monotonic() + deadline)
                try:
                    runner.sync(recs)
                finally:
                    runner.close()
            after, rl1 = _calls(h.emu)
            out.append(
                Measure(
                    approach, step, n, after - before, time.monotonic() - t0, rl1 - rl0, approach == "sdk"
                )
            )
    return out


def under_rate_limit(approach: str, n: int, orgs: int, seed: int, root: Path, deadline: float) -> Measure:
    """A first sync against an emulator enforcing 300 requests/minute per token."""
    cfg = ChaosConfig(contacts=n, orgs=orgs, seed=seed, emulator_rate_limit=300)
    records = make_records(cfg)
    h = new_harness(cfg, root / f"rated-{approach}")
    with h.emu.serve() as url:
        h.base_url = url
        h.preseed(records)
        t0 = time.monotonic()
        if approach == "gcx":
            path = h.workdir / "source.jsonl"
            write_jsonl(path, records)
            gcx_run(h, Source(path, None, records), [], deadline, 300)
        else:
            runner = NaiveHttp(url, time.monotonic() + deadline)
            try:
                runner.sync(records)
            finally:
                runner.close()
        seconds = time.monotonic() - t0
        calls, limited = _calls(h.emu)
    used = (calls - limited) / (300 * seconds / 60.0)
    return Measure(approach, "first sync @300 rpm", n, calls, seconds, limited, extra={"rate_used": used})


def under_chaos(approach: str, n: int, orgs: int, seed: int, root: Path, deadline: float) -> dict[str, Any]:
    cfg = ChaosConfig(contacts=n, orgs=orgs, seed=seed)
    if approach == "gcx":
        res = run_chaos(
            ChaosConfig(contacts=n, orgs=orgs, seed=seed, kills=3, noop_check=False, deadline=deadline),
            root / "chaos-gcx",
        )
        v = res.verification
        return {
            "duplicates": v.duplicate_records,
            "lost": len(v.lost),
            "mismatches": len(v.mismatches),
            "missing": len(v.missing),
            "kills": res.kills,
            "runs": len(res.runs),
        }
    records = make_records(cfg)
    h = new_harness(cfg, root / f"chaos-{approach}")
    with h.emu.serve() as url:
        h.base_url = url
        h.preseed(records)
        h.emu.configure(**CHAOS)
        runner = (NaiveHttp if approach == "naive" else NaiveSdk)(url, time.monotonic() + deadline)
        try:
            runner.sync(records)
        finally:
            runner.close()
        h.emu.configure(fault_rate=0.0, drop_after_commit=0.0, burst_429_rate=0.0, token_ttl=86400)
        v = verify(h.emu.dump(), records, h.expect)
        dropped = h.emu.stats()["droppedAfterCommit"]
    return {
        "duplicates": v.duplicate_records,
        "lost": len(v.lost),
        "mismatches": len(v.mismatches),
        "missing": len(v.missing),
        "dropped": dropped,
        "gave_up": runner.stats.errors,
    }


def sdk_available() -> bool:
    try:
        import PureCloudPlatformClientV2  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--contacts", type=int, default=2000, help="contacts for requests-per-contact")
    p.add_argument("--orgs", type=int, default=40)
    p.add_argument("--sdk-contacts", type=int, default=200, help="subset the SDK syncs (extrapolated)")
    p.add_argument("--rated-contacts", type=int, default=2000, help="gcx contacts under 300 rpm")
    p.add_argument("--naive-rated-contacts", type=int, default=200, help="naive contacts under 300 rpm")
    p.add_argument("--chaos-contacts", type=int, default=500, help="contacts under the chaos settings")
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--deadline", type=float, default=900.0, help="seconds allowed per run")
    p.add_argument("--quick", action="store_true", help="skip the 300 rpm runs")
    p.add_argument(
        "--only", choices=["requests", "rated", "chaos"], default=None, help="run one section only"
    )
    a = p.parse_args(argv)
    sdk = sdk_available()
    print(f"# gcx vs naive vs SDK, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; SDK installed: {sdk}", flush=True)
    with tempfile.TemporaryDirectory(prefix="gcx-compare-") as tmp:
        root = Path(tmp)
        orgs_sub = max(1, round(a.orgs * a.sdk_contacts / a.contacts))
        rows: list[Measure] = []
        if a.only in (None, "requests"):
            rows += requests_per_contact("gcx", a.contacts, a.orgs, a.seed, root, a.deadline)
            rows += requests_per_contact("naive", a.contacts, a.orgs, a.seed, root, a.deadline)
        if sdk and a.only in (None, "requests"):
            rows += requests_per_contact("sdk", a.sdk_contacts, orgs_sub, a.seed, root, a.deadline)
        if rows:
            print("\n## API requests per contact (organizations' requests included, token requests excluded)")
            print(
                f"{'approach':<8} {'step':<28} {'contacts':>8} {'requests':>9} {'per contact':>12} {'seconds':>8}"
            )
            for m in rows:
                mark = "~" if m.extrapolated else " "
                print(
                    f"{m.approach:<8} {m.step:<28} {m.contacts:>8} {m.requests:>9} "
                    f"{mark}{m.per_contact:>11.3f} {m.seconds:>8.1f}"
                )
        if not a.quick and a.only in (None, "rated"):
            naive_orgs = max(1, a.orgs * a.naive_rated_contacts // a.contacts)
            rated = [
                under_rate_limit("gcx", a.rated_contacts, a.orgs, a.seed, root, a.deadline),
                under_rate_limit("naive", a.naive_rated_contacts, naive_orgs, a.seed, root, a.deadline),
            ]
            print("\n## First sync under a 300 requests/minute limit (emulator enforcing it, sliding window)")
            print(
                f"{'approach':<8} {'contacts':>8} {'requests':>9} {'seconds':>8} {'s per 1000 contacts':>20} "
                f"{'avg rate / 300 rpm':>19} {'429s':>6}"
            )
            for m in rated:
                per_k = m.seconds / m.contacts * 1000
                print(
                    f"{m.approach:<8} {m.contacts:>8} {m.requests:>9} {m.seconds:>8.1f} {per_k:>20.1f} "
                    f"{m.extra['rate_used']:>19.0%} {m.rate_limited:>6}"
                )
        if a.only in (None, "chaos"):
            print(
                f"\n## Under the chaos settings ({a.chaos_contacts} contacts, duplicates allowed; 5% 5xx, "
                "2% commit-then-drop, 429 bursts, 3 s tokens)"
            )
            approaches = ["gcx", "naive"] + (["sdk"] if sdk else [])
            print(
                f"{'approach':<8} {'duplicates':>10} {'fields lost':>12} {'mismatches':>11} {'missing':>8}  notes"
            )
            for approach in approaches:
                n = a.chaos_contacts if approach != "sdk" else min(a.sdk_contacts, a.chaos_contacts)
                orgs = max(1, round(a.orgs * n / a.contacts))
                r = under_chaos(approach, n, orgs, a.seed, root, a.deadline)
                notes = (
                    f"{r['runs']} runs, {r['kills']} SIGKILLs"
                    if approach == "gcx"
                    else f"{n} contacts, {r['dropped']} answers dropped after commit, {r['gave_up']} gave up"
                )
                print(
                    f"{approach:<8} {r['duplicates']:>10} {r['lost']:>12} {r['mismatches']:>11} "
                    f"{r['missing']:>8}  {notes}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
