"""Settings of the Bybit collector (env names are fixed; see README)."""

from __future__ import annotations

from pydantic import Field

from liqmon.collector.settings import CollectorSettings


class BybitSettings(CollectorSettings):
    #: The collector appends `/linear` and `/inverse`.
    bybit_ws_url: str = "wss://stream.bybit.com/v5/public"
    bybit_rest_url: str = "https://api.bybit.com"
    #: Bybit asks for a `{"op":"ping"}` heartbeat every 20 s.
    bybit_ping_seconds: float = Field(20.0, gt=0)
    #: Topics per subscribe request, and the request's `args` size limit (Bybit: 21,000 chars).
    bybit_topics_per_request: int = Field(200, ge=1)
    bybit_args_max_chars: int = Field(21_000, ge=200, le=21_000)
    #: Topics per connection; more symbols than this open another connection.
    bybit_topics_per_connection: int = Field(500, ge=1)
    #: How often the instrument listing is reloaded (new listings, delistings).
    bybit_listing_refresh_seconds: float = Field(300.0, gt=0)
    #: `limit` of each instruments-info page (Bybit: at most 1000).
    bybit_page_limit: int = Field(1000, ge=1, le=1000)
    #: First retry of a symbol Bybit refused to subscribe (doubling per refusal, up to the
    #: listing refresh period): a refusal may be temporary.
    bybit_refused_retry_seconds: float = Field(10.0, gt=0)
