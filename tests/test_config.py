"""Regions, credentials and profiles (gcx.config)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from gcx.config import REGIONS, ConfigFile, Profile, Settings, mask_secret, resolve_region
from gcx.errors import ConfigError
from tests.conftest import CANARY_SECRET


@pytest.mark.parametrize("name", sorted(REGIONS))
def test_every_region_resolves_by_both_spellings_and_domain(name: str) -> None:
    domain = REGIONS[name]
    for spelling in (name, name.replace("-", "_"), name.upper(), domain, f"api.{domain}"):
        region = resolve_region(spelling)
        assert region.name == name
        assert region.api_base == f"https://api.{domain}"
        assert region.login_base == f"https://login.{domain}"
        assert not region.is_local


def test_eighteen_regions() -> None:
    assert len(REGIONS) == 18


def test_base_url_puts_login_on_same_origin() -> None:
    region = resolve_region("http://127.0.0.1:8787/")
    assert region.api_base == "http://127.0.0.1:8787"
    assert region.login_base == "http://127.0.0.1:8787"
    assert region.is_local


@pytest.mark.parametrize("bad", ["mars-north-1", "example.com", "ftp://host", "http://", ""])
def test_wrong_region_names_the_value_and_the_accepted_forms(bad: str) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_region(bad)
    message = str(info.value)
    assert "region" in message
    if bad and bad.startswith(("mars", "example")):
        assert bad in message and "us-east-1" in message


def test_settings_from_env_vars() -> None:
    env = {
        "GENESYSCLOUD_REGION": "eu_west_1",
        "GENESYSCLOUD_OAUTHCLIENT_ID": "id-1",
        "GENESYSCLOUD_OAUTHCLIENT_SECRET": CANARY_SECRET,
    }
    settings = Settings.resolve(env=env)
    assert settings.region.name == "eu-west-1"
    assert settings.client_id == "id-1"
    assert settings.client_secret == CANARY_SECRET
    assert CANARY_SECRET not in repr(settings)
    assert CANARY_SECRET not in str(settings)


def test_arguments_beat_env_and_env_beats_profile(tmp_path: Path) -> None:
    cfg = ConfigFile(tmp_path / "c.toml")
    cfg.save_profile(Profile("p", region="us-east-1", client_id="from-profile", client_secret="ps"))
    env = {"GENESYSCLOUD_OAUTHCLIENT_ID": "from-env"}
    settings = Settings.resolve(env=env, config_file=cfg)
    assert settings.client_id == "from-env"
    assert settings.client_secret == "ps"
    assert settings.region.name == "us-east-1"
    assert settings.profile == "p"
    settings = Settings.resolve(client_id="from-arg", env=env, config_file=cfg)
    assert settings.client_id == "from-arg"


def test_access_token_alone_is_enough() -> None:
    settings = Settings.resolve(env={"GENESYSCLOUD_REGION": "us-east-1", "GENESYSCLOUD_ACCESS_TOKEN": "tok"})
    assert settings.access_token == "tok"
    assert "tok" not in repr(settings)


def test_missing_credentials_name_what_is_missing(tmp_path: Path) -> None:
    cfg = ConfigFile(tmp_path / "none.toml")
    with pytest.raises(ConfigError, match="GENESYSCLOUD_OAUTHCLIENT_SECRET") as info:
        Settings.resolve(
            env={"GENESYSCLOUD_REGION": "us-east-1", "GENESYSCLOUD_OAUTHCLIENT_ID": "x"}, config_file=cfg
        )
    assert "GENESYSCLOUD_OAUTHCLIENT_ID" not in str(info.value)
    with pytest.raises(ConfigError, match="region"):
        Settings.resolve(env={}, config_file=cfg)


def test_unknown_profile_lists_known_ones(tmp_path: Path) -> None:
    cfg = ConfigFile(tmp_path / "c.toml")
    cfg.save_profile(Profile("prod", region="us-east-1", client_id="a", client_secret="b"))
    with pytest.raises(ConfigError, match="prod"):
        Settings.resolve(profile="staging", env={}, config_file=cfg)


def test_profile_file_round_trip_is_private(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "config.toml"
    cfg = ConfigFile(path)
    cfg.save_profile(Profile("a", region="http://127.0.0.1:1", client_id="id", client_secret='s"e\\c'))
    cfg.save_profile(Profile("b", region="eu-west-1"), make_default=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert cfg.default_profile() == "b"
    assert cfg.get("a").client_secret == 's"e\\c'
    cfg.set_default("a")
    assert cfg.default_profile() == "a"
    cfg.remove_profile("a")
    assert set(cfg.profiles()) == {"b"}
    assert cfg.default_profile() is None


def test_broken_config_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("default = [unclosed")
    with pytest.raises(ConfigError, match=str(path)):
        ConfigFile(path).profiles()


def test_mask_secret_never_reveals_short_secrets() -> None:
    assert mask_secret(None) is None
    assert mask_secret("short") == "****"
    assert mask_secret(CANARY_SECRET) == "****" + CANARY_SECRET[-4:]
    assert CANARY_SECRET not in repr(Profile("p", client_secret=CANARY_SECRET))
