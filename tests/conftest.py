"""Shared fixtures. Area-specific fixtures live in each test folder's conftest."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

#: A client secret that must never appear in any output, log, report or traceback.
CANARY_SECRET = "canary-SECRET-7f3a9c2e41b84d6b"
CANARY_CLIENT_ID = "gcx-test-client"

ROOT = Path(__file__).resolve().parents[1]
SPEC_PATH = ROOT / "src" / "gcx" / "spec" / "externalcontacts.openapi.json"


@pytest.fixture(autouse=True)
def _isolated_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """No test reads the developer's real Genesys credentials or config file, nor its terminal size."""
    for name in list(os.environ):
        if name.startswith("GENESYSCLOUD_") or name.startswith("GCX_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GCX_CONFIG", str(tmp_path_factory.mktemp("cfg") / "config.toml"))
    # Whatever the terminal that runs the suite (COLUMNS unset, 60, 300): CLI output is laid out
    # for 200 columns, so no message wraps under a long temporary path. A test about widths sets
    # its own COLUMNS.
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("LINES", raising=False)
    yield
