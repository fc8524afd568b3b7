"""`GET /metrics`: Prometheus text exposition format 0.0.4, written by hand.

Three sources, read at scrape time: the collectors' status hashes and the aggregator's
health (both via health.collect, so /metrics and /api/health never disagree), and this
web process's own counters (broadcaster.py, snapshots.py). No client library: the format
is a few lines of text, and counters we do not own are re-exported as the collectors
report them (`_total` names for values that only grow while a collector runs).
"""

from __future__ import annotations

from typing import Any

from liqmon_web.alertfeed import alerter_metrics
from liqmon_web.broadcaster import Broadcaster
from liqmon_web.snapshots import SummaryCache

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: status-hash field -> (metric name, type, help)
COLLECTOR_METRICS = {
    "events": ("liqmon_collector_events_total", "counter", "events written to the stream"),
    "errors": ("liqmon_collector_errors_total", "counter", "errors (malformed frames, ...)"),
    "deadletters": ("liqmon_collector_deadletters_total", "counter", "frames dead-lettered"),
    "reconnects": ("liqmon_collector_reconnects_total", "counter", "WebSocket reconnects"),
    "buffered": ("liqmon_collector_buffered", "gauge", "events waiting for Redis"),
    "buffer_dropped": ("liqmon_collector_buffer_dropped_total", "counter", "events dropped"),
}
#: Read-model health fields that only grow (exported as `_total` counters).
AGGREGATOR_COUNTERS = frozenset(
    {"applied", "duplicates", "too_late", "future", "deadlettered", "trimmed"}
)


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self._declared: set[str] = set()

    def add(self, name: str, kind: str, help_text: str, value: float, labels: str = "") -> None:
        if name not in self._declared:
            self._declared.add(name)
            self.lines.append(f"# HELP {name} {help_text}")
            self.lines.append(f"# TYPE {name} {kind}")
        number = repr(float(value)) if isinstance(value, float) else str(int(value))
        self.lines.append(f"{name}{labels} {number}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def render(health: dict[str, Any], broadcaster: Broadcaster, cache: SummaryCache) -> str:
    w = _Writer()
    redis_ok = bool(health.get("redis", {}).get("ok"))
    w.add("liqmon_redis_up", "gauge", "1 if Redis answered the scrape", int(redis_ok))
    for name, c in sorted(health.get("collectors", {}).items()):
        label = f'{{exchange="{name}"}}'
        w.add("liqmon_collector_up", "gauge", "1 if the status hash exists", int(c["up"]), label)
        w.add("liqmon_collector_connected", "gauge", "1 if connected", int(c["connected"]), label)
        for field, (metric, kind, help_text) in COLLECTOR_METRICS.items():
            if isinstance(c.get(field), int):
                w.add(metric, kind, help_text, c[field], label)
        age = c.get("last_event_age_ms")
        if isinstance(age, int):
            w.add(
                "liqmon_collector_last_event_age_seconds", "gauge",
                "seconds since the last event", age / 1000, label,
            )  # fmt: skip
    aggregator = health.get("aggregator", {})
    for field, value in sorted(aggregator.items()):
        if isinstance(value, int | float) and not isinstance(value, bool):
            if field in AGGREGATOR_COUNTERS:
                w.add(f"liqmon_aggregator_{field}_total", "counter", f"aggregator {field}", value)
            else:
                w.add(f"liqmon_aggregator_{field}", "gauge", f"aggregator {field}", value)
    if isinstance(aggregator.get("alive"), list):
        alive = len(aggregator["alive"])
        w.add("liqmon_aggregator_alive", "gauge", "consumers with a fresh heartbeat", alive)
    for name, kind, help_text, value, labels in alerter_metrics(health.get("alerter", {})):
        text = ",".join(f'{k}="{v}"' for k, v in labels.items())
        w.add(name, kind, help_text, value, f"{{{text}}}" if text else "")
    b = broadcaster
    web = (
        ("liqmon_web_sse_clients", "gauge", "open stream clients", b.clients),
        ("liqmon_web_sse_connections_total", "counter", "stream clients admitted",
         b.connections_total),
        ("liqmon_web_sse_dropped_slow_total", "counter", "clients dropped: queue full",
         b.dropped_slow),
        ("liqmon_web_sse_rejected_total", "counter", "clients refused (429)", b.rejected),
        ("liqmon_web_stream_events_total", "counter", "events read by this process",
         b.events_read),
        ("liqmon_web_stream_malformed_total", "counter", "stream entries skipped", b.malformed),
        ("liqmon_web_stream_repeats_total", "counter", "repeated event ids not broadcast",
         b.repeats),
        ("liqmon_web_stream_reader_errors_total", "counter", "stream read errors",
         b.reader_errors),
        ("liqmon_web_summary_reads_total", "counter", "summary reads from Redis", cache.reads),
        ("liqmon_web_summary_errors_total", "counter", "failed summary reads",
         b.summary_errors + cache.errors),
    )  # fmt: skip
    for name, kind, help_text, value in web:
        w.add(name, kind, help_text, value)
    if b.position is not None:
        w.add("liqmon_web_stream_position_ms", "gauge", "time of the last id read", b.position.ms)
    return w.text()
