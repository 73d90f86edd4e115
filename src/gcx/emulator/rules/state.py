"""What every rule shares: settings, the store, clocks, the lock, and how a record is shown."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Collection
from typing import Any

from gcx.emulator import jsonio
from gcx.emulator.errors import not_found
from gcx.emulator.faults import FaultInjector, RateLimiter
from gcx.emulator.kinds import CONTACTS, ORGS, RELATIONSHIPS, SERVER_FIELDS, clone, iso_ms
from gcx.emulator.schema import Cleaner
from gcx.emulator.settings import EmulatorSettings
from gcx.emulator.stats import Stats
from gcx.emulator.store import MemoryStore, Record, Store

Clock = Callable[[], float]

#: Organization texts ``State._org_text`` keeps at least before starting over. It keeps one per
#: stored organization too: contacts that name their organizations in turn (a source sorted by
#: contact, not by organization) would otherwise find none of 5,000 in a cache of 4,096 and
#: unpack and write one per answer.
_ORG_TEXTS = 4096


class State:
    """The emulated org's state and the helpers every family of rules uses. One lock guards it."""

    def __init__(
        self,
        settings: EmulatorSettings | None = None,
        *,
        store: Store | None = None,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
    ) -> None:
        self.settings = settings or EmulatorSettings()
        self.store: Store = store if store is not None else MemoryStore()
        self.clock = clock
        self.wall_clock = wall_clock
        self.cleaner = Cleaner()
        self.lock = threading.RLock()
        self.stats = Stats()
        self.rng = random.Random(self.settings.seed)
        self.faults = FaultInjector(self.settings, random.Random(self.rng.random()))
        self.rate_limiter = RateLimiter(self.settings.rate_limit, clock)
        self.org_limiter = RateLimiter(self.settings.org_rate_limit, clock)
        self.token_limiter = RateLimiter(self.settings.token_rate_limit, clock)
        #: Search text per stored record version (``search``), dropped when a record is deleted.
        self.hay: dict[tuple[str, str], tuple[object, str]] = {}
        #: Trustor org id -> the external organizations linked to it (``trustors``).
        self.trustor_links: dict[str, set[str]] = {}
        #: A merged (ancestor) contact's id -> the contact it was merged into (``merge``).
        self.merged: dict[str, str] = {}
        #: Organizations as last read, by id, with their stored version, as JSON text: a contact's
        #: answer shows its organization, and a page of 200 contacts names a few (bounded by the
        #: organizations stored, see ``_org_text``).
        self._orgs: dict[str, tuple[object, bytes]] = {}
        #: The settings the division reference was made for, and the reference (``division``).
        self._division: tuple[object, dict[str, Any]] = (None, {})

    def update_settings(self, **changes: Any) -> EmulatorSettings:
        with self.lock:
            new = self.settings.replace(**changes)
            self.settings = new
            self.faults.settings = new
            if "seed" in changes:
                self.rng.seed(new.seed)
                self.faults.rng.seed(self.rng.random())
            self.rate_limiter.per_minute = new.rate_limit
            self.org_limiter.per_minute = new.org_rate_limit
            self.token_limiter.per_minute = new.token_rate_limit
            return new

    def now(self) -> str:
        return iso_ms(self.wall_clock())

    def division(self) -> dict[str, Any]:
        """The home division's reference, a new dict each call (made once per settings)."""
        s = self.settings
        cached = self._division
        if cached[0] is not s:
            cached = self._division = (
                s,
                {
                    "id": s.division_id,
                    "name": s.division_name,
                    "selfUri": f"/api/v2/authorization/divisions/{s.division_id}",
                },
            )
        return dict(cached[1])

    def require(self, kind: str, record_id: str) -> Record:
        record = self.store.get(kind, record_id)
        if record is None:
            raise not_found(kind, record_id)
        return record

    def resolve(self, kind: str, record_id: str) -> str:
        """The id a request for ``record_id`` acts on: a merged contact's canonical contact."""
        if kind != CONTACTS:
            return record_id
        seen = {record_id}
        while record_id in self.merged:
            record_id = self.merged[record_id]
            if record_id in seen:  # pragma: no cover - merges never make a cycle
                break
            seen.add(record_id)
        return record_id

    def require_current(self, kind: str, record_id: str) -> Record:
        """:meth:`require`, following a merged contact to its canonical contact."""
        return self.require(kind, self.resolve(kind, record_id))

    def render(self, kind: str, record: Record, expand: Collection[str] = ()) -> dict[str, Any]:
        """A stored record as the API returns it.

        ``record`` is one the caller owns (the store gives a fresh dict on every read, and a
        write's record is packed when stored): the answer shares its values rather than copying
        them. Identifiers are shown only when ``expand`` names them (or the
        ``identifiers_in_all_reads`` setting says every answer shows them).
        """
        out = dict(record)
        if "identifiers" in out and not ("identifiers" in expand or self.settings.identifiers_in_all_reads):
            del out["identifiers"]
        if kind in (CONTACTS, RELATIONSHIPS):
            ref = out.pop("externalOrganization", None)
            if isinstance(ref, dict) and isinstance(ref.get("id"), str):
                org = self._org_text(ref["id"])
                if org is not None:
                    out["externalOrganization"] = jsonio.loads_stored(org)
        return out

    def _org_text(self, org_id: str) -> bytes | None:
        """The stored organization ``org_id`` as JSON text, made once per stored version: each
        answer reads its own copy from it (one C call, half the time of a deep copy)."""
        version = self.store.version(ORGS, org_id)
        if version is None:
            return None
        cached = self._orgs.get(org_id)
        if cached is not None and cached[0] is version:
            return cached[1]
        org = self.store.get(ORGS, org_id)
        if org is None:  # pragma: no cover - a version without a record
            return None
        if cached is None and len(self._orgs) >= max(_ORG_TEXTS, self.store.count(ORGS)):
            self._orgs.clear()  # it holds deleted organizations
        text = jsonio.dumps_stored(org)
        self._orgs[org_id] = (version, text)
        return text

    @staticmethod
    def input_form(record: Record) -> dict[str, Any]:
        """The writable part of a stored record (what a PUT would send)."""
        return {k: clone(v) for k, v in record.items() if k not in SERVER_FIELDS}
