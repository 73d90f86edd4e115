"""Reading many records: search listings (page numbers, 1,000 cap) and scans (cursors)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from itertools import islice
from typing import Any
from urllib.parse import urlencode

from gcx.emulator.errors import invalid
from gcx.emulator.kinds import API, CONTACTS, ORGS
from gcx.emulator.rules.listing import DEFAULT_PAGE_SIZE, Listing, Window
from gcx.emulator.rules.state import State
from gcx.emulator.schema import FieldProblem
from gcx.emulator.store import Record

SORT_FIELDS = {
    CONTACTS: ("firstName", "lastName", "middleName", "title"),
    ORGS: ("companyType", "industry", "name"),
}
DEFAULT_SORT_FIELD = {CONTACTS: "lastName", ORGS: "name"}


def search_request(body: Any) -> dict[str, Any]:
    """The arguments of :meth:`Search.search` from a ``POST /contacts/search`` body (400 if bad)."""
    if not isinstance(body, dict):
        raise invalid([FieldProblem("body", "must be a JSON object")], "search request")
    simple = (body.get("operation") or {}).get("simpleSearch") or {}
    if not isinstance(simple, dict):
        raise invalid([FieldProblem("operation.simpleSearch", "must be a JSON object")], "search request")
    sort = simple.get("sortOrder")
    sort_order = sort[0] if isinstance(sort, list) and sort else None
    ids = simple.get("ids")
    for name, value in (("pageSize", body.get("pageSize")), ("pageNumber", body.get("pageNumber"))):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise invalid([FieldProblem(name, "must be an integer", value=value)], "search request")
    if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, str) for i in ids)):
        raise invalid(
            [FieldProblem("operation.simpleSearch.ids", "must be an array of ids")], "search request"
        )
    query = simple.get("query")
    if query is not None and not isinstance(query, str):
        raise invalid([FieldProblem("operation.simpleSearch.query", "must be a string")], "search request")
    expand = body.get("expand")
    if expand is not None and (not isinstance(expand, list) or not all(isinstance(e, str) for e in expand)):
        raise invalid([FieldProblem("expand", "must be an array of field names")], "search request")
    return {
        "q": query,
        "page_size": body.get("pageSize"),
        "page_number": body.get("pageNumber"),
        "sort_order": sort_order,
        "ids": ids,
        "expand": tuple(expand or ()),
    }


class Search:
    """Search listings (``q``, sort, an organization's contacts, ids) and cursor scans."""

    def __init__(self, state: State, listing: Listing) -> None:
        self.state = state
        self.listing = listing

    def search(
        self,
        kind: str,
        *,
        q: str | None = None,
        page_size: int | None = None,
        page_number: int | None = None,
        sort_order: str | None = None,
        org_id: str | None = None,
        ids: list[str] | None = None,
        path: str | None = None,
        expand: Collection[str] = (),
    ) -> dict[str, Any]:
        """A search page (``ContactListing``/``ExternalOrganizationListing``); at most 1,000 records."""
        st = self.state
        with st.lock:
            size = DEFAULT_PAGE_SIZE if page_size is None else page_size
            number = 1 if page_number is None else page_number
            problems = []
            if not 1 <= size <= st.settings.search_max_page_size:
                problems.append(
                    FieldProblem("pageSize", f"must be between 1 and {st.settings.search_max_page_size}")
                )
            if number < 1:
                problems.append(FieldProblem("pageNumber", "must be 1 or more"))
            if not problems and size * number > 1000:
                problems.append(
                    FieldProblem("pageNumber", "pageNumber * pageSize must be <= 1000 (search is capped)")
                )
            sort_key = self._sort_key(kind, sort_order, problems)
            if problems:
                raise invalid(problems, "search request")
            if org_id is not None:
                st.require(ORGS, org_id)
                pool: Iterable[Record] = self._members_in_order(org_id)
            elif ids is not None:
                pool = (r for r in (st.store.get(kind, i) for i in dict.fromkeys(ids)) if r is not None)
            else:
                pool = st.store.all(kind)
            needle = (q or "").strip().lower()
            base = path or (f"{API}/organizations/{org_id}/contacts" if org_id else f"{API}/{kind}")
            extra = {k: v for k, v in (("q", q), ("sortOrder", sort_order)) if v}
            if not needle and sort_key is None and org_id is None and ids is None:
                # Nothing to filter: read only up to the page asked for.
                start = (number - 1) * size
                head: list[Record] = list(islice(pool, start + size))
                window = Window(head, st.store.count(kind))
                return self.listing.paged(
                    kind,
                    window,
                    page_size=size,
                    page_number=number,
                    max_size=size,
                    base=base,
                    extra=extra,
                    expand=expand,
                )
            matched = [r for r in pool if not needle or needle in self._haystack(kind, r)]
            if sort_key is not None:
                field_name, reverse = sort_key
                matched.sort(key=lambda r: (str(r.get(field_name) or "").lower(), r["id"]), reverse=reverse)
            return self.listing.paged(
                kind,
                matched,
                page_size=size,
                page_number=number,
                max_size=size,
                base=base,
                extra=extra,
                expand=expand,
            )

    def _members_in_order(self, org_id: str) -> list[Record]:
        store = self.state.store
        members = [store.get(CONTACTS, cid) for cid in store.members(org_id)]
        found = [m for m in members if m is not None]
        found.sort(key=lambda r: store.seq_of(CONTACTS, r["id"]) or 0)
        return found

    @staticmethod
    def _sort_key(kind: str, sort_order: str | None, problems: list[FieldProblem]) -> tuple[str, bool] | None:
        if not sort_order:
            return None
        raw = sort_order.strip()
        if raw.lower() in ("asc", "desc"):
            return DEFAULT_SORT_FIELD[kind], raw.lower() == "desc"
        name, _, direction = raw.partition(":")
        direction = direction.lower() or "asc"
        if name not in SORT_FIELDS[kind] or direction not in ("asc", "desc"):
            problems.append(
                FieldProblem(
                    "sortOrder",
                    f"must be field:direction with field one of {', '.join(SORT_FIELDS[kind])} "
                    "and direction asc or desc",
                    value=sort_order,
                )
            )
            return None
        return name, direction == "desc"

    def _haystack(self, kind: str, record: Record) -> str:
        """Lower-cased searchable text of a record (cached per stored version), plus its org's name."""
        st = self.state
        key = (kind, record["id"])
        version = st.store.version(kind, record["id"])
        cached = st.hay.get(key)
        if cached is not None and version is not None and cached[0] is version:
            text = cached[1]
        else:
            text = _record_text(kind, record)
            st.hay[key] = (version, text)
        if kind == CONTACTS:
            org_id = (record.get("externalOrganization") or {}).get("id")
            org = st.store.get(ORGS, org_id) if org_id else None
            if org is not None:
                return f"{text}\n{str(org.get('name', '')).lower()}"
        return text

    def scan(
        self,
        kind: str,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        division_id: str | None = None,
    ) -> dict[str, Any]:
        """A scan page (``CursorContactListing``): stable insertion order, opaque cursors."""
        st = self.state
        with st.lock:
            size = 100 if limit is None else limit
            if not 10 <= size <= 200:
                raise invalid(
                    [FieldProblem("limit", "must be between 10 and 200", value=size)], "scan request"
                )
            after = self.listing.decode_cursor(kind, cursor) if cursor else 0
            rows: list[tuple[int, Record]] = []
            more = False
            for seq, record in st.store.scan_after(kind, after):
                if division_id and record.get("division", {}).get("id") != division_id:
                    continue
                if len(rows) == size:
                    more = True
                    break
                rows.append((seq, record))
            base = f"{API}/scan/{kind}"
            self_query = {"limit": size, **({"cursor": cursor} if cursor else {})}
            listing: dict[str, Any] = {
                "entities": [st.render(kind, r) for _, r in rows],
                "selfUri": f"{base}?{urlencode(self_query)}",
            }
            if more:
                token = self.listing.encode_cursor(kind, rows[-1][0])
                listing["cursors"] = {"after": token}
                listing["nextUri"] = f"{base}?{urlencode({'limit': size, 'cursor': token})}"
            return listing


def _record_text(kind: str, record: Record) -> str:
    parts: list[str] = []
    names: tuple[str, ...]
    phones: tuple[str, ...]
    if kind == CONTACTS:
        names = (
            "firstName",
            "middleName",
            "lastName",
            "workEmail",
            "personalEmail",
            "otherEmail",
            "title",
        )
        phones = ("workPhone", "cellPhone", "homePhone", "otherPhone")
    else:
        names = ("name", "companyType", "industry")
        phones = ("phoneNumber", "faxNumber")
        parts.extend(str(w) for w in record.get("websites", []))
    parts.extend(str(record.get(n, "")) for n in names)
    for p in phones:
        phone = record.get(p)
        if isinstance(phone, dict):
            parts.append(str(phone.get("display", "")))
            parts.append(str(phone.get("e164", "")))
    return "\n".join(parts).lower()
