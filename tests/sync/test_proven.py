"""Permissions proven on a ledger: by which writes, for how long, by which client."""

from __future__ import annotations

from pathlib import Path

from gcx import permissions as perm
from gcx.access import to_probe
from gcx.sync.ledger import Ledger
from gcx.sync.proven import PROVEN_FOR, ProvenAccess, client_key, fresh, proven_by_writes


def test_writes_prove_their_permission_per_kind() -> None:
    applied = {
        "organization": {"created": 1, "updated": 0, "moved": 0, "deleted": 0, "adopted": 0, "failed": 2},
        "contact": {"created": 0, "updated": 0, "moved": 1, "deleted": 3, "adopted": 0, "failed": 0},
    }
    assert proven_by_writes(applied) == {perm.ORG_ADD, perm.CONTACT_EDIT, perm.CONTACT_DELETE}
    assert proven_by_writes({"contact": {"failed": 5}}) == set()


def test_a_proof_is_trusted_for_a_short_while_only() -> None:
    now = 10_000.0
    rows = [("a", now - 10), ("b", now - PROVEN_FOR - 1), ("c", now + 60)]
    assert fresh(rows, now) == {"a"}  # too old, or from a clock that was ahead: probed again


def test_to_probe_skips_what_is_proven_and_what_the_scans_prove() -> None:
    needed = (perm.CONTACT_VIEW, perm.CONTACT_ADD, perm.ORG_VIEW, perm.SOURCE_VIEW)
    assert to_probe(needed, {perm.SOURCE_VIEW}, scans_first=False) == (
        perm.CONTACT_VIEW,
        perm.CONTACT_ADD,
        perm.ORG_VIEW,
    )
    assert to_probe(needed, (), scans_first=True) == (perm.CONTACT_ADD, perm.SOURCE_VIEW)


def test_proofs_are_kept_per_client_in_the_ledger(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    me, other = client_key("mypurecloud.ie", "id-1"), client_key("mypurecloud.com", "id-1")
    assert me != other and "id-1" not in me
    with Ledger(url) as ledger:
        proofs = ProvenAccess(ledger)
        assert proofs.load(me) == set()  # no table yet
        proofs.save(me, [perm.CONTACT_ADD, perm.ORG_ADD], now=1_000.0)
        proofs.save(me, [perm.CONTACT_ADD], now=1_500.0)  # a newer proof replaces the older one
        assert proofs.load(me, now=1_600.0) == {perm.CONTACT_ADD, perm.ORG_ADD}
        assert proofs.load(me, now=1_000.0 + PROVEN_FOR + 1) == {perm.CONTACT_ADD}
        assert proofs.load(other, now=1_600.0) == set()
    with Ledger(url, create=False) as plan:  # a plan reads them
        assert ProvenAccess(plan).load(me, now=1_600.0) == {perm.CONTACT_ADD, perm.ORG_ADD}
    with Ledger(f"sqlite:///{tmp_path / 'none.sqlite'}", create=False) as missing:
        ProvenAccess(missing).save(me, [perm.CONTACT_ADD])  # nothing is written by a plan
        assert ProvenAccess(missing).load(me) == set()
    assert not (tmp_path / "none.sqlite").exists() or (tmp_path / "none.sqlite").stat().st_size == 0


def test_the_proofs_go_with_the_ledger_when_it_is_dropped(tmp_path: Path) -> None:
    from sqlalchemy import inspect

    with Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}") as ledger:
        ProvenAccess(ledger).save("k", [perm.CONTACT_ADD])
        assert ProvenAccess(ledger).load("k") == {perm.CONTACT_ADD}
        ledger.drop()
        assert not inspect(ledger.engine).get_table_names()
