"""``gcx emulator``: serve the External Contacts API emulator on loopback.

Prints the base URL (stdout, one line: use it as the region) and a hint (stderr), then
serves until Ctrl-C. The state lives in memory; ``--state FILE`` loads a dump taken from
``GET /_emulator/state``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from gcx.emulator import Emulator

ENV_CREDENTIALS = "GCX_EMULATOR_CREDENTIALS"
IDENTITY_MODES = ("documented", "kind")
ENV_ADMIN_SECRET = "GCX_EMULATOR_ADMIN_SECRET"  # noqa: S105 - the name of the variable
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


_PERMISSION = re.compile(r"\*|[A-Za-z]+:\*|[A-Za-z]+:[A-Za-z]+:(?:\*|[A-Za-z]+)")


def _permission_list(text: str) -> tuple[str, ...] | None:
    """``perm,perm`` (or ``perm|perm``; ``none`` for no permission) -> the permissions, or None."""
    if text.strip().lower() == "none":
        return ()
    items = [p.strip() for p in re.split(r"[,|]", text)]
    if items and all(_PERMISSION.fullmatch(p) for p in items):
        return tuple(items)
    return None


def parse_credentials(values: list[str], source: str) -> list[tuple[str, str, tuple[str, ...] | None]]:
    """``ID:SECRET`` or ``ID:SECRET:PERM,PERM`` strings to (id, secret, permissions or None for
    every permission); a bad one names its position, never its secret."""
    entries: list[tuple[str, str, tuple[str, ...] | None]] = []
    for i, value in enumerate(values, 1):
        client_id, sep, rest = value.strip().partition(":")
        if not sep or not client_id or not rest:
            raise typer.BadParameter(f"{source} entry {i} must look like CLIENT_ID:SECRET[:PERMISSION,...]")
        secret, perms = rest, None
        for at in [n for n, char in enumerate(rest) if char == ":"]:
            found = _permission_list(rest[at + 1 :])
            if found is not None and at > 0:
                secret, perms = rest[:at], found
                break
        entries.append((client_id, secret, perms))
    return entries


def _warn(message: str) -> None:
    typer.echo(f"warning: {message}", err=True)


def emulator(
    host: Annotated[
        str, typer.Option("--host", help="Interface to listen on (loopback by default).")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", help="TCP port; 0 picks a free one.", min=0, max=65535)
    ] = 8787,
    rate_limit: Annotated[
        int, typer.Option("--rate-limit", help="Requests per minute per token (0 = off).", min=0)
    ] = 300,
    org_rate_limit: Annotated[
        int,
        typer.Option(
            "--org-rate-limit", help="Requests per minute for the whole org, all tokens (0 = off).", min=0
        ),
    ] = 0,
    token_rate_limit: Annotated[
        int, typer.Option("--token-rate-limit", help="Tokens per minute per client id (0 = off).", min=0)
    ] = 0,
    token_ttl: Annotated[int, typer.Option("--token-ttl", help="Token lifetime in seconds.", min=1)] = 86400,
    fault_rate: Annotated[
        float,
        typer.Option("--fault-rate", help="Probability of a 500/503/504 per API call.", min=0.0, max=1.0),
    ] = 0.0,
    token_fault_rate: Annotated[
        float,
        typer.Option("--token-fault-rate", help="Probability of a 5xx on /oauth/token.", min=0.0, max=1.0),
    ] = 0.0,
    latency: Annotated[
        float, typer.Option("--latency", help="Seconds added to each API call.", min=0.0, max=60.0)
    ] = 0.0,
    latency_jitter: Annotated[
        float, typer.Option("--latency-jitter", help="Extra random latency, 0..N seconds.", min=0.0, max=60.0)
    ] = 0.0,
    drop_after_commit: Annotated[
        float,
        typer.Option(
            "--drop-after-commit",
            help="Probability that a write is applied and then its answer lost.",
            min=0.0,
            max=1.0,
        ),
    ] = 0.0,
    drop_mode: Annotated[
        str, typer.Option("--drop-mode", help="How an answer is lost: disconnect, 504 or mixed.")
    ] = "disconnect",
    burst_429_rate: Annotated[
        float,
        typer.Option(
            "--burst-429-rate", help="Probability that a call starts a burst of 429s.", min=0.0, max=1.0
        ),
    ] = 0.0,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed for faults and bulk shuffling.")] = None,
    max_bulk_size: Annotated[
        int, typer.Option("--max-bulk-size", help="Most entities per bulk request (413 above).", min=1)
    ] = 200,
    org_delete: Annotated[
        str,
        typer.Option(
            "--org-delete", help="Deleting an organization with contacts: reject, unlink or cascade."
        ),
    ] = "reject",
    unique_external_ids: Annotated[
        bool,
        typer.Option(
            "--unique-external-ids/--duplicate-external-ids",
            help="Whether two records may hold the same ExternalId identifier.",
        ),
    ] = True,
    identity: Annotated[
        str,
        typer.Option(
            "--identity",
            help="Identity rules: 'documented' (Genesys' documented rules, the strictest: identifiers "
            "from named fields, shown only with expand) or 'kind' (the earlier emulator: identifiers "
            "from externalIds and bodies, shown in scans, conflicts 409).",
        ),
    ] = "documented",
    shuffle_bulk_results: Annotated[
        bool,
        typer.Option(
            "--shuffle-bulk-results/--ordered-bulk-results", help="Bulk results out of request order."
        ),
    ] = True,
    credentials: Annotated[
        list[str] | None,
        typer.Option(
            "--credentials",
            help="Accepted CLIENT_ID:SECRET, or CLIENT_ID:SECRET:PERMISSION,... to give that client "
            "only these permissions (e.g. a:s:externalContacts:contact:view; 'none' for none). "
            f"Repeatable; default: accept any client with every permission. Prefer {ENV_CREDENTIALS} "
            "(entries comma separated, permissions separated by |).",
        ),
    ] = None,
    admin_secret: Annotated[
        str | None,
        typer.Option(
            "--admin-secret",
            help=f"Secret the /_emulator admin endpoints require (header X-Gcx-Admin-Secret). Prefer "
            f"{ENV_ADMIN_SECRET}. Without one, admin is locked when listening beyond loopback or "
            "with credentials.",
        ),
    ] = None,
    max_body_bytes: Annotated[
        int,
        typer.Option("--max-body-bytes", min=1, help="Largest request body in bytes (413 above it)."),
    ] = 10 * 1024 * 1024,
    unlicensed: Annotated[
        bool,
        typer.Option(
            "--unlicensed",
            help="Act as an org without the External Contacts licence: every External Contacts "
            "call is refused (403).",
        ),
    ] = False,
    state: Annotated[
        Path | None, typer.Option("--state", help="Load a state dumped from GET /_emulator/state.")
    ] = None,
    org_name: Annotated[str, typer.Option("--org-name", help="Name of the emulated org.")] = "gcx emulator",
) -> None:
    """Serve the External Contacts API emulator (token endpoint, API and /_emulator admin).

    Example: gcx emulator --port 8787 --fault-rate 0.05 --drop-after-commit 0.02 --seed 7
    """
    # here, not with the module: every other command would load the emulator package
    from gcx.emulator.settings import DROP_MODES, KIND_IDENTITY, ORG_DELETE_MODES, STRICT_IDENTITY

    if drop_mode not in DROP_MODES:
        raise typer.BadParameter(f"must be one of {', '.join(DROP_MODES)}", param_hint="--drop-mode")
    if identity not in IDENTITY_MODES:
        raise typer.BadParameter(f"must be one of {', '.join(IDENTITY_MODES)}", param_hint="--identity")
    if org_delete not in ORG_DELETE_MODES:
        raise typer.BadParameter(f"must be one of {', '.join(ORG_DELETE_MODES)}", param_hint="--org-delete")
    pairs: list[tuple[str, str, tuple[str, ...] | None]] = []
    if credentials:
        _warn(
            "--credentials puts secrets on the command line, visible to other users of this machine; "
            f"prefer the {ENV_CREDENTIALS} environment variable (ID:SECRET, comma separated)"
        )
        pairs.extend(parse_credentials(credentials, "--credentials"))
    env_value = os.environ.get(ENV_CREDENTIALS, "")
    if env_value.strip():
        pairs.extend(parse_credentials([v for v in env_value.split(",") if v.strip()], ENV_CREDENTIALS))
    if admin_secret:
        _warn(
            "--admin-secret puts a secret on the command line, visible to other users of this machine; "
            f"prefer the {ENV_ADMIN_SECRET} environment variable"
        )
    secret = os.environ.get(ENV_ADMIN_SECRET, "").strip() or (admin_secret or "").strip()
    exposed = host not in LOOPBACK_HOSTS
    if not secret and (exposed or pairs):
        secret = secrets.token_urlsafe(32)  # known to nobody: the admin endpoints stay locked
        _warn(
            "the admin endpoints (/_emulator/*) are locked because the emulator "
            + ("listens beyond loopback" if exposed else "checks credentials")
            + f"; set {ENV_ADMIN_SECRET} and send it in the X-Gcx-Admin-Secret header to use them"
        )
    # Imported here: the emulator (starlette, phonenumbers) is heavy for every other command.
    from gcx.emulator import Emulator, EmulatorSettings
    from gcx.emulator.server import base_url, bind, install_log_filter, make_server, settle_gc

    settings = EmulatorSettings(
        org_name=org_name,
        rate_limit=rate_limit,
        org_rate_limit=org_rate_limit,
        token_rate_limit=token_rate_limit,
        token_ttl=token_ttl,
        admin_secret=secret,
        max_body_bytes=max_body_bytes,
        credentials=tuple((cid, sec) for cid, sec, _ in pairs),
        client_permissions=tuple((cid, perms) for cid, _, perms in pairs if perms is not None),
        licensed=not unlicensed,
        max_bulk_size=max_bulk_size,
        org_delete_with_contacts=org_delete,
        unique_external_ids=unique_external_ids,
        shuffle_bulk_results=shuffle_bulk_results,
        seed=seed,
        fault_rate=fault_rate,
        token_fault_rate=token_fault_rate,
        latency=latency,
        latency_jitter=latency_jitter,
        drop_after_commit=drop_after_commit,
        drop_mode=drop_mode,
        burst_429_rate=burst_429_rate,
        **(KIND_IDENTITY if identity == "kind" else STRICT_IDENTITY),
    )
    emu = Emulator(settings)
    if state is not None:
        _load_state(emu, state)
    if exposed:
        _warn(f"listening on {host}: the emulator accepts any credentials unless --credentials is set")
    try:
        sock = bind(host, port)
    except OSError as exc:
        typer.echo(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}", err=True)
        raise typer.Exit(1) from None
    url = base_url(sock)
    install_log_filter()
    server = make_server(emu.app, log_level="warning")
    settle_gc()
    print(url, flush=True)
    typer.echo(
        f"gcx emulator serving {url} (use it as the region, e.g. gcx --region {url} ...; "
        f"admin at {url}/_emulator/stats). Ctrl-C to stop.",
        err=True,
    )
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        sys.stderr.flush()


def _load_state(emu: Emulator, path: Path) -> None:
    from gcx.emulator import EmulatorError

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc.strerror or exc}", param_hint="--state") from None
    except ValueError as exc:
        raise typer.BadParameter(f"{path} is not JSON: {exc}", param_hint="--state") from None
    try:
        counts = emu.load(data)
    except EmulatorError as err:
        raise typer.BadParameter(f"{path}: {err.message}", param_hint="--state") from None
    typer.echo(
        f"loaded {counts['organizations']} organizations, {counts['contacts']} contacts, "
        f"{counts['externalsources']} external sources from {path}",
        err=True,
    )


def register(root: typer.Typer) -> None:
    """Add ``gcx emulator`` to the root app."""
    root.command("emulator")(emulator)
