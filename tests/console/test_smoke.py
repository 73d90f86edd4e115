from __future__ import annotations

from tests.console.conftest import Env, login, records


async def test_pages_render(env: Env, http) -> None:
    await env.apply(records())
    await env.apply(records("-v2"))
    await env.submit_plan(records("-v3"))
    await login(http, "olga")
    for path in ["/", "/jobs/crm", "/jobs/crm/runs/1", "/jobs/crm/runs/2", "/approvals", "/approvals/1", "/activity", "/records", "/records?kind=organizations", "/jobs/crm/runs/2/rows.csv", "/jobs/crm/runs/2/rows.json"]:
        r = await http.get(path)
        assert r.status_code == 200, (path, r.text[:2000])
    r = await http.get("/jobs/crm/runs/2")
    print(r.text[-3000:])
