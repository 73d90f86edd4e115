"""Regions, credentials and profiles.

Where settings come from, first match wins:

1. explicit arguments (``Settings.resolve(region=..., client_id=...)``);
2. the environment variables Genesys' own tools use: ``GENESYSCLOUD_OAUTHCLIENT_ID``,
   ``GENESYSCLOUD_OAUTHCLIENT_SECRET``, ``GENESYSCLOUD_REGION``, ``GENESYSCLOUD_ACCESS_TOKEN``;
3. a named profile (``profile=`` or ``GCX_PROFILE``, else the file's default) in the config
   file (``GCX_CONFIG`` or ``~/.config/gcx/config.toml``).

A region is a name (``us-east-1`` or ``us_east_1``), a domain (``mypurecloud.com``) or a
base URL (``http://127.0.0.1:8787``: the emulator or a proxy; login then lives on the
same origin).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gcx.errors import ConfigError, SettingError
from gcx.private import write_private
from gcx.redact import redact_url

#: The 18 regions of Genesys Cloud and their domains (spec README).
REGIONS: dict[str, str] = {
    "us-east-1": "mypurecloud.com",
    "us-east-2": "use2.us-gov-pure.cloud",
    "us-west-2": "usw2.pure.cloud",
    "ca-central-1": "cac1.pure.cloud",
    "sa-east-1": "sae1.pure.cloud",
    "mx-central-1": "mxc1.pure.cloud",
    "eu-west-1": "mypurecloud.ie",
    "eu-west-2": "euw2.pure.cloud",
    "eu-central-1": "mypurecloud.de",
    "eu-central-2": "euc2.pure.cloud",
    "eusc-de-east-1": "edee1.eusc-pure.cloud",
    "me-central-1": "mec1.pure.cloud",
    "ap-south-1": "aps1.pure.cloud",
    "ap-southeast-1": "apse1.pure.cloud",
    "ap-southeast-2": "mypurecloud.com.au",
    "ap-northeast-1": "mypurecloud.jp",
    "ap-northeast-2": "apne2.pure.cloud",
    "ap-northeast-3": "apne3.pure.cloud",
}
_DOMAINS = {domain: name for name, domain in REGIONS.items()}

ENV_CLIENT_ID = "GENESYSCLOUD_OAUTHCLIENT_ID"
ENV_CLIENT_SECRET = "GENESYSCLOUD_OAUTHCLIENT_SECRET"  # noqa: S105 - a variable name, not a secret
ENV_REGION = "GENESYSCLOUD_REGION"
ENV_ACCESS_TOKEN = "GENESYSCLOUD_ACCESS_TOKEN"  # noqa: S105
ENV_PROFILE = "GCX_PROFILE"
ENV_CONFIG = "GCX_CONFIG"


@dataclass(frozen=True)
class Region:
    """Where the API and the login service live."""

    name: str  # what is shown and stored (a URL's password masked)
    api_base: str = field(repr=False)  # what is connected to (may hold a URL's user info)
    login_base: str = field(repr=False)

    @property
    def is_local(self) -> bool:
        """True for a base URL on this machine (the emulator)."""
        host = urlsplit(self.api_base).hostname or ""
        return host in {"127.0.0.1", "localhost", "::1"} or host.startswith("127.")


def resolve_region(value: str) -> Region:
    """Turn a region name, domain or base URL into a :class:`Region`.

    Raises :class:`ConfigError` naming the accepted forms when ``value`` is none of them.
    """
    raw = (value or "").strip()
    if not raw:
        raise SettingError(f"no region given: set {ENV_REGION} or pass --region (e.g. us-east-1)")
    if "://" in raw:
        parts = urlsplit(raw)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise SettingError(f"region {raw!r} is not a valid http(s) base URL")
        base = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        return Region(name=redact_url(base), api_base=base, login_base=base)
    key = raw.lower().replace("_", "-")
    if key in REGIONS:
        domain = REGIONS[key]
        return Region(name=key, api_base=f"https://api.{domain}", login_base=f"https://login.{domain}")
    domain = raw.lower()
    for prefix in ("api.", "login."):
        if domain.startswith(prefix) and domain[len(prefix) :] in _DOMAINS:
            domain = domain[len(prefix) :]
    if domain in _DOMAINS:
        return Region(
            name=_DOMAINS[domain], api_base=f"https://api.{domain}", login_base=f"https://login.{domain}"
        )
    known = ", ".join(REGIONS)
    raise SettingError(
        f"unknown region {raw!r}: use a region name ({known}), its domain (e.g. mypurecloud.com) "
        "or a base URL such as http://127.0.0.1:8787"
    )


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get(ENV_CONFIG):
        return Path(env[ENV_CONFIG]).expanduser()
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "gcx" / "config.toml"


@dataclass(frozen=True)
class Profile:
    """A named set of settings in the config file."""

    name: str
    region: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)

    def masked(self) -> dict[str, str | None]:
        return {
            "name": self.name,
            "region": redact_url(self.region) if self.region else self.region,
            "client_id": self.client_id,
            "client_secret": mask_secret(self.client_secret),
        }


def mask_secret(secret: str | None) -> str | None:
    """``'abcdef123456'`` -> ``'****3456'``: enough to recognise, never enough to use."""
    if not secret:
        return None
    tail = secret[-4:] if len(secret) >= 12 else ""
    return "****" + tail


class ConfigFile:
    """The TOML profile file: ``default = "name"`` and ``[profiles.name]`` tables."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_config_path()

    def load(self) -> dict[str, Any]:
        if not self.path.exists():
            return {"profiles": {}}
        try:
            data = tomllib.loads(self.path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {self.path} is not valid TOML: {exc}") from None
        profiles = data.get("profiles", {})
        if not isinstance(profiles, dict):
            raise ConfigError(f"config file {self.path}: 'profiles' must be a table")
        data["profiles"] = profiles
        return data

    def profiles(self) -> dict[str, Profile]:
        out: dict[str, Profile] = {}
        for name, table in self.load()["profiles"].items():
            if not isinstance(table, dict):
                raise ConfigError(f"config file {self.path}: profile {name!r} must be a table")
            out[name] = Profile(
                name=name,
                region=_opt_str(table.get("region")),
                client_id=_opt_str(table.get("client_id")),
                client_secret=_opt_str(table.get("client_secret")),
            )
        return out

    def default_profile(self) -> str | None:
        return _opt_str(self.load().get("default"))

    def get(self, name: str) -> Profile:
        profiles = self.profiles()
        if name not in profiles:
            known = ", ".join(sorted(profiles)) or "none"
            raise SettingError(f"no profile named {name!r} in {self.path} (profiles: {known})")
        return profiles[name]

    def unknown_keys(self) -> list[str]:
        """Keys gcx does not use (a typo such as ``client-id`` would otherwise pass silently)."""
        data = self.load()
        unknown = [f"{key!r}" for key in data if key not in TOP_LEVEL_KEYS]
        for name, table in data["profiles"].items():
            if isinstance(table, dict):
                unknown += [f"{key!r} in profile {name!r}" for key in table if key not in PROFILE_KEYS]
        return unknown

    def save_profile(self, profile: Profile, *, make_default: bool = False) -> None:
        """Add or replace a profile's settings; the file's comments, layout, value types and
        any other key stay as they were (tomlkit round trip)."""
        import tomlkit

        doc = self._document()
        profiles = doc.get("profiles")
        if profiles is None:
            profiles = tomlkit.table(is_super_table=True)
            doc["profiles"] = profiles
        table = profiles.get(profile.name)
        if table is None:
            table = tomlkit.table()
            profiles[profile.name] = table
        for key, value in (
            ("region", profile.region),
            ("client_id", profile.client_id),
            ("client_secret", profile.client_secret),
        ):
            if value is not None:
                table[key] = value
            elif key in table:
                del table[key]
        if make_default or not doc.get("default"):
            _set_default(doc, profile.name)
        self._write(doc)

    def set_default(self, name: str) -> None:
        self.get(name)
        doc = self._document()
        _set_default(doc, name)
        self._write(doc)

    def remove_profile(self, name: str) -> None:
        doc = self._document()
        profiles = doc.get("profiles")
        if profiles is None or name not in profiles:
            raise SettingError(f"no profile named {name!r} in {self.path}")
        del profiles[name]
        if doc.get("default") == name:
            del doc["default"]
        self._write(doc)

    def _document(self) -> Any:
        """The file as a tomlkit document (comments and formatting kept), validated first."""
        import tomlkit

        self.load()  # raises a ConfigError naming the file when it is not valid TOML
        if not self.path.exists():
            return tomlkit.document()
        return tomlkit.parse(self.path.read_text(encoding="utf-8"))

    def _write(self, doc: Any) -> None:
        import tomlkit

        write_private(self.path, tomlkit.dumps(doc))  # may hold a client secret


#: The keys gcx reads from the config file.
TOP_LEVEL_KEYS = frozenset({"default", "profiles"})
PROFILE_KEYS = frozenset({"region", "client_id", "client_secret"})


def _set_default(doc: Any, name: str) -> None:
    """``default = name`` (tomlkit places a new top-level key before the first table)."""
    doc["default"] = name


def _opt_str(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


@dataclass(frozen=True)
class Settings:
    """Everything needed to talk to one Genesys Cloud org. Secrets are kept out of repr."""

    region: Region
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    access_token: str | None = field(default=None, repr=False)
    profile: str | None = None
    #: Where each value came from: ``{"region": "environment (GENESYSCLOUD_REGION)", ...}``.
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def resolve(
        cls,
        *,
        region: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        access_token: str | None = None,
        profile: str | None = None,
        env: Mapping[str, str] | None = None,
        config_file: ConfigFile | None = None,
        require_credentials: bool = True,
    ) -> Settings:
        """Merge arguments, environment and profile; raise :class:`ConfigError` naming what is missing."""
        env = os.environ if env is None else env
        cfg = config_file or ConfigFile(default_config_path(env))
        profile_name = profile or env.get(ENV_PROFILE)
        prof: Profile | None = None
        sources: dict[str, str] = {}
        if profile_name:
            prof = cfg.get(profile_name)
            sources["profile"] = "option --profile" if profile else f"environment ({ENV_PROFILE})"
        else:
            default = cfg.default_profile() if cfg.path.exists() else None
            if default:
                prof = cfg.profiles().get(default)
                sources["profile"] = f"the default in {cfg.path}"

        def pick(key: str, arg: str | None, env_name: str, prof_value: str | None) -> str | None:
            if arg:
                sources[key] = "argument" if key != "region" else "option --region"
                return arg
            if env.get(env_name):
                sources[key] = f"environment ({env_name})"
                return env[env_name]
            if prof_value and prof is not None:
                sources[key] = f"profile {prof.name!r} ({cfg.path})"
            return prof_value

        region_value = pick("region", region, ENV_REGION, prof.region if prof else None)
        if not region_value:
            raise SettingError(
                f"no region: pass --region, set {ENV_REGION} or add one to a profile (gcx config add)"
            )
        settings = cls(
            region=resolve_region(region_value),
            client_id=pick("client_id", client_id, ENV_CLIENT_ID, prof.client_id if prof else None),
            client_secret=pick(
                "client_secret", client_secret, ENV_CLIENT_SECRET, prof.client_secret if prof else None
            ),
            access_token=pick("access_token", access_token, ENV_ACCESS_TOKEN, None),
            profile=prof.name if prof else None,
            sources=sources,
        )
        if require_credentials:
            settings.check_credentials()
        return settings

    def check_credentials(self) -> None:
        if self.access_token:
            return
        missing = []
        if not self.client_id:
            missing.append(f"client id ({ENV_CLIENT_ID})")
        if not self.client_secret:
            missing.append(f"client secret ({ENV_CLIENT_SECRET})")
        if missing:
            raise SettingError(
                "missing credentials: "
                + " and ".join(missing)
                + f"; set them in the environment, a profile, or give {ENV_ACCESS_TOKEN}"
            )
