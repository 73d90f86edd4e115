"""``gcx sync plan|apply|status`` in-process over the emulator: exit codes, reports, plan files."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from gcx.cli.main import app
from gcx.emulator import Emulator, EmulatorSettings
from tests.conftest import CANARY_CLIENT_ID, CANARY_SECRET

from .helpers import state

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
REGION = "http://emu.test"


@pytest.fixture
def emu() -> Emulator:
    return Emulator(EmulatorSettings(rate_limit=0, seed=2))


@pytest.fixture
def gcx(emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    env = {
        "GENESYSCLOUD_REGION": REGION,
        "GENESYSCLOUD_OAUTHCLIENT_ID": CANARY_CLIENT_ID,
        "GENESYSCLOUD_OAUTHCLIENT_SECRET": CANARY_SECRET,
        "GCX_CONFIG": os.environ["GCX_CONFIG"],
    }

    def run(*args: str) -> Result:
        obj = {"transport": emu.transport(), "env": env, "client_options": {"rate_limit": 0}}
        result = runner.invoke(app, list(args), env=env, obj=obj, catch_exceptions=False)
        assert CANARY_SECRET not in result.output
        return result

    return run


def _report(tmp_path: Path) -> dict[str, Any]:
    reports = sorted((tmp_path / ".gcx" / "reports").glob("*.json"))
    text = reports[-1].read_text(encoding="utf-8")
    assert CANARY_SECRET not in text
    return json.loads(text)


def _generator() -> Any:
    from gcx.demo import crm

    return crm


def test_example_extract_is_generated_and_plans(gcx: Any, emu: Emulator, tmp_path: Path) -> None:
    regenerated = _generator().write(tmp_path / "again.csv", 3000, 40)
    assert regenerated.read_bytes() == (EXAMPLES / "crm_contacts.csv").read_bytes()
    from gcx.demo import mapping_text

    assert mapping_text() == (EXAMPLES / "crm_mapping.toml").read_text(encoding="utf-8")
    csv_path, mapping = EXAMPLES / "crm_contacts.csv", EXAMPLES / "crm_mapping.toml"
    plan = gcx("sync", "plan", str(csv_path), "-m", str(mapping), "--out", "plan.json", "--show", "3")
    assert plan.exit_code == 3, plan.output  # dirty rows are reported
    assert "create    organization" in plan.stdout
    assert state(emu)["contacts"] == []
    saved = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))
    assert saved["summary"]["planned"]["organization"]["create"] == 40
    assert saved["summary"]["planned"]["contact"]["create"] > 2700
    kinds = {i["field"] for i in saved["invalid"]}
    assert kinds >= {"workEmail", "cellPhone", "address.state", "organization", "externalId", None}


def test_apply_crm_extract(gcx: Any, emu: Emulator, tmp_path: Path) -> None:
    csv_path = _generator().write(tmp_path / "crm.csv", 400, 8, seed=5)
    mapping = EXAMPLES / "crm_mapping.toml"
    first = gcx("sync", "apply", str(csv_path), "-m", str(mapping))
    assert first.exit_code == 3, first.output
    report = _report(tmp_path)
    created = report["applied"]["contact"]["created"]
    assert report["applied"]["organization"]["created"] == 8
    assert created > 340 and report["failures"] == []
    assert all(isinstance(i["line"], int) and i["reason"] for i in report["invalid"])
    assert len(state(emu)["contacts"]) == created

    again = gcx("-o", "json", "sync", "apply", str(csv_path), "-m", str(mapping))
    assert again.exit_code == 3
    doc = json.loads(again.stdout)
    assert doc["planned"]["contact"]["unchanged"] == created
    assert sum(doc["applied"]["contact"].values()) == 0

    status = gcx("-o", "json", "sync", "status")
    assert status.exit_code == 0
    st = json.loads(status.stdout)
    assert st["records"]["contact"]["total"] == created and st["pending"] == 0
    assert len(st["runs"]) == 2
    table = gcx("sync", "status")
    assert "contacts: " in table.stdout
    trimmed = gcx("sync", "trim-history", "--keep-runs", "1", "--yes")
    assert trimmed.exit_code == 0, trimmed.output
    assert f"dropped {created + 8} done operation(s)" in trimmed.stdout + trimmed.stderr
    st = json.loads(gcx("-o", "json", "sync", "status").stdout)
    assert st["records"]["contact"]["total"] == created and st["ops"].get("done", 0) == 0


def test_apply_saved_plan_and_jsonl(gcx: Any, emu: Emulator, tmp_path: Path) -> None:
    src = tmp_path / "records.jsonl"
    shutil.copy(EXAMPLES / "records.jsonl", src)
    assert gcx("sync", "plan", str(src), "--out", "p.json").exit_code == 0
    applied = gcx("sync", "apply", "--plan", "p.json")
    assert applied.exit_code == 0, applied.output
    assert len(state(emu)["contacts"]) == 6 and len(state(emu)["organizations"]) == 3
    again = gcx("sync", "apply", "--plan", "p.json")
    assert again.exit_code == 0 and len(state(emu)["contacts"]) == 6
    bad = gcx("sync", "apply", "--plan", str(src))
    assert bad.exit_code == 1 and "not a gcx plan" in bad.stderr


def test_usage_errors(gcx: Any, tmp_path: Path) -> None:
    r = gcx("sync", "apply", str(EXAMPLES / "crm_contacts.csv"))
    assert r.exit_code == 2 and "needs a mapping file" in r.stderr
    r = gcx("sync", "apply", str(EXAMPLES / "records.jsonl"), "--on-conflict", "maybe")
    assert r.exit_code == 2
    r = gcx("sync", "status", "--ledger", str(tmp_path / "none.sqlite"))
    assert r.exit_code == 1 and "no ledger" in r.stderr


def test_prune_refusal_exit_code(gcx: Any, emu: Emulator, tmp_path: Path) -> None:
    src = tmp_path / "records.jsonl"
    shutil.copy(EXAMPLES / "records.jsonl", src)
    assert gcx("sync", "apply", str(src)).exit_code == 0
    src.write_text("", encoding="utf-8")
    r = gcx("sync", "apply", str(src), "--prune")
    assert r.exit_code == 1 and "prune refused" in r.stderr
    assert len(state(emu)["contacts"]) == 6


def test_sql_source_and_dry_run(gcx: Any, emu: Emulator, tmp_path: Path) -> None:
    import sqlalchemy as sa

    db = tmp_path / "crm.sqlite"
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(
            sa.text("CREATE TABLE accounts (id TEXT, name TEXT, contact TEXT, first TEXT, email TEXT)")
        )
        conn.execute(
            sa.text("INSERT INTO accounts VALUES (:i, :n, :c, :f, :e)"),
            [
                {"i": "A-1", "n": "Acme", "c": "C-1", "f": "Jane", "e": "jane@acme.example"},
                {"i": "A-1", "n": "Acme", "c": "C-2", "f": "Bob", "e": "bob@acme.example"},
                {"i": "A-2", "n": "Globex", "c": "C-3", "f": "Eve", "e": "not an email"},
            ],
        )
    engine.dispose()
    mapping = tmp_path / "m.toml"
    mapping.write_text(
        '[organization]\nkey = "id"\n[organization.fields]\nname = "name"\n'
        '[contact]\nkey = "contact"\norganization = "id"\n[contact.fields]\nfirstName = "first"\nworkEmail = "email"\n',
        encoding="utf-8",
    )
    args = [
        "--sql-url",
        f"sqlite:///{db}",
        "--query",
        "SELECT * FROM accounts ORDER BY contact",
        "-m",
        str(mapping),
    ]
    dry = gcx("sync", "apply", "--dry-run", *args)
    assert dry.exit_code == 3 and state(emu)["contacts"] == []
    real = gcx("sync", "apply", *args)
    assert real.exit_code == 3, real.output
    report = _report(tmp_path)
    assert report["invalid"] == [
        {
            "line": 3,
            "kind": "contact",
            "externalId": "C-3",
            "field": "workEmail",
            "reason": report["invalid"][0]["reason"],
        }
    ]
    assert sorted(c["firstName"] for c in state(emu)["contacts"]) == ["Bob", "Jane"]
    assert len(state(emu)["organizations"]) == 2


def test_sql_query_failing_at_run_time_is_a_clean_usage_error(
    gcx: Any, emu: Emulator, tmp_path: Path
) -> None:
    import sqlalchemy as sa

    db = tmp_path / "crm.sqlite"
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE accounts (id TEXT, name TEXT, contact TEXT, first TEXT, n TEXT)"))
        conn.execute(
            sa.text("INSERT INTO accounts VALUES (:i, 'Acme', :c, 'Jane', :n)"),
            [{"i": "A-1", "c": "C-1", "n": "1"}, {"i": "A-2", "c": "C-2", "n": "-9223372036854775808"}],
        )
    engine.dispose()
    mapping = tmp_path / "m.toml"
    mapping.write_text(
        '[organization]\nkey = "id"\n[organization.fields]\nname = "name"\n'
        '[contact]\nkey = "contact"\norganization = "id"\n[contact.fields]\nfirstName = "first"\n',
        encoding="utf-8",
    )
    queries = {
        # the database fails on the second row, after the first was read
        "SELECT id, name, contact, abs(CAST(n AS INTEGER)) AS first FROM accounts": "integer overflow",
        # text the database cannot decode, on the first row
        "SELECT id, name, contact, CAST(x'ff' AS TEXT) AS first FROM accounts": "decode",
        # a result the mapping cannot read
        "SELECT id, name FROM accounts": "'contact', 'first'",
        "SELECT id, name, contact, first, 1 AS id FROM accounts": "more than once",
        "SELEC id FROM accounts": "syntax error",
    }
    for query, reason in queries.items():
        for command in ("plan", "apply"):
            r = gcx("sync", command, "--sql-url", f"sqlite:///{db}", "--query", query, "-m", str(mapping))
            errors = [line for line in r.stderr.splitlines() if line.startswith("error")]
            assert r.exit_code == 2, (query, r.stderr)
            assert len(errors) == 1 and reason in errors[0], (query, r.stderr)
            assert "SQL source" in errors[0] or "sql:" in errors[0]
            assert (
                "unexpected" not in r.stderr and "--verbose" not in r.stderr and "sqlalche.me" not in r.stderr
            )
            assert "Background" not in r.stderr


def test_a_ledger_written_by_a_newer_gcx_is_refused_at_once(gcx: Any, emu: Emulator, tmp_path: Path) -> None:
    import sqlalchemy as sa

    from gcx.sync.ledger import SCHEMA_VERSION

    src = tmp_path / "records.jsonl"
    shutil.copy(EXAMPLES / "records.jsonl", src)
    assert gcx("sync", "apply", str(src), "--ledger", "l.sqlite").exit_code == 0
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'l.sqlite'}")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE gcx_binding SET schema_version = :v"), {"v": SCHEMA_VERSION + 7})
    engine.dispose()
    before = emu.backend.stats.total
    for args in (
        ("sync", "apply", str(src), "--ledger", "l.sqlite"),
        ("sync", "plan", str(src), "--ledger", "l.sqlite"),
        ("sync", "status", "--ledger", "l.sqlite"),
    ):
        r = gcx(*args)
        assert r.exit_code == 1, r.output
        errors = r.stderr.strip().splitlines()
        assert len(errors) == 1 and errors[0].startswith("error: ledger "), r.stderr
        assert f"schema {SCHEMA_VERSION + 7}" in errors[0] and "upgrade gcx" in errors[0]
        assert "unknown format" not in r.stderr
    assert emu.backend.stats.total == before  # refused before any request


def test_postgres_ledger_by_url(
    gcx: Any, emu: Emulator, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    import uuid

    import sqlalchemy as sa

    from .conftest import PG_URL

    request.getfixturevalue("pg_ledger")  # skips when PostgreSQL is down
    schema = f"gcx_cli_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
        src = tmp_path / "records.jsonl"
        shutil.copy(EXAMPLES / "records.jsonl", src)
        assert gcx("sync", "apply", str(src), "--ledger", url).exit_code == 0
        assert gcx("sync", "apply", str(src), "--ledger", url, "--trust-ledger").exit_code == 0
        status = gcx("-o", "json", "sync", "status", "--ledger", url)
        doc = json.loads(status.stdout)
        assert doc["records"]["contact"]["total"] == 6 and len(doc["runs"]) == 2
        with admin.connect() as conn:
            n = conn.execute(sa.text(f"SELECT count(*) FROM {schema}.gcx_records")).scalar_one()
        assert n == 9
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def test_plan_that_fails_is_not_saved(gcx: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("id,name\n1,x\n", encoding="utf-8")
    r = gcx("sync", "plan", str(bad), "-m", str(EXAMPLES / "crm_mapping.toml"), "--out", "p.json")
    assert r.exit_code == 1 and "not in the source" in r.stderr
    assert not (tmp_path / "p.json").exists() and not (tmp_path / "p.json.tmp").exists()


def test_plan_jsonl_streams_every_decision(gcx: Any, tmp_path: Path) -> None:
    src = tmp_path / "records.jsonl"
    shutil.copy(EXAMPLES / "records.jsonl", src)
    r = gcx("-o", "jsonl", "sync", "plan", str(src))
    assert r.exit_code == 0, r.output
    ops = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(ops) == 9 and {o["op"] for o in ops} == {"create"}
    assert ops[0] == {**ops[0], "kind": "organization", "externalId": "org-acme", "line": 1}
    assert ops[0]["values"]["name"] == "Acme Corporation"


def test_plan_states_adoption_checks_and_apply_can_turn_them_off(
    gcx: Any, emu: Emulator, tmp_path: Path
) -> None:
    backend = emu.backend
    for i in range(6):  # made by a person; the third is tagged with a key of the source
        made = backend.create("contacts", {"firstName": f"Hand{i}"})
        if i == 2:
            claim = {"operation": "Claim", "identifier": {"type": "ExternalId", "value": "k-2"}}
            backend.patch_identifiers("contacts", made["id"], claim)
    src = tmp_path / "people.jsonl"
    src.write_text(
        "".join(
            json.dumps({"kind": "contact", "externalId": f"k-{i}", "firstName": f"F{i}"}) + "\n"
            for i in range(4)
        ),
        encoding="utf-8",
    )
    plan = gcx("sync", "plan", str(src))
    assert plan.exit_code == 0, plan.output
    text = " ".join(plan.output.split())
    assert (
        "adoption checks: apply will make up to 6 (requests not paced) for 6 record(s) made outside gcx "
        "and 4 key(s) not found by the scan" in text
    )
    off = gcx("sync", "apply", str(src), "--no-adoption-checks", "--ledger", "off.sqlite")
    assert off.exit_code == 0, off.output
    assert "adoption checks: off (--no-adoption-checks)" in " ".join(off.output.split())
    assert len(state(emu)["contacts"]) == 10  # told there was nothing to adopt: k-2 was created
