"""Collector CPU per event on the simulator's crash frames, every venue, without I/O.

    .venv/bin/python bench/collector_replay.py capture FRAMES [--seconds 15] [--rate 3000]
    .venv/bin/python bench/collector_replay.py replay FRAMES [--runs 5] [--dump OUT.jsonl]
    .venv/bin/python bench/collector_replay.py [--quick]    # both, on a temporary capture

`capture` runs the simulator (`crash` scenario, every venue) as a child process and every
venue's collector in this process (as `liqmon run collectors` does, against a private
redis-server), records each frame a feed hands to `CollectorService.handle` with its
receive stamp and which parser read it, and saves them (pickle) with a copy of every spec
cache as it was at the end.

`replay` builds fresh venues from those specs and times what the collectors' reader does per
frame, minus the socket and Redis: decode (HTX gunzip), `parse_frame`, and each event's
`texts()` (what the writer sends). Printed: µs of CPU per event and per frame, median of
`--runs` passes, overall and by venue. `--dump` writes every frame's full outcome (events'
fields, bad parts, held instruments, control, error, reply) as JSON lines: the same capture
replayed by two commits must give identical dumps.

Then the writer's side: every event, in capture order, goes through the real
`StreamAppender` in calls of `--rows` (a crash's lingering calls carry ~200), with the
append script replaced by a stand-in that packs the command as redis-py would send it and
returns at once: µs of CPU per event of the appender and the packing, and a sha256 over
every call's keys and arguments (what Redis would receive): two commits that print the same
digest write the same stream entries, index entries and dedup fields.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import orjson
from redis.asyncio import Connection, Redis

from liqmon.collector.frames import FrameParser
from liqmon.collector.group import CollectorGroup, SharedAppenders, supervisor_for
from liqmon.collector.service import CollectorService
from liqmon.collector.streamwrite import StreamAppender
from liqmon.embedded_redis import EmbeddedRedis, free_port
from liqmon.keys import Keys
from liqmon.runtime import serve
from liqmon.settings import load_settings
from liqmon.venues import VENUES

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._pipeline import crash_liquidations_per_s  # (after the path insert)
from liqmon_sim.venues.plugin import demo_environment, free_ports

Frame = tuple[str, str, str | bytes, int]  # exchange, parser key, raw, recv_ts


def feeds_of(venue: Any) -> dict[str, tuple[FrameParser, Any]]:
    """Every parser of a venue (with its frame decoder) by a name that a fresh venue of the
    same settings repeats: its fixed feeds' products, `parsers.<name>` for runtime ones."""
    out: dict[str, tuple[FrameParser, Any]] = {
        spec.product: (spec.parser, spec.decode) for spec in venue.feeds()
    }
    for name, parser in runtime_parsers(venue).items():
        out.setdefault(name, (parser, None))
    return out


def runtime_parsers(venue: Any) -> dict[str, FrameParser]:
    """The parsers a venue keeps for the connections it opens while running."""
    out = {f"parsers.{name}": p for name, p in getattr(venue, "parsers", {}).items()}
    if getattr(venue, "parser", None) is not None:
        out["parser"] = venue.parser
    return out


def feed_key(venue: Any, feed: Any) -> str:
    if feed.spec.product in {spec.product for spec in venue.feeds()}:
        return str(feed.spec.product)
    for name, parser in runtime_parsers(venue).items():
        if parser is feed.spec.parser:
            return name
    raise LookupError(f"no parser named for {feed.spec.product}")


async def record(seconds: float) -> tuple[list[Frame], dict[str, dict[str, Any]]]:
    frames: list[Frame] = []
    original = CollectorService.handle

    def handle(self: CollectorService, feed: Any, raw: str | bytes, recv_ts: int) -> str | None:
        frames.append((self.venue.exchange, feed_key(self.venue, feed), raw, recv_ts))
        return original(self, feed, raw, recv_ts)

    CollectorService.handle = handle  # type: ignore[method-assign]
    appenders = SharedAppenders()
    supervisors = [supervisor_for(v, appenders)[0] for v in VENUES]
    services: list[CollectorService] = []
    for s in supervisors:
        build = s.factory
        s.factory = lambda build=build: services.append(build()) or services[-1]  # type: ignore[misc]
    stop = asyncio.Event()
    runner = asyncio.create_task(serve(CollectorGroup(supervisors, appenders), stop=stop))
    await asyncio.sleep(seconds)
    stop.set()
    await runner
    specs = {svc.venue.exchange: {c.name: dict(c._specs) for c in svc.caches} for svc in services}
    return frames, specs


