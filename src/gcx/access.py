"""What the OAuth client may do: one harmless request per permission, read from the answer.

Genesys Cloud checks a call's permission before anything else and answers ``403`` when the role
lacks it, so each probe sends a request that can never change anything and reads only the
status (:func:`verdict`):

* view: a one-record scan;
* add: a create whose body is a JSON array (never a valid record: a 400 when allowed);
* edit: a PUT of the nil id with that body (no record has the nil id);
* delete: a DELETE of the nil id (nothing to delete: a 404 when allowed).

Nothing is created, changed or deleted, whatever the role. The decisions are pure; only
:func:`probe_access` does I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from gcx import permissions as perm
from gcx.errors import ApiError, GcxError

if TYPE_CHECKING:
    from gcx.client import AsyncClient

API = "/api/v2/externalcontacts"
NIL_ID = "00000000-0000-0000-0000-000000000000"

Verdict = Literal["granted", "missing", "unknown"]


@dataclass(frozen=True)
class Probe:
    """One harmless request that tells whether ``permission`` is held."""

    permission: str
    what: str
    method: str
    path: str
    body: object = None


PROBES: tuple[Probe, ...] = (
    Probe(perm.CONTACT_VIEW, "read contacts", "GET", f"{API}/scan/contacts?limit=1"),
    Probe(perm.CONTACT_ADD, "create contacts", "POST", f"{API}/contacts", []),
    Probe(perm.CONTACT_EDIT, "update contacts", "PUT", f"{API}/contacts/{NIL_ID}", []),
    Probe(perm.CONTACT_DELETE, "delete contacts", "DELETE", f"{API}/contacts/{NIL_ID}"),
    Probe(perm.ORG_VIEW, "read organizations", "GET", f"{API}/scan/organizations?limit=1"),
    Probe(perm.ORG_ADD, "create organizations", "POST", f"{API}/organizations", []),
    Probe(perm.ORG_EDIT, "update organizations", "PUT", f"{API}/organizations/{NIL_ID}", []),
    Probe(perm.ORG_DELETE, "delete organizations", "DELETE", f"{API}/organizations/{NIL_ID}"),
    Probe(perm.SOURCE_VIEW, "read External Sources (sync)", "GET", f"{API}/externalsources?pageSize=1"),
    Probe(perm.SOURCE_ADD, "create an External Source (sync)", "POST", f"{API}/externalsources", []),
)


@dataclass(frozen=True)
class ProbeResult:
    permission: str
    what: str
    verdict: Verdict
    detail: str


def verdict(status: int | None) -> Verdict:
    """403 = the role lacks the permission; an answer past the permission check (2xx, 400, 404,
    409, 422) = it holds it; anything else (401, 429, 5xx, no answer) says nothing."""
    if status == 403:
        return "missing"
    if status is not None and (200 <= status < 300 or status in (400, 404, 409, 422)):
        return "granted"
    return "unknown"


def missing(results: Iterable[ProbeResult]) -> list[str]:
    return [r.permission for r in results if r.verdict == "missing"]


def everything_refused(results: Sequence[ProbeResult]) -> bool:
    """Every probe refused: the org may lack the licence (or the role holds none of them)."""
    return bool(results) and all(r.verdict == "missing" for r in results)


def summary(results: Sequence[ProbeResult], required: Iterable[str]) -> str | None:
    """One line naming what is missing among ``required``, or ``None`` when nothing is."""
    needed = [p for p in missing(results) if p in set(required)]
    if not needed:
        return None
    if everything_refused(results):
        return (
            "every External Contacts call was refused: the org may lack the licence for External "
            "Contacts (Genesys Cloud CX 3 or an add-on including it), or the OAuth client's role "
            f"holds none of {', '.join(needed)}"
        )
    return f"the OAuth client's role lacks {', '.join(needed)} (add them to its role in Genesys Cloud)"


async def probe_access(gc: AsyncClient, probes: Sequence[Probe] = PROBES) -> list[ProbeResult]:
    """Run ``probes`` one after the other (each changes nothing) and judge each answer."""
    results = []
    for probe in probes:
        path, _, query = probe.path.partition("?")
        params = dict(part.split("=", 1) for part in query.split("&")) if query else None
        status: int | None
        try:
            await gc.request(probe.method, path, params=params, json=probe.body, idempotent=True)
            status, detail = 200, "allowed"
        except ApiError as exc:
            status, detail = exc.status, f"{exc.status} {exc.code or ''}".strip()
        except GcxError as exc:
            status, detail = None, str(exc)
        results.append(ProbeResult(probe.permission, probe.what, verdict(status), detail))
    return results


def probes_for(permissions: Iterable[str]) -> tuple[Probe, ...]:
    wanted = set(permissions)
    return tuple(p for p in PROBES if p.permission in wanted)


def sync_needs(*, prune: bool, source_exists: bool) -> tuple[str, ...]:
    """The permissions a sync run needs: read and write both kinds, delete only to prune, read
    its External Source, and create it when it does not exist yet."""
    needed = [
        perm.CONTACT_VIEW,
        perm.CONTACT_ADD,
        perm.CONTACT_EDIT,
        perm.ORG_VIEW,
        perm.ORG_ADD,
        perm.ORG_EDIT,
    ]
    if prune:
        needed += [perm.CONTACT_DELETE, perm.ORG_DELETE]
    needed.append(perm.SOURCE_VIEW)
    if not source_exists:
        needed.append(perm.SOURCE_ADD)
    return tuple(needed)


#: Permissions a run's own scans prove (they come before anything is written when the External
#: Source exists, or in a plan): not probed then, a 403 of the scan names them before any write.
SCAN_PROVES: tuple[str, ...] = (perm.CONTACT_VIEW, perm.ORG_VIEW)


@dataclass(frozen=True)
class AccessCheck:
    """What :func:`check_sync_access` found: the problem in one line (None: none), the
    permissions it saw granted (to remember), and the requests it made."""

    problem: str | None
    granted: tuple[str, ...] = ()
    requests: int = 0


def to_probe(needed: Iterable[str], proven: Collection[str], *, scans_first: bool) -> tuple[str, ...]:
    """Pure: what to probe among ``needed``: not what is ``proven`` already, nor what the run's
    own scans prove when they come before any write (``scans_first``)."""
    skip = set(proven) | (set(SCAN_PROVES) if scans_first else set())
    return tuple(p for p in needed if p not in skip)


async def check_sync_access(
    gc: AsyncClient,
    *,
    source_name: str,
    prune: bool,
    dry_run: bool = False,
    proven: Collection[str] = (),
    source_bound: bool = False,
) -> AccessCheck:
    """Probe what a sync run needs before it writes anything, each permission at most once and
    only when not already known:

    * ``proven``: permissions this client proved on this ledger a short while ago (a write or a
      probe, :mod:`gcx.sync.proven`): not probed again;
    * the External Source list (needed anyway to know whether the source exists) proves
      ``externalSource:view``; it is skipped when that is proven and the ledger is bound to a
      source (``source_bound``);
    * view of both kinds is proven by the run's own scans when they come before any write: in a
      plan, or when the External Source exists (else the run creates it first)."""
    exists: bool | None = None
    granted: list[str] = []
    requests = 0
    problems: list[ProbeResult] = []
    if source_bound and perm.SOURCE_VIEW in proven:
        exists = True
    else:
        requests += 1
        try:
            async for src in gc.external_sources.list(name=source_name):
                if (src.name or "").strip() == source_name.strip():
                    exists = True
                    break
            else:
                exists = False
            granted.append(perm.SOURCE_VIEW)
        except ApiError as exc:
            exists = False
            if exc.status == 403:
                problems.append(
                    ProbeResult(perm.SOURCE_VIEW, "read External Sources (sync)", "missing", "403")
                )
    needed = sync_needs(prune=prune, source_exists=bool(exists))
    wanted = to_probe(needed, {*proven, *granted}, scans_first=dry_run or bool(exists))
    wanted = tuple(p for p in wanted if p not in {r.permission for r in problems})
    results = problems + await probe_access(gc, probes_for(wanted))
    requests += len(wanted)
    granted += [r.permission for r in results if r.verdict == "granted"]
    problem = summary(results, needed)
    if problem and perm.SOURCE_ADD in missing(results):
        problem += (
            f"; the sync creates its External Source {source_name!r} on its first run, which needs "
            f"{perm.SOURCE_ADD} (or create the source once with a role that has it)"
        )
    return AccessCheck(problem, tuple(dict.fromkeys(granted)), requests)
