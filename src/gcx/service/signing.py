"""Webhook signatures: HMAC-SHA256 over ``timestamp + "." + body`` with the job's secret. Pure.

A sender sends two headers::

    X-Gcx-Timestamp: 1767225600                     (Unix seconds, when it signed)
    X-Gcx-Signature: sha256=<hex HMAC-SHA256(secret, b"1767225600." + body)>

The timestamp is part of what is signed, so a captured request cannot be replayed once it is
older than the allowed age (and an event id already received is ignored anyway).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

TIMESTAMP_HEADER = "x-gcx-timestamp"
SIGNATURE_HEADER = "x-gcx-signature"
PREFIX = "sha256="


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The ``X-Gcx-Signature`` value for ``body`` signed at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return PREFIX + mac.hexdigest()


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str = ""


def check_timestamp(value: str | None, *, now: float, max_age: float) -> Verdict:
    """Is the timestamp header present, a whole number, and within ``max_age`` of ``now``?"""
    if not value:
        return Verdict(False, f"missing {TIMESTAMP_HEADER} header")
    if not value.strip().isdigit():
        return Verdict(False, f"{TIMESTAMP_HEADER} must be Unix seconds")
    if abs(now - int(value)) > max_age:
        return Verdict(False, f"stale timestamp (more than {max_age:g} s from the server's clock)")
    return Verdict(True)


def verify(secret: str, timestamp: str, body: bytes, signature: str | None) -> Verdict:
    """Constant-time comparison of the signature header with the expected one."""
    if not signature:
        return Verdict(False, f"missing {SIGNATURE_HEADER} header")
    expected = sign(secret, timestamp.strip(), body)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        return Verdict(False, "bad signature")
    return Verdict(True)
