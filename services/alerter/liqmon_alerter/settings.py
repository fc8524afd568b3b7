"""Settings of the alerter (env names: LIQMON_ + the field name, upper case)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BeforeValidator, Field

from liqmon.settings import CommonSettings

from .rules import parse_duration_ms


def _duration(value: object) -> object:
    """Text (the environment) is a duration, `"5m"`, or bare seconds, `"300"`, like the
    rules file; a Python int is already milliseconds."""
    if isinstance(value, str):
        text = value.strip()
        return int(text) * 1000 if text.isdigit() else parse_duration_ms(text)
    return value


DurationMs = Annotated[int, BeforeValidator(_duration)]


class AlerterSettings(CommonSettings):
    alerts_file: Path | None = Field(None, description="the rules file (TOML); see docs/ALERTS.md")
    alerts_max_age: DurationMs = Field(
        300_000, ge=1000, le=86_400_000, description="older events never alert (event time)"
    )
    alerts_max_future: DurationMs = Field(
        60_000, ge=0, le=3_600_000, description="events further ahead of Redis time are ignored"
    )
    telegram_api_url: str = Field("https://api.telegram.org", pattern=r"^https?://")
    alerter_consumer: str = Field(
        "",
        pattern=r"^[A-Za-z0-9_.@-]{0,64}$",
        description="consumer name; empty = lease the lowest free slot alert-1, alert-2, …",
    )
    alerter_batch: int = Field(200, ge=1, le=1000)
    alerter_block_ms: int = Field(2000, ge=10, le=30_000)
    alerter_claim_idle_ms: int = Field(
        30_000, ge=100, description="a pending entry idle this long is claimed (XAUTOCLAIM)"
    )
    alerter_janitor_ms: int = Field(10_000, ge=100, description="XAUTOCLAIM period")
    alerter_lease_ms: int = Field(30_000, ge=1000, description="consumer-name lease TTL")
    alerter_send_lease_ms: int = Field(
        60_000, ge=500, description="a delivery in progress is taken over after this"
    )
    alerter_http_timeout_s: float = Field(10.0, gt=0, le=120)
    alerter_retry_base_ms: int = Field(500, ge=1, description="first backoff delay")
    alerter_retry_cap_ms: int = Field(60_000, ge=1, description="longest backoff delay")
    alerter_give_up: DurationMs = Field(
        900_000, ge=1000, description="an alert not delivered this long after firing is dead"
    )
