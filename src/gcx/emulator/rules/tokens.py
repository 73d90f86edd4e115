"""``POST /oauth/token`` and bearer-token checks, plus ``GET /organizations/me``."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from gcx.emulator.errors import EmulatorError
from gcx.emulator.rules.state import State


@dataclass
class Token:
    client_id: str
    expires_at: float


class Tokens:
    """Tokens issued to accepted client credentials, with expiry and revocation."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.tokens: dict[str, Token] = {}
        self.revoked: set[str] = set()

    def issue_token(self, client_id: str, client_secret: str) -> dict[str, Any]:
        """``POST /oauth/token``: a bearer token for accepted credentials."""
        st = self.state
        with st.lock:
            allowed = st.settings.credentials
            given = (
                client_id.encode("utf-8", "surrogateescape"),
                client_secret.encode("utf-8", "surrogateescape"),
            )
            if allowed and not any(
                secrets.compare_digest(given[0], cid.encode("utf-8", "surrogateescape"))
                and secrets.compare_digest(given[1], sec.encode("utf-8", "surrogateescape"))
                for cid, sec in allowed
            ):
                raise EmulatorError(401, "invalid_client", "client credentials are not valid")
            token = secrets.token_urlsafe(32)
            ttl = st.settings.token_ttl
            self.tokens[token] = Token(client_id=client_id, expires_at=st.clock() + ttl)
            st.stats.tokens_issued += 1
            if len(self.tokens) > 50_000:
                now = st.clock()
                for key in [k for k, t in self.tokens.items() if t.expires_at <= now]:
                    del self.tokens[key]
            return {"access_token": token, "token_type": "bearer", "expires_in": ttl}

    def check_token(self, token: str | None) -> Token:
        """The token's owner, or a 401 ErrorBody (missing, unknown, expired, revoked)."""
        with self.state.lock:
            if not token:
                raise EmulatorError(
                    401, "authentication.required", "No authentication bearer token specified in header."
                )
            info = self.tokens.get(token)
            if info is None:
                if token in self.revoked:
                    raise EmulatorError(401, "bad.credentials", "Invalid login credentials: token revoked.")
                raise EmulatorError(401, "bad.credentials", "Invalid login credentials.")
            if self.state.clock() >= info.expires_at:
                del self.tokens[token]
                raise EmulatorError(401, "bad.credentials", "Invalid login credentials: token expired.")
            return info

    def revoke_tokens(self, token: str | None = None) -> int:
        """Revoke one token, or every token when ``token`` is None. Returns how many."""
        with self.state.lock:
            if token is not None:
                if self.tokens.pop(token, None) is None:
                    return 0
                self.revoked.add(token)
                return 1
            count = len(self.tokens)
            self.revoked.update(self.tokens)
            self.tokens.clear()
            return count

    def me(self) -> dict[str, Any]:
        """``GET /api/v2/organizations/me``: the emulated org."""
        s = self.state.settings
        return {
            "id": s.org_id,
            "name": s.org_name,
            "defaultLanguage": "en",
            "defaultCountryCode": "US",
            "thirdPartyOrgName": re.sub(r"[^a-z0-9]+", "", s.org_name.lower()) or "gcxemulator",
            "domain": "gcx-emulator.local",
            "version": 1,
            "state": "active",
            "voicemailEnabled": False,
            "productPlatform": "GenesysCloud",
            "features": {},
            "selfUri": f"/api/v2/organizations/{s.org_id}",
        }
