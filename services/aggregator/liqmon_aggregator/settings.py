"""Settings of the aggregator (env names: LIQMON_ + the field name, upper case).

`ConsumerSettings` is the slice the consumer loop reads; the service passes its whole
`AggregatorSettings` (which is one), tests and `testing.drain` build the slice alone. Each
knob is defined once, here.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from liqmon.settings import CommonSettings


class ConsumerSettings(BaseModel):
    """How one consumer of the group reads, claims and gives up on entries."""

    aggregator_batch: int = Field(
        default=5000,
        ge=1,
        le=5000,
        # A batch is only this big while there is a backlog; then more events share each
        # per-coin delta (bench/aggregator.py: 2,000 -> 5,000 took Redis from ~47 to ~12 us
        # per event), at the price of apply.lua calls of tens of ms.
        description="entries per read and per apply.lua call",
    )
    aggregator_block_ms: int = Field(default=2000, ge=10, le=30_000)
    aggregator_linger_ms: int = Field(
        default=50,
        ge=0,
        le=1000,
        # apply.lua's work grows with the distinct coins x windows a batch touches, not with
        # its events: in a crash (~50-entry reads) most of an apply call is that per-call
        # part. Only a busy stream waits (`liqmon.linger`), so totals at everyday
        # rates are as fresh as without it.
        description="while the stream is busy, the least time between two reads (0 = none)",
    )
    aggregator_claim_idle_ms: int = Field(
        default=60_000, ge=100, description="a pending entry idle this long is claimed (XAUTOCLAIM)"
    )
    aggregator_janitor_ms: int = Field(default=30_000, ge=100, description="XAUTOCLAIM period")
    aggregator_max_deliveries: int = Field(
        default=5, ge=1, le=100, description="failed deliveries before an entry is dead-lettered"
    )


class AggregatorSettings(CommonSettings, ConsumerSettings):
    aggregator_consumer: str = Field(
        default="",
        pattern=r"^[A-Za-z0-9_.@-]{0,64}$",
        description="consumer name; empty = lease the lowest free slot agg-1, agg-2, …",
    )
    aggregator_evict_ms: int = Field(default=1000, ge=50, le=60_000, description="evictor period")
    aggregator_selfcheck_ms: int = Field(default=60_000, ge=100, description="self-check period")
    aggregator_max_future_ms: int = Field(
        default=300_000, ge=0, le=86_400_000, description="events further ahead are dead-lettered"
    )
    aggregator_lease_ms: int = Field(
        default=30_000, ge=1000, description="TTL of the consumer-name and evictor leases"
    )
