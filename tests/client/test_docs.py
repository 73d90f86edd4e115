"""The examples of docs/library.md run, as written, against the emulator over loopback HTTP."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gcx.emulator import Emulator, EmulatorSettings
from tests.conftest import CANARY_CLIENT_ID, CANARY_SECRET, ROOT

DOC = ROOT / "docs" / "library.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
# Skipped: placeholders for real credentials and a profile, and a global logging setup.
RUNNABLE = [b for b in BLOCKS if '"..."' not in b and "basicConfig" not in b]


def test_the_doc_has_examples() -> None:
    assert len(BLOCKS) >= 6 and len(RUNNABLE) >= 5


@pytest.mark.parametrize("index", range(len(RUNNABLE)))
def test_example_runs(
    index: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0, seed=1))
    with emu.serve() as url:
        monkeypatch.setenv("GENESYSCLOUD_REGION", url)
        monkeypatch.setenv("GENESYSCLOUD_OAUTHCLIENT_ID", CANARY_CLIENT_ID)
        monkeypatch.setenv("GENESYSCLOUD_OAUTHCLIENT_SECRET", CANARY_SECRET)
        code = compile(RUNNABLE[index], f"{Path(DOC).name}[{index}]", "exec")
        exec(code, {"__name__": "__doc_example__"})
    assert CANARY_SECRET not in capsys.readouterr().out
