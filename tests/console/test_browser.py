"""The console in a real browser (Debian's Chromium driven by Playwright): log in, read a run's
diff, approve a plan and see it applied, edit one field, move a contact, log out.

Skipped when Chromium or Playwright is absent (``.ci/run`` installs Chromium with apt; no
browser is ever downloaded). ``CONSOLE_SCREENSHOTS=DIR`` saves the screenshots of docs/console.md.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from gcx.console.execute import apply_source
from gcx.emulator import Emulator, EmulatorSettings
from gcx.emulator.server import serve_in_thread
from gcx.emulator.settings import KIND_IDENTITY
from gcx.sync.records import Issue
from tests.console.conftest import PASSWORD, Breaks, Env, make_env, records

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip

try:
    from playwright.sync_api import Page, expect, sync_playwright
except ImportError:  # pragma: no cover
    sync_playwright = None  # type: ignore[assignment]

pytestmark = [
    pytest.mark.skipif(
        sync_playwright is None, reason="playwright is not installed (pip install playwright)"
    ),
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM), reason="no Chromium at /usr/bin/chromium (apt-get install chromium)"
    ),
    pytest.mark.timeout(240),
]


async def _seed(env: Env) -> dict[str, Any]:
    await env.apply(records())
    bad = Issue(
        9, "workEmail: 'ada@@example' is not an email address", field="workEmail", key="c-9", kind="contact"
    )
    v2 = records("-v2")
    async with env.gc() as gc:  # a person edits a managed field in Genesys: a conflict in run 2
        c4 = await gc.contacts.lookup_external_id("c-4")
        await gc.contacts.safe_update(str(c4.id), {"lastName": "Byron"})
    await env.apply([*v2, bad])  # type: ignore[list-item]
    approval = await env.submit_plan(records("-v3"))
    async with env.gc() as gc:
        c1 = await gc.contacts.lookup_external_id("c-1")
        c2 = await gc.contacts.lookup_external_id("c-2")
        globex = await gc.organizations.lookup_external_id("globex")
        return {
            "approval": approval.id,
            "c1": await gc.contacts.get_raw(str(c1.id)),
            "c2": await gc.contacts.get_raw(str(c2.id)),
            "globex": str(globex.id),
        }


def _raw(env: Env, cid: str) -> dict[str, Any]:
    async def get() -> dict[str, Any]:
        async with env.gc() as gc:
            return await gc.contacts.get_raw(cid)

    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API owns this thread's event loop
        return pool.submit(asyncio.run, get()).result()


def _apply_breaking(env: Env) -> int:
    """The run id of a console apply whose source raised at its third contact."""

    async def run() -> None:
        await apply_source(env.target, Breaks(records("-v9")))

    with ThreadPoolExecutor(1) as pool, pytest.raises(RuntimeError):
        pool.submit(asyncio.run, run()).result()
    kept = sorted(env.target.reports_dir.glob("run-*.ops.json"), key=lambda p: p.stat().st_mtime)
    return int(kept[-1].name.split("-")[1].split(".")[0])


def test_the_console_in_a_browser(tmp_path: Path) -> None:
    shots = Path(os.environ.get("CONSOLE_SCREENSHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)

    def shot(page: Page, name: str) -> None:
        page.screenshot(path=str(shots / f"console-{name}.png"), full_page=True)

    emu = Emulator(
        EmulatorSettings(rate_limit=0, seed=7, **KIND_IDENTITY)
    )  # pinned until the sync adopts under the strict identity rules (issue 10 item 3)
    with emu.serve() as emu_url:
        env = make_env(tmp_path, emu, region=emu_url)
        seeded = asyncio.run(_seed(env))
        c1, c2 = seeded["c1"], seeded["c2"]
        with serve_in_thread(env.app) as url, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            # log in, with the keyboard
            page.goto(url + "/")
            expect(page.locator("h1")).to_have_text("Log in")
            shot(page, "login")
            page.keyboard.type("olga")
            page.keyboard.press("Tab")
            page.keyboard.type(PASSWORD)
            page.keyboard.press("Enter")
            expect(page.locator("h1")).to_have_text("Dashboard")
            expect(page.get_by_text("Approval #1 · crm")).to_be_visible()
            shot(page, "dashboard")

            # a run's diff: before -> after per field, the conflict, the invalid row, filter
            page.get_by_role("link", name="#2", exact=True).first.click()
            expect(page.locator("h1")).to_contain_text("Run #2")
            row = page.locator('tbody.op[data-key="c-1"]')
            expect(row.locator("td.before")).to_have_text("Ada1")
            expect(row.locator("td.after")).to_have_text("Ada1-v2")
            expect(page.locator('tbody.op.invalid[data-key="c-9"]')).to_contain_text("not an email address")
            expect(page.locator("tr.conflicts")).to_contain_text("Byron")
            shot(page, "run")
            page.fill("#q", "Ada3-v2")
            expect(page.locator("tbody.op")).to_have_count(1)
            expect(page.locator("tbody.op")).to_contain_text("Ada3-v2")
            page.set_viewport_size({"width": 420, "height": 860})
            shot(page, "run-narrow")
            page.set_viewport_size({"width": 1280, "height": 860})

            # approve the waiting plan: applied, exactly
            page.goto(f"{url}/approvals/{seeded['approval']}")
            expect(page.locator('tbody.op[data-key="c-1"]').locator("td.after")).to_have_text("Ada1-v3")
            shot(page, "approval")
            page.get_by_role("button", name="Approve and apply this plan").click()
            expect(page.locator("h1 .status")).to_have_text("applied")
            assert _raw(env, c1["id"])["firstName"] == "Ada1-v3"
            page.get_by_role("link", name="run #3").click()
            expect(page.locator('tbody.op[data-key="c-5"]').locator("td.after")).to_have_text("Ada5-v3")

            # edit one field of a contact: only that field changes in Genesys
            page.goto(f"{url}/records?kind=contacts")
            shot(page, "records")
            page.goto(f"{url}/records/crm/contacts/{c2['id']}")
            before = _raw(env, c2["id"])
            page.get_by_label("workEmail").fill("ada.two@example.org")
            page.get_by_role("button", name="Save changes").click()
            expect(page.locator(".msg.ok")).to_have_text("saved workEmail")
            after = _raw(env, c2["id"])
            changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
            assert changed <= {"workEmail", "modifyDate"} and after["workEmail"] == "ada.two@example.org"
            shot(page, "record")

            # move the contact to Globex
            page.get_by_role("link", name="Move to another organization").click()
            page.fill("#q", "Globex")
            page.keyboard.press("Enter")
            page.get_by_role("button", name="Move here").click()
            expect(page.locator(".msg.ok")).to_contain_text("moved to organization")
            assert _raw(env, c2["id"])["externalOrganization"]["id"] == seeded["globex"]

            page.goto(f"{url}/activity")
            expect(page.locator("tbody")).to_contain_text("move")
            shot(page, "activity")

            # the live sessions: this one, with its address and browser
            page.get_by_role("link", name="Sessions").click()
            expect(page.locator("h1")).to_have_text("Sessions")
            expect(page.locator("tbody tr", has_text="this one")).to_contain_text("olga")
            shot(page, "sessions")
            cookies = page.context.cookies()

            # an apply that raised mid-run: its page shows the ops it had decided, and says so
            failed = _apply_breaking(env)
            page.goto(f"{url}/jobs/crm/runs/{failed}")
            expect(page.locator(".msg.warn").first).to_contain_text("did not finish")
            expect(
                page.get_by_text("RuntimeError: lost postgresql://gcx:***@db.internal/crm")
            ).to_be_visible()
            assert "hunter2" not in page.content()  # the password in the error is masked
            shot(page, "run-incomplete")

            # log out: the pages are closed again, also to the old cookie replayed
            page.get_by_role("button", name="Log out").click()
            expect(page.locator("h1")).to_have_text("Log in")
            page.goto(url + "/jobs/crm")
            expect(page.locator("h1")).to_have_text("Log in")
            page.context.add_cookies(cookies)  # type: ignore[arg-type]
            page.goto(url + "/jobs/crm")
            expect(page.locator("h1")).to_have_text("Log in")
            browser.close()
        env.state.close()
