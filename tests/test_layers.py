"""No import runs back up the layers of docs/architecture.md ("Layers").

Every ``import gcx...`` in ``src/`` (at module level, inside functions and under
``TYPE_CHECKING`` alike) is read with :mod:`ast` and checked against the layer of the module
that holds it: a module may import its own layer and the layers below, never one above. The
emulator stands beside the stack: it imports foundations only, and only the CLI and the test
tooling import it. Pure planning imports no database layer at all.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

#: Units of ``gcx`` (first name after ``gcx.``) by layer, lowest first. ``gcx`` itself is the
#: package's ``__init__`` (it re-exports the client lazily).
LAYERS: dict[str, int] = {
    **dict.fromkeys(
        ("errors", "extras", "redact", "private", "config", "neterrors", "retry", "merge", "phones", "models",
         "spec", "demo", "permissions", "jsonfast", "listening"),
        0,
    ),
    **dict.fromkeys(("pacing", "pagination", "auth", "transport"), 1),
    "resources": 2,
    **dict.fromkeys(("client", "blocking", "gcx"), 3),
    "sync": 4,
    "access": 4,  # permission probes through the client (gcx.access)
    "console": 5,
    "service": 6,
    "cli": 7,
    "gcx_testkit": 8,
}  # fmt: skip
EMULATOR = "emulator"
#: Who may import the emulator (it is a tool beside the stack, not a layer of it).
EMULATOR_USERS = frozenset({"cli", "demo", "gcx_testkit"})
#: Pure modules of gcx.sync (docs/architecture.md): deciding what to write, and the bytes the
#: ledger will store for it, need no database layer.
PURE_SYNC = ("gcx.sync.plan", "gcx.sync.packing")


def _unit(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "gcx_testkit":
        return "gcx_testkit"
    return parts[1] if len(parts) > 1 else "gcx"


def _module_of(path: Path, src: Path) -> str:
    rel = path.relative_to(src).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, imported gcx module) for every import of gcx or gcx_testkit in the tree."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "gcx":  # ``from gcx import redact`` imports gcx.redact
                found += [(node.lineno, f"gcx.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, node.module))
    return [(line, name) for line, name in found if name.split(".")[0] in ("gcx", "gcx_testkit")]


def _violations(src: Path) -> list[str]:
    problems: list[str] = []
    for path in sorted(src.rglob("*.py")):
        module = _module_of(path, src)
        unit = _unit(module)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, imported in _imports(tree):
            target = _unit(imported)
            where = f"{path.relative_to(src)}:{line}: {module} imports {imported}"
            if target == unit:
                continue
            if target == EMULATOR:
                if unit not in EMULATOR_USERS:
                    problems.append(
                        f"{where} (only {', '.join(sorted(EMULATOR_USERS))} may use the emulator)"
                    )
                continue
            if unit == EMULATOR:
                if LAYERS.get(target, 99) > 0:
                    problems.append(f"{where} (the emulator imports foundations only)")
                continue
            if unit not in LAYERS or target not in LAYERS:
                problems.append(f"{where} (a unit docs/architecture.md does not place: add it to LAYERS)")
            elif LAYERS[target] > LAYERS[unit]:
                problems.append(f"{where} (runs up from layer {LAYERS[unit]} to {LAYERS[target]})")
    return problems


def test_no_import_runs_up_the_layers() -> None:
    assert _violations(ROOT / "src") == []


def test_pure_planning_imports_no_database_layer() -> None:
    script = (
        f"import sys\nimport {', '.join(PURE_SYNC)}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sqlalchemy'))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_check_sees_upward_and_sideways_imports(tmp_path: Path) -> None:
    files = {
        "gcx/sync/bad.py": "def f():\n    from gcx.cli.main import app\n",
        "gcx/merge2.py": "from gcx import client\n",
        "gcx/service/emu.py": "import gcx.emulator\n",
        "gcx/emulator/x.py": "from gcx.models import ApiModel\nfrom gcx.client import AsyncClient\n",
        "gcx/cli/fine.py": "from gcx.sync import engine\nfrom gcx.emulator import Emulator\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    problems = _violations(tmp_path)
    assert len(problems) == 4, problems
    assert any("gcx.sync.bad imports gcx.cli.main (runs up from layer 4 to 7)" in p for p in problems)
    assert any("gcx.merge2 imports gcx.client" in p and "does not place" in p for p in problems)
    assert any("gcx.service.emu imports gcx.emulator" in p for p in problems)
    assert any(
        "gcx.emulator.x imports gcx.client (the emulator imports foundations only)" in p for p in problems
    )
