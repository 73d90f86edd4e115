"""Request bodies to stored fields: records, their external ids, and identifiers.

Schema-level cleaning (types, lengths, formats, unknown fields dropped) is
:class:`gcx.emulator.schema.Cleaner`; these are the rules that need the store (does the
organization or external source exist?) or the record kind.
"""

from __future__ import annotations

from typing import Any

from gcx.emulator.kinds import API, CONTACTS, IDENTIFIER_SCHEMA, NOUN, ORGS, SCHEMA_OF, SOURCES
from gcx.emulator.rules.identity import normalize_value
from gcx.emulator.rules.state import State
from gcx.emulator.schema import Cleaner, FieldProblem, Rule
from gcx.emulator.store import IdentifierKey

#: The fields of a body that :meth:`Cleaning.clean_body` reads by its own rules, not the schema's.
_RECORD_OWN = frozenset({"identifiers"})
_CONTACT_OWN = frozenset({"identifiers", "externalOrganization"})


def identifier_key(identifier: dict[str, Any]) -> IdentifierKey:
    """What makes two identifiers the same: type, value and external source id."""
    source = identifier.get("externalSource")
    source_id = source.get("id") if isinstance(source, dict) else None
    return IdentifierKey(identifier["type"], identifier["value"], source_id)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def source_ref(source_id: str) -> dict[str, Any]:
    uri = _SOURCE_URIS.get(source_id)
    if uri is None:
        if len(_SOURCE_URIS) >= 1024:
            _SOURCE_URIS.clear()
        uri = _SOURCE_URIS[source_id] = f"{API}/externalsources/{source_id}"
    return {"id": source_id, "selfUri": uri}


#: The selfUri of each external source id met (a sync names one source in every record); bounded.
_SOURCE_URIS: dict[str, str] = {}


