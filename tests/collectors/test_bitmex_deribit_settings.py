"""BitMEX and Deribit settings: the URLs come from the environment exactly as given, the
feeds use them unchanged, and nonsense is refused at start naming the variable."""

from __future__ import annotations

import pytest

from liqmon.settings import load_settings
from liqmon_bitmex.main import SETTINGS as BITMEX_SETTINGS
from liqmon_bitmex.main import VENUE as BITMEX_VENUE
from liqmon_deribit.main import SETTINGS as DERIBIT_SETTINGS
from liqmon_deribit.main import VENUE as DERIBIT_VENUE


def test_urls_are_used_exactly_as_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIQMON_BITMEX_WS_URL", "ws://10.0.0.1:81/realtime?x=1")
    monkeypatch.setenv("LIQMON_DERIBIT_WS_URL", "wss://test.deribit.com/ws/api/v2")
    monkeypatch.setenv("LIQMON_DERIBIT_CURRENCIES", '["BTC"]')
    bitmex = BITMEX_VENUE(load_settings(BITMEX_SETTINGS))
    deribit = DERIBIT_VENUE(load_settings(DERIBIT_SETTINGS))
    assert [f.url for f in bitmex.feeds()] == ["ws://10.0.0.1:81/realtime?x=1"]
    assert [f.url for f in deribit.feeds()] == ["wss://test.deribit.com/ws/api/v2"]
    assert deribit.settings.deribit_currencies == ("BTC",)


def test_defaults() -> None:
    bitmex, deribit = BITMEX_SETTINGS(), DERIBIT_SETTINGS()
    assert (bitmex.bitmex_ws_url, bitmex.bitmex_rest_url) == (
        "wss://ws.bitmex.com/realtime", "https://www.bitmex.com",
    )  # fmt: skip
    assert (deribit.deribit_ws_url, deribit.deribit_rest_url) == (
        "wss://www.deribit.com/ws/api/v2", "https://www.deribit.com",
    )  # fmt: skip
    assert deribit.deribit_currencies == ("BTC", "ETH", "USDC")


def test_a_heartbeat_below_deribits_minimum_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LIQMON_DERIBIT_HEARTBEAT_SECONDS", "5")
    with pytest.raises(SystemExit) as exc:
        load_settings(DERIBIT_SETTINGS)
    assert exc.value.code == 2
    assert "LIQMON_DERIBIT_HEARTBEAT_SECONDS" in capsys.readouterr().err
