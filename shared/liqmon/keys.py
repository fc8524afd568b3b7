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
#: Consumer group the alerters share, on the event stream and on each channel's outbox.
ALERTER_GROUP = "alerter"


def id_field(event_id: str) -> bytes:
    """An event id as a field of the dedup hashes (`appended_ids`, `agg_bucket_ids`): 16 raw
    bytes for a 32-hex id (half the memory of the text), else `t:<id>` (never 16 bytes
    long, so the two kinds cannot collide)."""
    if len(event_id) == 32:
        try:
            return bytes.fromhex(event_id)
        except ValueError:
            pass
    raw = b"t:" + event_id.encode()
    return raw + b"\0" if len(raw) == 16 else raw


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

    def events_by_symbol(self, symbol: str) -> str:
        """Stream: the per-symbol index of `events` (docs/EVENTS.md). One entry per event of
        that symbol, with the SAME entry id as in `events` and one empty field `i`; written
        in the same append script, trimmed by the same MINID.

        `symbol` is the event's symbol as is: untrusted text of 1-64 characters (enforced by
        LiquidationEvent), only ever the last component of the name, never parsed back out
        of a key and never used in a SCAN pattern (the index keys are listed by
        `indexed_symbols`), so no character in it can reach another key."""
        return f"{self.base}:events:sym:{symbol}"

    @property
    def indexed_symbols(self) -> str:
        """Sorted set: symbol -> ms of its last append; lists the `events_by_symbol` keys (a
        symbol quiet for longer than the retention loses its index key)."""
        return f"{self.base}:events:symbols"

    @property
    def symbol_index_scratch(self) -> str:
        """Stream, transient: where `liqmon rebuild` rebuilds one symbol's index before
        renaming it over the live one."""
        return f"{self.base}:events:sym-scratch"

    def appended_ids(self, bucket: int) -> str:
        """Hash: ids (`id_field`, empty values) of the events appended to `events` whose ts
        is in this event-time bucket (ts // liqmon.windows.BUCKET_MS); expires a retention
        after the last append into it. The append script refuses an id already here
        (docs/EVENTS.md, "Repeats")."""
        return f"{self.base}:events:ids:{bucket}"

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

    def collector_replicas(self, exchange: str) -> str:
        """Sorted set: the processes collecting this exchange, member `replica_member`, score
        the ms of each one's last status publish (same TTL as the status). Replicas share
        the status hash; this says which of them is alive (each container's healthcheck,
        `/api/health`)."""
        return f"{self.base}:collector:{exchange}:replicas"

    def collector_replicas_connected(self, exchange: str) -> str:
        """Sorted set: the same members, only those whose every connection was up at their
        last publish (score its ms). With replicas, the shared hash's `connected` is only the last
        writer's: `/api/health` reads the venue's connection from these two sets."""
        return f"{self.base}:collector:{exchange}:replicas-connected"

    def collector_alive(self, exchange: str) -> str:
        """String, no TTL: last ms at which a collector of this exchange had every connection
        up (refreshed with the status). Outlives the status hash, so a start after a crash or
        a long stop knows when collection stopped."""
        return f"{self.base}:collector:{exchange}:alive"

    def collector_first_start(self, exchange: str) -> str:
        """String, no TTL, SET NX: ms of the first connection ever made for this exchange.
        Windows reaching before it are incomplete (liqmon.views.read_summary)."""
        return f"{self.base}:collector:{exchange}:first-start"

    # --- aggregator (derived state; all rebuildable from `events`) --------------------
    def agg(self, *parts: str) -> str:
        """Namespace for aggregator-owned keys: `<base>:agg:<parts...>`.

        Only the `agg_*` methods below call it; each documents its key. Derived state
        lives under a generation (`g<N>`) so that `liqmon rebuild` can build into fresh
        keys and then swap.
        """
        return ":".join((self.base, "agg", *parts))

    def aggregator_status(self, consumer: str) -> str:
        """Hash: one aggregator consumer's heartbeat and counters."""
        return f"{self.base}:aggregator:{consumer}:status"

    @property
    def aggregator_consumers(self) -> str:
        """Sorted set: consumer name -> last heartbeat ms."""
        return f"{self.base}:aggregator:consumers"

    # --- aggregator derived state ---------------------------------------------------
    # Everything derived lives under a generation, `<base>:agg:g<N>:…`, so that
    # `liqmon rebuild` can fill generation N+1 from the stream while N is live and then
    # swap the pointer. Readers first GET `agg_generation`, then read that generation.
    # What is inside these keys (field names, buckets, windows) is liqmon.windows; sides are
    # "L" (long) and "S" (short); bucket numbers are floor(event ts / windows.BUCKET_MS).
    @property
    def agg_generation(self) -> str:
        """String: the live generation number (absent = 1). Swapped by `liqmon rebuild`."""
        return self.agg("generation")

    @property
    def agg_generation_seq(self) -> str:
        """String counter: last generation number handed out (INCR gives a fresh one)."""
        return self.agg("generation-seq")

    def agg_watermarks(self, gen: int) -> str:
        """Hash: window -> last bucket already subtracted from that window.

        An event in bucket b is in window W iff b > wm[W]; b <= wm["1d"] means too late.
        """
        return self.agg(f"g{gen}", "wm")

    def agg_stats(self, gen: int) -> str:
        """Hash: applied, duplicates, too_late, future (counts of stream entries),
        last_applied_ms (server ms of the last apply); from the self-check: drift_cents,
        drift_other (both must stay 0) and checked_ms."""
        return self.agg(f"g{gen}", "stats")

    def agg_window(self, gen: int, window: str) -> str:
        """Hash: window totals (liqmon.windows.total_fields): L, S (cents), Ln, Sn (counts),
        the same per exchange (`<exchange>:L`, …), cap (capped one-second slots).
        A field that returns to 0 is deleted (missing = 0)."""
        return self.agg(f"g{gen}", "w", window)

    def agg_window_coins(self, gen: int, window: str) -> str:
        """Hash: per-coin window totals (liqmon.windows.coin_fields): `<sym>:L`, `<sym>:Ln`
        and the price-weight limbs `<sym>:Lp0` .. `<sym>:Lp3` (same for S)."""
        return self.agg(f"g{gen}", "wc", window)

    def agg_rank(self, gen: int, window: str, side: str) -> str:
        """Sorted set: coin -> window USD cents for side L or S; zero totals are removed."""
        return self.agg(f"g{gen}", "rk", window, side)

    def agg_largest(self, gen: int, window: str) -> str:
        """Sorted set: one member per bucket in the window, that bucket's largest event.

        Score = cents, member = its event id (ties -> greatest id); the EVENT JSON is in
        `agg_largest_events`."""
        return self.agg(f"g{gen}", "lg", window)

    def agg_bucket(self, gen: int, bucket: int) -> str:
        """Hash: one bucket's totals (the window-hash fields) and its largest event (`x:mx`
        cents, `x:mid` its id: the member of the largest zsets)."""
        return self.agg(f"g{gen}", "b", str(bucket))

    def agg_largest_events(self, gen: int) -> str:
        """Hash: event id -> EVENT JSON, for each event that is some bucket's largest (one
        copy however many windows' largest zsets hold its id)."""
        return self.agg(f"g{gen}", "lg-events")

    def agg_bucket_index(self, gen: int) -> str:
        """Sorted set: the buckets that hold applied events (member and score = the bucket
        number), so eviction and the self-check visit only those."""
        return self.agg(f"g{gen}", "buckets")

    def agg_bucket_coins(self, gen: int, bucket: int) -> str:
        """String: one bucket's per-coin sums, msgpack records (liqmon.windows.BUCKET_RECORD)
        added one batch at a time; far smaller than hash fields per coin."""
        return self.agg(f"g{gen}", "b", str(bucket), "coins")

    def agg_bucket_ids(self, gen: int, bucket: int) -> str:
        """Hash: ids (`id_field`, empty values) of the events applied in this bucket."""
        return self.agg(f"g{gen}", "b", str(bucket), "ids")

    def agg_bucket_caps(self, gen: int, bucket: int) -> str:
        """Hash: `<exchange>|<instrument>|<second>` slots holding a sampled event (values
        empty)."""
        return self.agg(f"g{gen}", "b", str(bucket), "caps")

    def agg_late_ids(self, gen: int) -> str:
        """Set (rebuild only, deleted after): ids of too-late events added to the series."""
        return self.agg(f"g{gen}", "late-ids")

    def agg_series(self, gen: int, scope: str, hour: int) -> str:
        """Hash: per-minute USD cents for one hour (hour = ts // 3_600_000); fields
        `<minute 0-59>:L` / `:S`. Scope: `all`, `ex:<exchange>`, `c:<sym>`,
        `cx:<sym>:<exchange>`. Expires at the hour's end + retention."""
        return self.agg(f"g{gen}", "s", scope, str(hour))

    @property
    def agg_counters(self) -> str:
        """Hash (not per generation): deadlettered, trimmed entries, over all consumers."""
        return self.agg("counters")

    def agg_consumer_slot(self, slot: int) -> str:
        """String with TTL: lease on the default consumer name slot (value = owner token)."""
        return self.agg("slot", str(slot))

    @property
    def agg_evictor_lease(self) -> str:
        """String with TTL: which consumer currently runs the evictor."""
        return self.agg("evictor-lease")

    @property
    def agg_rebuild_lock(self) -> str:
        """String with TTL: held while `liqmon rebuild` runs."""
        return self.agg("rebuild-lock")

    # --- alerter (docs/ALERTS.md) -------------------------------------------------------
    @property
    def alerts(self) -> str:
        """Stream: one entry per fired alert (public, docs/EVENTS.md); capped by length."""
        return f"{self.base}:alerts"

    def alerter(self, *parts: str) -> str:
        """Namespace for alerter-owned keys: `<base>:alerter:<parts...>` (only the
        `alerter_*` methods below call it)."""
        return ":".join((self.base, "alerter", *parts))

    def alerter_outbox(self, channel: str) -> str:
        """Stream: alerts waiting for delivery to one channel (group `alerter`); an entry
        is acked and deleted once sent or dead-lettered."""
        return self.alerter("outbox", channel)

    def alerter_sent(self, channel: str, alert_id: str) -> str:
        """String, TTL 48 h: the delivery claim of one alert on one channel,
        `sending|<owner>|<lease until ms>`, then `sent|<ms>` or `dead|<ms>|<reason>`."""
        return self.alerter("sent", channel, alert_id)

    def alerter_channel(self, channel: str) -> str:
        """Hash: one channel's delivery counters and state (sent, retries, deadlettered,
        state, last_error, last_sent_ms, last_attempt_ms, type)."""
        return self.alerter("channel", channel)

    @property
    def alerter_channels(self) -> str:
        """Hash: channel name -> type, of the channels the running rules file declares."""
        return self.alerter("channels")

    @property
    def alerter_deadletter(self) -> str:
        """Stream: alerts a channel refused for good (channel, alert, status, reason, ts);
        capped by length."""
        return self.alerter("deadletter")

    @property
    def alerter_stats(self) -> str:
        """Hash: events seen, stale, future, duplicates, fired (over all alerter processes)."""
        return self.alerter("stats")

    def alerter_seen(self, minute: int) -> str:
        """Set, TTL: ids of the events that matched a rule, by event-time minute (dedup)."""
        return self.alerter("seen", str(minute))

    def alerter_cascade(self, rule: str, key: str) -> str:
        """Hash: one cascade rule's sliding window for one key (coin or `*` + side):
        per-second buckets `s:<sec>` cents, `n:<sec>` count, `m:<sec>` largest cents,
        `e:<sec>` largest EVENT JSON; state `now`, `sum`, `cnt`, `active`, `last_fire`."""
        return self.alerter("cascade", rule, key)

    @property
    def alerter_consumers(self) -> str:
        """Sorted set: alerter consumer name -> last heartbeat ms."""
        return self.alerter("consumers")

    def alerter_consumer_slot(self, slot: int) -> str:
        """String with TTL: lease on the consumer name slot `alert-<slot>`."""
        return self.alerter("slot", str(slot))


def replica_member(host: str, pid: int) -> str:
    """A collector process in `Keys.collector_replicas`: `<host>:<pid>`."""
    return f"{host}:{pid}"


def replica_host(member: str) -> str:
    """The host part of a `replica_member`."""
    return member.rpartition(":")[0]
