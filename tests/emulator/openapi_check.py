"""Validate emulator responses against the OpenAPI contract (openapi-core, httpx adapter)."""

from __future__ import annotations

from functools import cache
from typing import Any

import httpx
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from werkzeug.datastructures import Headers, ImmutableMultiDict

from tests.conftest import SPEC_PATH

#: The spec's server; the emulator's real host does not matter for validation.
SPEC_HOST = "https://api.mypurecloud.com"


@cache
def openapi() -> OpenAPI:
    return OpenAPI.from_file_path(str(SPEC_PATH))


class OpenAPIRequest:
    """An ``httpx.Request`` seen through openapi-core's Request protocol."""

    def __init__(self, request: httpx.Request) -> None:
        self._request = request
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(request.url.params.multi_items())),
            header=Headers(list(request.headers.items())),
            cookie=ImmutableMultiDict(),
        )

    @property
    def host_url(self) -> str:
        return SPEC_HOST

    @property
    def path(self) -> str:
        return self._request.url.path

    @property
    def method(self) -> str:
        return self._request.method.lower()

    @property
    def body(self) -> bytes | None:
        return self._request.content or None

    @property
    def content_type(self) -> str:
        return self._request.headers.get("content-type", "").lower()


class OpenAPIResponse:
    """An ``httpx.Response`` seen through openapi-core's Response protocol."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def status_code(self) -> int:
        return self._response.status_code

    @property
    def content_type(self) -> str:
        return self._response.headers.get("content-type", "application/json").lower()

    @property
    def headers(self) -> Headers:
        return Headers(list(self._response.headers.items()))

    @property
    def data(self) -> bytes | None:
        return self._response.content or None


def validate(response: httpx.Response) -> None:
    """Raise if ``response`` (to an ``/api/v2`` call) breaks the OpenAPI contract.

    The one allowed gap: DELETE answers 200 with an empty body (spec README), while the
    OpenAPI file declares a JSON content of any shape for it.
    """
    if response.request.method == "DELETE" and response.status_code == 200:
        assert response.content == b""
        return
    try:
        openapi().validate_response(OpenAPIRequest(response.request), OpenAPIResponse(response))
    except (PathNotFound, OperationNotFound):
        # A route or method the contract does not have: it must be refused with an ErrorBody.
        assert 400 <= response.status_code < 500, response.status_code
        error_body(response)


def is_contract_path(response: httpx.Response) -> bool:
    return response.request.url.path.startswith("/api/v2/")


async def validating_hook(response: httpx.Response) -> None:
    """httpx response hook: every API response must match the contract."""
    if is_contract_path(response):
        await response.aread()
        validate(response)


def error_body(response: httpx.Response) -> dict[str, Any]:
    """The ErrorBody of a 4xx/5xx answer, checked for the fields every error carries."""
    body = response.json()
    assert isinstance(body, dict), body
    assert body["status"] == response.status_code
    assert isinstance(body["code"], str) and body["code"]
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["contextId"], str) and body["contextId"]
    assert response.headers.get("ININ-Correlation-Id")
    return body


def detail_fields(response: httpx.Response) -> list[str]:
    return [d.get("fieldName") for d in error_body(response).get("details", [])]
