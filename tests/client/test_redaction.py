"""Secrets never show: logs at DEBUG (gcx, httpx, httpcore), exceptions, reprs, tracebacks."""

from __future__ import annotations

import base64
import io
import logging
import traceback
from collections.abc import Iterator

import httpx
import pytest

from gcx import AsyncClient, Client, redact
from gcx.errors import AuthError, GcxError, OutcomeUnknownError
from tests.client.conftest import BASE, CREDS, FakeApi
from tests.conftest import CANARY_CLIENT_ID, CANARY_SECRET

BASIC = base64.b64encode(f"{CANARY_CLIENT_ID}:{CANARY_SECRET}".encode()).decode()


@pytest.fixture
def clean_registry() -> Iterator[None]:
    """Exact-output tests run without the secrets other tests registered."""
    saved = set(redact._secrets)
    redact._secrets.clear()
    yield
    redact._secrets.update(saved)


@pytest.mark.usefixtures("clean_registry")
def test_scrub_patterns() -> None:
    assert redact.scrub("Authorization: Bearer abc.def-123") == "Authorization: ***"
    assert (
        redact.scrub("headers={'authorization': 'Bearer abc.def-123'}") == "headers={'authorization': '***'}"
    )
    assert redact.scrub("token Bearer abcdefgh") == "token Bearer ***"
    assert redact.scrub('{"access_token": "zzz-token-1"}') == '{"access_token": "***"}'
    assert redact.scrub("client_secret=hunter22&x=1") == "client_secret=***&x=1"
    assert redact.scrub("nothing here", extra=["here"]) == "nothing ***"


@pytest.mark.usefixtures("clean_registry")
def test_registered_secret_is_masked_everywhere() -> None:
    redact.register_secret("short")
    assert redact.scrub("short") == "short"  # too short to be a real secret: not registered
    redact.register_secret("reg-secret-0042")
    assert redact.scrub("x reg-secret-0042 y") == "x *** y"
    redact.forget_secret("reg-secret-0042")
    assert "reg-secret-0042" in redact.scrub("x reg-secret-0042 y")


@pytest.mark.usefixtures("clean_registry")
def test_filter_scrubs_args_and_tracebacks() -> None:
    redact.register_secret(CANARY_SECRET)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    redact.install(handler)
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("secret is %s", CANARY_SECRET)
        try:
            raise ValueError(f"failed with {CANARY_SECRET}")
        except ValueError:
            logger.exception("oops")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    out = stream.getvalue()
    assert "secret is ***" in out and "ValueError: failed with ***" in out
    assert CANARY_SECRET not in out


async def test_canary_never_appears(api: FakeApi, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # root: gcx, httpx, httpcore, everything
    seen: list[str] = []
    errors: list[BaseException] = []

    @api.route("POST", "/api/v2/externalcontacts/contacts")
    def create(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out")

    @api.route("GET", "/api/v2/externalcontacts/contacts/c1")
    def get(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            400, json={"message": f"echo {request.headers['authorization']}", "status": 400}
        )

    async with AsyncClient(BASE, **CREDS, transport=api.transport(), rate_limit=0) as gc:
        seen += [repr(gc), repr(gc.auth), str(gc.auth), repr(gc.settings), repr(gc.auth.cache)]  # type: ignore[attr-defined]
        await gc.me()
        api.valid_tokens.clear()  # 401 -> renewal -> replay
        await gc.me()
        for call in (gc.contacts.create({"firstName": "x"}), gc.contacts.get("c1")):
            try:
                await call
            except GcxError as exc:
                errors.append(exc)
        api.token_responses = [
            httpx.Response(
                401, json={"error": "invalid_client", "error_description": f"bad secret {CANARY_SECRET}"}
            )
        ]
        gc.auth.cache.invalidate()  # type: ignore[attr-defined]
        try:
            await gc.me()
        except AuthError as exc:
            errors.append(exc)
        seen.append(repr(gc.stats))
    assert [type(e).__name__ for e in errors] == ["OutcomeUnknownError", "BadRequestError", "AuthError"]
    assert isinstance(errors[0], OutcomeUnknownError)
    for exc in errors:
        seen += [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
        seen.append(repr(getattr(exc, "body", "")))
    handler_text = "\n".join(caplog.text.splitlines())
    seen.append(handler_text)
    seen += [r.getMessage() for r in caplog.records]
    tokens = [f"tok-{n}-{'x' * 12}" for n in range(1, api.tokens_issued + 1)]
    assert api.tokens_issued == 2
    blob = "\n".join(seen)
    assert "echo Bearer ***" in blob  # the server echoed the bearer token: masked
    for forbidden in (CANARY_SECRET, BASIC, *tokens):
        assert forbidden not in blob, forbidden


def test_canary_through_the_sync_facade(api: FakeApi, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with Client(BASE, **CREDS, transport=api.transport(), rate_limit=0) as gc:
        gc.me()
        text = repr(gc) + repr(gc.auth) + repr(gc.settings)
    assert CANARY_SECRET not in text + caplog.text
    assert "tok-1-" not in text + caplog.text


async def test_canary_over_loopback_with_the_emulator(caplog: pytest.LogCaptureFixture) -> None:
    from gcx.emulator import Emulator, EmulatorSettings

    caplog.set_level(logging.DEBUG)  # gcx, httpx, httpcore, uvicorn, the emulator: everything
    emu = Emulator(EmulatorSettings(rate_limit=0, credentials=((CANARY_CLIENT_ID, CANARY_SECRET),)))
    texts: list[str] = []
    with emu.serve() as url:
        async with AsyncClient(url, **CREDS, rate_limit=0) as gc:
            await gc.me()
            emu.revoke_tokens()
            await gc.organizations.create({"name": "Acme"})
            emu.drop_next_writes(1)
            with pytest.raises(OutcomeUnknownError) as lost:
                await gc.organizations.create({"name": "Lost"})
            texts += [str(lost.value), repr(lost.value), "".join(traceback.format_exception(lost.value))]
        async with AsyncClient(url, CANARY_CLIENT_ID, "wrong-" + CANARY_SECRET, rate_limit=0) as bad:
            with pytest.raises(AuthError) as refused:
                await bad.me()
            texts += [str(refused.value), "".join(traceback.format_exception(refused.value))]
    issued = list(emu.backend.tokens)  # the live one (revoked tokens are forgotten by the emulator)
    assert len(issued) == 1
    blob = "\n".join([*texts, caplog.text, *(r.getMessage() for r in caplog.records)])
    for forbidden in (CANARY_SECRET, BASIC, *issued):
        assert forbidden not in blob
