"""Typed models for every schema of the External Contacts API.

All models are generated from the OpenAPI contract (``_generated.py``) and share
:class:`~gcx.models.base.ApiModel`: API field names, unknown fields kept.
"""

from __future__ import annotations

from gcx.models import _generated as _g
from gcx.models._generated import *  # noqa: F403
from gcx.models.base import ApiModel

#: Shorter names for the long generated bulk result types.
BulkContactResult = _g.BulkResponseResultExternalContactExternalContactBulkEntityErrorExternalContact
BulkOrganizationResult = (
    _g.BulkResponseResultExternalOrganizationExternalOrganizationBulkEntityErrorExternalOrganization
)
PatchChange = _g.ContactsPatchChange
PatchRequest = _g.ExternalContactsPatchRequest

__all__ = [
    "ApiModel",
    "BulkContactResult",
    "BulkOrganizationResult",
    "PatchChange",
    "PatchRequest",
    *[n for n in dir(_g) if isinstance(getattr(_g, n), type) and issubclass(getattr(_g, n), ApiModel)],
]
