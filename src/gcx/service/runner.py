"""The one seam between the service and :mod:`gcx.sync`: run a job once, or apply webhook records.

Everything the service knows about the sync engine is here: how a job's config becomes a
source, a ledger (in the service database, tables prefixed ``gcx_<job>_``), sync options and
an :class:`~gcx.client.AsyncClient` whose token and rate budget are the fleet's
(:mod:`gcx.service.limits`). A stop request (SIGTERM) is honoured between batches: the batch
in flight is written and recorded, then the run ends as ``interrupted`` and the next worker
resumes it from the ledger.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from gcx.client import AsyncClient
from gcx.config import Settings
from gcx.errors import ConfigError
from gcx.service.config import JobConfig, ProfileConfig
from gcx.service.database import ledger_url
from gcx.service.limits import SharedPacer, SharedTokenCache, client_key
from gcx.sync.engine import SyncEngine
from gcx.sync.fields import KINDS, Kind
from gcx.sync.ledger import Ledger
from gcx.sync.options import SyncOptions
from gcx.sync.records import record_from_json
from gcx.sync.remote import Remote
from gcx.sync.report import RunReport
from gcx.sync.runfiles import failure, keep_failed_run, keep_run_files, ops_writer
from gcx.sync.source import Item, Source, open_source

log = logging.getLogger("gcx.service")


def ledger_prefix(job: str) -> str:
    return f"gcx_{job}_"


def job_reports_dir(data_dir: Path, job: str) -> Path:
    """Where a job's run files (:mod:`gcx.sync.runfiles`) and plans live: the console reads them."""
    return data_dir / "reports" / job


