"""Regenerate docs/cli.md from the help of every `gcx` command.

Usage: python scripts/gen_cli_docs.py [--check]

--check exits 1 (and writes nothing) when docs/cli.md is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from gcx.cli.docs import generate

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "docs" / "cli.md"


def main(argv: list[str]) -> int:
    text = generate(ROOT)
    if "--check" in argv:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET} is stale: run python scripts/gen_cli_docs.py", file=sys.stderr)
            return 1
        print(f"{TARGET} is up to date", file=sys.stderr)
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
