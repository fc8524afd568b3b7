"""Every Redis key name liqmon uses, in one place.

Why one module: key names are a contract between services (collectors write, the
aggregator folds, the web service reads) and with outside consumers of the stream.
Nothing else in the code base builds a key with an f-string.

All keys share a versioned prefix, `<prefix>:v1:` (prefix `liq` by default, set with
`LIQMON_KEY_PREFIX`), so that a schema change can be rebuilt side by side under `v2`.
"""

from __future__ import annotations

from dataclasses import dataclass

SCHEMA_VERSION = 1

#: Consumer group the aggregators share on the event stream.
AGGREGATOR_GROUP = "aggregator"


@dataclass(frozen=True, slots=True)
class Keys:
    """Key names under one prefix. Build once from settings and pass it down."""

    prefix: str = "liq"

    @property
    def base(self) -> str:
        return f"{self.prefix}:v{SCHEMA_VERSION}"

    # --- the public bus -------------------------------------------------------------
    @property
    def events(self) -> str:
        """Stream: one entry per liquidation (docs/EVENTS.md). Trimmed by time (MINID ~)."""
        return f"{self.base}:events"

    @property
    def deadletter(self) -> str:
        """Stream: malformed frames and poison entries, with raw text, reason and source."""
        return f"{self.base}:deadletter"

    # --- collectors -------------------------------------------------------------------
    def collector_status(self, exchange: str) -> str:
        """Hash: a collector's live status (see docs/ARCHITECTURE.md), refreshed every few s."""
        return f"{self.base}:collector:{exchange}:status"

    def collector_gaps(self, exchange: str) -> str:
        """Sorted set: closed connection gaps, member `"<start_ms>:<end_ms>"`, score end_ms.

        A gap still open is the status hash's `gap_open_since` field.
        """
        return f"{self.base}:collector:{exchange}:gaps"

    # --- aggregator (derived state; all rebuildable from `events`) --------------------
    def agg(self, *parts: str) -> str:
        """Namespace for aggregator-owned keys: `<base>:agg:<parts...>`.

        The aggregator's own key module (`liqmon_aggregator.keyspace`) is the only caller;
        it documents each key. `generation` lets `liqmon rebuild` build into fresh keys and
        then swap.
        """
        return ":".join((self.base, "agg", *parts))

    def aggregator_status(self, consumer: str) -> str:
        """Hash: one aggregator consumer's heartbeat and counters."""
        return f"{self.base}:aggregator:{consumer}:status"

    @property
    def aggregator_consumers(self) -> str:
        """Sorted set: consumer name -> last heartbeat ms."""
        return f"{self.base}:aggregator:consumers"
