"""Settings are validated at start-up; a bad value names its environment variable."""

from __future__ import annotations

import subprocess
import sys

import pytest

from liqmon.settings import CommonSettings, load_settings
from liqmon_web.settings import WebSettings


def test_defaults_and_fixed_env_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://example:1/2")
    monkeypatch.setenv("LIQMON_RETENTION_HOURS", "72")
    monkeypatch.setenv("LIQMON_WEB_PORT", "8123")
    settings = load_settings(WebSettings)
    assert settings.redis_url == "redis://example:1/2"
    assert settings.retention_ms == 72 * 3_600_000
    assert (settings.web_host, settings.web_port) == ("127.0.0.1", 8123)
    assert settings.keys.events == "liq:v1:events"


@pytest.mark.parametrize(
    ("var", "value"),
    [("LIQMON_RETENTION_HOURS", "soon"), ("REDIS_URL", "http://x"), ("LIQMON_LOG_LEVEL", "LOUD")],
)
def test_invalid_value_stops_with_the_variable_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], var: str, value: str
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(SystemExit) as exc:
        load_settings(CommonSettings)
    assert exc.value.code == 2
    assert var in capsys.readouterr().err


def test_service_refuses_to_start_on_a_bad_port(service_env: dict[str, str]) -> None:
    env = {**service_env, "LIQMON_WEB_PORT": "eighty"}
    proc = subprocess.run(
        [sys.executable, "-m", "liqmon", "run", "web"],
        env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "LIQMON_WEB_PORT" in proc.stderr
