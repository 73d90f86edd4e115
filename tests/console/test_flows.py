"""What operators do in the console, end to end over the emulator: approve, edit, move, race a sync."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gcx.console.approvals import ApprovalPolicy, approval_reasons, change_counts
from gcx.console.execute import plan_signature
from gcx.sync.engine import SyncEngine
from gcx.sync.ledger import Ledger
from gcx.sync.remote import ItemResult, Remote
from gcx.sync.source import RecordsSource
from tests.console.conftest import Env, login, records


async def _contact(env: Env, key: str) -> dict[str, Any]:
    async with env.gc() as gc:
        found = await gc.contacts.lookup_external_id(key)
        assert found is not None
        return await gc.contacts.get_raw(str(found.id))


def test_approval_policy_is_pure() -> None:
    planned = {"organization": {"create": 1}, "contact": {"update": 3, "delete": 1}, "invalid": 2}
    assert change_counts(planned) == {"create": 1, "update": 3, "move": 0, "delete": 1}
    assert approval_reasons(ApprovalPolicy(), planned) == []
    assert approval_reasons(ApprovalPolicy(above=5), planned) == []
    assert approval_reasons(ApprovalPolicy(above=4), planned) == [
        "5 changes, more than the 4 allowed without approval"
    ]
    assert approval_reasons(ApprovalPolicy(on_delete=True), planned) == ["1 delete(s)"]
    assert approval_reasons(ApprovalPolicy(always=True), {"contact": {"unchanged": 9}}) == []


def test_only_approved_data_writes_pass_the_guard() -> None:
    from gcx.console.execute import NotApproved, approved_only
    from gcx.sync.plan import Change, Op

    update = {"op": "update", "kind": "contact", "externalId": "c-1", "genesysId": "g1",
              "changes": [{"field": "firstName", "from": "A", "to": "B"}]}  # fmt: skip
    identity_only = {"op": "update", "kind": "contact", "externalId": "c-2", "genesysId": "g2"}
    approved = plan_signature(
        [update, identity_only, {"op": "unchanged", "kind": "contact", "externalId": "c-3"}]
    )
    assert len(approved) == 1  # neither the unchanged record nor the identity-only update writes data
    guard = approved_only(approved)
    guard(Op("update", "contact", "c-1", genesys_id="g1", changes=[Change("firstName", "A", "B")]))
    guard(Op("update", "contact", "c-2", genesys_id="g2", needs_identity=True))  # adds gcx's identity only
    guard(Op("unchanged", "contact", "c-3"))
    for other in (
        Op(
            "update", "contact", "c-1", genesys_id="g1", changes=[Change("firstName", "A", "C")]
        ),  # another value
        Op("delete", "contact", "c-4", genesys_id="g4"),
    ):
        with pytest.raises(NotApproved, match="not in the approved plan"):
            guard(other)


async def test_approve_applies_exactly_that_plan(env: Env, http: httpx.AsyncClient) -> None:
    await env.apply(records())
    approval = await env.submit_plan(records("-v2"))
    assert (await _contact(env, "c-1"))["firstName"] == "Ada1"  # waiting: nothing written
    token = await login(http, "olga")
    page = await http.get(f"/approvals/{approval.id}")
    assert "Ada1-v2" in page.text and "Approve and apply this plan" in page.text
    assert "0 create, 6 update, 0 move, 0 delete" in page.text
    assert "0 create, 6 update, 0 move, 0 delete" in (await http.get("/approvals")).text
    r = await http.post(f"/approvals/{approval.id}/approve", data={"csrf": token})
    assert r.status_code == 303
    done = env.state.approvals.get(approval.id)
    assert done.state == "applied" and done.decided_by == "olga" and done.run_id is not None
    for i in range(6):
        assert (await _contact(env, f"c-{i}"))["firstName"] == f"Ada{i}-v2"
    # the run applied exactly the approved ops (the plan as stored when it was queued)
    import json

    from gcx.console.execute import read_plan_ops

    applied = read_plan_ops(env.target.reports_dir / f"run-{done.run_id}.ops.json")
    stored = json.loads(env.state.approvals.plan_document(approval.id) or b"{}")["ops"]
    assert plan_signature(applied) == plan_signature(stored)
    run = await http.get(f"/jobs/crm/runs/{done.run_id}")
    assert "Ada3-v2" in run.text and "Ada3" in run.text
    # a second click changes nothing
    r = await http.post(f"/approvals/{approval.id}/approve", data={"csrf": token})
    assert r.status_code == 409 and "already approved by olga and applied" in r.text
    assert [e.action for e in env.state.audit.latest(3)][:2] == ["apply", "approve"]


async def test_a_stale_plan_is_replanned_not_applied(env: Env, http: httpx.AsyncClient) -> None:
    await env.apply(records())
    approval = await env.submit_plan(records("-v2"))
    # someone applies part of the change (another run) after the plan was made
    recs = records()
    recs[2] = records("-v2")[2]
    await env.apply(recs)
    other = await _contact(env, "c-0")
    token = await login(http, "olga")
    r = await http.post(f"/approvals/{approval.id}/approve", data={"csrf": token})
    assert r.status_code == 303
    old = env.state.approvals.get(approval.id)
    assert old.state == "stale" and old.replaced_by is not None
    assert "no longer planned: update contact c-0" in (old.note or "")
    assert (await _contact(env, "c-1"))["firstName"] == "Ada1"  # nothing written
    assert (await _contact(env, "c-0")) == other
    fresh = env.state.approvals.get(old.replaced_by)
    assert fresh.state == "pending"
    r = await http.post(f"/approvals/{fresh.id}/approve", data={"csrf": token})
    assert env.state.approvals.get(fresh.id).state == "applied"
    assert (await _contact(env, "c-5"))["firstName"] == "Ada5-v2"


async def test_reject_writes_nothing(env: Env, http: httpx.AsyncClient) -> None:
    await env.apply(records())
    approval = await env.submit_plan(records("-v2"))
    token = await login(http, "olga")
    r = await http.post(f"/approvals/{approval.id}/reject", data={"csrf": token, "note": "wrong extract"})
    assert r.status_code == 303
    a = env.state.approvals.get(approval.id)
    assert a.state == "rejected" and a.note == "wrong extract"
    assert (await _contact(env, "c-1"))["firstName"] == "Ada1"
    again = await http.post(f"/approvals/{approval.id}/approve", data={"csrf": token})
    assert again.status_code == 409 and "it was rejected by olga" in again.text


async def test_edit_writes_only_the_changed_field_and_never_over_a_newer_value(
    env: Env, http: httpx.AsyncClient
) -> None:
    await env.apply(records())
    rec = await _contact(env, "c-1")
    cid = rec["id"]
    async with env.gc() as gc:  # an unknown field and a nested one, set outside gcx
        await gc.contacts.safe_update(cid, {"title": "Eng", "address.city": "Paris"}, method="put")
    token = await login(http, "olga")
    page = (await http.get(f"/records/crm/contacts/{cid}")).text
    assert "address.city" in page and "Paris" in page
    assert "What gcx knows" in page and "c-1" in page
    form = {k: v for k, v in _form_fields(page).items()}
    form["f.title"] = "Chief Engineer"
    # meanwhile someone changes the city in Genesys
    async with env.gc() as gc:
        await gc.contacts.safe_update(cid, {"address.city": "Lyon"})
    form["f.address.city"] = "Berlin"  # the operator also edits the city, from the old value
    form["csrf"] = token
    r = await http.post(f"/records/crm/contacts/{cid}/edit", data=form)
    assert r.status_code == 303
    after = await _contact(env, "c-1")
    assert after["title"] == "Chief Engineer"
    assert after["address"]["city"] == "Lyon"  # the newer value was not overwritten
    changed = {k for k in set(after) | set(rec) if after.get(k) != rec.get(k)}
    assert changed <= {"title", "address", "modifyDate"}
    page = (await http.get(f"/records/crm/contacts/{cid}")).text
    assert "saved title" in page and "not saved" in page and "address.city" in page
    entry = env.state.audit.latest(1)[0]
    assert entry.action == "edit" and entry.user == "olga" and entry.outcome == "partial"
    assert entry.detail["changes"] == {"title": {"from": "Eng", "to": "Chief Engineer"}}


def _form_fields(html: str) -> dict[str, str]:
    import re
    from html import unescape

    out = {}
    for m in re.finditer(
        r'<input(?: id="[^"]*")?(?: type="hidden")? name="([fo]\.[^"]+)" value="([^"]*)"', html
    ):
        out[unescape(m.group(1))] = unescape(m.group(2))
    return out


async def test_move_a_contact(env: Env, http: httpx.AsyncClient) -> None:
    await env.apply(records())
    rec = await _contact(env, "c-0")  # in Acme
    async with env.gc() as gc:
        globex = await gc.organizations.lookup_external_id("globex")
    token = await login(http, "olga")
    page = await http.get(f"/records/crm/contacts/{rec['id']}/move?q=Globex")
    assert "Move here" in page.text
    r = await http.post(
        f"/records/crm/contacts/{rec['id']}/move", data={"csrf": token, "org_id": str(globex.id)}
    )
    assert r.status_code == 303
    after = await _contact(env, "c-0")
    assert after["externalOrganization"]["id"] == globex.id
    assert {k: v for k, v in after.items() if k not in ("externalOrganization", "modifyDate")} == {
        k: v for k, v in rec.items() if k not in ("externalOrganization", "modifyDate")
    }
    assert "moved to organization" in (await http.get(f"/records/crm/contacts/{rec['id']}")).text
    r = await http.post(
        f"/records/crm/contacts/{rec['id']}/move", data={"csrf": token, "org_id": "no-such-org"}
    )
    assert "not moved" in (await http.get(f"/records/crm/contacts/{rec['id']}")).text


async def test_records_browser_pages_past_one_page(env: Env, http: httpx.AsyncClient) -> None:
    await env.apply(records(n=120))
    await login(http, "victor")
    seen: set[str] = set()
    url = "/records?kind=contacts"
    for _ in range(5):
        page = (await http.get(url)).text
        import re

        seen |= set(re.findall(r"/records/crm/contacts/([0-9a-f-]{36})\"", page))
        nxt = re.search(r'rel="next" href="http://console.test(/records[^"]+)"', page)
        if not nxt:
            break
        from html import unescape

        url = unescape(nxt.group(1))
    assert len(seen) == 120


class _RacingRemote(Remote):
    """Before the sync's first bulk update, an operator saves an edit in the console."""

    def __init__(self, gc: Any, edit: Any) -> None:
        super().__init__(gc)
        self.edit = edit
        self.done = False

    async def bulk_update(self, kind: Any, bodies: Any) -> list[ItemResult]:
        if kind == "contact" and not self.done:
            self.done = True
            await self.edit()
        return await super().bulk_update(kind, bodies)


