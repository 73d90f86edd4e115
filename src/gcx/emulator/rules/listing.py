"""Pages and cursors: the ``*Listing`` shape (page number, 1,000-record cap) and scan cursors."""

from __future__ import annotations

import base64
import binascii
import json
import math
import secrets
from collections.abc import Collection, Sequence
from typing import Any, overload
from urllib.parse import urlencode

from gcx.emulator.errors import invalid
from gcx.emulator.rules.state import State
from gcx.emulator.schema import FieldProblem
from gcx.emulator.store import Record

#: ``pageSize`` of a listing when the request names none (SDK docs: "default to 20").
DEFAULT_PAGE_SIZE = 20


class Window(Sequence[Record]):
    """The first records of a kind plus the kind's total: a page reads no further than it needs."""

    def __init__(self, head: list[Record], total: int) -> None:
        self._head = head
        self._total = total

    def __len__(self) -> int:
        return self._total

    @overload
    def __getitem__(self, index: int) -> Record: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Record]: ...
    def __getitem__(self, index: int | slice) -> Record | Sequence[Record]:
        return self._head[index]


class Listing:
    """Renders pages of records and issues and reads scan cursors."""

    def __init__(self, state: State) -> None:
        self.state = state
        self._cursor_key = secrets.token_hex(4)

    def paged(
        self,
        kind: str,
        records: Sequence[Record],
        *,
        page_size: int | None,
        page_number: int | None,
        max_size: int,
        base: str,
        extra: dict[str, str],
        expand: Collection[str] = (),
    ) -> dict[str, Any]:
        """One page of ``records`` as a ``*Listing`` (same 1,000-record cap as search)."""
        size = DEFAULT_PAGE_SIZE if page_size is None else page_size
        number = 1 if page_number is None else page_number
        problems = []
        if not 1 <= size <= max_size:
            problems.append(FieldProblem("pageSize", f"must be between 1 and {max_size}", value=size))
        if number < 1:
            problems.append(FieldProblem("pageNumber", "must be 1 or more", value=number))
        if not problems and size * number > 1000:
            problems.append(FieldProblem("pageNumber", "pageNumber * pageSize must be <= 1000"))
        if problems:
            raise invalid(problems, "listing request")
        total = len(records)
        page_count = math.ceil(total / size) if total else 0
        start = (number - 1) * size

        def uri(n: int) -> str:
            return f"{base}?{urlencode({'pageSize': size, 'pageNumber': n, **extra})}"

        listing: dict[str, Any] = {
            "entities": [self.state.render(kind, r, expand) for r in records[start : start + size]],
            "pageSize": size,
            "pageNumber": number,
            "total": total,
            "firstUri": uri(1),
            "selfUri": uri(number),
            "lastUri": uri(max(page_count, 1)),
            "pageCount": page_count,
        }
        if number < page_count and (number + 1) * size <= 1000:
            listing["nextUri"] = uri(number + 1)
        if number > 1:
            listing["previousUri"] = uri(number - 1)
        return listing

    def children_in_order(
        self, kind: str, parent_id: str, sort_order: str | None, fields: tuple[str, ...]
    ) -> list[Record]:
        """A record's notes or an organization's relationships, in creation order or sorted."""
        store = self.state.store
        found = [r for r in (store.get(kind, i) for i in store.children(kind, parent_id)) if r is not None]
        found.sort(key=lambda r: store.seq_of(kind, r["id"]) or 0)
        if not sort_order:
            return found
        name, _, direction = sort_order.strip().partition(":")
        direction = direction.lower() or "asc"
        if name not in fields or direction not in ("asc", "desc"):
            raise invalid(
                [
                    FieldProblem(
                        "sortOrder",
                        f"must be field:direction with field one of {', '.join(fields)} and direction asc or desc",
                        value=sort_order,
                    )
                ],
                "listing request",
            )
        if name != "createDate":  # insertion order is creation order
            found.sort(key=lambda r: str(r.get(name) or "").lower())
        if direction == "desc":
            found.reverse()
        return found

    def encode_cursor(self, kind: str, seq: int) -> str:
        payload = json.dumps(
            {"k": kind, "s": seq, "t": int(self.state.wall_clock()), "e": self._cursor_key},
            separators=(",", ":"),
        )
        return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")

    def decode_cursor(self, kind: str, cursor: str) -> int:
        """The position a cursor stands for (400 when not issued here, for another kind, or expired)."""
        problem = [FieldProblem("cursor", "is not a cursor this service issued", value=cursor[:40])]
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            data = json.loads(raw)
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise invalid(problem, "scan request") from None
        if (
            not isinstance(data, dict)
            or data.get("k") != kind
            or not isinstance(data.get("s"), int)
            or not isinstance(data.get("t"), int)
        ):
            raise invalid(problem, "scan request")
        if self.state.wall_clock() - data["t"] > self.state.settings.cursor_ttl:
            raise invalid([FieldProblem("cursor", "has expired (cursors live 24 hours)")], "scan request")
        seq: int = data["s"]
        return seq
