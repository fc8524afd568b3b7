"""Settings of the aggregator (env names: LIQMON_ + the field name, upper case)."""

from __future__ import annotations

from pydantic import Field

from liqmon.settings import CommonSettings


class AggregatorSettings(CommonSettings):
    aggregator_consumer: str = Field(
        "",
        pattern=r"^[A-Za-z0-9_.@-]{0,64}$",
        description="consumer name; empty = lease the lowest free slot agg-1, agg-2, …",
    )
    aggregator_batch: int = Field(500, ge=1, le=1000, description="entries per read/apply")
    aggregator_block_ms: int = Field(2000, ge=10, le=30_000)
    aggregator_claim_idle_ms: int = Field(
        60_000, ge=100, description="a pending entry idle this long is claimed (XAUTOCLAIM)"
    )
    aggregator_janitor_ms: int = Field(30_000, ge=100, description="XAUTOCLAIM period")
    aggregator_max_deliveries: int = Field(
        5, ge=1, le=100, description="failed deliveries before an entry is dead-lettered"
    )
    aggregator_evict_ms: int = Field(1000, ge=50, le=60_000, description="evictor period")
    aggregator_selfcheck_ms: int = Field(60_000, ge=100, description="self-check period")
    aggregator_max_future_ms: int = Field(
        300_000, ge=0, le=86_400_000, description="events further ahead are dead-lettered"
    )
    aggregator_lease_ms: int = Field(
        30_000, ge=1000, description="TTL of the consumer-name and evictor leases"
    )
