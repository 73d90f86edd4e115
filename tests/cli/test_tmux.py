"""A real terminal: ``gcx`` in a tmux pane shows a table and the export progress bars.

Skipped when tmux is not installed. Set ``UPDATE_CLI_CAPTURES=1`` to save the captured
screens into ``docs/images/`` (then run ``scripts/gen_cli_docs.py``).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from gcx import Client
from gcx.emulator import Emulator
from tests.cli.conftest import credentials_env
from tests.conftest import CANARY_SECRET, ROOT

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

IMAGES = ROOT / "docs" / "images"


def _tmux(socket: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    # A private server (-L) with no user config, never nested in the caller's tmux session.
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
    return subprocess.run(
        ["tmux", "-L", socket, "-f", os.devnull, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
        env=env,
    )


@pytest.mark.timeout(600)
def test_table_and_progress_bars_in_a_terminal(
    emu: Emulator, client: Client, base_url: str, tmp_path: Path
) -> None:
    for n, (name, industry, city) in enumerate(
        [
            ("Acme Corp", "Retail", "Paris"),
            ("Globex", "Energy", "Springfield"),
            ("Initech", "Software", "Austin"),
        ]
    ):
        org = client.organizations.create({"name": name, "industry": industry, "address": {"city": city}})
        people = [
            ("Ada", "Lovelace"), ("Grace", "Hopper"), ("Alan", "Turing"),
            ("Edsger", "Dijkstra"), ("Barbara", "Liskov"), ("Donald", "Knuth"),
        ]  # fmt: skip
        for first, last in people[2 * n : 2 * n + 2]:
            last_contact = client.contacts.create(
                {
                    "firstName": first,
                    "lastName": last,
                    "workEmail": f"{first.lower()}@{name.split()[0].lower()}.example",
                    "workPhone": {"display": f"+1 202 555 01{n}{len(first)}"},
                    "externalOrganization": {"id": org.id},
                }
            )
    doomed = last_contact.id
    assert doomed
    env = {
        **credentials_env(base_url),
        "GCX_RATE_LIMIT": "0",
        "COLUMNS": "150",
        "PYTHONPATH": str(ROOT / "src"),
    }
    gcx = f"{shlex.quote(sys.executable)} -m gcx.cli.main"
    out_dir = tmp_path / "backup"
    socket = f"gcx-test-{uuid.uuid4().hex[:8]}"
    channel = f"done-{socket}"
    script = " && ".join(
        [
            f"cd {shlex.quote(str(tmp_path))}",
            "clear",
            "echo '$ gcx orgs list'",
            f"{gcx} orgs list",
            "echo '$ gcx contacts list'",
            f"{gcx} contacts list",
            "echo '$ gcx export --out backup/'",
            f"{gcx} export --out backup/ --page-size 10 > /dev/null",
            # A destructive command on a terminal asks first; the test answers the prompt.
            f"echo '$ gcx contacts delete {doomed}'",
            f"{gcx} contacts delete {doomed}",
        ]
    )
    command = f"{script}; tmux -L {socket} wait-for -S {channel}; sleep 600"
    env_prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    try:
        _tmux(
            socket,
            "new-session",
            "-d",
            "-s",
            "gcx",
            "-x",
            "150",
            "-y",
            "40",
            f"env {env_prefix} sh -c {shlex.quote(command)}",
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        # The environment, not gcx: another tmux server, no pty, a sandbox. Never a failure.
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, timeout=30)
        detail = getattr(exc, "stderr", "") or exc
        pytest.skip(f"tmux cannot start a session here: {str(detail).strip()}")
    try:
        deadline = time.monotonic() + 400
        while "[y/N]" not in _tmux(socket, "capture-pane", "-p", "-t", "gcx").stdout:
            assert time.monotonic() < deadline, "no confirmation prompt appeared"
            time.sleep(0.5)
        assert doomed in {
            c["id"] for c in emu.backend.dump()["contacts"]
        }  # nothing deleted before the answer
        _tmux(socket, "send-keys", "-t", "gcx", "y", "Enter")
        _tmux(socket, "wait-for", channel, timeout=300)
        screen = _tmux(socket, "capture-pane", "-p", "-t", "gcx").stdout
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, timeout=30)
    screen = "\n".join(line.rstrip() for line in screen.rstrip().splitlines())

    assert CANARY_SECRET not in screen
    assert "Acme Corp" in screen and "Software" in screen  # the organizations table
    assert "Ada Lovelace" in screen and "ada@acme.example" in screen  # the contacts table
    assert "3 organizations" in screen and "6 contacts" in screen  # counts on stderr, shown by the terminal
    progress = [line for line in screen.splitlines() if "organizations" in line and "3/3" in line]
    assert progress, screen  # the export's progress bar, drawn because stderr is a terminal
    assert any("contacts" in line and "6/6" in line for line in screen.splitlines()), screen
    assert (out_dir / "contacts.jsonl").read_text().count("\n") == 6
    assert "(Donald Knuth)? [y/N]: y" in screen and f"deleted contact {doomed} (Donald Knuth)" in screen
    assert doomed not in {c["id"] for c in emu.backend.dump()["contacts"]}

    if os.environ.get("UPDATE_CLI_CAPTURES") == "1":
        IMAGES.mkdir(parents=True, exist_ok=True)
        (IMAGES / "terminal_session.txt").write_text(screen + "\n", encoding="utf-8")
