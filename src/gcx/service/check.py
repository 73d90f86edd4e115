"""``gcx serve check``: everything that can be checked without touching Genesys or the database."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass, field

from gcx.errors import ConfigError
from gcx.service.config import ServiceConfig, missing_env


@dataclass
class CheckResult:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    jobs: list[dict[str, str]] = field(default_factory=list)


def check_config(cfg: ServiceConfig, env: Mapping[str, str] | None = None) -> CheckResult:
    """Source files exist, mappings load, and which environment variables are not set here."""
    from gcx.sync.mapping import load_mapping

    res = CheckResult(warnings=missing_env(cfg, env))
    for job in cfg.jobs.values():
        src = job.source
        if src.path is not None and not src.path.exists():
            res.errors.append(f"job {job.name}: source file {src.path} does not exist")
        if src.mapping is not None:
            try:
                mapping = load_mapping(src.mapping)
            except ConfigError as exc:
                res.errors.append(f"job {job.name}: {exc}")
            else:
                if src.type == "csv" and src.path is not None and src.path.exists():
                    try:
                        with src.path.open(encoding=mapping.source.encoding, newline="") as fh:
                            header = fh.readline().lstrip("\ufeff").rstrip("\r\n")
                        cols = next(csv.reader([header], delimiter=mapping.source.delimiter), [])
                        mapping.check_columns(cols, str(src.path))
                    except (ConfigError, OSError, UnicodeDecodeError) as exc:
                        res.errors.append(f"job {job.name}: {exc}")
        res.jobs.append(
            {
                "job": job.name,
                "source": src.type,
                "schedule": job.schedule or "(webhooks)",
                "profile": job.profile.name,
                "region": job.profile.region or f"(gcx profile {job.profile.gcx_profile})",
            }
        )
    return res
