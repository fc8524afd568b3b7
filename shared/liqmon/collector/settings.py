"""Settings every collector shares (the venue settings classes extend this one).

The runtime reads its knobs from this object directly (`Feed`, `EventWriter`, …): one source
per knob, no parallel config classes."""

from __future__ import annotations

from pydantic import Field, ValidationInfo, field_validator

from liqmon.settings import CommonSettings


class CollectorSettings(CommonSettings):
    collector_buffer_max: int = Field(
        100_000, ge=100, description="events kept while Redis is away"
    )
    collector_batch_max: int = Field(
        2_000, ge=1, le=10_000, description="events per pipelined write"
    )
    collector_linger_ms: int = Field(
        50,
        ge=0,
        le=1000,
        description="while the stream is busy, the least time between two appends (0 = none)",
    )
    collector_status_seconds: float = Field(2.0, gt=0, description="status hash refresh period")
    collector_status_ttl_seconds: int = Field(30, ge=2, description="status hash TTL")
    collector_pong_timeout_seconds: float = Field(
        10.0, gt=0, description="liveness ping answer limit"
    )
    collector_open_timeout_seconds: float = Field(
        10.0, gt=0, description="connect + subscribe limit"
    )
    collector_close_timeout_seconds: float = Field(2.0, gt=0, description="closing handshake limit")
    collector_backoff_initial_seconds: float = Field(
        0.5, gt=0, description="first reconnect delay (doubles per failure)"
    )
    collector_backoff_max_seconds: float = Field(30.0, gt=0, description="reconnect delay cap")
    collector_rollover_lead_seconds: float = Field(
        300.0, gt=0, description="open the replacement this long before a venue's cut-off"
    )
    collector_hold_seconds: float = Field(
        120.0, gt=0, description="how long an event may wait for its spec"
    )
    collector_spec_refresh_seconds: float = Field(3600.0, gt=0, description="periodic spec reload")
    collector_spec_min_gap_seconds: float = Field(
        5.0, ge=0, description="min time between spec loads"
    )
    collector_flush_seconds: float = Field(5.0, ge=0, description="shutdown flush limit")
    collector_max_frame_bytes: int = Field(16 * 1024 * 1024, ge=65_536)

    @field_validator("collector_backoff_max_seconds")
    @classmethod
    def _cap_not_below_initial(cls, value: float, info: ValidationInfo) -> float:
        initial = info.data.get("collector_backoff_initial_seconds")
        if initial is not None and value < initial:
            raise ValueError(f"must be >= the initial backoff ({initial})")
        return value
