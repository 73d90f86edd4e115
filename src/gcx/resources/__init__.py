"""The API's resources, each a thin layer over :class:`gcx.resources.core.Core`."""

from __future__ import annotations

from gcx.resources.bulk import BulkError, BulkItem, BulkResult
from gcx.resources.contacts import Contacts
from gcx.resources.external_sources import ExternalSources
from gcx.resources.identifiers import Identifiers
from gcx.resources.organizations import Organizations
from gcx.resources.records import EnrichResult, RecordResource

__all__ = [
    "BulkError",
    "BulkItem",
    "BulkResult",
    "Contacts",
    "EnrichResult",
    "ExternalSources",
    "Identifiers",
    "Organizations",
    "RecordResource",
]
