"""The API's resources, each a thin layer over :class:`gcx.resources.base.Core`."""

from __future__ import annotations

from gcx.resources.base import EnrichResult, Identifiers, RecordResource
from gcx.resources.bulk import BulkError, BulkItem, BulkResult
from gcx.resources.contacts import Contacts
from gcx.resources.external_sources import ExternalSources
from gcx.resources.organizations import Organizations

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
