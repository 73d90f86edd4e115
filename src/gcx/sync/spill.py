"""The run's scratch database: what a run learns per record, on disk instead of in memory.

A sync of a million records must not hold a million of anything. What a run needs per record
beyond the batch at hand (the scan snapshot, :mod:`gcx.sync.snapshot`; the source keys seen so
far, :class:`SeenKeys`; the keys adoption checks may look for, :class:`KeySet`) goes into one
private SQLite database: created 0600 in the ledger's directory (or the temporary directory), and
unlinked as soon as it is open, so nothing is left on disk even after a ``kill -9`` (it holds
contact data). Without a journal and without
``fsync``: it is scratch, rebuilt by every run. Rows go in with ``executemany`` and come back
with ``IN`` queries of a few hundred keys, so a record costs a few microseconds.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Any

from gcx.sync.sqlite_binds import all_null

#: Keys per ``IN`` query.
IN_CHUNK = 400

_SCHEMA = """
CREATE TABLE seen (
    kind TEXT NOT NULL, key TEXT NOT NULL, line INTEGER, hash TEXT,
    org_key TEXT, manages INTEGER NOT NULL, claim INTEGER NOT NULL, PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE TABLE remote (snap INTEGER NOT NULL, id TEXT NOT NULL, key TEXT, body BLOB NOT NULL);
CREATE UNIQUE INDEX remote_id ON remote (snap, id);
CREATE INDEX remote_key ON remote (snap, key);
CREATE TABLE keyset (n INTEGER NOT NULL, key TEXT NOT NULL, PRIMARY KEY (n, key)) WITHOUT ROWID;
"""


def chunks(items: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def marks(n: int) -> str:
    return ",".join("?" * n)


class Spill:
    """One private scratch SQLite database (close it: :meth:`close`)."""

    def __init__(self, directory: Path | None = None) -> None:
        fd, name = tempfile.mkstemp(prefix=".gcx-run-", suffix=".sqlite", dir=directory)  # 0600
        os.close(fd)
        self._path: str | None = name
        try:
            self.conn = sqlite3.connect(name, isolation_level=None, check_same_thread=False)
            for pragma in (
                "journal_mode=OFF",
                "synchronous=OFF",
                "locking_mode=EXCLUSIVE",
                "cache_size=-8192",
            ):
                self.conn.execute(f"PRAGMA {pragma}")
            self.conn.executescript(_SCHEMA)
        except BaseException:
            os.unlink(name)
            raise
        with contextlib.suppress(OSError):  # where a file in use cannot be removed, close() does
            os.unlink(name)
            self._path = None
        self._snaps = 0
        self._claims = 0
        self._sets = 0

    def next_snapshot(self) -> int:
        self._snaps += 1
        return self._snaps

    def next_claim(self) -> int:
        """A number for one chunk of source keys (:meth:`SeenKeys.claim`), greater than any before."""
        self._claims += 1
        return self._claims

    def next_set(self) -> int:
        """A number for one :class:`KeySet`."""
        self._sets += 1
        return self._sets

    def many(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        """``executemany`` in one transaction; returns the rows it changed."""
        self.conn.execute("BEGIN")
        try:
            changed: int = self.conn.executemany(sql, rows).rowcount
        finally:
            self.conn.execute("COMMIT")
        return changed

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        return self.conn.execute(sql, args).fetchall()

    def which(self, sql: str, args: Sequence[Any], keys: Iterable[str]) -> set[str]:
        """The values of ``sql``'s one column (``... IN ({in})``: the ``IN`` list filled in) for
        ``keys``, asked a chunk at a time, after ``args``."""
        out: set[str] = set()
        for chunk in chunks(sorted(set(keys))):
            out.update(v for (v,) in self.query(sql.format(**{"in": marks(len(chunk))}), [*args, *chunk]))
        return out

    def close(self) -> None:
        self.conn.close()
        if self._path is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._path)
            self._path = None


class KeySet:
    """A set of keys held in the scratch database (adoption's unmatched source keys: every key of
    a first sync into an org that holds a record made by hand), asked a chunk at a time."""

    def __init__(self, spill: Spill) -> None:
        self.spill = spill
        self.n = spill.next_set()
        self._len = 0

    def add(self, keys: Iterable[str]) -> None:
        self._len += self.spill.many(
            "INSERT OR IGNORE INTO keyset (n, key) VALUES (?, ?)", zip(repeat(self.n), keys)
        )

    def __len__(self) -> int:
        return self._len

    def present(self, keys: Iterable[str]) -> set[str]:
        """Those of ``keys`` in the set."""
        return self.spill.which("SELECT key FROM keyset WHERE n = ? AND key IN ({in})", [self.n], keys)

    def discard(self, key: str) -> None:
        self._len -= self.spill.conn.execute(
            "DELETE FROM keyset WHERE n = ? AND key = ?", (self.n, key)
        ).rowcount

    def sorted(self) -> list[str]:
        """Every key, sorted (as Python sorts: SQLite compares UTF-8 bytes, in code point order)."""
        return [k for (k,) in self.spill.query("SELECT key FROM keyset WHERE n = ? ORDER BY key", [self.n])]

    def clear(self) -> None:
        self.spill.conn.execute("DELETE FROM keyset WHERE n = ?", (self.n,))
        self._len = 0


@dataclass(frozen=True)
class Seen:
    """The first source row of a key: its line and, for an organization, its values' hash (a
    later row with other values is reported; a contact's later row is skipped whatever it holds)."""

    line: int | None
    hash: str | None


class SeenKeys:
    """Source keys read so far, with their first line (duplicates, prune) and, for contacts whose
    organization the mapping manages, the organization key the row names (prune)."""

    def __init__(self, spill: Spill) -> None:
        self.spill = spill

    def first(self, kind: str, keys: Sequence[str]) -> dict[str, Seen]:
        """The keys of ``kind`` already seen, with their first row."""
        return self._first("kind = ?", [kind], keys)

    def _first(self, where: str, args: Sequence[Any], keys: Sequence[str]) -> dict[str, Seen]:
        out: dict[str, Seen] = {}
        for chunk in chunks(sorted(set(keys))):
            rows = self.spill.query(
                f"SELECT key, line, hash FROM seen WHERE {where} AND key IN ({marks(len(chunk))})",
                [*args, *chunk],
            )
            out.update({k: Seen(line, h) for k, line, h in rows})
        return out

    def claim(
        self, kind: str, rows: Sequence[tuple[str, int | None, str | None, str | None, bool]]
    ) -> dict[str, Seen]:
        """Add the first rows of a chunk of source keys (each key once: key, line, hash or None,
        organization key, whether the organization is managed); returns those of its keys an
        earlier chunk had, with their first row, which is kept.

        The rows go in first, a key already held left as it is: in a source without duplicates
        (every first sync of a clean file) all of them go in, and no key needs asking for. Only
        when some did not are the keys asked of the rows of earlier chunks.
        """
        if not rows:
            return {}
        claim = self.spill.next_claim()
        keys, lines, hashes, org_keys, manages = zip(*rows, strict=True)
        # as sqlite3 binds them without adapting them (gcx.sync.sqlite_binds): a column of None
        # (a contact's hash) left out, a bool as int
        optional = {"line": lines, "hash": hashes, "org_key": org_keys}
        columns: dict[str, Sequence[Any]] = {
            "key": keys,
            **{name: values for name, values in optional.items() if not all_null(values)},
            "manages": list(map(int, manages)),
        }
        added = self.spill.many(
            f"INSERT OR IGNORE INTO seen (kind, claim, {', '.join(columns)}) VALUES (?, ?, {marks(len(columns))})",
            zip(repeat(kind), repeat(claim), *columns.values()),
        )
        if added == len(rows):
            return {}
        return self._first("kind = ? AND claim < ?", [kind, claim], keys)

    def present(self, kind: str, keys: Sequence[str]) -> set[str]:
        return set(self.first(kind, keys))

    def count(self, kind: str) -> int:
        return int(self.spill.query("SELECT count(*) FROM seen WHERE kind = ?", [kind])[0][0])

    def managed(self, keys: Sequence[str]) -> set[str]:
        """The contact keys whose source row decides their organization."""
        return self.spill.which(
            "SELECT key FROM seen WHERE kind = 'contact' AND manages = 1 AND key IN ({in})", [], keys
        )

    def members(self, org_key: str) -> list[str]:
        """The contacts whose source row names the organization ``org_key``, in source order."""
        self.spill.conn.execute("CREATE INDEX IF NOT EXISTS seen_org ON seen (org_key) WHERE manages = 1")
        rows = self.spill.query(
            "SELECT key FROM seen WHERE org_key = ? AND manages = 1 AND kind = 'contact' ORDER BY line, key",
            [org_key],
        )
        return [k for (k,) in rows]
