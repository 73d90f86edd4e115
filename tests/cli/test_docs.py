"""``docs/cli.md`` is generated from the help, covers every command, and is up to date."""

from __future__ import annotations

from gcx.cli.docs import command_tree, generate, render
from gcx.cli.main import app
from tests.conftest import ROOT

DOC = ROOT / "docs" / "cli.md"


def test_every_command_is_documented_in_the_committed_page() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [
        doc.path
        for doc in command_tree(app)
        if f"\n{'#' * min(2 + doc.path.count(' '), 4)} {doc.path}\n" not in text
    ]
    assert missing == [], f"undocumented commands (run python scripts/gen_cli_docs.py): {missing}"


def test_committed_page_is_not_stale() -> None:
    assert DOC.read_text(encoding="utf-8") == generate(ROOT), (
        "docs/cli.md is stale: run scripts/gen_cli_docs.py"
    )


def test_every_command_has_help_with_an_example() -> None:
    """Every command has help text; every runnable (leaf) command shows an example."""
    tree = [doc for doc in command_tree(app) if doc.path != "gcx"]
    without_help = [doc.path for doc in tree if not (doc.command.help or "").strip()]
    assert without_help == [], f"commands without help text: {without_help}"
    lacking = [
        doc.path for doc in tree if not doc.is_group and "example" not in (doc.command.help or "").lower()
    ]
    assert lacking == [], f"commands whose help has no example: {lacking}"


def test_render_lists_options_with_types() -> None:
    text = render(app)
    assert "| `--output`, `-o` | table \\| json \\| jsonl \\| csv \\| yaml | `table` |" in text
    assert "```console\n$ gcx config add prod" in text
