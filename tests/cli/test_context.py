"""Error lines, exit codes, redaction and verbose logging of the CLI core."""

from __future__ import annotations

import io
import logging

import pytest

from gcx.cli.context import (
    ConfirmationRequired,
    PartialFailure,
    Redactor,
    format_error,
    setup_verbose_logging,
)
from gcx.errors import (
    AuthError,
    ConfigError,
    NotFoundError,
    OutcomeUnknownError,
    ValidationError,
)
from tests.cli.conftest import Invoke
from tests.conftest import CANARY_SECRET


def test_api_error_line_has_status_code_message_and_correlation_id() -> None:
    exc = NotFoundError("External contact xyz not found", status=404, code="not.found", correlation_id="1234")
    assert format_error(exc) == "404 not.found: External contact xyz not found [correlation id 1234]"


def test_validation_error_names_record_and_field() -> None:
    exc = ValidationError("not a valid email address", field="workEmail", record="line 3")
    assert format_error(exc) == "line 3: field workEmail: not a valid email address"


def test_other_errors() -> None:
    assert "401" in format_error(AuthError("invalid client", status=401))
    assert format_error(ConfigError("no region")) == "no region"
    text = format_error(OutcomeUnknownError("no answer", method="POST", url="http://x/api/v2/c"))
    assert "POST http://x/api/v2/c" in text and "may or may not" in text
    library = OutcomeUnknownError(
        "POST http://x/api/v2/c: ReadError after sending a non-idempotent POST: it may have been applied; "
        "the request was not retried, look the record up before sending it again",
        method="POST",
        url="http://x/api/v2/c",
    )
    text = format_error(library)
    assert text.count("http://x/api/v2/c") == 1 and text.count("applied") == 1
    assert format_error(RuntimeError("boom")) == "unexpected RuntimeError: boom"
    assert PartialFailure("x").exit_code == 3
    assert ConfirmationRequired("x").exit_code == 1


@pytest.mark.parametrize(
    "text",
    [
        "Authorization: Bearer abcdefghijklmnop",
        "authorization=Basic Z2N4OnNlY3JldA==",
        '{"access_token": "eyJhbGciOiJIUzI1NiJ9.abc.def", "expires_in": 86400}',
        "grant_type=client_credentials&client_secret=s3cr3tvalue",
        f"the secret is {CANARY_SECRET}!",
    ],
)
def test_redactor_masks_tokens_and_known_secrets(text: str) -> None:
    redact = Redactor({CANARY_SECRET})
    cleaned = redact(text)
    for secret in (
        "abcdefghijklmnop",
        "Z2N4OnNlY3JldA==",
        "eyJhbGciOiJIUzI1NiJ9.abc.def",
        "s3cr3tvalue",
        CANARY_SECRET,
    ):
        assert secret not in cleaned
    assert Redactor.MASK in cleaned


@pytest.mark.parametrize(
    "text",
    [
        "GET /api/v2/externalcontacts/contacts 200",
        "could not reach the token endpoint http://127.0.0.1:1/oauth/token: All connection attempts failed",
    ],
)
def test_redactor_keeps_ordinary_text(text: str) -> None:
    assert Redactor({CANARY_SECRET})(text) == text


def test_verbose_logging_is_redacted_and_undone() -> None:
    stream = io.StringIO()
    undo = setup_verbose_logging(Redactor({CANARY_SECRET}), stream)
    try:
        logging.getLogger("gcx.test").debug("token request with secret %s", CANARY_SECRET)
        logging.getLogger("gcx.http").info("GET /x Authorization: Bearer zzzzzzzzzzzz")
    finally:
        undo()
    text = stream.getvalue()
    assert f"token request with secret {Redactor.MASK}" in text
    assert CANARY_SECRET not in text and "zzzzzzzzzzzz" not in text
    assert logging.getLogger("gcx").handlers == [] or all(
        getattr(h, "stream", None) is not stream for h in logging.getLogger("gcx").handlers
    )


def test_usage_error_exits_2(invoke: Invoke) -> None:
    result = invoke(["--output", "xml", "config", "list"])
    assert result.exit_code == 2
    assert "xml" in result.stderr


def test_unknown_command_exits_2(invoke: Invoke) -> None:
    result = invoke(["frobnicate"])
    assert result.exit_code == 2


def test_missing_credentials_is_one_clean_line(invoke: Invoke) -> None:
    result = invoke(["auth", "check"], env={"GENESYSCLOUD_REGION": "http://127.0.0.1:9"})
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: missing credentials")
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_wrong_region_is_one_clean_line(invoke: Invoke) -> None:
    result = invoke(
        ["--region", "mars-north-9", "auth", "check"],
        env={"GENESYSCLOUD_OAUTHCLIENT_ID": "id", "GENESYSCLOUD_OAUTHCLIENT_SECRET": CANARY_SECRET},
    )
    assert result.exit_code == 2
    assert "unknown region 'mars-north-9'" in result.stderr
    assert CANARY_SECRET not in result.output


def test_version(invoke: Invoke) -> None:
    result = invoke(["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("gcx ") and result.stdout.strip() != "gcx"


def test_no_arguments_prints_help(invoke: Invoke) -> None:
    result = invoke([])
    assert "contacts" in result.output and "orgs" in result.output and "export" in result.output
