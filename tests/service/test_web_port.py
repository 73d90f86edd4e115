"""``[web] port = 0``: the web process binds a free port and logs the address it listens on."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from gcx_testkit.service_fleet import Fleet

from .helpers import config_text


def test_port_zero_logs_the_real_address_and_answers_there(pg_url: str, tmp_path: Path) -> None:
    jobs = '[web]\nport = 0\n\n[jobs.push]\nprofile = "emu"\nsource = { type = "webhook", secret_env = "HOOK_SECRET" }\n'
    (tmp_path / "service.toml").write_text(config_text({"emu": "http://127.0.0.1:9"}, jobs))
    logs = tmp_path / "logs"
    logs.mkdir()
    fleet = Fleet(tmp_path / "service.toml", pg_url, logs)
    try:
        fleet.start("web", "web")
        url = fleet.web_url()
        port = int(url.rsplit(":", 1)[1])
        assert url == f"http://127.0.0.1:{port}" and port != 0
        fleet.wait_web(url)
        assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200
    finally:
        codes = fleet.stop()
    assert codes == {"web": 0}, fleet.log_text()[-3000:]
    said = [
        json.loads(line) for line in (logs / "web.log").read_text().splitlines() if "web listening" in line
    ]
    assert [(s["msg"], s["url"], s["logger"]) for s in said] == [
        (f"web listening on {url}", url, "gcx.service")
    ]
