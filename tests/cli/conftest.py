"""Fixtures for the ``gcx`` CLI tests: an in-process runner and the emulator over loopback."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from gcx.cli.main import app
from tests.conftest import CANARY_CLIENT_ID, CANARY_SECRET

Invoke = Callable[..., Result]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def invoke(runner: CliRunner) -> Invoke:
    """Run ``gcx ARGS`` in-process; ``env`` adds environment variables, ``obj`` presets ctx.obj."""

    def run(
        args: Sequence[str],
        *,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
        obj: Any = None,
    ) -> Result:
        return runner.invoke(
            app, list(args), input=input, env=dict(env or {}), obj=obj, catch_exceptions=False
        )

    return run


def credentials_env(region: str) -> dict[str, str]:
    """Environment for a run against ``region`` with the canary credentials."""
    return {
        "GENESYSCLOUD_REGION": region,
        "GENESYSCLOUD_OAUTHCLIENT_ID": CANARY_CLIENT_ID,
        "GENESYSCLOUD_OAUTHCLIENT_SECRET": CANARY_SECRET,
        "GCX_CONFIG": os.environ["GCX_CONFIG"],
    }
