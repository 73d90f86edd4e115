"""``benchmarks/scale.py --ledger-url``: the PostgreSQL URL's handling (no server needed)."""

from __future__ import annotations

import argparse

import pytest

from benchmarks.scale import PgLedger, pg_url

SECRET = "s3cr3t-pw-9f2"
URL = f"postgresql+psycopg://bench:{SECRET}@127.0.0.1:5432/test?options=-cstatement_timeout%3D0"


def test_gcx_gets_the_url_without_its_password_and_the_schema_in_search_path() -> None:
    pg = PgLedger.for_tree(URL, "before-2")
    url, env = pg.gcx_url()
    assert pg.schema == "gcx_scale_before_2"
    assert SECRET not in url and SECRET not in repr(pg) and SECRET not in pg.shown
    assert url == (
        "postgresql+psycopg://bench@127.0.0.1:5432/test"
        "?options=-cstatement_timeout%3D0+-csearch_path%3Dgcx_scale_before_2"
    )
    assert env == {"PGPASSWORD": SECRET}
    assert PgLedger.for_tree("postgresql+psycopg://postgres@h/test", "current").gcx_url()[1] == {}


@pytest.mark.parametrize("bad", [f"sqlite:///{SECRET}.db", f"postgresql://u:{SECRET}@h:port/db", SECRET])
def test_a_bad_url_is_refused_without_quoting_it(bad: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as err:
        pg_url(bad)
    assert SECRET not in str(err.value)
