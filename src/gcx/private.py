"""Files that hold contact data or secrets: readable and writable by their owner only (0600).

One home for how gcx creates such files (ledgers, run reports, saved plans, exports, the
config file): the mode is set when the file is created, whatever the umask, and tightened on
a file an earlier version left open to others. :func:`exposed` says what is wrong with a
file other users can read or write.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import IO, Any

MODE = 0o600


def open_private(path: Path, mode: str = "w", *, encoding: str | None = "utf-8") -> IO[Any]:
    """``open(path, mode)`` for ``w``, ``a`` (text) or ``wb``, ``ab`` (binary), created 0600."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode.startswith("a") else os.O_TRUNC)
    fd = os.open(path, flags, MODE)
    try:
        os.fchmod(fd, MODE)  # a file that existed keeps its mode through O_CREAT
        if "b" in mode:
            return os.fdopen(fd, mode)
        return os.fdopen(fd, mode, encoding=encoding)
    except BaseException:
        os.close(fd)
        raise


def create_private(path: Path) -> None:
    """Create ``path`` empty with mode 0600 if it does not exist (a SQLite ledger before it is opened)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, MODE)
    except FileExistsError:
        return
    os.close(fd)


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically (a 0600 temporary file, fsync, rename); the
    temporary file never outlives a failure."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open_private(tmp) as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def exposed(path: Path) -> str | None:
    """``"readable by other users (mode 644)"`` when a file is open to others, else ``None``."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    what = [w for w, bits in (("readable", 0o044), ("writable", 0o022)) if mode & bits]
    if not what:
        return None
    return f"{' and '.join(what)} by other users (mode {mode:o})"
