"""Typed settings shared by every service, and the loader that validates them at start-up.

Each service has one `Settings` class (in its own package) that extends `CommonSettings`.
Values come from the environment and an optional `.env`; they are built once in the
service's `main()` and passed down explicitly, never imported as a global. An invalid
value stops the service with a message naming the variable (`load_settings`).
"""

from __future__ import annotations

import sys
from typing import Any, Literal, TypeVar

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from liqmon.keys import Keys

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


class CommonSettings(BaseSettings):
    """What every service needs: where Redis is, the key prefix, retention, logging."""

    model_config = SettingsConfigDict(
        env_prefix="LIQMON_",
        env_file=".env",
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
    )

    redis_url: str = Field(
        DEFAULT_REDIS_URL,
        validation_alias=AliasChoices("REDIS_URL", "LIQMON_REDIS_URL"),
        description="Redis connection URL (redis://, rediss:// or unix://).",
    )
    key_prefix: str = Field("liq", pattern=r"^[A-Za-z0-9_.-]{1,32}$")
    retention_hours: int = Field(48, ge=25, le=24 * 90, description="stream retention")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @property
    def keys(self) -> Keys:
        return Keys(self.key_prefix)

    @property
    def retention_ms(self) -> int:
        return self.retention_hours * 3_600_000


S = TypeVar("S", bound=BaseSettings)


def env_name(cls: type[BaseSettings], field: str) -> str:
    """The environment variable that sets `field` of `cls`."""
    info = cls.model_fields.get(field)
    alias = info.validation_alias if info else None
    if isinstance(alias, AliasChoices):
        first = alias.choices[0]
        return first if isinstance(first, str) else field.upper()
    if isinstance(alias, str):
        return alias
    prefix = str(cls.model_config.get("env_prefix", ""))
    return f"{prefix}{field}".upper()


def describe_errors(cls: type[BaseSettings], exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        field = str(err["loc"][0]) if err["loc"] else "?"
        value = err.get("input")
        shown = f" (got {value!r:.60})" if isinstance(value, str | int | float) else ""
        lines.append(f"  {env_name(cls, field)}: {err['msg']}{shown}")
    return "invalid configuration:\n" + "\n".join(lines)


def load_settings(cls: type[S], **overrides: Any) -> S:
    """Build and validate settings; on error print what is wrong and exit with status 2."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        sys.stderr.write(describe_errors(cls, exc) + "\n")
        raise SystemExit(2) from None
