"""Optional dependencies (the package's extras) and the one error raised when one is missing.

A library-only ``pip install gcx`` pulls no web server and no PostgreSQL driver:

- ``gcx[emulator]``: starlette and uvicorn (``gcx.emulator``, ``gcx emulator``, ``gcx demo``);
- ``gcx[postgres]``: psycopg (PostgreSQL ledgers and SQL sources);
- ``gcx[console]``: the web console of ``gcx serve`` (jinja2, argon2-cffi, itsdangerous,
  python-multipart, starlette);
- ``gcx[dev]``: all of them, plus the test and lint tools.
"""

from __future__ import annotations

from gcx.errors import MissingDependencyError

# Top-level module name -> the extra that installs it.
EXTRA_OF_MODULE: dict[str, str] = {
    "starlette": "emulator",
    "uvicorn": "emulator",
    "psycopg": "postgres",
    "psycopg_binary": "postgres",
    "jinja2": "console",
    "argon2": "console",
    "itsdangerous": "console",
    "multipart": "console",
    "python_multipart": "console",
}


def install_hint(exc: ImportError) -> str:
    """`` (pip install 'gcx[postgres]')`` when the missing module belongs to an extra, else ''."""
    extra = EXTRA_OF_MODULE.get((exc.name or "").split(".")[0])
    return f" (install it with: pip install 'gcx[{extra}]')" if extra else ""


def missing(exc: ImportError, feature: str) -> MissingDependencyError:
    """The error to raise (``from exc``) when ``feature`` cannot import an optional dependency."""
    name = (exc.name or str(exc)).split(".")[0]
    extra = EXTRA_OF_MODULE.get(name)
    how = f"pip install 'gcx[{extra}]'" if extra else f"pip install {name}"
    return MissingDependencyError(
        f"{feature} needs the optional dependency {name!r}, which is not installed: {how}",
        module=name,
        extra=extra,
    )
