"""``gcx demo`` end to end (small sizes, no rate limit): exits 0, proves no duplicates."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from gcx.cli.main import app


def test_demo_runs_and_proves_no_duplicates(tmp_path: Path) -> None:
    work = tmp_path / "demo"
    args = ["demo", "--workdir", str(work), "--contacts", "300", "--accounts", "6", "--demo-rate-limit", "0"]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "duplicated ExternalIds: 0" in out
    # The hand-made records were adopted, not duplicated: Genesys holds exactly what the ledger does.
    genesys = re.search(r"(\d+) organizations and (\d+) contacts in Genesys", out)
    ledger = re.search(r"ledger: (\d+) organizations, (\d+) contacts", out)
    assert genesys is not None and ledger is not None and genesys.groups() == ledger.groups(), out
    assert "salutation 'Prof.'" in out and "tags ['vip'] kept" in out
    assert "dirty rows reported" in out
    nothing = out.split("== 4.")[1].split("== 5.")[0]
    assert "applied: 0 created, 0 updated, 0 moved, 0 deleted, 0 adopted, 0 failed" in nothing
    assert (work / "gcx-ledger.sqlite").exists()
    assert list((work / ".gcx" / "reports").glob("*-apply-run*.json"))
    again = CliRunner().invoke(app, args, catch_exceptions=False)
    assert again.exit_code == 1 and "already holds a demo ledger" in again.stderr
