"""Which OAuth client may call which operation: per-client roles and the org's licence.

Genesys Cloud answers a call the client's role does not allow with ``403
missing.any.permissions`` and the message "Unable to perform the requested action. You must
have at least one of the following permissions assigned: ..." (the code and wording Genesys'
API error catalogue uses; the permissions per operation are the official SDK's, see
:mod:`gcx.permissions`). How an org without the External Contacts licence answers is not
documented: the emulator refuses every External Contacts call the same way (setting
``licensed``), since no role can hold the permissions there.
"""

from __future__ import annotations

from gcx import permissions
from gcx.emulator.errors import EmulatorError
from gcx.emulator.settings import EmulatorSettings


def refusal(settings: EmulatorSettings, client_id: str, method: str, path: str) -> EmulatorError | None:
    """The 403 for this call, or ``None`` when the client may make it."""
    if settings.licensed and not settings.client_permissions:
        return None  # every client holds every permission (the default): nothing to look up
    needed = permissions.required(method, path)
    if not needed:
        return None
    if settings.licensed:
        roles = dict(settings.client_permissions)
        if client_id not in roles or permissions.granted(roles[client_id], needed):
            return None
    return EmulatorError(
        403,
        "missing.any.permissions",
        "Unable to perform the requested action. You must have at least one of the following "
        f"permissions assigned: {', '.join(needed)}",
    )
