"""The permission each External Contacts operation needs (pure data and lookups).

Genesys Cloud refuses a call whose OAuth client's role lacks the operation's permission with
``403 missing.any.permissions`` ("You must have at least one of the following permissions
assigned: ..."). The table below is the official SDK's documentation of every operation of the
contract ("Requires ANY permissions", PureCloudPlatformClientV2 docs/ExternalContactsApi.md);
the first permission of each entry is the External Contacts one, the others (``relate:*``) are
alternatives the API also accepts. Five operations newer than that documentation (the PATCH of
organizations, notes and relationships, ``POST /contacts/search``) follow their siblings.

External Contacts also needs the org's licence (Genesys Cloud CX 3, or an add-on that brings
External Contacts): without it the permissions cannot be granted and every call is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

API_PREFIX = "/api/v2/externalcontacts"

CONTACT_VIEW = "externalContacts:contact:view"
CONTACT_ADD = "externalContacts:contact:add"
CONTACT_EDIT = "externalContacts:contact:edit"
CONTACT_DELETE = "externalContacts:contact:delete"
ORG_VIEW = "externalContacts:externalOrganization:view"
ORG_ADD = "externalContacts:externalOrganization:add"
ORG_EDIT = "externalContacts:externalOrganization:edit"
ORG_DELETE = "externalContacts:externalOrganization:delete"
SOURCE_VIEW = "externalContacts:externalSource:view"
SOURCE_ADD = "externalContacts:externalSource:add"

#: The permissions an integration usually holds (read and write contacts and organizations).
RECORD_PERMISSIONS: tuple[str, ...] = (
    CONTACT_VIEW,
    CONTACT_ADD,
    CONTACT_EDIT,
    CONTACT_DELETE,
    ORG_VIEW,
    ORG_ADD,
    ORG_EDIT,
    ORG_DELETE,
)

#: (method, path under /api/v2/externalcontacts) -> the permissions of which any one suffices.
OPERATIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("POST", "/bulk/contacts"): ("externalContacts:contact:view",),
    ("POST", "/bulk/contacts/add"): ("externalContacts:contact:add",),
    ("POST", "/bulk/contacts/enrich"): ("externalContacts:contact:enrich",),
    ("POST", "/bulk/contacts/remove"): ("externalContacts:contact:delete",),
    ("POST", "/bulk/contacts/update"): ("externalContacts:contact:edit",),
    ("POST", "/bulk/organizations"): ("externalContacts:externalOrganization:view",),
    ("POST", "/bulk/organizations/add"): ("externalContacts:externalOrganization:add",),
    ("POST", "/bulk/organizations/enrich"): ("externalContacts:externalOrganization:enrich",),
    ("POST", "/bulk/organizations/remove"): ("externalContacts:externalOrganization:delete",),
    ("POST", "/bulk/organizations/update"): ("externalContacts:externalOrganization:edit",),
    ("GET", "/contacts"): (
        "externalContacts:contact:view",
        "relate:contact:view",
    ),
    ("POST", "/contacts"): (
        "externalContacts:contact:add",
        "relate:contact:add",
    ),
    ("POST", "/contacts/enrich"): ("externalContacts:contact:enrich",),
    ("POST", "/contacts/merge"): ("externalContacts:identity:merge",),
    ("POST", "/contacts/search"): (
        "externalContacts:contact:view",
        "relate:contact:view",
    ),
    ("DELETE", "/contacts/{contactId}"): (
        "externalContacts:contact:delete",
        "relate:contact:delete",
    ),
    ("GET", "/contacts/{contactId}"): (
        "externalContacts:contact:view",
        "relate:contact:view",
    ),
    ("PATCH", "/contacts/{contactId}"): ("externalContacts:contact:edit",),
    ("PUT", "/contacts/{contactId}"): (
        "externalContacts:contact:edit",
        "relate:contact:edit",
    ),
    ("GET", "/contacts/{contactId}/identifiers"): ("externalContacts:contact:view",),
    ("PATCH", "/contacts/{contactId}/identifiers"): ("externalContacts:contact:edit",),
    ("GET", "/contacts/{contactId}/notes"): (
        "externalContacts:contact:view",
        "relate:contact:view",
    ),
    ("POST", "/contacts/{contactId}/notes"): (
        "externalContacts:contact:edit",
        "relate:contact:edit",
    ),
    ("DELETE", "/contacts/{contactId}/notes/{noteId}"): (
        "externalContacts:contact:edit",
        "relate:contact:edit",
    ),
    ("GET", "/contacts/{contactId}/notes/{noteId}"): (
        "externalContacts:contact:view",
        "relate:contact:view",
    ),
    ("PATCH", "/contacts/{contactId}/notes/{noteId}"): (
        "externalContacts:contact:edit",
        "relate:contact:edit",
    ),
    ("PUT", "/contacts/{contactId}/notes/{noteId}"): (
        "externalContacts:contact:edit",
        "relate:contact:edit",
    ),
    ("GET", "/externalsources"): (
        "externalContacts:externalSource:view",
        "externalContacts:contact:view",
        "externalContacts:externalOrganization:view",
    ),
    ("POST", "/externalsources"): ("externalContacts:externalSource:add",),
    ("DELETE", "/externalsources/{externalSourceId}"): ("externalContacts:externalSource:delete",),
    ("GET", "/externalsources/{externalSourceId}"): (
        "externalContacts:externalSource:view",
        "externalContacts:contact:view",
        "externalContacts:externalOrganization:view",
    ),
    ("PUT", "/externalsources/{externalSourceId}"): ("externalContacts:externalSource:edit",),
    ("POST", "/identifierlookup"): (
        "externalContacts:contact:view",
        "relate:contact:view",
    ),
    ("POST", "/identifierlookup/contacts"): ("externalContacts:contact:view",),
    ("POST", "/identifierlookup/organizations"): ("externalContacts:externalOrganization:view",),
    ("POST", "/merge/contacts"): ("externalContacts:identity:merge",),
    ("GET", "/organizations"): (
        "externalContacts:externalOrganization:view",
        "relate:externalOrganization:view",
    ),
    ("POST", "/organizations"): (
        "externalContacts:externalOrganization:add",
        "relate:externalOrganization:add",
    ),
    ("POST", "/organizations/enrich"): ("externalContacts:externalOrganization:enrich",),
    ("DELETE", "/organizations/{externalOrganizationId}"): (
        "externalContacts:externalOrganization:delete",
        "relate:externalOrganization:delete",
    ),
    ("GET", "/organizations/{externalOrganizationId}"): (
        "externalContacts:externalOrganization:view",
        "relate:externalOrganization:view",
    ),
    ("PATCH", "/organizations/{externalOrganizationId}"): ("externalContacts:externalOrganization:edit",),
    ("PUT", "/organizations/{externalOrganizationId}"): (
        "externalContacts:externalOrganization:edit",
        "relate:externalOrganization:edit",
    ),
    ("GET", "/organizations/{externalOrganizationId}/contacts"): (
        "externalContacts:contact:view",
        "relate:contact:view",
    ),
    ("GET", "/organizations/{externalOrganizationId}/identifiers"): (
        "externalContacts:externalOrganization:view",
    ),
    ("PATCH", "/organizations/{externalOrganizationId}/identifiers"): (
        "externalContacts:externalOrganization:edit",
    ),
    ("GET", "/organizations/{externalOrganizationId}/notes"): (
        "externalContacts:externalOrganization:view",
        "relate:externalOrganization:view",
    ),
    ("POST", "/organizations/{externalOrganizationId}/notes"): (
        "externalContacts:externalOrganization:edit",
        "relate:externalOrganization:edit",
    ),
    ("DELETE", "/organizations/{externalOrganizationId}/notes/{noteId}"): (
        "externalContacts:externalOrganization:edit",
        "relate:externalOrganization:edit",
    ),
    ("GET", "/organizations/{externalOrganizationId}/notes/{noteId}"): (
        "externalContacts:externalOrganization:view",
        "relate:externalOrganization:view",
    ),
    ("PATCH", "/organizations/{externalOrganizationId}/notes/{noteId}"): (
        "externalContacts:externalOrganization:edit",
        "relate:externalOrganization:edit",
    ),
    ("PUT", "/organizations/{externalOrganizationId}/notes/{noteId}"): (
        "externalContacts:externalOrganization:edit",
        "relate:externalOrganization:edit",
    ),
    ("GET", "/organizations/{externalOrganizationId}/relationships"): (
        "externalContacts:externalOrganization:view",
        "relate:externalOrganization:view",
    ),
    ("DELETE", "/organizations/{externalOrganizationId}/trustor"): (
        "externalContacts:externalOrganization:edit",
    ),
    ("PUT", "/organizations/{externalOrganizationId}/trustor/{trustorId}"): (
        "externalContacts:externalOrganization:edit",
    ),
    ("POST", "/relationships"): (
        "externalContacts:externalOrganization:edit",
        "relate:externalOrganization:edit",
    ),
    ("DELETE", "/relationships/{relationshipId}"): (
        "externalContacts:externalOrganization:edit",
        "relate:externalOrganization:edit",
    ),
    ("GET", "/relationships/{relationshipId}"): (
        "externalContacts:externalOrganization:view",
        "relate:externalOrganization:view",
    ),
    ("PATCH", "/relationships/{relationshipId}"): (
        "externalContacts:externalOrganization:edit",
        "relate:externalOrganization:edit",
    ),
    ("PUT", "/relationships/{relationshipId}"): (
        "externalContacts:externalOrganization:edit",
        "relate:externalOrganization:edit",
    ),
    ("GET", "/scan/contacts"): (
        "externalContacts:contact:view",
        "relate:contact:view",
    ),
    ("GET", "/scan/organizations"): (
        "externalContacts:externalOrganization:view",
        "relate:externalOrganization:view",
    ),
}

#: What a sync needs on top of reading and writing records: it reads, and the first time
#: creates, its External Source (many integration roles lack ``externalSource:add``).
SYNC_PERMISSIONS: tuple[str, ...] = (*RECORD_PERMISSIONS, SOURCE_VIEW, SOURCE_ADD)


@lru_cache(maxsize=1)
def _patterns() -> list[tuple[str, re.Pattern[str], tuple[str, ...]]]:
    rows = []
    for (method, template), perms in OPERATIONS.items():
        regex = "".join(
            "[^/]+" if part.startswith("{") else re.escape(part)
            for part in re.split(r"(\{[^/]+\})", template)
        )
        rows.append((method, re.compile(f"{regex}/?"), perms))
    # literal segments win over parameters (``/contacts/search`` before ``/contacts/{id}``)
    rows.sort(key=lambda row: row[1].pattern.count("[^/]+"))
    return rows


def required(method: str, path: str) -> tuple[str, ...]:
    """The permissions (any one suffices) an External Contacts request needs; ``()`` when the
    request is not an External Contacts operation. ``path`` may be a full URL path with a query."""
    path = path.split("?", 1)[0]
    if API_PREFIX in path:
        path = path[path.index(API_PREFIX) + len(API_PREFIX) :]
    else:
        return ()
    method = method.upper()
    for op_method, pattern, perms in _patterns():
        if op_method == method and pattern.fullmatch(path):
            return perms
    return ()


def describe(perms: Iterable[str]) -> str:
    """``externalContacts:contact:view`` (the alternatives are not named: the role needs one)."""
    perms = tuple(perms)
    return perms[0] if perms else "an External Contacts permission"


def granted(held: Iterable[str], needed: Iterable[str]) -> bool:
    """Whether a role holding ``held`` may call an operation needing any of ``needed``.
    ``*`` and ``domain:*``/``domain:entity:*`` wildcards count, as in Genesys roles."""
    held_set = set(held)
    for perm in needed:
        parts = perm.split(":")
        candidates = {perm, "*", f"{parts[0]}:*", f"{parts[0]}:{parts[1]}:*" if len(parts) > 2 else perm}
        if held_set & candidates:
            return True
    return not tuple(needed)


LICENCE_HINT = (
    "if every External Contacts call is refused, the org may lack the licence for it "
    "(Genesys Cloud CX 3 or an add-on including External Contacts)"
)
