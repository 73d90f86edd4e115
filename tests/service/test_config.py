"""The service's TOML file and `gcx serve check` (no Genesys, no database)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gcx.cli.main import app
from gcx.errors import ConfigError
from gcx.service.check import check_config
from gcx.service.config import load_config, missing_env, parse_config

GOOD = """
[service]
data_dir = "state"
coalesce_seconds = 2

[web]
port = 9000

[profiles.prod]
region = "mypurecloud.ie"
client_id_env = "GC_ID"
client_secret_env = "GC_SECRET"
rate_limit = 600

[jobs.crm]
profile = "prod"
schedule = "*/15 * * * *"
source = { type = "jsonl", path = "records.jsonl" }
options = { on_conflict = "report", prune = true, prune_threshold = 0.2 }

[jobs.push]
profile = "prod"
source = { type = "webhook", secret_env = "HOOK_SECRET" }
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "service.toml"
    p.write_text(text)
    return p


def test_a_good_file_is_read_with_paths_relative_to_it(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, GOOD))
    assert cfg.service.data_dir == tmp_path / "state"
    assert cfg.service.port == 9000
    crm = cfg.job("crm")
    assert crm.source.path == tmp_path / "records.jsonl"
    assert crm.options.on_conflict == "report" and crm.options.prune and crm.options.prune_threshold == 0.2
    assert crm.profile.rate_limit == 600
    assert cfg.job("push").is_webhook and cfg.job("push").schedule is None
    with pytest.raises(ConfigError, match="no job named 'nope'"):
        cfg.job("nope")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ('client_secret_env = "GC_SECRET"', 'client_secret = "hunter2hunter2"'),
            r"\[profiles.prod\].client_secret: secrets are never written",
        ),
        (
            ('secret_env = "HOOK_SECRET"', 'secret = "s3cr3t-value"'),
            r"\[jobs.push\].source.secret: secrets are never",
        ),
        (
            ('schedule = "*/15 * * * *"', 'schedule = "every day"'),
            r"\[jobs.crm\].schedule: 'every day' is not a cron",
        ),
        (('schedule = "*/15 * * * *"', ""), r"\[jobs.crm\]: a jsonl job needs a schedule"),
        (('on_conflict = "report"', 'on_conflict = "mine"'), r"\[jobs.crm\].options.on_conflict must be"),
        (
            ("prune_threshold = 0.2", "prune_threshold = 2"),
            r"prune_threshold must be a number between 0 and 1",
        ),
        (('region = "mypurecloud.ie"', 'region = "mars"'), r"\[profiles.prod\].region: unknown region"),
        (("[jobs.push]", "[jobs.Push]"), r"\[jobs.Push\]: a job name is a lowercase"),
        (
            ('profile = "prod"\nsource = { type = "webhook"', 'profile = "dev"\nsource = { type = "webhook"'),
            r"no \[profiles.dev\] table",
        ),
        (('type = "jsonl"', 'type = "xml"'), r"\[jobs.crm\].source.type must be one of"),
        (("port = 9000", "port = 99999"), r"\[web\].port must be a whole number"),
        (("coalesce_seconds = 2", "colaesce_seconds = 2"), r"\[service\]: unknown key 'colaesce_seconds'"),
        (('client_id_env = "GC_ID"', 'client_id_env = "GC ID"'), r"must name an environment variable"),
        (
            ("prune_threshold = 0.2 }", 'prune_threshold = 0.2 }\napproval = "yes"'),
            r"\[jobs.crm\].approval must be",
        ),
        (
            ("prune_threshold = 0.2 }", "prune_threshold = 0.2 }\napproval_above = -1"),
            r"\[jobs.crm\].approval_above",
        ),
        (
            ("prune_threshold = 0.2 }", 'prune_threshold = 0.2 }\napproval_on_delete = "x"'),
            r"\[jobs.crm\].approval_on_delete must be true or false",
        ),
        (
            ('secret_env = "HOOK_SECRET" }', 'secret_env = "HOOK_SECRET" }\napproval = "always"'),
            r"\[jobs.push\].approval: a webhook job cannot wait for approval",
        ),
    ],
)
def test_bad_files_name_the_table_and_key(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    assert change[0] in GOOD
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, GOOD.replace(change[0], change[1], 1)))


def test_the_console_session_limits_are_set_in_web(tmp_path: Path) -> None:
    from gcx.cli.console_cmd import IDLE_MINUTES, LIFETIME_MINUTES, MAX_SESSION_MINUTES
    from gcx.console.sessions import IDLE_SECONDS, LIFETIME_SECONDS
    from gcx.service import config

    def limits(web: str) -> tuple[int, int]:
        s = load_config(write(tmp_path, GOOD.replace("port = 9000", "port = 9000\n" + web))).service
        return s.session_idle_minutes, s.session_lifetime_minutes

    # the defaults are the console's own (and gcx console serve's)
    assert limits("") == (IDLE_MINUTES, LIFETIME_MINUTES) == (IDLE_SECONDS / 60, LIFETIME_SECONDS / 60)
    assert config.MAX_SESSION_MINUTES == MAX_SESSION_MINUTES
    assert limits("session_idle_minutes = 15") == (15, 720)
    assert limits("session_lifetime_minutes = 30") == (30, 30)  # the default hour would never apply
    assert limits("session_idle_minutes = 20\nsession_lifetime_minutes = 480") == (20, 480)
    s = load_config(write(tmp_path, GOOD.replace("port = 9000", "port = 9000\nsession_idle_minutes = 15")))
    assert s.service.session_seconds == (900.0, 43_200.0)


