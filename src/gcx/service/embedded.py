"""An embedded PostgreSQL in the service's data directory, from the ``pgserver`` wheel's binaries.

For a first try on a fresh machine (``gcx serve run`` with no database URL). Production runs
against a PostgreSQL URL.

PostgreSQL refuses to run as root. As root, ``pgserver`` itself would add a system user and
open every parent directory of the data directory and of the wheel to all users (``chmod o+rx``
up to ``/``). gcx does not let it: as root it runs ``initdb`` and ``postgres`` itself, as an
unprivileged user (``GCX_EMBEDDED_PG_USER``, else ``postgres`` when it exists, else a system
user ``gcx-postgres`` that it creates), after checking that this user can reach the binaries
and the data directory; when it cannot, the error says so and what to do (set a database URL,
or put the data directory and gcx where that user can read them). The server listens only on
a Unix socket inside the data directory and trusts local connections; it keeps running after
gcx exits (the next start reuses it), ``pg_ctl -D DATA_DIR/postgres stop`` stops it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import warnings
from pathlib import Path

from gcx.errors import ConfigError

USER_ENV = "GCX_EMBEDDED_PG_USER"


def _bin_dir() -> Path:
    try:
        with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on import
            warnings.simplefilter("ignore")
            import pgserver  # noqa: F401
    except ImportError:
        raise ConfigError(
            "no database URL and no embedded PostgreSQL: set the database URL's environment variable "
            "(GCX_DATABASE_URL by default) or pip install pgserver"
        ) from None
    from pgserver._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def _uri(socket_dir: Path) -> str:
    return f"postgresql://postgres@/postgres?host={socket_dir}"


def _pick_user() -> pwd.struct_passwd:
    wanted = os.environ.get(USER_ENV)
    for name in ([wanted] if wanted else []) + ["postgres"]:
        try:
            return pwd.getpwnam(name)
        except KeyError:
            if name == wanted:
                raise ConfigError(f"{USER_ENV}={wanted}: no such user") from None
    try:
        return pwd.getpwnam("gcx-postgres")
    except KeyError:
        pass
    useradd = shutil.which("useradd")
    if useradd is None:
        raise ConfigError(
            f"PostgreSQL does not run as root and there is no unprivileged user to run it: set {USER_ENV} "
            "or a database URL"
        )
    subprocess.run(  # noqa: S603 - fixed arguments
        [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "gcx-postgres"],
        check=True,
        capture_output=True,
    )
    return pwd.getpwnam("gcx-postgres")


def _as(user: pwd.struct_passwd, args: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # type: ignore[call-overload, no-any-return]  # noqa: S603 - our binaries
        args, user=user.pw_uid, group=user.pw_gid, extra_groups=[], capture_output=True, text=True, **kw
    )


def _start_as_root(pgdata: Path, bin_dir: Path) -> str:
    user = _pick_user()
    probe = _as(user, [str(bin_dir / "postgres"), "--version"])
    if probe.returncode != 0:
        raise ConfigError(
            f"the embedded PostgreSQL cannot run as root, and user {user.pw_name} cannot run "
            f"{bin_dir / 'postgres'} (a parent directory is closed to it): install gcx where that user "
            f"can read it, set {USER_ENV}, or give a database URL"
        )
    pgdata.mkdir(parents=True, exist_ok=True)
    os.chown(pgdata, user.pw_uid, user.pw_gid)
    pgdata.chmod(0o700)
    if _as(user, ["test", "-w", str(pgdata)]).returncode != 0:
        raise ConfigError(
            f"user {user.pw_name} cannot reach the data directory {pgdata} (a parent directory is closed "
            "to it): choose a data_dir outside root's home, or give a database URL"
        )
    if not (pgdata / "PG_VERSION").exists():
        init = _as(
            user,
            [str(bin_dir / "initdb"), "-D", str(pgdata), "--auth=trust", "-U", "postgres", "--encoding=utf8"],
        )
        if init.returncode != 0:
            raise ConfigError(f"initdb failed: {init.stderr.strip()[-500:]}")
    status = _as(user, [str(bin_dir / "pg_ctl"), "-D", str(pgdata), "status"])
    if status.returncode != 0:
        start = _as(
            user,
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(pgdata),
                "-w",
                "-l",
                str(pgdata / "log"),
                "-o",
                f"-h '' -k {pgdata}",
                "start",
            ],
            timeout=60,
        )
        if start.returncode != 0:
            raise ConfigError(f"the embedded PostgreSQL did not start: {start.stderr.strip()[-500:]}")
    return _uri(pgdata)


def start_embedded(data_dir: Path) -> str:
    """Start (or reuse) the embedded server; its ``postgresql://`` URL."""
    bin_dir = _bin_dir()
    pgdata = (data_dir / "postgres").resolve()
    if len(str(pgdata)) > 90:
        raise ConfigError(f"the data directory path {pgdata} is too long for a PostgreSQL socket (90 max)")
    if os.geteuid() == 0:
        return _start_as_root(pgdata, bin_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgserver.postgres_server import get_server

        server = get_server(pgdata, cleanup_mode=None)
    return str(server.get_uri())


def stop_embedded(data_dir: Path) -> bool:
    """Stop the embedded server of ``data_dir`` (fast shutdown); False if it was not running."""
    pgdata = (data_dir / "postgres").resolve()
    if not (pgdata / "postmaster.pid").exists():
        return False
    args = [str(_bin_dir() / "pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "stop"]
    if os.geteuid() == 0:
        st = pgdata.stat()
        owner = pwd.getpwuid(st.st_uid)
        return _as(owner, args).returncode == 0
    return subprocess.run(args, capture_output=True, check=False).returncode == 0  # noqa: S603
