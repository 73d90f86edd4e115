"""What every resource needs from its client: one way to call the API and read the answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from gcx import jsonfast
from gcx.errors import ApiError
from gcx.retry import RetryPolicy
from gcx.transport import REPLAYED, QueryValue, Requester

#: The prefix of every External Contacts path.
API = "/api/v2/externalcontacts"

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Reply:
    """One API answer, decoded."""

    status: int
    #: The parsed JSON body (``None`` when the body is empty).
    data: Any
    #: Whether an earlier attempt of the same call may already have been applied (its answer was lost).
    replayed: bool


@dataclass
class Core:
    """What every resource needs from its client."""

    requester: Requester
    bulk_batch_size: int
    retry: RetryPolicy
    sleep: Sleep
    #: Largest chunk each bulk endpoint is known to take, learned from its 413 answers, so that
    #: later calls of the same client start there instead of being refused again.
    bulk_limits: dict[str, int] = field(default_factory=dict)

    def learn_bulk_limit(self, path: str, size: int) -> None:
        self.bulk_limits[path] = min(size, self.bulk_limits.get(path, size))

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, QueryValue] | None = None,
        body: Any = None,
        idempotent: bool | None = None,
    ) -> Reply:
        """Send one request (pacing, retries and error mapping are the requester's) and decode
        the answer; an answer that is not JSON raises :class:`ApiError`."""
        response = await self.requester.request(method, path, params=params, json=body, idempotent=idempotent)
        return Reply(
            status=response.status_code,
            data=decoded(response, method, path),
            replayed=bool(response.extensions.get(REPLAYED)),
        )

    async def answer(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """Send one request and return its answer undecoded (:func:`decoded` reads it as
        :meth:`call` does): for a caller that reads only part of a large answer."""
        return await self.requester.request(method, path, json=body, idempotent=idempotent)

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, QueryValue] | None = None,
        idempotent: bool | None = None,
    ) -> int:
        """Send one request whose answer's body means nothing (a DELETE's); returns the status."""
        response = await self.requester.request(method, path, params=params, idempotent=idempotent)
        return response.status_code

    async def json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, QueryValue] | None = None,
        body: Any = None,
        idempotent: bool | None = None,
    ) -> Any:
        """:meth:`call`, for the common case that needs only the parsed body."""
        return (await self.call(method, path, params=params, body=body, idempotent=idempotent)).data

    def backoff(self, attempt: int) -> float:
        return self.retry.delay(attempt)


#: Deepest nesting accepted in an answer. Records nest about 5 levels; past about 255 pydantic
#: cannot serialise a model ("Circular reference detected"), so deeper answers are refused here.
MAX_ANSWER_DEPTH = 100


def decoded(response: httpx.Response, method: str, path: str) -> Any:
    """The answer's JSON (``None`` when empty), or an :class:`ApiError` saying it is not JSON or
    nests deeper than any record can."""
    content = response.content
    if not content:
        return None
    read, data = jsonfast.loads_within(content, MAX_ANSWER_DEPTH)
    if read:  # the usual answer: JSON, and no deeper than a record (one parse tells both)
        return data

    def refuse(what: str) -> ApiError:
        return ApiError(
            f"{method} {path}: the server answered {response.status_code} with {what}",
            status=response.status_code,
            method=method,
            url=path,
        )

    try:
        data = jsonfast.loads(content)
    except RecursionError:
        raise refuse("JSON nested deeper than it can be read") from None
    except ValueError:
        raise refuse("a body that is not JSON") from None
    if jsonfast.nests_deeper(data, MAX_ANSWER_DEPTH):
        raise refuse(f"JSON nested deeper than {MAX_ANSWER_DEPTH} levels, which no record is")
    return data