@pytest.mark.parametrize(
    ("web", "message"),
    [
        (
            "session_idle_minutes = 0",
            r"\[web\].session_idle_minutes must be a whole number between 1 and 43200, got 0",
        ),
        ("session_idle_minutes = -15", r"\[web\].session_idle_minutes must be a whole number .*, got -15"),
        (
            'session_idle_minutes = "15m"',
            r"\[web\].session_idle_minutes must be a whole number .*, got '15m'",
        ),
        ("session_idle_minutes = 7.5", r"\[web\].session_idle_minutes must be a whole number .*, got 7.5"),
        ("session_lifetime_minutes = 0", r"\[web\].session_lifetime_minutes must be a whole number"),
        ("session_lifetime_minutes = 50000", r"\[web\].session_lifetime_minutes must be a whole number"),
        ("session_lifetime_minutes = true", r"\[web\].session_lifetime_minutes must be a whole number"),
        (
            "session_idle_minutes = 90\nsession_lifetime_minutes = 60",
            r"^\[web\].session_idle_minutes \(90\) must not be more than session_lifetime_minutes \(60\)",
        ),
        ("session_idle_minutes = 800", r"must not be more than session_lifetime_minutes \(720\)"),
        ("session_idle = 15", r"\[web\]: unknown key 'session_idle'"),
    ],
)
def test_bad_session_limits_name_the_key(tmp_path: Path, web: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        load_config(write(tmp_path, GOOD.replace("port = 9000", "port = 9000\n" + web)))
    assert "\n" not in str(err.value)


def test_an_approval_policy_per_job(tmp_path: Path) -> None:
    text = GOOD.replace(
        "prune_threshold = 0.2 }", "prune_threshold = 0.2 }\napproval_above = 10\napproval_on_delete = true"
    )
    cfg = load_config(write(tmp_path, text))
    policy = cfg.jobs["crm"].approval
    assert policy is not None and (policy.always, policy.above, policy.on_delete) == (False, 10, True)
    assert cfg.jobs["push"].approval is None
    never = load_config(
        write(
            tmp_path, GOOD.replace("prune_threshold = 0.2 }", 'prune_threshold = 0.2 }\napproval = "never"')
        )
    )
    assert never.jobs["crm"].approval is None


def test_a_database_url_is_never_inline(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="database_url: secrets are never written"):
        parse_config({"service": {"database_url": "postgresql://u:p@h/db"}, "jobs": {}}, tmp_path / "x.toml")


def test_not_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_config(write(tmp_path, "[jobs\n"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")


def test_missing_env_lists_each_variable_once(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, GOOD))
    assert missing_env(cfg, {"GC_ID": "x"}) == [
        "GC_SECRET is not set (profile prod: client secret)",
        "HOOK_SECRET is not set (job push: webhook secret)",
    ]


def test_check_finds_missing_files_and_bad_mappings(tmp_path: Path) -> None:
    text = (
        GOOD
        + '\n[jobs.csv]\nprofile = "prod"\nschedule = "0 * * * *"\nsource = { type = "csv", path = "c.csv", mapping = "m.toml" }\n'
    )
    cfg = load_config(write(tmp_path, text))
    res = check_config(cfg, {})
    assert "job crm: source file " + str(tmp_path / "records.jsonl") + " does not exist" in res.errors
    assert any("job csv" in e and "m.toml" in e for e in res.errors)
    (tmp_path / "records.jsonl").write_text("")
    (tmp_path / "c.csv").write_text("id,name\n1,Acme\n")
    (tmp_path / "m.toml").write_text('[organization]\nkey = "id"\n[organization.fields]\nname = "company"\n')
    res = check_config(load_config(tmp_path / "service.toml"), {})
    assert len(res.errors) == 1 and "'company'" in res.errors[0]


def test_check_command(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    (tmp_path / "records.jsonl").write_text("")
    runner = CliRunner()
    env = {"COLUMNS": "200", "GC_ID": "id", "GC_SECRET": "", "HOOK_SECRET": ""}
    res = runner.invoke(app, ["serve", "check", str(path)], env=env)
    assert res.exit_code == 0, res.output
    assert "crm" in res.stdout and "push" in res.stdout
    assert "GC_SECRET is not set" in res.stderr
    res = runner.invoke(app, ["serve", "check", "--strict", str(path)], env=env)
    assert res.exit_code == 1
    bad = write(tmp_path, GOOD.replace('schedule = "*/15 * * * *"', 'schedule = "nope"'))
    res = runner.invoke(app, ["serve", "check", str(bad)], env=env)
    assert res.exit_code == 1 and "[jobs.crm].schedule" in res.stderr
    assert os.environ.get("GC_SECRET") is None
