"""The rules file (`LIQMON_ALERTS_FILE`): TOML, validated with pydantic, refused whole on
any error with the file, the table (`rule[2] "whale"`, 1-based) and the key named.

Secrets (bot token, webhook URLs, the HMAC secret) come from the environment (`*_env`) or
inline. They are held as `SecretStr` and never appear in an error message: a message
names the key and the environment variable, never a value of a secret key.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
)

from liqmon.event import PRODUCTS, to_cents

NAME = r"^[A-Za-z0-9_.-]{1,64}$"
#: Keys whose values are secrets: an error about them never shows the value.
SECRET_KEYS = frozenset({"bot_token", "webhook_url", "url", "secret"})
_DURATION = re.compile(r"^\s*(\d+)\s*(ms|s|m|h|d)?\s*$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


class RulesError(Exception):
    """The rules file cannot be used; `str()` lists every problem, one per line."""


def parse_duration_ms(value: object) -> int:
    """`"60s"`, `"10m"`, `"1h"`, `"500ms"`, or a number of seconds -> milliseconds."""
    if isinstance(value, bool):
        raise ValueError('expected a duration like "60s", "10m" or "1h"')
    if isinstance(value, int):
        return value * 1000
    match = _DURATION.match(value) if isinstance(value, str) else None
    if not match:
        raise ValueError('expected a duration like "60s", "10m" or "1h"')
    return int(match[1]) * _UNIT_MS[match[2] or "s"]


DurationMs = Annotated[int, BeforeValidator(parse_duration_ms)]


def _upper_list(value: object) -> object:
    if isinstance(value, list):
        return [v.strip().upper() if isinstance(v, str) else v for v in value]
    return value


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


# --- channels -------------------------------------------------------------------------
class _Channel(_Table):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")
    #: (secret key, its *_env key, required) of this channel type
    _secret_keys: tuple[tuple[str, str, bool], ...] = ()
    _secrets: dict[str, SecretStr] = PrivateAttr(default_factory=dict)

    def resolve(self, env: Mapping[str, str]) -> list[tuple[str, str]]:
        """Take each secret from its inline key or its environment variable; returns the
        problems as (key, message)."""
        problems = []
        for key, env_key, required in self._secret_keys:
            inline: SecretStr | None = getattr(self, key)
            var: str | None = getattr(self, env_key)
            if inline is not None and var is not None:
                problems.append((key, f"set either {key} or {env_key}, not both"))
            elif var is not None:
                if not env.get(var):
                    problems.append((env_key, f"environment variable {var} is not set"))
                else:
                    self._secrets[key] = SecretStr(env[var])
            elif inline is not None:
                self._secrets[key] = inline
            elif required:
                problems.append((key, f"missing: set {key} or {env_key}"))
        for key in ("webhook_url", "url"):
            if key in self._secrets and not re.match(r"^https?://", self.secret_value(key)):
                problems.append((key, "must be an http:// or https:// URL"))
        return problems

    def secret_value(self, key: str) -> str:
        return self._secrets[key].get_secret_value()

    def has_secret(self, key: str) -> bool:
        return key in self._secrets

    def secret_values(self) -> list[str]:
        return [s.get_secret_value() for s in self._secrets.values()]


class TelegramChannel(_Channel):
    type: Literal["telegram"]
    bot_token: SecretStr | None = None
    bot_token_env: str | None = None
    chat_id: Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, int) else v)]
    _secret_keys = (("bot_token", "bot_token_env", True),)


class DiscordChannel(_Channel):
    type: Literal["discord"]
    webhook_url: SecretStr | None = None
    webhook_url_env: str | None = None
    _secret_keys = (("webhook_url", "webhook_url_env", True),)


class SlackChannel(_Channel):
    type: Literal["slack"]
    webhook_url: SecretStr | None = None
    webhook_url_env: str | None = None
    _secret_keys = (("webhook_url", "webhook_url_env", True),)


class WebhookChannel(_Channel):
    type: Literal["webhook"]
    url: SecretStr | None = None
    url_env: str | None = None
    secret: SecretStr | None = None
    secret_env: str | None = None
    _secret_keys = (("url", "url_env", True), ("secret", "secret_env", True))


Channel = Annotated[
    TelegramChannel | DiscordChannel | SlackChannel | WebhookChannel, Field(discriminator="type")
]


# --- rules ------------------------------------------------------------------------------
class _Rule(_Table):
    name: str = Field(pattern=NAME)
    min_usd: Decimal = Field(gt=0, le=Decimal("1e12"))
    symbols: Annotated[list[str] | None, BeforeValidator(_upper_list)] = None
    exchanges: list[str] | None = None
    side: Literal["long", "short"] | None = None
    channels: list[str] = Field(min_length=1)

    @field_validator("min_usd", mode="before")
    @classmethod
    def _exact(cls, value: object) -> object:
        return Decimal(str(value)) if isinstance(value, float) else value

    @field_validator("symbols")
    @classmethod
    def _symbols(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and (not value or any(not s or len(s) > 64 for s in value)):
            raise ValueError('a non-empty list of coins, e.g. ["BTC", "ETH"]')
        return value

    @field_validator("exchanges")
    @classmethod
    def _exchanges(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            unknown = [e for e in value if e not in PRODUCTS]
            if unknown or not value:
                raise ValueError(f"unknown exchange {unknown[:1]}; known: {', '.join(PRODUCTS)}")
        return value

    @property
    def min_cents(self) -> int:
        return to_cents(self.min_usd)

    def matches(self, symbol: str, exchange: str, side: str) -> bool:
        return (
            (self.symbols is None or symbol in self.symbols)
            and (self.exchanges is None or exchange in self.exchanges)
            and (self.side is None or side == self.side)
        )


class LargeRule(_Rule):
    """One liquidation of at least `min_usd`."""

    kind: Literal["large"]


class CascadeRule(_Rule):
    """The sum over a sliding event-time window of at least `min_usd`, once per episode."""

    kind: Literal["cascade"]
    window: DurationMs = Field(ge=1000, le=86_400_000)
    cooldown: DurationMs | None = Field(None, ge=0, le=7 * 86_400_000)
    per: Literal["market", "symbol"] = "market"
    _window_text: str = PrivateAttr("")

    @field_validator("window")
    @classmethod
    def _whole_seconds(cls, value: int) -> int:
        if value % 1000:
            raise ValueError("must be whole seconds")
        return value

    @property
    def window_s(self) -> int:
        return self.window // 1000

    @property
    def cooldown_ms(self) -> int:
        """Default: one window."""
        return self.window if self.cooldown is None else self.cooldown

    def window_label(self) -> str:
        s = self.window_s
        for unit, size in (("h", 3600), ("m", 60)):
            if s % size == 0:
                return f"{s // size}{unit}"
        return f"{s}s"

    def scope(self, symbol: str) -> str:
        """What the alert is about: the coin (per symbol), the listed coins, or all."""
        if self.per == "symbol":
            return symbol
        return ", ".join(self.symbols) if self.symbols else "all coins"


Rule = Annotated[LargeRule | CascadeRule, Field(discriminator="kind")]


class RulesFile(_Table):
    channel: list[Channel] = Field(min_length=1)
    rule: list[Rule] = Field(min_length=1)

    def channel_named(
        self, name: str
    ) -> TelegramChannel | DiscordChannel | SlackChannel | WebhookChannel:
        return next(c for c in self.channel if c.name == name)

    def secret_values(self) -> list[str]:
        return [s for c in self.channel for s in c.secret_values()]


# --- loading ----------------------------------------------------------------------------
#: The discriminator values pydantic puts into an error's location.
_TAGS = ("telegram", "discord", "slack", "webhook", "large", "cascade")


def _table(data: dict[str, Any], section: str, index: int) -> str:
    items = data.get(section)
    name = None
    if isinstance(items, list) and index < len(items) and isinstance(items[index], dict):
        name = items[index].get("name")
    label = f"{section}[{index + 1}]"
    return f'{label} "{name}"' if isinstance(name, str) else label


def _where(data: dict[str, Any], loc: tuple[int | str, ...]) -> tuple[str, str]:
    """(table, key) of a pydantic error location, e.g. ('rule[2] "whale"', 'window')."""
    if len(loc) >= 2 and loc[0] in ("channel", "rule") and isinstance(loc[1], int):
        rest = [str(p) for p in loc[2:]]
        if rest and rest[0] in _TAGS:
            rest = rest[1:]
        return _table(data, str(loc[0]), loc[1]), ".".join(rest) or (
            "type" if loc[0] == "channel" else "kind"
        )
    return "top level", ".".join(str(p) for p in loc) or "?"


def _shown(data: dict[str, Any], loc: tuple[int | str, ...], key: str) -> str:
    """` (got …)` for a non-secret value, else nothing."""
    if key.split(".")[0] in SECRET_KEYS:
        return ""
    value: Any = data
    for index, part in enumerate(loc):
        if index == 2 and part in _TAGS:
            continue
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return ""
    return f" (got {value!r:.60})" if isinstance(value, str | int | float) else ""


def parse_rules(text: str, source: str, env: Mapping[str, str]) -> RulesFile:
    """Validate a rules file's text; raise `RulesError` naming file, table and key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{source}: not valid TOML: {exc}") from None
    try:
        rules = RulesFile.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            table, key = _where(data, loc)
            msg = str(err["msg"]).removeprefix("Value error, ")
            lines.append(f"{source}: {table}: {key}: {msg}{_shown(data, loc, key)}")
        raise RulesError("\n".join(lines)) from None
    problems = []
    for i, channel in enumerate(rules.channel):
        for key, message in channel.resolve(env):
            problems.append(f"{source}: {_table(data, 'channel', i)}: {key}: {message}")
    problems += _cross_check(rules, data, source)
    if problems:
        raise RulesError("\n".join(problems))
    return rules


def _cross_check(rules: RulesFile, data: dict[str, Any], source: str) -> list[str]:
    problems = []
    seen: set[str] = set()
    for i, channel in enumerate(rules.channel):
        if channel.name in seen:
            problems.append(f"{source}: {_table(data, 'channel', i)}: name: used twice")
        seen.add(channel.name)
    rule_names: set[str] = set()
    for i, rule in enumerate(rules.rule):
        table = _table(data, "rule", i)
        if rule.name in rule_names:
            problems.append(f"{source}: {table}: name: used twice")
        rule_names.add(rule.name)
        for name in rule.channels:
            if name not in seen:
                problems.append(f"{source}: {table}: channels: unknown channel {name!r}")
    return problems


def load_rules(path: Path, env: Mapping[str, str]) -> RulesFile:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesError(f"{path}: cannot read the rules file: {exc}") from None
    return parse_rules(text, str(path), env)
