"""A bad rules file is refused at start, naming the file, the table and the key."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from liqmon_alerter.rules import RulesError, parse_rules

TG_SECRET = "5550001:SuperSecretTokenValue"
GOOD = """
[[channel]]
name = "phone"
type = "telegram"
bot_token_env = "TG_TOKEN"
chat_id = "-1001234567"

[[channel]]
name = "bot"
type = "webhook"
url = "https://example.org/liq"
secret = "inline-secret-value"

[[rule]]
name = "whale"
kind = "large"
min_usd = 1_000_000
symbols = ["btc", "ETH"]
channels = ["phone", "bot"]

[[rule]]
name = "btc-long-cascade"
kind = "cascade"
window = "60s"
min_usd = 20_000_000
symbols = ["BTC"]
side = "long"
cooldown = "10m"
channels = ["bot"]
"""
ENV = {"TG_TOKEN": TG_SECRET}


def refused(text: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(RulesError) as info:
        parse_rules(text, "alerts.toml", ENV if env is None else env)
    return str(info.value)


def test_the_issue_example_is_accepted() -> None:
    rules = parse_rules(GOOD, "alerts.toml", ENV)
    whale, cascade = rules.rule
    assert whale.symbols == ["BTC", "ETH"] and whale.min_cents == 100_000_000
    assert cascade.kind == "cascade" and cascade.window_s == 60 and cascade.cooldown_ms == 600_000
    assert rules.channel[0].secret_value("bot_token") == TG_SECRET
    assert TG_SECRET not in repr(rules) and "inline-secret-value" not in repr(rules)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('window = "60s"', 'window = "1 minute"'),
         'alerts.toml: rule[2] "btc-long-cascade": window: expected a duration like "60s"'),
        (('window = "60s"', 'window = "1500ms"'),
         'alerts.toml: rule[2] "btc-long-cascade": window: must be whole seconds'),
        (("min_usd = 1_000_000", "min_usd = -5"),
         'alerts.toml: rule[1] "whale": min_usd: Input should be greater than 0 (got -5)'),
        (('side = "long"', 'side = "up"'),
         "alerts.toml: rule[2] \"btc-long-cascade\": side: Input should be 'long' or 'short'"),
        (('kind = "large"', 'kind = "huge"'),
         'alerts.toml: rule[1] "whale": kind: Input tag \'huge\' found using \'kind\''),
        (('channels = ["bot"]', 'channels = ["bot", "pager"]'),
         "alerts.toml: rule[2] \"btc-long-cascade\": channels: unknown channel 'pager'"),
        (('symbols = ["btc", "ETH"]', 'symbols = ["BTC"]\nsymbol = "ETH"'),
         'alerts.toml: rule[1] "whale": symbol: Extra inputs are not permitted'),
        (('chat_id = "-1001234567"', ""),
         'alerts.toml: channel[1] "phone": chat_id: Field required'),
        (('type = "webhook"', 'type = "sms"'),
         'alerts.toml: channel[2] "bot": type: Input tag \'sms\' found using \'type\''),
        (('url = "https://example.org/liq"', 'url = "ftp://example.org/liq"'),
         'alerts.toml: channel[2] "bot": url: must be an http:// or https:// URL'),
        (('name = "bot"', 'name = "phone"'), 'alerts.toml: channel[2] "phone": name: used twice'),
        (("[[rule]]", "[[rules]]"), "alerts.toml: top level: rules: Extra inputs are not"),
        (('name = "whale"', 'name = "whale"\nmin_usd = 2'), "alerts.toml: not valid TOML:"),
    ],
)  # fmt: skip
def test_bad_files_are_refused_precisely(change: tuple[str, str], message: str) -> None:
    old, new = change
    assert old in GOOD
    text = refused(GOOD.replace(old, new, 1))
    assert message in text, text


def test_missing_secret_variable_is_named_and_no_secret_is_shown() -> None:
    text = refused(GOOD, env={})
    assert text == (
        'alerts.toml: channel[1] "phone": bot_token_env: environment variable TG_TOKEN is not set'
    )
    both = GOOD.replace(
        'bot_token_env = "TG_TOKEN"', f'bot_token_env = "TG_TOKEN"\nbot_token = "{TG_SECRET}"'
    )
    text = refused(both)
    assert "set either bot_token or bot_token_env" in text and TG_SECRET not in text
    bad_url = GOOD.replace('url = "https://example.org/liq"', 'url = "inline-secret-valueX"')
    assert "inline-secret-value" not in refused(bad_url)


def test_the_service_refuses_to_start(
    rules_path: Callable[[str], Path], service_env: dict[str, str]
) -> None:
    path = rules_path(GOOD.replace('window = "60s"', 'window = "sixty"'))
    env = {**service_env, "LIQMON_ALERTS_FILE": str(path), "TG_TOKEN": TG_SECRET}
    done = subprocess.run(
        [sys.executable, "-m", "liqmon", "run", "alerter"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert f'{path}: rule[2] "btc-long-cascade": window: expected a duration' in done.stderr
    assert TG_SECRET not in done.stderr + done.stdout
    unset = {k: v for k, v in env.items() if k != "LIQMON_ALERTS_FILE"}
    done = subprocess.run(
        [sys.executable, "-m", "liqmon", "run", "alerter"],
        env=unset, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "LIQMON_ALERTS_FILE is not set" in done.stderr
