"""Keep secrets out of everything gcx prints, logs or raises.

Two layers:

* a process-wide registry of live secrets (client secrets, bearer tokens): every
  :class:`~gcx.auth.ClientCredentialsAuth` registers its secret and each token it
  obtains, and :func:`scrub` replaces them wherever they appear;
* patterns for credentials gcx does not know about (``Authorization: Bearer ...``,
  ``Basic ...``, ``access_token=...``, ``"client_secret": "..."``, the password of a URL:
  ``http://user:***@host``, see :func:`redact_url`).

:class:`RedactingFilter` applies :func:`scrub` to log records (message, arguments and
formatted tracebacks). It is attached to the ``gcx`` loggers (``gcx.http``,
``gcx.auth``) on import; attach it to your own handlers with :func:`install` to cover
records from other libraries (httpx, httpcore) too.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
import weakref
from collections.abc import Iterable

MASK = "***"

_lock = threading.Lock()
_secrets: set[str] = set()

#: Shortest string registered as a secret: masking short words would garble output (real
#: client secrets and tokens are dozens of characters).
_MIN_SECRET_LEN = 8

#: ``scheme://user:password@``: the password runs to the last ``@`` of the authority.
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^/?#\s:@]*):[^/?#\s]*@")

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (_URL_PASSWORD, rf"\1:{MASK}@"),
    # Authorization headers in any rendering.
    (re.compile(r"(?i)\b(bearer|basic)(\s+|%20)[A-Za-z0-9._~+/=\-]{4,}"), rf"\1\2{MASK}"),
    # key=value, key: value and "key": "value" forms of credential fields.
    (
        re.compile(
            r"(?i)([\"']?(?:access_token|refresh_token|client_secret|password|authorization)[\"']?"
            r"\s*[:=]\s*[\"']?)((?:(?:bearer|basic)\s+)?[^\"'\s,&}]{1,})"
        ),
        rf"\1{MASK}",
    ),
)


def redact_url(text: str) -> str:
    """``text`` with the password of every URL in it masked (``http://user:***@host``): region
    URLs, ledger and SQL source URLs, wherever they are shown or stored for display."""
    return _URL_PASSWORD.sub(rf"\1:{MASK}@", text) if "@" in text else text


def register_secret(secret: str | None) -> None:
    """Remember a secret so that :func:`scrub` masks it from now on."""
    if secret and len(secret) >= _MIN_SECRET_LEN:
        with _lock:
            _secrets.add(secret)


def forget_secret(secret: str | None) -> None:
    """Stop masking a secret (e.g. an expired token). Unknown secrets are ignored."""
    if secret:
        with _lock:
            _secrets.discard(secret)


def scrub(text: str, extra: Iterable[str] = ()) -> str:
    """``text`` with every registered secret, every ``extra`` string and every credential-looking
    pattern replaced by ``***``."""
    if not text:
        return text
    with _lock:
        known = list(_secrets)
    known.extend(s for s in extra if s and len(s) >= 4)
    # Longest first so that a secret containing another is masked whole.
    for secret in sorted(known, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that scrubs the message, its arguments and any traceback.

    The record is rewritten in place (``msg`` becomes the scrubbed, fully formatted
    message and ``args`` is emptied), so every handler downstream sees clean text.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not hide the record
            message = str(record.msg)
        record.msg = scrub(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            text = "".join(traceback.format_exception(*record.exc_info))
            record.exc_text = scrub(text.rstrip("\n"))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


_installed: weakref.WeakSet[logging.Filterer] = weakref.WeakSet()


def install(target: logging.Logger | logging.Handler | None = None) -> RedactingFilter:
    """Attach a :class:`RedactingFilter` to a logger or handler (default: the ``gcx`` loggers).

    Filters on a logger apply only to records logged on that very logger, so gcx attaches
    one to each of its own loggers; attach one to a *handler* to cover everything it emits.
    Idempotent.
    """
    targets: list[logging.Filterer] = (
        [logging.getLogger(n) for n in ("gcx", "gcx.http", "gcx.auth")] if target is None else [target]
    )
    flt = RedactingFilter()
    for t in targets:
        if t in _installed:
            continue
        t.addFilter(flt)
        _installed.add(t)
    return flt


install()
