"""Reading the address a server process says it listens on (started with port 0).

A test never touches a port it did not open: it starts the process with port 0 and reads the
real address from the process's output, instead of picking a free port, closing it and hoping
nobody takes it before the process binds it again.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from pathlib import Path
from typing import IO


class OutputWatch:
    """Drains a process's text stream on a thread (a full pipe never blocks it), keeping every line."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._drain, args=(stream,), daemon=True)
        self._thread.start()

    def _drain(self, stream: IO[str]) -> None:
        for line in stream:
            with self._lock:
                self._lines.append(line)

    def text(self) -> str:
        with self._lock:
            return "".join(self._lines)

    def close(self, timeout: float = 20) -> str:
        """Everything read, once the stream ended (the process exited) or ``timeout`` passed;
        the stream is closed."""
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self._stream.close()
        return self.text()


def wait_for_url(
    proc: subprocess.Popen[str] | subprocess.Popen[bytes],
    output: OutputWatch | Path,
    pattern: str,
    *,
    timeout: float = 60,
    what: str = "the server",
) -> str:
    """The first group of ``pattern`` in the process's output (a watched stream or a log file),
    waiting at most ``timeout`` seconds; a clear failure with the output when it never comes."""
    found = re.compile(pattern)
    end = time.monotonic() + timeout
    while True:
        text = output.text() if isinstance(output, OutputWatch) else _read(output)
        match = found.search(text)
        if match:
            return match.group(1)
        code = proc.poll()
        if code is not None or time.monotonic() > end:
            state = f"exited with {code}" if code is not None else f"no address after {timeout:g} s"
            raise AssertionError(f"{what} {state} (looked for {pattern!r}); its output:\n{text[-4000:]}")
        time.sleep(0.05)


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
