"""Iterators over many records.

* :class:`SearchPager` pages through a search (``pageNumber``/``pageSize``). The API serves
  only the first 1,000 records of any search (``pageNumber * pageSize <= 1000``): the pager
  stops there and sets :attr:`SearchPager.truncated` (and logs a warning) when more matched.
  Never use search to enumerate everything.
* :class:`ScanPager` follows ``cursors.after`` of the scan endpoints until an empty page or
  a page without a cursor: every record, however many.

Both are async iterators of models; the sync client wraps them into plain iterators.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Generic, TypeVar

from gcx.errors import GcxError, ValidationError

log = logging.getLogger("gcx.http")

T = TypeVar("T")

#: The most records any search serves.
SEARCH_CAP = 1000

PageFetch = Callable[[int, int], Awaitable[dict[str, Any]]]
CursorFetch = Callable[[str | None], Awaitable[dict[str, Any]]]


def search_page_size(page_size: int) -> int:
    if not isinstance(page_size, int) or isinstance(page_size, bool) or not 1 <= page_size <= SEARCH_CAP:
        raise ValidationError(
            f"page_size must be between 1 and {SEARCH_CAP}, got {page_size!r}", field="page_size"
        )
    return page_size


def scan_limit(limit: int) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 10 <= limit <= 200:
        raise ValidationError(f"limit must be between 10 and 200, got {limit!r}", field="limit")
    return limit


class SearchPager(Generic[T], AsyncIterator[T]):
    """Async iterator over a paged search, stopping at the 1,000-record cap.

    After iteration: :attr:`total` is what the server reported, :attr:`truncated` tells whether
    records were left out because of the cap (or ``max_records``), :attr:`pages` how many pages
    were read.
    """

    def __init__(
        self,
        fetch: PageFetch,
        parse: Callable[[dict[str, Any]], T],
        *,
        page_size: int = 100,
        max_records: int | None = None,
        what: str = "search",
    ) -> None:
        self._fetch = fetch
        self._parse = parse
        self.page_size = search_page_size(page_size)
        self.max_records = max_records
        self.what = what
        self.total: int | None = None
        self.truncated = False
        self.pages = 0
        self.yielded = 0
        self._buffer: list[dict[str, Any]] = []
        self._next_page = 1
        self._done = False

    def __aiter__(self) -> SearchPager[T]:
        return self

    def _cap_reached(self) -> bool:
        return self._next_page * self.page_size > SEARCH_CAP

    async def __anext__(self) -> T:
        while not self._buffer:
            if self._done:
                raise StopAsyncIteration
            await self._load()
        if self.max_records is not None and self.yielded >= self.max_records:
            self._done = True
            self._buffer.clear()
            if self.total is None or self.total > self.yielded:
                self.truncated = True
            raise StopAsyncIteration
        self.yielded += 1
        return self._parse(self._buffer.pop(0))

    async def _load(self) -> None:
        if self._cap_reached():
            self._done = True
            if self.total is None or self.total > self.yielded:
                self.truncated = True
                log.warning(
                    "%s stopped at the API's cap of %d records (%s matched); use scan to read everything",
                    self.what,
                    SEARCH_CAP,
                    self.total if self.total is not None else "more",
                )
            return
        body = await self._fetch(self._next_page, self.page_size)
        self.pages += 1
        entities = body.get("entities") or []
        if not isinstance(entities, list):
            raise GcxError(f"{self.what}: page {self._next_page} has no list of entities")
        total = body.get("total")
        if isinstance(total, int):
            self.total = total
        page_count = body.get("pageCount")
        self._next_page += 1
        self._buffer.extend(e for e in entities if isinstance(e, dict))
        read = self.yielded + len(self._buffer)
        if (
            len(entities) < self.page_size
            or (isinstance(page_count, int) and self._next_page > page_count)
            or (self.total is not None and read >= self.total)
        ):
            self._done = True
        elif self._cap_reached():
            # The next page is beyond the cap: decide truncation now.
            self._done = True
            if self.total is None or self.total > read:
                self.truncated = True
                log.warning(
                    "%s stopped at the API's cap of %d records (%s matched); use scan to read everything",
                    self.what,
                    SEARCH_CAP,
                    self.total if self.total is not None else "more",
                )


class ScanPager(Generic[T], AsyncIterator[T]):
    """Async iterator over a cursor-paged listing (scan, external sources): follows
    ``cursors.after`` until an empty page or no cursor. ``where`` filters records client-side."""

    def __init__(
        self,
        fetch: CursorFetch,
        parse: Callable[[dict[str, Any]], T],
        *,
        where: Callable[[dict[str, Any]], bool] | None = None,
        max_records: int | None = None,
        what: str = "scan",
    ) -> None:
        self._fetch = fetch
        self._parse = parse
        self._where = where
        self.max_records = max_records
        self.what = what
        self.pages = 0
        self.scanned = 0
        self.yielded = 0
        self.cursor: str | None = None
        self._seen: set[str] = set()
        self._buffer: list[dict[str, Any]] = []
        self._done = False

    def __aiter__(self) -> ScanPager[T]:
        return self

    async def __anext__(self) -> T:
        while True:
            if self.max_records is not None and self.yielded >= self.max_records:
                raise StopAsyncIteration
            if self._buffer:
                item = self._buffer.pop(0)
                if self._where is not None and not self._where(item):
                    continue
                self.yielded += 1
                return self._parse(item)
            if self._done:
                raise StopAsyncIteration
            await self._load()

    async def _load(self) -> None:
        body = await self._fetch(self.cursor)
        self.pages += 1
        entities = body.get("entities") or []
        if not isinstance(entities, list):
            raise GcxError(f"{self.what}: page {self.pages} has no list of entities")
        self.scanned += len(entities)
        self._buffer.extend(e for e in entities if isinstance(e, dict))
        cursors = body.get("cursors")
        after = cursors.get("after") if isinstance(cursors, dict) else None
        if not entities or not isinstance(after, str) or not after:
            self._done = True
            return
        if after in self._seen:
            raise GcxError(f"{self.what}: the server returned cursor {after[:16]!r}... twice; stopping")
        self._seen.add(after)
        self.cursor = after
