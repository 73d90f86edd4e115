"""The service's TOML file: jobs, Genesys profiles, database, web. Pure: no I/O but reading it.

```toml
[service]
database_url_env = "GCX_DATABASE_URL"   # unset or empty: an embedded PostgreSQL in data_dir
data_dir = "gcx-service"

[profiles.prod]
region = "mypurecloud.ie"
client_id_env = "GC_CLIENT_ID"
client_secret_env = "GC_CLIENT_SECRET"

[jobs.crm]
profile = "prod"
schedule = "*/15 * * * *"
source = { type = "csv", path = "crm.csv", mapping = "crm_mapping.toml" }
options = { on_conflict = "source-wins", prune = true, prune_threshold = 0.1 }

[jobs.crm_push]
profile = "prod"
source = { type = "webhook", secret_env = "GCX_HOOK_SECRET" }
```

Secrets are never written in the file: a key that looks like one (``client_secret``,
``secret``, ``password``, a database URL with a password) is refused, naming where it is.
Every error names the table and the key. Relative paths are relative to the file.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from croniter import croniter

from gcx.config import resolve_region
from gcx.errors import ConfigError

if TYPE_CHECKING:
    from gcx.console.approvals import ApprovalPolicy

SourceType = Literal["csv", "jsonl", "sql", "webhook"]
SOURCE_TYPES: tuple[str, ...] = ("csv", "jsonl", "sql", "webhook")
JOB_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
APPROVAL_KEYS = ("approval", "approval_above", "approval_on_delete")
#: the longest a console session may be set to last, idle or in all ([web] session_*_minutes)
MAX_SESSION_MINUTES = 43_200  # 30 days
_SECRET_KEYS = {"client_secret", "secret", "password", "token", "access_token", "database_url"}


@dataclass(frozen=True)
class ProfileConfig:
    """How to reach one Genesys org. Credentials come from env vars (or a ``gcx config`` profile)."""

    name: str
    region: str | None = None
    client_id_env: str | None = None
    client_secret_env: str | None = None
    gcx_profile: str | None = None
    rate_limit: int = 300  # requests per minute for the whole fleet, per OAuth client


@dataclass(frozen=True)
class SourceConfig:
    type: SourceType
    path: Path | None = None
    mapping: Path | None = None
    url_env: str | None = None
    query: str | None = None
    secret_env: str | None = None  # webhook
    phone_country: str = "US"


@dataclass(frozen=True)
class JobOptions:
    on_conflict: Literal["source-wins", "report"] = "source-wins"
    prune: bool = False
    prune_threshold: float = 0.1
    trust_ledger: bool = False
    batch_size: int = 200
    external_source: str = "gcx"


@dataclass(frozen=True)
class JobConfig:
    name: str
    profile: ProfileConfig
    source: SourceConfig
    schedule: str | None = None
    options: JobOptions = field(default_factory=JobOptions)
    approval: ApprovalPolicy | None = None  # None: every run is applied at once

    @property
    def is_webhook(self) -> bool:
        return self.source.type == "webhook"


@dataclass(frozen=True)
class ServiceSettings:
    database_url_env: str = "GCX_DATABASE_URL"
    data_dir: Path = Path("gcx-service")
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = 1_048_576  # webhook bodies above this are refused with 413
    max_events_per_request: int = 1000
    signature_max_age: int = 300  # seconds a webhook timestamp stays acceptable (both ways)
    coalesce_seconds: float = 5.0  # a burst of webhook events is applied once it is this quiet...
    coalesce_max_seconds: float = 60.0  # ... or this old (its first event), whichever comes first
    max_batch_events: int = 50_000  # events one webhook run takes at most
    stalled_after: float = 30.0  # a worker silent this long is dead: its jobs are retried
    heartbeat_interval: float = 5.0
    concurrency: int = 4  # jobs one worker runs at once
    # finished runs (rows, report files) and decided plans older than this are removed; 0: kept
    keep_runs_days: int = 90
    keep_events_days: int = 30  # applied webhook events older than this are removed; 0: kept
    retention_schedule: str = "17 * * * *"  # when the removal runs (cron)
    # a console session ends after this many minutes without a request, and this many after login
    # ([web]; gcx.console.sessions IDLE_SECONDS and LIFETIME_SECONDS)
    session_idle_minutes: int = 60
    session_lifetime_minutes: int = 720

    @property
    def session_seconds(self) -> tuple[float, float]:
        """A console session's (idle, lifetime) in seconds."""
        return self.session_idle_minutes * 60.0, self.session_lifetime_minutes * 60.0


