"""`GET /metrics`: Prometheus text exposition (0.0.4), written by `prometheus_client`.

Three sources, read at scrape time: the collectors' status hashes and the aggregator's
health (both via health.collect, so /metrics and /api/health never disagree), and this
web process's own counters (broadcaster.py, snapshots.py). They are not this process's
instruments but values it re-exports, so they go through a custom collector built per
scrape (`ScrapeCollector`) instead of registered Counter/Gauge objects; the library writes
the text, escapes label values and validates names. Counters we do not own are re-exported
as the collectors report them (`_total` names for values that only grow while a
collector runs). Names pass `promtool check metrics` (tests/web/test_health_metrics.py):
the web's summary-read counters are `liqmon_web_snapshot_*` ("summary" is a Prometheus
metric type) and the stream position is in seconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.registry import Collector, CollectorRegistry

from liqmon_web.alertfeed import alerter_metrics
from liqmon_web.broadcaster import Broadcaster
from liqmon_web.summary_feed import SummaryFeed

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

#: a collector's health field (its status hash's, or `replicas`) -> (metric name, counter?, help)
COLLECTOR_METRICS = {
    "events": ("liqmon_collector_events_total", True, "events written to the stream"),
    "errors": ("liqmon_collector_errors_total", True, "errors (malformed frames, ...)"),
    "deadletters": ("liqmon_collector_deadletters_total", True, "frames dead-lettered"),
    "reconnects": ("liqmon_collector_reconnects_total", True, "WebSocket reconnects"),
    "buffered": ("liqmon_collector_buffered", False, "events waiting for Redis"),
    "buffer_dropped": ("liqmon_collector_buffer_dropped_total", True, "events dropped"),
    "replicas": (
        "liqmon_collector_replicas",
        False,
        "processes collecting it that published in 30 s",
    ),
    "replicas_connected": (
        "liqmon_collector_replicas_connected",
        False,
        "of those, the ones with every connection up",
    ),
}
#: Read-model health fields that only grow (exported as `_total` counters).
AGGREGATOR_COUNTERS = frozenset(
    {"applied", "duplicates", "too_late", "future", "deadlettered", "trimmed"}
)
_METRIC_PART = re.compile(r"^[a-z_][a-z0-9_]*$")


Family = CounterMetricFamily | GaugeMetricFamily


def _family(name: str, help_text: str, *, counter: bool, labels: tuple[str, ...] = ()) -> Family:
    if counter:
        return CounterMetricFamily(name, help_text, labels=list(labels))
    return GaugeMetricFamily(name, help_text, labels=list(labels))


class ScrapeCollector(Collector):
    """One scrape's values (the health document and this process's counters)."""

    def __init__(self, health: dict[str, Any], broadcaster: Broadcaster, feed: SummaryFeed):
        self.health = health
        self.broadcaster = broadcaster
        self.feed = feed

    def collect(self) -> Iterator[Metric]:
        redis_up = _family("liqmon_redis_up", "1 if Redis answered the scrape", counter=False)
        redis_up.add_metric([], int(bool(self.health.get("redis", {}).get("ok"))))
        yield redis_up
        yield from self._collectors()
        yield from self._aggregator()
        yield from self._alerter()
        yield from self._web()

    def _collectors(self) -> Iterator[Metric]:
        by_exchange = sorted(self.health.get("collectors", {}).items())
        ex = ("exchange",)
        up = _family("liqmon_collector_up", "1 if the status hash exists", counter=False, labels=ex)
        connected = _family(
            "liqmon_collector_connected", "1 if connected", counter=False, labels=ex
        )
        age = _family(
            "liqmon_collector_last_event_age_seconds", "seconds since the last event",
            counter=False, labels=ex,
        )  # fmt: skip
        fields = {
            field: _family(metric, help_text, counter=counter, labels=ex)
            for field, (metric, counter, help_text) in COLLECTOR_METRICS.items()
        }
        for name, c in by_exchange:
            up.add_metric([name], int(c["up"]))
            connected.add_metric([name], int(c["connected"]))
            for field, family in fields.items():
                if isinstance(c.get(field), int):
                    family.add_metric([name], c[field])
            if isinstance(c.get("last_event_age_ms"), int):
                age.add_metric([name], c["last_event_age_ms"] / 1000)
        for family in (up, connected, *fields.values(), age):
            if family.samples:
                yield family

    def _aggregator(self) -> Iterator[Metric]:
        aggregator = self.health.get("aggregator", {})
        for field, value in sorted(aggregator.items()):
            if not _METRIC_PART.match(field) or not isinstance(value, int | float):
                continue
            if isinstance(value, bool):
                continue
            counter = field in AGGREGATOR_COUNTERS
            name = f"liqmon_aggregator_{field}" + ("_total" if counter else "")
            family = _family(name, f"aggregator {field}", counter=counter)
            family.add_metric([], value)
            yield family
        if isinstance(aggregator.get("alive"), list):
            alive = _family(
                "liqmon_aggregator_alive", "consumers with a fresh heartbeat", counter=False
            )
            alive.add_metric([], len(aggregator["alive"]))
            yield alive

    def _alerter(self) -> Iterator[Metric]:
        """The alerter's samples (liqmon_web.alertfeed), one family per metric name."""
        families: dict[str, Family] = {}
        for name, kind, help_text, value, labels in alerter_metrics(self.health.get("alerter", {})):
            family = families.get(name)
            if family is None:
                family = families[name] = _family(
                    name, help_text, counter=kind == "counter", labels=tuple(labels)
                )
            family.add_metric(list(labels.values()), value)
        yield from families.values()

    def _web(self) -> Iterator[Metric]:
        b, feed, cache = self.broadcaster, self.feed, self.feed.cache
        values = (
            ("liqmon_web_sse_clients", False, "open stream clients", b.clients),
            ("liqmon_web_sse_connections_total", True, "stream clients admitted",
             b.connections_total),
            ("liqmon_web_sse_dropped_slow_total", True, "clients dropped: queue full",
             b.dropped_slow),
            ("liqmon_web_sse_rejected_total", True, "clients refused (429)", b.rejected),
            ("liqmon_web_stream_events_total", True, "events read by this process",
             b.events_read),
            ("liqmon_web_stream_malformed_total", True, "stream entries skipped", b.malformed),
            ("liqmon_web_stream_reader_errors_total", True, "stream read errors",
             b.reader_errors),
            ("liqmon_web_snapshot_reads_total", True, "/api/summary reads from Redis",
             cache.reads),
            ("liqmon_web_snapshot_errors_total", True, "failed summary reads",
             cache.errors + feed.errors),
            ("liqmon_web_snapshot_pushes_total", True, "summaries pushed to stream clients",
             feed.pushes),
        )  # fmt: skip
        for name, counter, help_text, value in values:
            family = _family(name, help_text, counter=counter)
            family.add_metric([], value)
            yield family
        if b.position is not None:
            position = _family(
                "liqmon_web_stream_position_seconds", "time of the last id read", counter=False
            )
            position.add_metric([], b.position.ms / 1000)
            yield position


def render(health: dict[str, Any], broadcaster: Broadcaster, feed: SummaryFeed) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ScrapeCollector(health, broadcaster, feed))
    return generate_latest(registry)
