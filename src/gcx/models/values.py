"""Value sets the API contract states only in prose (field descriptions, the spec README).

The generated models type these fields as plain strings; the rules that check them (the client
before a request, the CLI before it builds one) take the allowed values from here. The emulator
keeps its own copy on purpose: it must not agree with gcx by construction.
"""

from __future__ import annotations

#: Identifier types a contact may hold (``ContactIdentifier.type``).
CONTACT_IDENTIFIER_TYPES: tuple[str, ...] = (
    "SocialLine",
    "SocialFacebook",
    "SocialTwitter",
    "SocialWhatsapp",
    "SocialInstagram",
    "SocialWhatsappBsuid",
    "AppleOpaqueId",
    "Email",
    "Phone",
    "Cookie",
    "ExternalId",
    "SocialInstagramHandle",
)
#: Identifier types an organization may hold (``ExternalOrganizationIdentifier.type``).
ORG_IDENTIFIER_TYPES: tuple[str, ...] = ("ExternalId",)

#: ``ContactsPatchChange.action``, in the order the CLI documents them.
PATCH_ACTIONS: tuple[str, ...] = (
    "Update",
    "UpdateIfEmpty",
    "UpdateIfExists",
    "Remove",
    "AppendToCollection",
    "RemoveFromCollection",
)
#: The PATCH actions that give the same result however often they are applied.
IDEMPOTENT_PATCH_ACTIONS = frozenset(PATCH_ACTIONS) - {"AppendToCollection"}
