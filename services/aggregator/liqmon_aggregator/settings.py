"""Settings of the aggregator."""

from __future__ import annotations

from liqmon.settings import CommonSettings


class AggregatorSettings(CommonSettings):
    pass
