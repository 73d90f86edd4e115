"""Log lines as JSON, one object per line, every secret gcx knows of masked (:mod:`gcx.redact`)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from gcx import redact

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "msg", ...extra fields}``; tracebacks in ``exc``."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value if isinstance(value, str | int | float | bool | type(None)) else str(value)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return redact.scrub(json.dumps(out, ensure_ascii=False, default=str))


def setup(level: int = logging.INFO, stream: TextIO | None = None) -> logging.Handler:
    """Send every logger's records to ``stream`` (stderr) as JSON lines; idempotent."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_gcx_json", False):
            root.removeHandler(h)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler._gcx_json = True  # type: ignore[attr-defined]
    redact.install(handler)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    logging.getLogger("procrastinate").setLevel(max(level, logging.WARNING))
    return handler