@dataclass(frozen=True)
class ServiceConfig:
    path: Path
    service: ServiceSettings
    profiles: dict[str, ProfileConfig]
    jobs: dict[str, JobConfig]

    def job(self, name: str) -> JobConfig:
        try:
            return self.jobs[name]
        except KeyError:
            raise ConfigError(f"no job named {name!r} in {self.path}") from None


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table, got {type(value).__name__}")
    return value


def _check_keys(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    for key in table:
        if key in _SECRET_KEYS:
            raise ConfigError(
                f"{where}.{key}: secrets are never written in the config file; "
                f"name an environment variable with {key}_env instead"
            )
        if key not in allowed:
            raise ConfigError(f"{where}: unknown key {key!r} (allowed: {', '.join(sorted(allowed))})")


def _str(table: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str | None:
    value = table.get(key, default)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}.{key} must be a non-empty string")
    return value.strip()


def _env(table: Mapping[str, Any], key: str, where: str) -> str | None:
    value = _str(table, key, where)
    if value is not None and not ENV_NAME.match(value):
        raise ConfigError(f"{where}.{key} must name an environment variable, got {value!r}")
    return value


def _num(table: Mapping[str, Any], key: str, where: str, default: float, lo: float, hi: float) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise ConfigError(f"{where}.{key} must be a number between {lo:g} and {hi:g}, got {value!r}")
    return float(value)


def _int(table: Mapping[str, Any], key: str, where: str, default: int, lo: int, hi: int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ConfigError(f"{where}.{key} must be a whole number between {lo} and {hi}, got {value!r}")
    return value


def _bool(table: Mapping[str, Any], key: str, where: str, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}.{key} must be true or false, got {value!r}")
    return value


def _path(base: Path, value: str | None) -> Path | None:
    if value is None:
        return None
    p = Path(value).expanduser()
    return p if p.is_absolute() else base / p


def _service(data: dict[str, Any], base: Path) -> ServiceSettings:
    s = _table(data.get("service", {}), "[service]")
    web = _table(data.get("web", {}), "[web]")
    _check_keys(
        s,
        {
            "database_url_env",
            "data_dir",
            "max_body_bytes",
            "max_events_per_request",
            "signature_max_age",
            "coalesce_seconds",
            "coalesce_max_seconds",
            "max_batch_events",
            "stalled_after",
            "heartbeat_interval",
            "concurrency",
            "keep_runs_days",
            "keep_events_days",
            "retention_schedule",
        },
        "[service]",
    )
    _check_keys(web, {"host", "port", "session_idle_minutes", "session_lifetime_minutes"}, "[web]")
    d = ServiceSettings()
    idle, lifetime = _session_minutes(web, d)
    heartbeat = _num(s, "heartbeat_interval", "[service]", d.heartbeat_interval, 0.5, 300)
    stalled = _num(s, "stalled_after", "[service]", d.stalled_after, 2, 3600)
    if stalled <= 2 * heartbeat:
        raise ConfigError("[service].stalled_after must be more than twice heartbeat_interval")
    retention = _str(s, "retention_schedule", "[service]", d.retention_schedule) or d.retention_schedule
    if not croniter.is_valid(retention):
        raise ConfigError(
            f"[service].retention_schedule: {retention!r} is not a cron expression (e.g. '17 * * * *')"
        )
    return ServiceSettings(
        database_url_env=_env(s, "database_url_env", "[service]") or d.database_url_env,
        data_dir=_path(base, _str(s, "data_dir", "[service]", str(d.data_dir))) or d.data_dir,
        host=_str(web, "host", "[web]", d.host) or d.host,
        port=_int(web, "port", "[web]", d.port, 0, 65535),
        max_body_bytes=_int(s, "max_body_bytes", "[service]", d.max_body_bytes, 1024, 64 * 1024 * 1024),
        max_events_per_request=_int(
            s, "max_events_per_request", "[service]", d.max_events_per_request, 1, 100_000
        ),
        signature_max_age=_int(s, "signature_max_age", "[service]", d.signature_max_age, 10, 86_400),
        coalesce_seconds=_num(s, "coalesce_seconds", "[service]", d.coalesce_seconds, 0, 3600),
        coalesce_max_seconds=_num(s, "coalesce_max_seconds", "[service]", d.coalesce_max_seconds, 0, 86_400),
        max_batch_events=_int(s, "max_batch_events", "[service]", d.max_batch_events, 1, 1_000_000),
        stalled_after=stalled,
        heartbeat_interval=heartbeat,
        concurrency=_int(s, "concurrency", "[service]", d.concurrency, 1, 64),
        keep_runs_days=_int(s, "keep_runs_days", "[service]", d.keep_runs_days, 0, 36_500),
        keep_events_days=_int(s, "keep_events_days", "[service]", d.keep_events_days, 0, 36_500),
        retention_schedule=retention,
        session_idle_minutes=idle,
        session_lifetime_minutes=lifetime,
    )


def _session_minutes(web: Mapping[str, Any], d: ServiceSettings) -> tuple[int, int]:
    """``[web] session_idle_minutes`` and ``session_lifetime_minutes``. Without an idle time, the
    default hour, or the lifetime when that is shorter; an idle time longer than the lifetime
    (it would never apply: a mistaken unit?) is refused."""
    top = MAX_SESSION_MINUTES
    lifetime = _int(web, "session_lifetime_minutes", "[web]", d.session_lifetime_minutes, 1, top)
    idle = _int(web, "session_idle_minutes", "[web]", min(d.session_idle_minutes, lifetime), 1, top)
    if idle > lifetime:
        raise ConfigError(
            f"[web].session_idle_minutes ({idle}) must not be more than session_lifetime_minutes "
            f"({lifetime}): a session ends at its lifetime anyway"
        )
    return idle, lifetime


def _profile(name: str, table: Any) -> ProfileConfig:
    where = f"[profiles.{name}]"
    t = _table(table, where)
    _check_keys(t, {"region", "client_id_env", "client_secret_env", "gcx_profile", "rate_limit"}, where)
    region = _str(t, "region", where)
    if region is not None:
        try:
            resolve_region(region)
        except ConfigError as exc:
            raise ConfigError(f"{where}.region: {exc}") from None
    gcx_profile = _str(t, "gcx_profile", where)
    id_env, secret_env = _env(t, "client_id_env", where), _env(t, "client_secret_env", where)
    if gcx_profile is None and (region is None or id_env is None or secret_env is None):
        raise ConfigError(f"{where}: give region, client_id_env and client_secret_env, or gcx_profile")
    return ProfileConfig(
        name=name,
        region=region,
        client_id_env=id_env,
        client_secret_env=secret_env,
        gcx_profile=gcx_profile,
        rate_limit=_int(t, "rate_limit", where, 300, 0, 1_000_000),
    )


def _source(table: Any, where: str, base: Path) -> SourceConfig:
    t = _table(table, where)
    kind = t.get("type")
    if kind not in SOURCE_TYPES:
        raise ConfigError(f"{where}.type must be one of {', '.join(SOURCE_TYPES)}, got {kind!r}")
    allowed = {
        "csv": {"path", "mapping"},
        "jsonl": {"path"},
        "sql": {"url_env", "query", "mapping"},
        "webhook": {"secret_env"},
    }[kind] | {"type", "phone_country"}
    _check_keys(t, allowed, where)
    required = {"csv": ("path", "mapping"), "jsonl": ("path",), "sql": ("url_env", "query", "mapping")}
    for key in required.get(kind, ("secret_env",)):
        if t.get(key) is None:
            raise ConfigError(f"{where}: a {kind} source needs {key}")
    country = _str(t, "phone_country", where, "US") or "US"
    if not re.fullmatch(r"[A-Za-z]{2}", country):
        raise ConfigError(f"{where}.phone_country must be a two-letter country code, got {country!r}")
    return SourceConfig(
        type=kind,
        path=_path(base, _str(t, "path", where)),
        mapping=_path(base, _str(t, "mapping", where)),
        url_env=_env(t, "url_env", where),
        query=_str(t, "query", where),
        secret_env=_env(t, "secret_env", where),
        phone_country=country.upper(),
    )


def _options(table: Any, where: str) -> JobOptions:
    t = _table(table, where)
    keys = {"on_conflict", "prune", "prune_threshold", "trust_ledger", "batch_size", "external_source"}
    _check_keys(t, keys, where)
    d = JobOptions()
    conflict = t.get("on_conflict", d.on_conflict)
    if conflict not in ("source-wins", "report"):
        raise ConfigError(f"{where}.on_conflict must be 'source-wins' or 'report', got {conflict!r}")
    return JobOptions(
        on_conflict=conflict,
        prune=_bool(t, "prune", where, d.prune),
        prune_threshold=_num(t, "prune_threshold", where, d.prune_threshold, 0, 1),
        trust_ledger=_bool(t, "trust_ledger", where, d.trust_ledger),
        batch_size=_int(t, "batch_size", where, d.batch_size, 1, 200),
        external_source=_str(t, "external_source", where, d.external_source) or d.external_source,
    )


def _job(name: str, table: Any, profiles: dict[str, ProfileConfig], base: Path) -> JobConfig:
    where = f"[jobs.{name}]"
    if not JOB_NAME.match(name):
        raise ConfigError(f"{where}: a job name is a lowercase letter then letters, digits or _ (max 40)")
    t = _table(table, where)
    _check_keys(t, {"profile", "source", "schedule", "options", *APPROVAL_KEYS}, where)
    prof_name = _str(t, "profile", where)
    if prof_name is None:
        raise ConfigError(f"{where}.profile is required (a [profiles.NAME] table)")
    if prof_name not in profiles:
        raise ConfigError(f"{where}.profile: no [profiles.{prof_name}] table")
    if "source" not in t:
        raise ConfigError(f"{where}.source is required")
    source = _source(t["source"], f"{where}.source", base)
    schedule = _str(t, "schedule", where)
    if schedule is not None and not croniter.is_valid(schedule):
        raise ConfigError(f"{where}.schedule: {schedule!r} is not a cron expression (e.g. '*/15 * * * *')")
    if schedule is None and source.type != "webhook":
        raise ConfigError(f"{where}: a {source.type} job needs a schedule (cron expression)")
    return JobConfig(
        name=name,
        profile=profiles[prof_name],
        source=source,
        schedule=schedule,
        options=_options(t.get("options", {}), f"{where}.options"),
        approval=_approval(name, t, source.type),
    )


def _approval(name: str, table: Mapping[str, Any], kind: str) -> ApprovalPolicy | None:
    """The job's approval policy (``gcx.console.approvals.ApprovalPolicy`` parses it), or None."""
    given = [k for k in APPROVAL_KEYS if k in table]
    if not given:
        return None
    where = f"[jobs.{name}].{given[0]}"
    if kind == "webhook":
        raise ConfigError(
            f"{where}: a webhook job cannot wait for approval (its events are applied as they come)"
        )
    try:
        from gcx.console.approvals import ApprovalPolicy
    except ImportError as exc:
        raise ConfigError(f"{where}: approval needs the web console ({exc})") from None
    try:
        policy = ApprovalPolicy.from_config(dict(table), job=name)
    except ConfigError as exc:  # "job NAME: KEY must be ...": said as the service's other errors
        raise ConfigError(f"[jobs.{name}].{str(exc).removeprefix(f'job {name}: ')}") from None
    return policy if policy.active else None


def parse_config(data: dict[str, Any], path: Path) -> ServiceConfig:
    """Validate a parsed TOML document; raise :class:`ConfigError` naming the table and key."""
    _check_keys(data, {"service", "web", "profiles", "jobs"}, str(path))
    base = path.parent
    service = _service(data, base)
    profiles = {n: _profile(n, t) for n, t in _table(data.get("profiles", {}), "[profiles]").items()}
    jobs_t = _table(data.get("jobs", {}), "[jobs]")
    if not jobs_t:
        raise ConfigError(f"{path}: no job: add a [jobs.NAME] table")
    jobs = {n: _job(n, t, profiles, base) for n, t in jobs_t.items()}
    return ServiceConfig(path=path, service=service, profiles=profiles, jobs=jobs)


def load_config(path: str | Path) -> ServiceConfig:
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {p} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {p}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p} is not valid TOML: {exc}") from None
    return parse_config(data, p)


def missing_env(cfg: ServiceConfig, env: Mapping[str, str] | None = None) -> list[str]:
    """Environment variables the config names that are not set here (one line each)."""
    env = os.environ if env is None else env
    out: list[str] = []
    for job in cfg.jobs.values():
        names = [
            (job.profile.client_id_env, f"profile {job.profile.name}: client id"),
            (job.profile.client_secret_env, f"profile {job.profile.name}: client secret"),
            (job.source.secret_env, f"job {job.name}: webhook secret"),
            (job.source.url_env, f"job {job.name}: SQL source URL"),
        ]
        for name, what in names:
            if name and not env.get(name):
                line = f"{name} is not set ({what})"
                if line not in out:
                    out.append(line)
    return out
