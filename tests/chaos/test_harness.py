"""The harness's own pieces: deterministic sources, the dirty CSV's expectations (checked against
gcx's source reader), the report checks, and the launchers."""

from __future__ import annotations

import os
from pathlib import Path

from gcx.sync.mapping import load_mapping
from gcx.sync.records import Issue
from gcx.sync.source import open_source
from gcx_testkit.chaos import (
    BAD_KINDS,
    ChaosConfig,
    Edit,
    ForkLauncher,
    SubprocessLauncher,
    check_conflicts,
    check_invalid,
    make_dirty_csv,
    make_records,
)


def test_sources_are_deterministic_per_seed() -> None:
    a = make_records(ChaosConfig(contacts=50, orgs=3, seed=1))
    assert a == make_records(ChaosConfig(contacts=50, orgs=3, seed=1))
    assert a != make_records(ChaosConfig(contacts=50, orgs=3, seed=2))
    assert [r["kind"] for r in a].count("organization") == 3 and len(a) == 53
    assert {r["organization"] for r in a if r["kind"] == "contact"} <= {f"ORG-{i:05d}" for i in range(3)}


def test_dirty_csv_expectations_match_what_gcx_reads(tmp_path: Path) -> None:
    src = make_dirty_csv(ChaosConfig(contacts=280, orgs=4, seed=3, dirty_fraction=0.05), tmp_path)
    assert len(src.invalid) == 14  # two of each of the seven kinds
    assert sorted(src.invalid.values(), key=str) == sorted(
        [f for f in ("workEmail", "cellPhone", "address.city", "organization", "externalId", None, None)] * 2,
        key=str,
    )
    assert len(BAD_KINDS) == 7
    raw = src.path.read_bytes()
    assert b"\xff\xfe" in raw  # the bad-encoding rows really are not UTF-8
    source = open_source(src.path, load_mapping(tmp_path / "mapping.toml"))
    issues = [i for i in source.items(("contact",)) if isinstance(i, Issue)]
    org_issues = [i for i in source.items(("organization",)) if isinstance(i, Issue)]
    # row-level problems surface in every pass; field problems in their kind's pass
    row_level = {i.line for i in org_issues}
    field_level = {i.line: i.field for i in issues if i.line not in row_level}
    expected_fields = {
        line: f for line, f in src.invalid.items() if f not in (None, "externalId", "organization")
    }
    assert {line: f for line, f in field_level.items() if f in expected_fields.values()} == expected_fields
    assert row_level == {line for line, f in src.invalid.items() if f is None}
    valid = [r for r in src.records if r["kind"] == "contact"]
    assert len(valid) == 280 - 14
    assert not src.absent & {("contact", r["externalId"]) for r in valid}


def test_check_invalid_finds_every_kind_of_reporting_mistake() -> None:
    expected = {3: "workEmail", 5: None, 9: "externalId"}
    good = {
        "invalid": [
            {"line": 3, "field": "workEmail", "reason": "invalid email"},
            {"line": 5, "field": None, "reason": "malformed row"},
            {"line": 9, "field": "externalId", "reason": "duplicate"},
        ],
        "failures": [],
    }
    assert check_invalid(good, expected) == []
    bad = {
        "invalid": [
            {"line": 3, "field": "workEmail", "reason": "invalid email"},
            {"line": 3, "field": "workEmail", "reason": "invalid email"},
            {"line": 9, "field": "cellPhone", "reason": "x"},
            {"line": 12, "field": "title", "reason": "too long"},
        ],
        "failures": [{"line": 20}],
    }
    assert check_invalid(bad, expected) == [
        "line 3: reported 2 times (expected once)",
        "line 5: reported 0 times (expected once)",
        "line 9: reported for field 'cellPhone', expected 'externalId'",
        "line 12: reported as invalid but it is valid (too long)",
        "1 valid record(s) failed",
    ]


def test_check_conflicts_requires_each_edited_managed_field_in_the_report() -> None:
    records = [{"kind": "contact", "externalId": "C-1", "title": "Buyer", "address": {"city": "Paris"}}]
    edit = Edit("contact", "C-1", {"title": "Agent", "address.city": "Paris"}, {}, live=True, done=True)
    report = {"conflicts": [{"kind": "contact", "externalId": "C-1", "fields": [{"field": "title"}]}]}
    assert check_conflicts(report, [edit], records, "report") == []  # the city edit equals the source
    assert check_conflicts({"conflicts": []}, [edit], records, "report") == [
        "contact C-1 title: edited in Genesys but not reported as a conflict"
    ]
    assert check_conflicts({"conflicts": []}, [edit], records, "source-wins") == []


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GENESYSCLOUD_", "GCX_"))}
    env["GCX_CONFIG"] = str(tmp_path / "config.toml")
    return env


def test_launchers_run_the_cli_and_kill_it_on_timeout(tmp_path: Path) -> None:
    pids: list[int] = []
    for launcher in (ForkLauncher(), SubprocessLauncher()):
        try:
            out, err = tmp_path / "out", tmp_path / "err"
            code = launcher.run(["--help"], tmp_path, _env(tmp_path), out, err, pids.append, 120)
            assert code == 0 and "sync" in out.read_text(encoding="utf-8")
            # a command that never ends by itself: the launcher kills it and says so
            code = launcher.run(
                ["emulator", "--port", "0"], tmp_path, _env(tmp_path), out, err, pids.append, 3
            )
            assert code is None
        finally:
            launcher.close()
    assert len(set(pids)) == 4
