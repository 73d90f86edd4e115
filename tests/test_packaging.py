"""Packaging: ranges in pyproject, exact versions in constraints.txt, extras, the README's commands."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

import pytest

from gcx import extras
from gcx.errors import ConfigError, MissingDependencyError
from tests.conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _constraints() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name.lower().replace("_", "-")] = version
    return pins


def test_runtime_dependencies_are_ranges_not_pins() -> None:
    for requirement in PROJECT["dependencies"]:
        assert "==" not in requirement, requirement
        assert ">=" in requirement and "<" in requirement, f"{requirement}: lower and upper bound"


def test_library_install_pulls_no_web_server_nor_postgres_driver() -> None:
    names = {_name(r) for r in PROJECT["dependencies"]}
    assert not names & {"starlette", "uvicorn", "psycopg", "psycopg-binary"}
    extras_ = PROJECT["optional-dependencies"]
    assert {_name(r) for r in extras_["emulator"]} == {"starlette", "uvicorn"}
    assert {_name(r) for r in extras_["postgres"]} == {"psycopg"}
    assert {_name(r) for r in extras_["console"]} == {
        "starlette", "jinja2", "argon2-cffi", "itsdangerous", "python-multipart"
    }  # fmt: skip
    assert "gcx[emulator,postgres,console,service]" in extras_["dev"]


def test_every_declared_dependency_is_pinned_in_constraints() -> None:
    pins = _constraints()
    declared = list(PROJECT["dependencies"])
    for group in PROJECT["optional-dependencies"].values():
        declared += [r for r in group if not r.startswith("gcx[")]
    missing = sorted({_name(r) for r in declared} - set(pins))
    assert not missing, f"not in constraints.txt: {missing}"
    assert "gcx" not in pins


def test_ci_runs_the_readme_test_command_verbatim_with_the_constraints() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^python3 -m venv \.venv && .*$", readme, flags=re.MULTILINE)
    test_command = next(c for c in commands if c.endswith("python -m pytest"))
    demo_command = next(c for c in commands if c.endswith("gcx demo"))
    assert "-c constraints.txt" in test_command and "-c constraints.txt" in demo_command
    assert "'.[emulator]'" in demo_command and "dev" not in demo_command
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert ci[-1] == test_command


def test_license_changelog_and_classifiers() -> None:
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert (ROOT / "CHANGELOG.md").read_text().startswith("# Changelog")
    assert PROJECT["license"] == "MIT"
    for version in ("3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {version}" in PROJECT["classifiers"]


def test_missing_extra_names_the_extra_to_install() -> None:
    err = extras.missing(ModuleNotFoundError("No module named 'psycopg'", name="psycopg"), "A ledger")
    assert isinstance(err, ConfigError) and isinstance(err, ImportError)
    assert str(err) == (
        "A ledger needs the optional dependency 'psycopg', which is not installed: pip install 'gcx[postgres]'"
    )
    assert extras.install_hint(ModuleNotFoundError(name="uvicorn")) == (
        " (install it with: pip install 'gcx[emulator]')"
    )
    assert extras.install_hint(ModuleNotFoundError(name="cx_Oracle")) == ""


@pytest.mark.parametrize(
    ("blocked", "code", "expected"),
    [
        ("starlette", "from gcx.emulator import Emulator", "pip install 'gcx[emulator]'"),
        ("uvicorn", "from gcx.emulator.server import make_server", "pip install 'gcx[emulator]'"),
    ],
)
def test_emulator_without_its_extra_is_one_clear_error(blocked: str, code: str, expected: str) -> None:
    script = f"import sys; sys.modules[{blocked!r}] = None\ntry:\n    {code}\n"
    script += f"except {MissingDependencyError.__module__}.MissingDependencyError as e: print(e)\n"
    script = f"import {MissingDependencyError.__module__}\n" + script
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout, result.stdout


def _imports_without(missing: tuple[str, ...], imports: str) -> None:
    """``imports`` (Python lines) succeed in a fresh interpreter where ``missing`` cannot be imported."""
    script = f"import sys\nfor m in {missing!r}: sys.modules[m] = None\n{imports}\nprint('ok')\n"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "ok", result.stderr


def test_library_and_cli_import_without_the_extras() -> None:
    _imports_without(
        ("starlette", "uvicorn", "psycopg", "jinja2", "argon2"),
        "import gcx, gcx.sync, gcx.cli.main\nfrom gcx import AsyncClient, Client",
    )


def test_the_service_imports_with_its_extra_alone() -> None:
    """``gcx[service]`` without ``gcx[console]``: the worker and web processes still import (the
    console is mounted only where installed)."""
    _imports_without(
        ("jinja2", "argon2", "itsdangerous", "multipart"), "import gcx.service.process, gcx.cli.serve_cmd"
    )


def test_console_without_its_extra_is_one_clear_error() -> None:
    script = (
        "import sys\n"
        "sys.modules['jinja2'] = None\n"
        "from gcx.errors import MissingDependencyError\n"
        "try:\n"
        "    import gcx.console\n"
        "except MissingDependencyError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert "pip install 'gcx[console]'" in result.stdout, result.stderr
