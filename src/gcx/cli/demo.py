"""``gcx demo``: the whole sync story against the embedded emulator, no credentials, no network.

1. An emulated Genesys org starts with a few records an agent made by hand (with social ids
   and notes-like fields gcx does not manage).
2. A CRM extract (a few thousand contacts, tens of accounts, some dirty rows) is planned, then
   applied with a progress bar: organizations and contacts created in bulk, the hand-made
   records adopted (not duplicated), dirty rows reported with line, field and reason.
3. An agent edits a contact in Genesys; the CRM changes some rows (new titles, contacts moving
   to another account, new contacts); the incremental run costs a handful of requests.
4. The result is checked: every ExternalId exactly once, unmanaged fields intact.

Everything lives in a temporary directory (or ``--workdir``): ledger, extract, reports.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gcx.cli.context import CliError, get_cli

if TYPE_CHECKING:  # the client, the emulator and the engine are imported when the demo runs
    from gcx.cli.output import Output
    from gcx.client import AsyncClient
    from gcx.sync.ledger import Ledger
    from gcx.sync.report import RunReport
    from gcx.sync.source import CsvSource

REGION = "http://gcx-demo.local"


class Demo:
    def __init__(
        self, out: Output, workdir: Path, contacts: int, accounts: int, rate_limit: int, *, keep: bool = False
    ) -> None:
        self.out = out
        self.keep = keep
        self.workdir = workdir
        self.contacts = contacts
        self.accounts = accounts
        self.rate_limit = rate_limit
        from gcx.emulator import Emulator, EmulatorSettings
        from gcx.sync.ledger import ledger_url

        self.emu = Emulator(EmulatorSettings(rate_limit=rate_limit, seed=7, org_name="gcx demo org"))
        self.ledger_url = ledger_url(None, workdir)
        self.mapping_path = workdir / "crm_mapping.toml"

    def say(self, text: str = "") -> None:
        self.out.stdout.write(text + "\n")
        self.out.stdout.flush()

    def step(self, title: str) -> None:
        self.say()
        self.say(f"== {title}")

    async def run(self) -> None:
        from gcx.client import AsyncClient
        from gcx.demo import crm, mapping_text
        from gcx.sync.ledger import Ledger
        from gcx.sync.mapping import load_mapping
        from gcx.sync.source import CsvSource

        t0 = time.monotonic()
        self.mapping_path.write_text(mapping_text(), encoding="utf-8")
        extract = crm.write(self.workdir / "crm_contacts.csv", self.contacts, self.accounts)
        mapping = load_mapping(self.mapping_path)
        self.say(f"gcx demo: an emulated Genesys Cloud org in this process, work directory {self.workdir}")
        self.say(
            f"source: {extract.name}, a CRM extract of {self.contacts} contacts in {self.accounts} accounts "
            "(with some dirty rows)"
        )
        async with AsyncClient(
            REGION,
            client_id="gcx-demo",
            client_secret="gcx-demo",  # noqa: S106 - the emulator accepts any credentials
            transport=self.emu.transport(),
            rate_limit=self.rate_limit,
        ) as gc:
            hand_made = await self.seed(gc)
            with Ledger(self.ledger_url) as ledger:
                self.step("1. plan (reads only)")
                plan = await self.sync(gc, ledger, CsvSource(extract, mapping), dry_run=True)
                self.show(plan)

                self.step("2. apply")
                first = await self.sync(gc, ledger, CsvSource(extract, mapping))
                self.show(first)
                self.problems(first)

                self.step("3. an agent edits a contact in Genesys, the CRM changes some rows")
                edited = await self.agent_edit(gc, hand_made)
                changed = self.workdir / "crm_contacts_day2.csv"
                touched = crm.changed_copy(extract, changed, retitle=25, move=5, add=3)
                self.say(
                    f"CRM: {len(touched['retitled'])} contacts retitled, {len(touched['moved'])} moved to "
                    f"another account, {len(touched['added'])} new ({changed.name})"
                )
                second = await self.sync(gc, ledger, CsvSource(changed, mapping))
                self.show(second)
                for c in second.conflicts[:3]:
                    fields = ", ".join(f"{f['field']} {f['from']!r} -> {f['to']!r}" for f in c["fields"])
                    self.say(f"  conflict on {c['externalId']} (the source wins by default): {fields}")

                self.step("4. a run with nothing to do")
                trusted = await self.sync(gc, ledger, CsvSource(changed, mapping), trust_ledger=True)
                self.show(trusted)
                self.say(
                    "  (--trust-ledger compares the source with the ledger only, and looks up only what the "
                    "ledger does not know, here the organizations the dirty rows reference; without it, a "
                    "no-change run reads the org once by scan, 200 records per request, and writes nothing)"
                )

                self.step("5. proof")
                self.prove(edited, first, second)
                counts = ledger.count_records()
        stats = self.emu.stats()
        self.say(
            f"ledger: {counts.get('organization', 0)} organizations, {counts.get('contact', 0)} contacts "
            f"({self.ledger_url})"
        )
        self.say(
            f"the emulator answered {stats['apiCalls']} API requests in all; demo time {time.monotonic() - t0:.1f} s"
        )
        if self.keep:
            self.say("try: gcx sync status --ledger " + str(self.workdir / "gcx-ledger.sqlite"))
        else:
            self.say("(the work directory is removed now; keep it with --workdir DIR)")

    async def seed(self, gc: AsyncClient) -> dict[str, Any]:
        """Records an agent made by hand before gcx: gcx must adopt them, not duplicate them."""
        from gcx.demo import crm

        rows = crm.rows(self.contacts, self.accounts)
        first_valid = next(r for r in rows if isinstance(r, list) and len(r) == len(crm.HEADER))
        row = dict(zip(crm.HEADER, first_valid, strict=True))
        # As a person would: create the records, then claim the CRM key as an ExternalId identifier
        # (the API claims nothing from a body's ``identifiers`` array, nor from ``externalIds``).
        org = await gc.organizations.create(
            {"name": row["account_name"] or "Hand-made account", "tags": ["vip"]}
        )
        assert org.id is not None  # the API always answers a created record's id
        await gc.organizations.identifiers.claim(org.id, "ExternalId", row["account_id"])
        contact = await gc.contacts.create(
            {
                "firstName": row["first_name"].strip(),
                "lastName": row["last_name"],
                "title": "Typed by an agent",
                "salutation": "Dr",
                "twitterId": {"screenName": "handmade_contact"},
                "externalOrganization": {"id": org.id},
            }
        )
        assert contact.id is not None
        await gc.contacts.identifiers.claim(contact.id, "ExternalId", row["contact_id"])
        self.say(
            f"before gcx: an agent created account {row['account_id']} and contact {row['contact_id']} by hand "
            "(with a salutation, a Twitter id and a tag gcx does not manage)"
        )
        return {"org_id": org.id, "contact_id": contact.id, "contact_key": row["contact_id"]}

    async def agent_edit(self, gc: AsyncClient, hand_made: dict[str, Any]) -> dict[str, Any]:
        cid = hand_made["contact_id"]
        await gc.contacts.safe_update(cid, {"salutation": "Prof.", "title": "Changed in Genesys"})
        self.say(
            f"agent: contact {hand_made['contact_key']}: salutation (not managed) -> 'Prof.', "
            "title (managed) -> 'Changed in Genesys'"
        )
        return hand_made

    async def sync(self, gc: AsyncClient, ledger: Ledger, source: CsvSource, **kw: Any) -> RunReport:
        from gcx.sync.engine import SyncEngine
        from gcx.sync.options import SyncOptions
        from gcx.sync.remote import Remote
        from gcx.sync.report import default_report_path

        dry_run = bool(kw.pop("dry_run", False))
        with self.out.progress("syncing") as bar:
            done = {"organization": 0, "contact": 0}

            def progress(kind: str, n: int) -> None:
                bar.set_description(f"{kind}s")
                bar.advance(n - done[kind])
                done[kind] = n

            engine = SyncEngine(
                ledger=ledger,
                source=source,
                remote=Remote(gc),
                region=REGION,
                options=SyncOptions(**kw),
                dry_run=dry_run,
                progress=progress,
            )
            report = await engine.run()
        if engine.exception is not None:
            raise engine.exception
        if report.status == "error":
            raise CliError(report.error or "the demo sync failed")
        report.write(default_report_path(self.ledger_url, report.run_id, command=report.command))
        return report

    def show(self, report: RunReport) -> None:
        from gcx.cli.sync_show import summary_lines

        for line in summary_lines(report):
            self.say("  " + line)

    def problems(self, report: RunReport) -> None:
        by_field = Counter(str(i.get("field") or "row") for i in report.invalid)
        self.say(
            "  dirty rows reported (and skipped; everything else synced): "
            + ", ".join(f"{n} {f}" for f, n in by_field.most_common())
        )
        for issue in report.invalid[:4]:
            where = f"line {issue['line']}"
            what = f"field {issue['field']}: " if issue.get("field") else ""
            self.say(f"    {where}: {what}{issue['reason']}")
        self.say(f"  full report: {report.report_path}")

    def prove(self, edited: dict[str, Any], first: RunReport, second: RunReport) -> None:
        state = self.emu.dump()
        keys: Counter[str] = Counter()
        for kind in ("organizations", "contacts"):
            for rec in state[kind]:
                values = {e.get("value") for e in rec.get("externalIds") or []}
                values |= {
                    i.get("value") for i in rec.get("identifiers") or [] if i.get("type") == "ExternalId"
                }
                keys.update(f"{kind}:{v}" for v in values if v)
        dups = [k for k, n in keys.items() if n > 1]
        contact = next(c for c in state["contacts"] if c["id"] == edited["contact_id"])
        org = next(o for o in state["organizations"] if o["id"] == edited["org_id"])
        self.say(
            f"{len(state['organizations'])} organizations and {len(state['contacts'])} contacts in Genesys; "
            f"duplicated ExternalIds: {len(dups)}"
        )
        self.say(
            f"hand-made contact {edited['contact_key']}: same id, salutation {contact.get('salutation')!r}, "
            f"Twitter id {contact.get('twitterId', {}).get('screenName')!r}, title {contact.get('title')!r} "
            "(managed: back to the CRM's value)"
        )
        self.say(f"hand-made account: same id, tags {org.get('tags')} kept")
        if dups:
            raise CliError(f"duplicates found: {', '.join(dups[:5])}")
        if contact.get("salutation") != "Prof." or org.get("tags") != ["vip"]:
            raise CliError("an unmanaged field was lost")


def demo_cmd(
    ctx: typer.Context,
    workdir: Annotated[
        Path | None,
        typer.Option("--workdir", help="Keep the ledger, extract and reports here (default: a temp dir)."),
    ] = None,
    contacts: Annotated[
        int, typer.Option("--contacts", min=10, max=100_000, help="Contacts in the extract.")
    ] = 2000,
    accounts: Annotated[
        int, typer.Option("--accounts", min=2, max=1000, help="Accounts in the extract.")
    ] = 30,
    rate_limit: Annotated[
        int,
        typer.Option("--demo-rate-limit", min=0, help="Requests per minute of the emulated org (0 = off)."),
    ] = 300,
) -> None:
    """Run the sync demo against the embedded emulator (no credentials, no network).

    Example: gcx demo
    """
    cli = get_cli(ctx)
    tmp: str | None = None
    if workdir is None:
        tmp = tempfile.mkdtemp(prefix="gcx-demo-")
        root = Path(tmp)
    else:
        root = workdir
        root.mkdir(parents=True, exist_ok=True)
        if (root / "gcx-ledger.sqlite").exists():
            raise CliError(
                f"{root} already holds a demo ledger: pick an empty --workdir (each demo starts afresh)"
            )
    try:
        asyncio.run(Demo(cli.out, root, contacts, accounts, rate_limit, keep=tmp is None).run())
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def register(root: typer.Typer) -> None:
    """Add ``gcx demo`` to the root app."""
    root.command("demo")(demo_cmd)