def settings_for(profile: ProfileConfig, env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    if profile.gcx_profile is not None and profile.client_id_env is None:
        return Settings.resolve(profile=profile.gcx_profile, region=profile.region, env=env)
    assert profile.client_id_env and profile.client_secret_env
    cid, secret = env.get(profile.client_id_env), env.get(profile.client_secret_env)
    if not cid or not secret:
        missing = [n for n, v in ((profile.client_id_env, cid), (profile.client_secret_env, secret)) if not v]
        raise ConfigError(f"profile {profile.name}: environment variable(s) {', '.join(missing)} not set")
    return Settings.resolve(region=profile.region, client_id=cid, client_secret=secret, env={})


@dataclass
class Fleet:
    """Per-process: the database URL, one shared token cache and pacer per OAuth client, and the
    service's data directory (each run keeps its run files under it; None: no run files)."""

    url: str
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    transport: Callable[[ProfileConfig], httpx.AsyncBaseTransport | None] | None = None
    data_dir: Path | None = None
    _caches: dict[str, SharedTokenCache] = field(default_factory=dict)
    _pacers: dict[str, SharedPacer] = field(default_factory=dict)

    def client(self, profile: ProfileConfig) -> AsyncClient:
        settings = settings_for(profile, self.env)
        key = client_key(settings.region.name, settings.client_id or "")
        if key not in self._caches:
            self._caches[key] = SharedTokenCache(self.url, key)
            self._pacers[key] = SharedPacer(self.url, key, profile.rate_limit)
        return AsyncClient(
            settings=settings,
            token_cache=self._caches[key],
            limiter=self._pacers[key],
            transport=self.transport(profile) if self.transport else None,
        )

    def close(self) -> None:
        for cache in self._caches.values():
            cache.close()
        for pacer in self._pacers.values():
            pacer.close()


@dataclass
class EventSource:
    """Coalesced webhook records, validated again (they were checked at intake)."""

    records: Sequence[dict[str, Any]]
    phone_country: str = "US"
    name: str = "webhook"

    @property
    def description(self) -> str:
        return f"{self.name} ({len(self.records)} records)"

    def items(self, kinds: Collection[Kind] = KINDS) -> Iterator[Item]:
        for i, raw in enumerate(self.records):
            if raw.get("kind") not in kinds:
                continue
            built = record_from_json(raw, line=i + 1, phone_country=self.phone_country)
            yield from built.issues
            if built.record is not None:
                yield built.record


def source_for(job: JobConfig, env: Mapping[str, str]) -> Source:
    from gcx.sync.mapping import load_mapping

    src = job.source
    if src.type == "sql":
        assert src.url_env and src.mapping
        url = env.get(src.url_env)
        if not url:
            raise ConfigError(f"job {job.name}: environment variable {src.url_env} (SQL source URL) not set")
        return open_source(None, load_mapping(src.mapping), sql_url=url, query=src.query)
    if src.type == "webhook":
        raise ConfigError(f"job {job.name} is fed by webhooks: it has no scheduled source")
    mapping = load_mapping(src.mapping) if src.mapping else None
    return open_source(src.path, mapping, phone_country=src.phone_country)


def sync_options(job: JobConfig) -> SyncOptions:
    o = job.options
    return SyncOptions(
        prune=o.prune and not job.is_webhook,  # a webhook batch is not the whole source
        force=False,
        prune_threshold=o.prune_threshold,
        on_conflict=o.on_conflict,
        trust_ledger=o.trust_ledger,
        batch_size=o.batch_size,
        external_source=o.external_source,
    )


async def run_sync(
    job: JobConfig,
    fleet: Fleet,
    *,
    records: Sequence[dict[str, Any]] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    on_failure: Callable[[RunReport], None] | None = None,
) -> RunReport:
    """One run of ``job`` (its own source, or ``records`` from webhooks). Never raises for a
    failed run: the report's status says it (``error``; ``interrupted`` when ``should_stop``
    turned true: the batches in flight were written and recorded, no other was started). What
    raises (a bug, the database lost, a cancellation) is raised again once the run's ops so far
    are kept (:func:`~gcx.sync.runfiles.keep_failed_run`); ``on_failure`` is then given the
    report so far of a run that had its ledger id (its ``error`` says what stopped it)."""
    source: Source = (
        EventSource(records, job.source.phone_country) if records is not None else source_for(job, fleet.env)
    )

    options = sync_options(job)
    writer = (
        ops_writer(job_reports_dir(fleet.data_dir, job.name), source.description, options.to_json())
        if fleet.data_dir is not None
        else None
    )
    engine: SyncEngine | None = None
    try:
        with Ledger(ledger_url(fleet.url), prefix=ledger_prefix(job.name)) as ledger:
            async with fleet.client(job.profile) as gc:
                engine = SyncEngine(
                    ledger=ledger,
                    source=source,
                    remote=Remote(gc),
                    region=gc.settings.region.name,
                    options=options,
                    should_stop=should_stop,
                    on_op=writer.op if writer is not None else None,
                )
                report = await engine.run()
    except BaseException as exc:
        # what was decided (and maybe written) before the failure is kept, marked incomplete
        so_far = engine.report if engine is not None else None
        if so_far is not None:
            so_far.error = so_far.error or failure(exc)
        if writer is not None:
            try:
                keep_failed_run(writer, so_far, exc)
            except Exception as err:  # the run's own error is the one to raise
                log.error("run files not kept", extra={"job": job.name, "error": failure(err)})
        if so_far is not None and so_far.run_id is not None and on_failure is not None:
            on_failure(so_far)
        raise
    if writer is not None:
        # the run page shows each field's value just before the run -> the value written
        writer.close(report)
        keep_run_files(writer.path.parent, report, writer.path)
    return report


def report_summary(report: RunReport) -> dict[str, Any]:
    """The report as stored for the service (everything but the per-row lists past 1,000)."""
    data = report.to_json()
    for key in ("invalid", "failures", "conflicts"):
        if len(data[key]) > 1000:
            data[key + "Truncated"] = len(data[key])
            data[key] = data[key][:1000]
    return data
