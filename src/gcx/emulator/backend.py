"""The emulator's rules and state, callable without HTTP: a facade over the rule families.

Every operation takes and returns JSON-ready values in the API's shape, or raises
:class:`EmulatorError` (status, code, message, details). The ASGI layer only parses,
calls and serialises. State lives in a :class:`~gcx.emulator.store.Store`, shared by the
families through :class:`~gcx.emulator.rules.state.State`; each family is one module of
:mod:`gcx.emulator.rules` (tokens, records, search, bulk, identifiers, enrich, merge,
sources, trustors, notes, relationships, snapshot). A new rule goes in its family's module;
:class:`Backend` only wires them and names the operations.
"""

from __future__ import annotations

import threading
from random import Random

from gcx.emulator.errors import EmulatorError, bad_request, invalid, not_found
from gcx.emulator.faults import FaultInjector, RateLimiter
from gcx.emulator.kinds import API, CONTACTS, ORGS, clone, iso_ms
from gcx.emulator.rules.bulk import Bulk
from gcx.emulator.rules.cleaning import Cleaning
from gcx.emulator.rules.combining import Combiner
from gcx.emulator.rules.enrich import Enrich
from gcx.emulator.rules.identifiers import Identifiers
from gcx.emulator.rules.listing import Listing
from gcx.emulator.rules.merge import Merge
from gcx.emulator.rules.notes import Notes
from gcx.emulator.rules.patching import Patching
from gcx.emulator.rules.records import Records
from gcx.emulator.rules.relationships import Relationships
from gcx.emulator.rules.search import Search
from gcx.emulator.rules.snapshot import Snapshot
from gcx.emulator.rules.sources import Sources
from gcx.emulator.rules.state import Clock, State
from gcx.emulator.rules.tokens import Token, Tokens
from gcx.emulator.rules.trustors import Trustors
from gcx.emulator.rules.writes import Writes
from gcx.emulator.schema import Cleaner
from gcx.emulator.settings import EmulatorSettings
from gcx.emulator.stats import Stats
from gcx.emulator.store import Store

__all__ = [
    "API",
    "CONTACTS",
    "ORGS",
    "Backend",
    "Clock",
    "EmulatorError",
    "Stats",
    "Token",
    "bad_request",
    "clone",
    "invalid",
    "iso_ms",
    "not_found",
]


class Backend:
    """The rules of the External Contacts API over a store. Thread-safe (one lock)."""

    def __init__(
        self,
        settings: EmulatorSettings | None = None,
        *,
        store: Store | None = None,
        clock: Clock | None = None,
        wall_clock: Clock | None = None,
    ) -> None:
        kwargs: dict[str, Clock] = {}
        if clock is not None:
            kwargs["clock"] = clock
        if wall_clock is not None:
            kwargs["wall_clock"] = wall_clock
        st = self.state = State(settings, store=store, **kwargs)
        cleaning = Cleaning(st)
        writes = Writes(st)
        patching = Patching(st)
        listing = Listing(st)
        combiner = Combiner(st.cleaner)
        self.auth = Tokens(st)
        self.records = Records(st, cleaning, writes, patching)
        self.searching = Search(st, listing)
        self.bulk = Bulk(st, self.records)
        self.identifiers = Identifiers(st, cleaning, writes)
        self.enriching = Enrich(st, cleaning, writes, self.identifiers, self.bulk, combiner)
        self.merging = Merge(st, cleaning, writes, combiner)
        self.sources = Sources(st, listing)
        self.trustors = Trustors(st)
        self.notes = Notes(st, listing, patching)
        self.relationships = Relationships(st, listing, patching)
        self.snapshot = Snapshot(st)

        # The operations, by family (each is the family's own method).
        self.update_settings = st.update_settings
        self.render = st.render
        self.issue_token = self.auth.issue_token
        self.check_token = self.auth.check_token
        self.revoke_tokens = self.auth.revoke_tokens
        self.me = self.auth.me
        self.create = self.records.create
        self.get = self.records.get
        self.replace = self.records.replace
        self.patch = self.records.patch
        self.delete = self.records.delete
        self.search = self.searching.search
        self.scan = self.searching.scan
        self.bulk_fetch = self.bulk.bulk_fetch
        self.bulk_add = self.bulk.bulk_add
        self.bulk_update = self.bulk.bulk_update
        self.bulk_remove = self.bulk.bulk_remove
        self.list_identifiers = self.identifiers.list_identifiers
        self.patch_identifiers = self.identifiers.patch_identifiers
        self.lookup = self.identifiers.lookup
        self.enrich = self.enriching.enrich
        self.bulk_enrich = self.enriching.bulk_enrich
        self.merge_contacts = self.merging.merge_contacts
        self.merge_into = self.merging.merge_into
        self.create_source = self.sources.create_source
        self.get_source = self.sources.get_source
        self.replace_source = self.sources.replace_source
        self.delete_source = self.sources.delete_source
        self.list_sources = self.sources.list_sources
        self.link_trustor = self.trustors.link_trustor
        self.unlink_trustor = self.trustors.unlink_trustor
        self.create_note = self.notes.create_note
        self.get_note = self.notes.get_note
        self.replace_note = self.notes.replace_note
        self.patch_note = self.notes.patch_note
        self.delete_note = self.notes.delete_note
        self.list_notes = self.notes.list_notes
        self.create_relationship = self.relationships.create_relationship
        self.get_relationship = self.relationships.get_relationship
        self.replace_relationship = self.relationships.replace_relationship
        self.patch_relationship = self.relationships.patch_relationship
        self.delete_relationship = self.relationships.delete_relationship
        self.list_relationships = self.relationships.list_relationships
        self.reset = self.snapshot.reset
        self.dump = self.snapshot.dump
        self.load = self.snapshot.load
        self.counts = self.snapshot.counts

    # The shared state, as callers and tests have always reached it.

    @property
    def settings(self) -> EmulatorSettings:
        return self.state.settings

    @property
    def store(self) -> Store:
        return self.state.store

    @property
    def stats(self) -> Stats:
        return self.state.stats

    @property
    def lock(self) -> threading.RLock:
        return self.state.lock

    @property
    def faults(self) -> FaultInjector:
        return self.state.faults

    @property
    def rate_limiter(self) -> RateLimiter:
        return self.state.rate_limiter

    @property
    def org_limiter(self) -> RateLimiter:
        return self.state.org_limiter

    @property
    def token_limiter(self) -> RateLimiter:
        return self.state.token_limiter

    @property
    def rng(self) -> Random:
        return self.state.rng

    @property
    def cleaner(self) -> Cleaner:
        return self.state.cleaner

    @property
    def tokens(self) -> dict[str, Token]:
        return self.auth.tokens

    @property
    def clock(self) -> Clock:
        return self.state.clock

    @property
    def wall_clock(self) -> Clock:
        return self.state.wall_clock

    @wall_clock.setter
    def wall_clock(self, value: Clock) -> None:
        self.state.wall_clock = value
