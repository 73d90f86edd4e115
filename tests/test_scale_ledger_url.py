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
    schema = pg.schema
    assert schema.startswith("gcx_scale_before_2_") and len(schema) == len("gcx_scale_before_2_") + 8
    assert SECRET not in url and SECRET not in repr(pg) and SECRET not in pg.shown
    assert url == (
        "postgresql+psycopg://bench@127.0.0.1:5432/test"
        f"?options=-cstatement_timeout%3D0+-csearch_path%3D{schema}"
    )
    assert env == {"PGPASSWORD": SECRET}
    assert PgLedger.for_tree("postgresql+psycopg://postgres@h/test", "current").gcx_url()[1] == {}


def test_labels_differing_only_in_punctuation_case_or_past_the_name_limit_get_their_own_schema() -> None:
    labels = ["a-b", "a_b", "A.B", "é", "è", "x" * 80, "x" * 80 + "y"]
    schemas = [PgLedger.for_tree(URL, label).schema for label in labels]
    assert len(set(schemas)) == len(labels)
    assert all(s.isascii() and len(s) <= 63 for s in schemas)  # PostgreSQL keeps 63 bytes of a name


@pytest.mark.parametrize("bad", [f"sqlite:///{SECRET}.db", f"postgresql://u:{SECRET}@h:port/db", SECRET])
def test_a_bad_url_is_refused_without_quoting_it(bad: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as err:
        pg_url(bad)
    assert SECRET not in str(err.value)