class Cleaning:
    """Cleans contact and organization bodies and identifiers against the contract and the store."""

    def __init__(self, state: State) -> None:
        self.state = state
        #: (schema, skip) -> (the cleaner, its compiled rule), as :meth:`Cleaner.clean` would use.
        self._rules: dict[tuple[str, frozenset[str]], tuple[Cleaner, Rule]] = {}

    def _rule(self, schema_name: str, skip: frozenset[str] = frozenset()) -> Rule:
        """The state's cleaner's rule of a top-level ``schema_name`` (``Cleaner.clean``'s)."""
        cleaner = self.state.cleaner
        cached = self._rules.get((schema_name, skip))
        if cached is None or cached[0] is not cleaner:
            cached = self._rules[(schema_name, skip)] = (cleaner, cleaner.rule(schema_name, skip=skip))
        return cached[1]

    def clean_body(
        self, kind: str, body: Any, problems: list[FieldProblem], *, partial: bool = False
    ) -> dict[str, Any]:
        """The stored fields of a record body (``partial``: a name is not required)."""
        st = self.state
        if not isinstance(body, dict):
            problems.append(FieldProblem("body", f"must be a JSON object ({NOUN[kind]})"))
            return {}
        # identifiers are claimed separately (see clean_identifiers), a contact's organization
        # is checked against the store below
        skip = _CONTACT_OWN if kind == CONTACTS else _RECORD_OWN
        org_ref = body.get("externalOrganization") if kind == CONTACTS else None
        division = body.get("division")
        cleaned: dict[str, Any] = self._rule(SCHEMA_OF[kind], skip)(body, "", problems) or {}
        cleaned.pop("division", None)
        if division is not None:
            div_id = division.get("id") if isinstance(division, dict) else None
            if div_id is not None and div_id != st.settings.division_id:
                problems.append(FieldProblem("division.id", "is not a known division", value=div_id))
        if kind == CONTACTS and org_ref is not None:
            org_id = org_ref.get("id") if isinstance(org_ref, dict) else None
            if not isinstance(org_id, str) or not org_id.strip():
                problems.append(FieldProblem("externalOrganization", "must be an object with an id"))
            elif st.store.version(ORGS, org_id.strip()) is None:  # stored or not
                problems.append(
                    FieldProblem("externalOrganization.id", "names no external organization", value=org_id)
                )
            else:
                cleaned["externalOrganization"] = {"id": org_id.strip()}
        if kind == ORGS and not partial and not cleaned.get("name"):
            problems.append(FieldProblem("name", "is required", code="missing.property"))
        ext_ids = cleaned.get("externalIds")
        if ext_ids:
            fixed = []
            for i, item in enumerate(ext_ids):
                source_id = self.known_source(item.get("externalSource"))
                if source_id is None:  # the problem it has
                    source_id = self.source_id(item.get("externalSource"), f"externalIds[{i}]", problems)
                if not item.get("value"):
                    problems.append(FieldProblem(f"externalIds[{i}].value", "is required"))
                    continue
                if source_id is not None:
                    fixed.append({"externalSource": source_ref(source_id), "value": item["value"]})
            cleaned["externalIds"] = fixed
        return cleaned

    def known_source(self, source: Any) -> str | None:
        """:meth:`source_id` of a reference that has no problem; None for any other (whose problem
        :meth:`source_id` tells)."""
        source_id = source.get("id") if source.__class__ is dict else None
        if (
            source_id.__class__ is str
            and source_id
            and self.state.store.version(SOURCES, source_id) is not None
        ):
            return source_id
        return None

    def source_id(self, source: Any, path: str, problems: list[FieldProblem]) -> str | None:
        """The id of an existing external source named by ``{id}``, or a problem at ``path``."""
        source_id = source.get("id") if isinstance(source, dict) else None
        if not isinstance(source_id, str) or not source_id:
            problems.append(FieldProblem(f"{path}.externalSource.id", "is required"))
            return None
        if self.state.store.version(SOURCES, source_id) is None:  # stored or not
            problems.append(
                FieldProblem(f"{path}.externalSource.id", "names no external source", value=source_id)
            )
            return None
        return source_id

    def clean_identifiers(
        self, kind: str, items: Any, path: str, problems: list[FieldProblem], *, keep: bool = True
    ) -> list[dict[str, Any]]:
        """Identifiers from a request (``identifiers`` or enrich ``matchingIdentifiers``).

        ``keep`` False: the same checks and problems, and no identifiers (``[]``) made (a write
        whose settings claim none of the body's).
        """
        if items is None:
            return []
        if not isinstance(items, list):
            problems.append(FieldProblem(path, "must be a JSON array"))
            return []
        out = []
        for i, item in enumerate(items):
            cleaned = self.clean_identifier(kind, item, f"{path}[{i}]", problems, keep=keep)
            if cleaned and keep:
                out.append(cleaned)
        return out

    def clean_identifier(
        self, kind: str, item: Any, path: str, problems: list[FieldProblem], *, keep: bool = True
    ) -> dict[str, Any]:
        """One identifier ``{type, value, externalSource?}``, or ``{}`` with problems added
        (``keep`` False: checked only, ``{}`` either way)."""
        before = len(problems)
        cleaned = self._rule(IDENTIFIER_SCHEMA[kind])(item, path, problems) or {}
        if not cleaned.get("type") and len(problems) == before:
            problems.append(FieldProblem(_join(path, "type"), "is required", code="missing.property"))
        if not cleaned.get("value") and len(problems) == before:
            problems.append(FieldProblem(_join(path, "value"), "is required", code="missing.property"))
        if len(problems) != before:
            return {}
        if not keep:
            if cleaned.get("externalSource") is not None:
                self.source_id(cleaned["externalSource"], path, problems)
            return {}
        value = normalize_value(cleaned["type"], cleaned["value"])
        out: dict[str, Any] = {"type": cleaned["type"], "value": value}
        source = cleaned.get("externalSource")
        if source is not None:
            source_id = self.known_source(source)
            if source_id is None:
                source_id = self.source_id(source, path, problems)
                if source_id is None:
                    return {}
            out["externalSource"] = source_ref(source_id)
        return out
