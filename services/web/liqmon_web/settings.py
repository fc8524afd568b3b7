"""Settings of the web service (env names are fixed; see README).

Everything a deployment may want to tune about the HTTP side lives here: where to
listen, who may call us cross-origin (nobody by default), how many Server-Sent Events
clients one process serves, how deep each client's queue is, and which collectors the
health check expects to see.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from liqmon.settings import CommonSettings
from liqmon.venues import EXCHANGES, PRODUCTS


def _csv(value: object) -> object:
    """`"a, b"` -> `["a", "b"]`; lists pass through (env vars arrive as one string)."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class WebSettings(CommonSettings):
    web_host: str = "127.0.0.1"
    web_port: int = Field(8000, ge=1, le=65535)

    # --- reverse proxy / browser policy -------------------------------------------
    web_proxy_headers: bool = Field(
        False, description="trust X-Forwarded-For/-Proto from web_forwarded_allow_ips"
    )
    web_forwarded_allow_ips: str = Field(
        "127.0.0.1", description="comma list of proxy addresses (or '*') uvicorn trusts"
    )
    web_cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="comma list of allowed origins; empty = CORS off"
    )
    web_graceful_shutdown_s: int = Field(5, ge=1, le=60)

    # --- Server-Sent Events ---------------------------------------------------------
    web_max_sse_clients: int = Field(2000, ge=1, le=100_000)
    web_max_sse_per_ip: int = Field(20, ge=1, le=10_000)
    web_sse_queue_size: int = Field(
        1000,
        ge=10,
        le=1_000_000,
        description="events queued per client before it is dropped (once its writer has "
        "not emptied the queue for 0.5 s)",
    )
    web_sse_batch_ms: int = Field(
        30,
        ge=0,
        le=1000,
        description="max spacing of writes to a client (20 ms, 5 ms with a few clients, "
        "30 µs per client beyond 667; 0: none)",
    )
    web_sse_keepalive_s: float = Field(15.0, gt=0, le=300)
    web_sse_stall_s: float = Field(
        30.0, gt=0, le=3600, description="dropped after keep-alive + this without a write"
    )
    web_sse_retry_ms: int = Field(2000, ge=100, le=600_000)
    web_sse_max_replay: int = Field(
        50_000, ge=100, le=10_000_000, description="stream entries one resume may replay"
    )

    # --- REST -----------------------------------------------------------------------
    web_max_scan: int = Field(
        10_000, ge=100, le=1_000_000, description="stream entries one /api/liquidations scans"
    )
    web_summary_cache_ms: int = Field(
        1000, ge=0, le=10_000, description="an unchanged summary is re-read after this (0: always)"
    )
    web_summary_push_ms: int = Field(
        20,
        ge=10,
        le=10_000,
        description="a changed summary is pushed at most this often (more spacing with "
        "many stream clients, summary_feed.py)",
    )
    web_max_series_hours: int = Field(48, ge=1, le=24 * 90)

    # --- health ---------------------------------------------------------------------
    web_expected_collectors: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(EXCHANGES),
        description="collectors whose absence makes health degraded (default: every venue)",
    )
    web_max_aggregator_lag: int = Field(
        1000, ge=0, description="stream entries behind before health says degraded"
    )

    @field_validator("web_cors_origins", "web_expected_collectors", mode="before")
    @classmethod
    def _split_csv(cls, value: object) -> object:
        return _csv(value)

    @field_validator("web_expected_collectors")
    @classmethod
    def _known_exchanges(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in PRODUCTS]
        if unknown:
            raise ValueError(f"unknown exchange(s) {unknown}; known: {sorted(PRODUCTS)}")
        return value
