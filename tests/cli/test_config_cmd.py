"""``gcx config``: profiles, masked secrets, 0600 file, warnings for secrets on the command line."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from gcx.config import ConfigFile
from tests.cli.conftest import Invoke
from tests.conftest import CANARY_SECRET


def _cfg() -> ConfigFile:
    return ConfigFile(Path(os.environ["GCX_CONFIG"]))


def test_add_reads_secret_from_stdin_and_never_prints_it(invoke: Invoke) -> None:
    result = invoke(
        ["config", "add", "dev", "--region", "eu-west-1", "--client-id", "cid", "--client-secret-stdin"],
        input=CANARY_SECRET + "\n",
    )
    assert result.exit_code == 0, result.output
    assert CANARY_SECRET not in result.output
    assert "saved profile 'dev'" in result.stderr and "as the default" in result.stderr
    prof = _cfg().get("dev")
    assert prof.client_secret == CANARY_SECRET and prof.region == "eu-west-1"
    assert stat.S_IMODE(_cfg().path.stat().st_mode) == 0o600

    shown = invoke(["-o", "json", "config", "show", "dev"])
    data = json.loads(shown.stdout)
    assert data["client_secret"] == "****" + CANARY_SECRET[-4:]
    assert data["default"] is True
    assert CANARY_SECRET not in shown.output


def test_secret_flag_works_but_warns(invoke: Invoke) -> None:
    result = invoke(
        [
            "config",
            "add",
            "ci",
            "--region",
            "mypurecloud.de",
            "--client-id",
            "x",
            "--client-secret",
            CANARY_SECRET,
        ]
    )
    assert result.exit_code == 0
    assert "warning: --client-secret puts the secret in your shell history" in result.stderr
    assert CANARY_SECRET not in result.output
    assert _cfg().get("ci").client_secret == CANARY_SECRET


def test_add_without_secret_off_a_terminal_saves_and_says_so(invoke: Invoke) -> None:
    result = invoke(["config", "add", "emu", "--region", "http://127.0.0.1:8787", "--client-id", "x"])
    assert result.exit_code == 0
    assert "no client secret stored" in result.stderr
    assert _cfg().get("emu").client_secret is None


def test_add_rejects_unknown_region_and_saves_nothing(invoke: Invoke) -> None:
    result = invoke(["config", "add", "bad", "--region", "atlantis-1", "--client-id", "x"])
    assert result.exit_code == 2
    assert "unknown region 'atlantis-1'" in result.stderr
    assert not _cfg().path.exists()


def test_dry_run_saves_nothing(invoke: Invoke) -> None:
    result = invoke(
        ["-o", "json", "config", "add", "p", "--region", "eu-west-1", "--client-secret-stdin", "--dry-run"],
        input=CANARY_SECRET + "\n",
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout)["api"] == "https://api.mypurecloud.ie"
    assert CANARY_SECRET not in result.output
    assert not _cfg().path.exists()


def test_list_use_show_effective_and_remove(invoke: Invoke) -> None:
    invoke(["config", "add", "a", "--region", "eu-west-1", "--client-id", "ida"])
    invoke(["config", "add", "b", "--region", "us-east-1", "--client-id", "idb"])
    listed = json.loads(invoke(["-o", "json", "config", "list"]).stdout)
    assert [(p["name"], p["default"]) for p in listed] == [("a", True), ("b", False)]

    assert invoke(["config", "use", "b"]).exit_code == 0
    effective = json.loads(invoke(["-o", "json", "config", "show"]).stdout)
    assert effective["profile"] == "b" and effective["api"] == "https://api.mypurecloud.com"

    # Environment beats the profile; --region beats both.
    env = {"GENESYSCLOUD_REGION": "eu-central-1"}
    effective = json.loads(invoke(["-o", "json", "config", "show"], env=env).stdout)
    assert effective["region"] == "eu-central-1"
    effective = json.loads(invoke(["-o", "json", "--region", "ap-south-1", "config", "show"], env=env).stdout)
    assert effective["region"] == "ap-south-1"

    refused = invoke(["config", "remove", "a"])
    assert refused.exit_code == 1 and "pass --yes" in refused.stderr
    assert "a" in _cfg().profiles()
    assert invoke(["config", "remove", "a", "--yes"]).exit_code == 0
    assert list(_cfg().profiles()) == ["b"]


def test_unknown_profile_errors(invoke: Invoke) -> None:
    for args in (
        ["config", "use", "ghost"],
        ["config", "show", "ghost"],
        ["--profile", "ghost", "config", "show"],
    ):
        result = invoke(args)
        assert result.exit_code == 2, args
        assert "no profile named 'ghost'" in result.stderr


def test_path_prints_the_config_file(invoke: Invoke) -> None:
    assert invoke(["config", "path"]).stdout.strip() == os.environ["GCX_CONFIG"]


def test_writer_round_trips_comments_and_types_and_reports_unknown_keys(invoke: Invoke) -> None:
    path = _cfg().path
    path.write_text(
        "# my gcx settings\n"
        "[profiles.prod]  # production org\n"
        'region = "eu-west-1"\n'
        "timeout = 30\n"
        'client-id = "typo"\n'
    )
    added = invoke(["config", "add", "dev", "--region", "us-east-1", "--client-id", "x"], input="\n")
    assert added.exit_code == 0, added.output
    text = path.read_text()
    assert text.startswith("# my gcx settings\n")
    assert "[profiles.prod]  # production org" in text and "timeout = 30\n" in text  # still an integer
    assert 'default = "dev"' in text and "[profiles.dev]" in text
    assert _cfg().get("prod").region == "eu-west-1"
    assert invoke(["config", "use", "prod"]).exit_code == 0
    assert "# production org" in path.read_text() and "timeout = 30\n" in path.read_text()

    listed = invoke(["config", "list"])
    assert "unknown key 'timeout' in profile 'prod' is ignored" in listed.stderr
    assert "unknown key 'client-id' in profile 'prod' is ignored" in listed.stderr


def test_show_says_where_each_value_came_from(invoke: Invoke) -> None:
    assert (
        invoke(["config", "add", "dev", "--region", "us-east-1", "--client-id", "cid"], input="\n").exit_code
        == 0
    )
    shown = invoke(
        ["config", "show", "-o", "json"],
        env={"GENESYSCLOUD_REGION": "eu-west-1", "GCX_CONFIG": os.environ["GCX_CONFIG"]},
    )
    data = json.loads(shown.stdout)
    assert data["region"] == "eu-west-1"
    assert data["from"]["region"] == "environment (GENESYSCLOUD_REGION)"
    assert data["from"]["client_id"].startswith("profile 'dev'")
    assert data["from"]["profile"].startswith("the default in")
