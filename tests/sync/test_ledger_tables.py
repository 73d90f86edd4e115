"""The tables made for one database (``ledger_tables(dialect=...)``, which spares a SQLite run the
PostgreSQL dialect's import) are created by exactly the DDL of the tables made for both."""

from __future__ import annotations

import pytest
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.schema import CreateIndex, CreateTable

from gcx.sync.ledger_tables import LedgerTables, ledger_tables


def _ddl(tables: LedgerTables, dialect: Dialect) -> list[str]:
    out: list[str] = []
    for table in tables.metadata.sorted_tables:
        out.append(str(CreateTable(table).compile(dialect=dialect)))
        out += [str(CreateIndex(index).compile(dialect=dialect)) for index in sorted(table.indexes, key=str)]
    return out


@pytest.mark.parametrize("name", ["sqlite", "postgresql"])
@pytest.mark.parametrize("prefix", ["gcx_", "t_"])
def test_one_dialect_same_ddl(name: str, prefix: str) -> None:
    dialect = {"sqlite": sqlite, "postgresql": postgresql}[name].dialect()
    both = _ddl(ledger_tables(prefix), dialect)
    assert _ddl(ledger_tables(prefix, dialect=name), dialect) == both
    assert any("WHERE" in statement for statement in both)  # the partial index is there
