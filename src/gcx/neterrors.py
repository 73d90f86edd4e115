"""What a network failure means, in words: "connection refused", "the host name does not resolve".

httpx names the failure (``ConnectError``) but the reason sits in the exception's text or in
the OS error it wraps; a user needs the reason, and the host it concerns, to fix a region or a
proxy. Pure: reads the exception chain, never the network.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator

from gcx import redact


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


_TEXT_REASONS = (
    ("name or service not known", "the host name does not resolve"),
    ("nodename nor servname", "the host name does not resolve"),
    ("temporary failure in name resolution", "the host name does not resolve (no DNS answer)"),
    ("getaddrinfo failed", "the host name does not resolve"),
    ("connection refused", "connection refused (nothing listens there)"),
    ("network is unreachable", "the network is unreachable"),
    ("no route to host", "no route to the host"),
    ("certificate verify failed", "its TLS certificate is not trusted"),
    ("all connection attempts failed", "could not connect (refused or unreachable)"),
)

_CLASS_REASONS = {
    "ConnectTimeout": "timed out while connecting",
    "ReadTimeout": "timed out waiting for the answer",
    "WriteTimeout": "timed out while sending the request",
    "PoolTimeout": "timed out waiting for a free connection",
    "RemoteProtocolError": "the server closed the connection without an answer",
    "ProxyError": "the proxy refused the connection",
}


def network_reason(exc: BaseException) -> str:
    """A short reason for a failed request: ``connection refused (nothing listens there)``."""
    for error in _chain(exc):
        if isinstance(error, socket.gaierror):
            return "the host name does not resolve"
        if isinstance(error, ConnectionRefusedError):
            return "connection refused (nothing listens there)"
        if isinstance(error, ssl.SSLCertVerificationError):
            return "its TLS certificate is not trusted"
        text = str(error).lower()
        for needle, reason in _TEXT_REASONS:
            if needle in text:
                return reason
    for error in _chain(exc):
        by_class = _CLASS_REASONS.get(type(error).__name__)
        if by_class:
            return by_class
    text = redact.scrub(str(exc)).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
