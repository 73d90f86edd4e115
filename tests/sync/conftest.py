"""Fixtures for the sync engine tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from gcx.sync.ledger import Ledger
from gcx.sync.mapping import SourceMapping, parse_mapping

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

MAPPING = {
    "options": {"phone_country": "US", "phone_country_column": "country"},
    "organization": {
        "key": "account_id",
        "fields": {
            "name": "account_name",
            "industry": {"column": "industry", "transforms": ["trim", "lower"]},
            "companyType": {"value": "Customer"},
        },
    },
    "contact": {
        "key": "contact_id",
        "organization": "account_id",
        "fields": {
            "firstName": "first_name",
            "lastName": "last_name",
            "workEmail": {"column": "email", "transforms": ["trim", "lower"]},
            "cellPhone": "mobile",
            "address.city": "city",
            "address.countryCode": "country",
        },
    },
}

HEADER = "contact_id,first_name,last_name,email,mobile,city,country,account_id,account_name,industry\n"


@pytest.fixture
def mapping() -> SourceMapping:
    return parse_mapping(MAPPING, "test-mapping")


@pytest.fixture
def sqlite_ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}") as ledger:
        yield ledger


def _pg_available() -> bool:
    import psycopg

    try:
        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", connect_timeout=3):
            return True
    except psycopg.Error:
        return False


@pytest.fixture
def pg_ledger() -> Iterator[Ledger]:
    if not _pg_available():
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    prefix = f"t{uuid.uuid4().hex[:10]}_"
    ledger = Ledger(PG_URL, prefix=prefix)
    try:
        yield ledger
    finally:
        ledger.drop()
        ledger.close()


@pytest.fixture(params=["sqlite", "postgres"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    if request.param == "sqlite":
        with Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}") as led:
            yield led
    else:
        yield request.getfixturevalue("pg_ledger")