async def test_a_console_edit_racing_a_sync_run_loses_nothing(env: Env, http: httpx.AsyncClient) -> None:
    """The edit lands in the sync's riskiest moment (after its re-read, before its bulk PUT): the
    console waits for the run's lock, then refuses clearly; nothing is lost, and the same edit
    made after the run is saved and survives the next run."""
    env.state.edit_wait = 0.5
    await env.apply(records())
    rec = await _contact(env, "c-1")
    token = await login(http, "olga")
    page = (await http.get(f"/records/crm/contacts/{rec['id']}")).text
    form = {**_form_fields(page), "new_path": "title", "new_value": "Dr", "csrf": token}
    url = f"/records/crm/contacts/{rec['id']}"

    async def edit() -> None:
        r = await http.post(url + "/edit", data=form)
        assert r.status_code == 303

    async def run(suffix: str, remote_edit: Any = None) -> Any:
        with Ledger(env.target.ledger_url) as ledger:
            async with env.gc() as gc:
                remote = _RacingRemote(gc, remote_edit) if remote_edit else Remote(gc)
                engine = SyncEngine(
                    ledger=ledger,
                    source=RecordsSource(records(suffix)),
                    remote=remote,
                    region=env.target.region,
                )
                return await engine.run()

    report = await run("-v2", edit)
    assert report.status == "ok", report.error
    after = await _contact(env, "c-1")
    assert after["firstName"] == "Ada1-v2"  # the sync's change landed
    assert "title" not in after  # the edit was refused, not half-made
    page = (await http.get(url)).text
    assert "a sync run of this job is writing to Genesys right now: nothing was saved" in page
    assert env.state.audit.latest(1)[0].outcome == "refused"
    # after the run the operator saves again: kept, and the next run keeps it
    form = {**_form_fields(page), "new_path": "title", "new_value": "Dr", "csrf": token}
    await edit()
    assert (await _contact(env, "c-1"))["title"] == "Dr"
    report = await run("-v3")
    assert report.status == "ok"
    after = await _contact(env, "c-1")
    assert after["title"] == "Dr" and after["firstName"] == "Ada1-v3"