def capture(path: Path, seconds: float, rate: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        redis = EmbeddedRedis(Path(tmp) / "redis")
        redis.start()
        sim_port = free_port()
        ports = {**free_ports(), "okx": sim_port}
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIQMON_")}
        env.update(
            REDIS_URL=redis.url, LIQMON_LOG_LEVEL="WARNING", LIQMON_SIM_SCENARIO="crash",
            LIQMON_SIM_RATE_MULTIPLIER=str(rate / crash_liquidations_per_s()),
            LIQMON_SIM_BINANCE_MAX_MSGS_PER_S="0", **demo_environment("127.0.0.1", ports),
        )  # fmt: skip
        os.environ.clear()
        os.environ.update(env)
        sim = subprocess.Popen([sys.executable, "-m", "liqmon", "run", "exchange-sim"], env=env)
        try:
            deadline = time.monotonic() + 40
            while time.monotonic() < deadline:
                try:
                    stats = httpx.get(f"http://127.0.0.1:{sim_port}/_sim/stats").json()
                    if all(v["ready"].get(k) for k, v in stats["venues"].items()):
                        break
                except (httpx.TransportError, ValueError):
                    pass
                time.sleep(0.2)
            frames, specs = asyncio.run(record(seconds))
        finally:
            sim.terminate()
            sim.wait(15)
            redis.stop()
    path.write_bytes(pickle.dumps({"frames": frames, "specs": specs}))
    print(f"captured {len(frames)} frames to {path}")


def fresh_venues(specs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    venues = {}
    for info in VENUES:
        main = info.load_main()
        venue = main.VENUE(load_settings(main.SETTINGS))
        for cache in venue.caches():
            cache.load(specs.get(info.exchange, {}).get(cache.name, {}))
        venues[info.exchange] = venue
    return venues


def texts_of(event: Any) -> list[str]:
    """An event's stream texts as the appender takes them (`texts()`; the values of
    `to_fields()` in a commit older than it, so old and new commits replay alike)."""
    texts = getattr(event, "texts", None)
    return texts() if texts is not None else list(event.to_fields().values())


def one_pass(frames: list[Frame], specs: dict[str, dict[str, Any]], dump: Any = None) -> Any:
    """Every frame through a fresh venue's parser; (CPU seconds, events) by venue. Venues are
    independent, so each venue's frames run in their own timed loop (in capture order)."""
    venues = fresh_venues(specs)
    by_venue: dict[str, list[Frame]] = defaultdict(list)
    for frame in frames:
        by_venue[frame[0]].append(frame)
    cpu: dict[str, float] = {}
    events: dict[str, int] = {}
    for exchange, venue_frames in by_venue.items():
        feeds = feeds_of(venues[exchange])
        outcomes = []
        n = 0
        started = time.process_time()
        for _, key, raw, recv_ts in venue_frames:
            parser, decode = feeds[key]
            text = raw if isinstance(raw, str) else (decode or bytes.decode)(raw)
            result = parser.parse_frame(text, recv_ts)
            rows = [texts_of(e) for e in result.events]
            n += len(rows)
            if dump is not None:
                outcomes.append((rows, result))
        cpu[exchange] = time.process_time() - started
        events[exchange] = n
        for rows, result in outcomes:
            dump.write(orjson.dumps({
                "rows": rows, "bad": [[b.reason, b.raw, b.context] for b in result.bad],
                "held": [[h.instrument, h.raw, h.context] for h in result.held],
                "control": result.control, "error": result.error,
                "reconnect": result.reconnect, "reply": result.reply,
            }) + b"\n")  # fmt: skip
    return cpu, events


class _PackingScript:
    """The append script's stand-in: packs each call as redis-py would (EVALSHA, keys,
    arguments) into a digest, and answers "every row appended"."""

    def __init__(self) -> None:
        self._pack = Connection().pack_command
        self.digest = hashlib.sha256()

    async def __call__(self, keys: list[Any], args: list[Any]) -> tuple[int, bytes]:
        for chunk in self._pack("EVALSHA", "0" * 40, len(keys), *keys, *args):
            self.digest.update(chunk)
        rows = len(args) - 5  # one dedup field per row after the five fixed arguments
        return rows, b"A" * rows


def all_events(frames: list[Frame], specs: dict[str, dict[str, Any]]) -> list[Any]:
    """Every event of the capture, in capture order (fresh venues)."""
    venues = fresh_venues(specs)
    feeds = {ex: feeds_of(v) for ex, v in venues.items()}
    events = []
    for exchange, key, raw, recv_ts in frames:
        parser, decode = feeds[exchange][key]
        text = raw if isinstance(raw, str) else (decode or bytes.decode)(raw)
        events += parser.parse_frame(text, recv_ts).events
    return events


def append_pass(events: list[Any], rows: int) -> Any:
    """The events through a fresh `StreamAppender` in calls of `rows` events: (CPU seconds
    in the appender, events, sha256 of what the calls would send)."""
    appender = StreamAppender(Redis(), Keys(), retention_ms=3_600_000)
    script = appender._script = _PackingScript()  # type: ignore[assignment]

    async def run() -> float:
        started = time.process_time()
        for i in range(0, len(events), rows):
            await appender.append(events[i : i + rows])
        return time.process_time() - started

    return asyncio.run(run()), len(events), script.digest.hexdigest()


def replay(path: Path, runs: int, dump: Path | None, rows: int = 200) -> None:
    doc = pickle.loads(path.read_bytes())
    frames, specs = doc["frames"], doc["specs"]
    if dump is not None:
        with dump.open("wb") as out:
            one_pass(frames, specs, out)
    per_venue: dict[str, list[float]] = defaultdict(list)
    totals = []
    counts: dict[str, int] = {}
    for _ in range(runs):
        cpu, counts = one_pass(frames, specs)
        totals.append(sum(cpu.values()) / max(1, sum(counts.values())) * 1e6)
        for ex in cpu:
            per_venue[ex].append(cpu[ex] / max(1, counts[ex]) * 1e6)
    n = sum(counts.values())
    print(f"{len(frames)} frames, {n} events: {statistics.median(totals):.2f} µs CPU/event "
          f"(median of {runs}; runs {', '.join(f'{t:.2f}' for t in totals)})")  # fmt: skip
    for ex, values in sorted(per_venue.items()):
        print(f"  {ex:9s} {counts[ex]:7d} events  {statistics.median(values):6.2f} µs/event")
    events = all_events(frames, specs)
    appends = [append_pass(events, rows) for _ in range(runs)]
    cpu = statistics.median(a[0] / max(1, a[1]) * 1e6 for a in appends)
    print(f"appender, calls of {rows}: {cpu:.2f} µs CPU/event (median of {runs}); "
          f"sha256 of the calls {appends[0][2]}")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="no command: capture 8 s, replay")
    sub = parser.add_subparsers(dest="cmd")
    cap = sub.add_parser("capture")
    cap.add_argument("frames", type=Path)
    cap.add_argument("--seconds", type=float, default=15.0)
    cap.add_argument("--rate", type=float, default=3000.0)
    rep = sub.add_parser("replay")
    rep.add_argument("frames", type=Path)
    rep.add_argument("--runs", type=int, default=5)
    rep.add_argument("--dump", type=Path)
    rep.add_argument("--rows", type=int, default=200, help="events per append call")
    args = parser.parse_args()
    if args.cmd == "capture":
        capture(args.frames, args.seconds, args.rate)
    elif args.cmd == "replay":
        replay(args.frames, args.runs, args.dump, args.rows)
    else:  # both, on a fresh capture (`python -m bench --all` runs it so)
        with tempfile.TemporaryDirectory() as tmp:
            frames = Path(tmp) / "frames.pkl"
            capture(frames, 8.0 if args.quick else 15.0, 3000.0)
            replay(frames, 3, None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