async def test_a_job_run_under_a_policy_waits_or_applies(env: Env) -> None:
    from gcx.console.jobflow import run_with_approval

    store = env.state.approvals
    out = await run_with_approval(env.target, RecordsSource(records()), ApprovalPolicy(), store)
    assert out.state == "applied" and out.report is not None and out.report.applied["contact"]["created"] == 6
    out = await run_with_approval(env.target, RecordsSource(records("-v2")), ApprovalPolicy(above=3), store)
    assert out.state == "waiting" and out.approval is not None and out.approval.state == "pending"
    out_waiting = out.approval
    assert "6 changes, more than the 3 allowed" in out.reason
    assert (await _contact(env, "c-1"))["firstName"] == "Ada1"  # nothing written while it waits
    out = await run_with_approval(
        env.target, RecordsSource(records("-v2")), ApprovalPolicy(on_delete=True), store
    )
    assert out.state == "applied"
    assert (await _contact(env, "c-1"))["firstName"] == "Ada1-v2"
    # the waiting plan is kept in the database, not on the disk; applied plans leave no file
    assert list((env.target.reports_dir / "plans").glob("*.json")) == []
    assert b'"Ada1-v2"' in (store.plan_document(out_waiting.id) or b"")


async def test_a_run_made_outside_the_console_shows_what_changed_since_gcx_last_wrote(
    env: Env, http: httpx.AsyncClient
) -> None:
    for suffix in ("", "-v2"):  # as gcx sync apply runs them: no ops file, the ledger only
        with Ledger(env.target.ledger_url) as ledger:
            async with env.gc() as gc:
                engine = SyncEngine(
                    ledger=ledger,
                    source=RecordsSource(records(suffix)),
                    remote=Remote(gc),
                    region=env.target.region,
                )
                assert (await engine.run()).status == "ok"
    await login(http, "victor")
    page = (await http.get("/jobs/crm/runs/2")).text
    assert "“before” is the value gcx wrote last time" in page
    assert page.count('<td class="before wrap">Ada1</td>') == 1
    assert page.count('<td class="after wrap">Ada1-v2</td>') == 1
    assert "Lovelace1" not in page  # unchanged fields are not listed
    first = (await http.get("/jobs/crm/runs/1")).text
    assert '<td class="after wrap">Lovelace1</td>' in first  # a first write lists every value
