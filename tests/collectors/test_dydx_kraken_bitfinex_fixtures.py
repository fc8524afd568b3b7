"""Every recorded dYdX, Kraken Futures and Bitfinex fixture parses to exactly the events
expected.json lists (or none); the side rules, units, ids and hostile input beyond them."""

from __future__ import annotations

from decimal import Decimal

import jsonschema_rs
import orjson
import pytest

from liqmon.collector.exactjson import load_exact
from liqmon.collector.frames import FrameParser, parse
from liqmon.event import LiquidationEvent
from liqmon_bitfinex.parser import StatusParser, perpetual_coin
from liqmon_dydx.parser import TradesParser, iso_ms, parse_markets
from liqmon_kraken.parser import KrakenInstrument, TradeParser, parse_instruments, product_of
from tests.collectors.fixtures import as_expected, expected, fixture_text
from tests.conftest import FIXTURES
from tests.test_docs import events_schema

RECV = 1_800_000_000_000
VENUES = ("dydx", "kraken", "bitfinex")


def kraken_specs() -> dict[str, KrakenInstrument]:
    doc = load_exact(fixture_text("kraken/kraken_futures_instruments_excerpt_2021.json"))
    return parse_instruments(doc)


def parser_for(rel: str) -> FrameParser:
    venue = rel.split("/")[0]
    if venue == "dydx":
        return TradesParser()
    if venue == "kraken":
        return TradeParser(kraken_specs())
    return StatusParser()


def listed(venue: str) -> list[str]:
    return sorted(name for name in expected() if name.startswith(f"{venue}/"))


def test_expectations_name_existing_fixtures() -> None:
    for venue in VENUES:
        names = listed(venue)
        assert names and all((FIXTURES / n).is_file() for n in names)


@pytest.mark.parametrize("rel", [n for v in VENUES for n in listed(v)])
def test_fixture_becomes_exactly_the_expected_events(rel: str) -> None:
    events = parse(parser_for(rel), fixture_text(rel), RECV)
    assert [as_expected(e) for e in events] == expected()[rel]
    assert all(not e.sampled and e.recv_ts == RECV for e in events)
    again = parse(parser_for(rel), fixture_text(rel), RECV + 9)
    assert [e.id for e in again] == [e.id for e in events]  # deterministic ids


NON_EVENT_FRAMES = [
    "dydx/dydx_connected_doc_example.json",
    "kraken/kraken_futures_info_2021.json",
    "kraken/kraken_futures_subscribed_2021.json",
    "kraken/kraken_futures_subscribed_doc_example.json",  # the doc's "subscribed " typo
    "kraken/kraken_futures_heartbeat_doc_example.json",
    "bitfinex/bitfinex_info_2021.json",
    "bitfinex/bitfinex_conf_ack_2021.json",
    "bitfinex/bitfinex_subscribed_1.json",
    "bitfinex/bitfinex_subscribed_doc_example.json",
    "bitfinex/bitfinex_hb_1.json",
    "bitfinex/bitfinex_hb_seq_2021.json",
]


@pytest.mark.parametrize("rel", NON_EVENT_FRAMES)
def test_control_frames_are_recognised(rel: str) -> None:
    result = parser_for(rel).parse_frame(fixture_text(rel), RECV)
    assert result.control and not (result.events or result.bad or result.error)


def test_venue_errors_are_reported() -> None:
    kraken = parser_for("kraken/").parse_frame(
        fixture_text("kraken/kraken_futures_error_doc_example.json"), RECV
    )
    assert kraken.error and "Invalid product id" in kraken.error
    dydx = TradesParser().parse_frame(
        '{"type":"error","message":"Invalid subscribe request","connection_id":"c","id":"X"}',
        RECV,
    )
    assert dydx.error and "Invalid subscribe" in dydx.error
    restart = StatusParser().parse_frame('{"event":"info","code":20051,"msg":"restart"}', RECV)
    assert restart.reconnect and restart.error


# --- dYdX ------------------------------------------------------------------------------


def dydx_frame(*trades: dict[str, object], kind: str = "channel_data") -> str:
    return orjson.dumps(
        {"type": kind, "id": "ETH-USD", "channel": "v4_trades", "contents": {"trades": trades}}
    ).decode()


def dydx_trade(n: int, **over: object) -> dict[str, object]:
    return {
        "id": f"t{n}", "size": "2", "price": "3000", "side": "SELL",
        "createdAt": "2026-10-09T12:00:00.5Z", "type": "LIQUIDATED", **over,
    }  # fmt: skip


def test_dydx_side_type_and_ids() -> None:
    frame = dydx_frame(
        dydx_trade(1), dydx_trade(2, side="BUY"), dydx_trade(3, type="DELEVERAGED"),
        dydx_trade(4, type="LIMIT"), dydx_trade(5),  # same values as 1, another fill
    )  # fmt: skip
    events = parse(TradesParser(), frame, RECV)
    assert [(e.side, e.symbol, e.usd_cents, e.price_kind) for e in events] == [
        ("long", "ETH", 600_000, "fill"), ("short", "ETH", 600_000, "fill"),
        ("long", "ETH", 600_000, "fill"),
    ]  # fmt: skip
    assert events[0].ts == iso_ms("2026-10-09T12:00:00.500Z") == 1_791_547_200_500
    assert len({e.id for e in events}) == 3  # ids come from the venue's trade id


def test_dydx_history_and_batches_count_like_live_trades() -> None:
    history = dydx_frame(dydx_trade(1), dydx_trade(2, type="LIMIT"), kind="subscribed")
    batch = orjson.dumps(
        {"type": "channel_batch_data", "id": "ETH-USD", "channel": "v4_trades",
         "contents": [{"trades": [dydx_trade(1)]}, {"trades": [dydx_trade(3)]}]}
    ).decode()  # fmt: skip
    (old,) = parse(TradesParser(), history, RECV)
    again, new = parse(TradesParser(), batch, RECV)
    assert old.id == again.id != new.id  # the writer keeps one of a replayed trade


def test_dydx_dust_counts_at_zero_dollars() -> None:
    (dust,) = parse(TradesParser(), dydx_frame(dydx_trade(1, size="0.000000001")), RECV)
    assert dust.usd_cents == 0 and dust.qty == Decimal("1E-9")
    assert LiquidationEvent.from_fields(dust.to_fields()) == dust  # the stream accepts $0.00


def test_dydx_bad_trade_does_not_lose_the_good_ones() -> None:
    frame = dydx_frame(
        dydx_trade(1), dydx_trade(2, side="LONG"), dydx_trade(3, size=2),
        dydx_trade(4, createdAt="2026-10-09 12:00"), dydx_trade(5, id=""), dydx_trade(6),
    )  # fmt: skip
    result = TradesParser().parse_frame(frame, RECV)
    assert [e.id for e in result.events] == [
        e.id for e in parse(TradesParser(), dydx_frame(dydx_trade(1), dydx_trade(6)), RECV)
    ]
    assert len(result.bad) == 4
    assert orjson.loads(result.bad[0].raw)["trade"]["side"] == "LONG"


def test_dydx_markets_listing() -> None:
    doc = {"markets": {"BTC-USD": {"ticker": "BTC-USD", "status": "ACTIVE"}, "X": 3}}
    assert parse_markets(doc) == {"BTC-USD": "ACTIVE"}
    with pytest.raises(ValueError):
        parse_markets({"error": "x"})


# --- Kraken ----------------------------------------------------------------------------


def kraken_trade(n: int, product: str = "PF_ETHUSD", **over: object) -> dict[str, object]:
    return {
        "feed": "trade", "product_id": product, "uid": f"u{n}", "side": "sell",
        "type": "liquidation", "seq": n, "time": 1_791_547_200_000 + n, "qty": 0.5,
        "price": 3000.1, **over,
    }  # fmt: skip


def test_kraken_linear_is_coins_times_contract_size() -> None:
    specs = {
        "PF_ETHUSD": KrakenInstrument("PF_ETHUSD", "flexible_futures", Decimal(1), True),
        "PF_XBTUSD": KrakenInstrument("PF_XBTUSD", "flexible_futures", Decimal("0.001"), True),
    }
    parser = TradeParser(specs)
    (eth,) = parse(parser, orjson.dumps(kraken_trade(1)).decode(), RECV)
    assert (eth.product, eth.margin, eth.symbol, eth.side) == (
        "kraken-linear", "linear", "ETH", "long",
    )  # fmt: skip
    assert eth.qty == Decimal("0.5") and eth.usd_cents == 150_005
    trade = kraken_trade(2, "PF_XBTUSD", side="buy", qty=3, price=82000.5)
    (btc,) = parse(parser, orjson.dumps(trade).decode(), RECV)
    assert (btc.symbol, btc.side, btc.qty, btc.usd_cents) == (
        "BTC",
        "short",
        Decimal("0.003"),
        24_600,
    )


def test_kraken_snapshot_liquidations_count_once_by_uid() -> None:
    snapshot = orjson.dumps(
        {"feed": "trade_snapshot", "product_id": "PI_ETHUSD",
         "trades": [kraken_trade(1, "PI_ETHUSD", qty=250, price=231.6),
                    kraken_trade(2, "PI_ETHUSD", type="fill")]}
    ).decode()  # fmt: skip
    live = orjson.dumps(kraken_trade(1, "PI_ETHUSD", qty=250, price=231.6)).decode()
    specs = kraken_specs()
    (from_snapshot,) = parse(TradeParser(specs), snapshot, RECV)
    (from_live,) = parse(TradeParser(specs), live, RECV)
    assert from_snapshot == from_live and from_live.usd_cents == 25_000


def test_kraken_unknown_product_is_held_not_guessed() -> None:
    result = TradeParser({}).parse_frame(orjson.dumps(kraken_trade(1)).decode(), RECV)
    assert not result.events and [h.instrument for h in result.held] == ["PF_ETHUSD"]


def test_kraken_numbers_are_exact_and_hostile_values_refused() -> None:
    specs = {"PF_ETHUSD": KrakenInstrument("PF_ETHUSD", "flexible_futures", Decimal(1), True)}
    precise = kraken_trade(1, qty=0.1, price=0.30000000000000004)
    (event,) = parse(TradeParser(specs), orjson.dumps(precise).decode(), RECV)
    assert event.price == Decimal("0.30000000000000004")  # the digits sent, not a float's
    for bad in ({"qty": -1}, {"qty": True}, {"price": None}, {"side": "long"}, {"time": "x"}):
        result = TradeParser(specs).parse_frame(orjson.dumps(kraken_trade(2, **bad)).decode(), RECV)
        assert result.bad and not result.events, bad
    assert (
        TradeParser(specs).parse_frame('{"feed":"trade","type":"liquidation","qty":NaN}', RECV).bad
    )


@pytest.mark.parametrize(
    ("product_id", "expected_product"),
    [("PI_XBTUSD", ("kraken-inverse", "inverse", "BTC")),
     ("FI_XBTUSD_210625", ("kraken-inverse", "inverse", "BTC")),
     ("PF_SOLUSD", ("kraken-linear", "linear", "SOL")),
     ("FF_ETHUSD_260327", ("kraken-linear", "linear", "ETH"))],
)  # fmt: skip
def test_kraken_products(product_id: str, expected_product: tuple[str, str, str]) -> None:
    assert product_of(product_id) == expected_product


def test_kraken_instruments_listing() -> None:
    specs = kraken_specs()
    assert set(specs) == {"PI_XBTUSD", "PI_XRPUSD", "PI_ETHUSD"}
    assert all(s.contract_size == 1 and s.kind == "futures_inverse" for s in specs.values())
    body = '{"result":"success","instruments":[{"symbol":"PF_X","contractSize":0.001},'
    body += '{"symbol":"PF_Y","contractSize":0},{"symbol":"PF_Z"}]}'
    listed = parse_instruments(load_exact(body))  # as the venue fetches it: exact numbers
    assert set(listed) == {"PF_X"} and listed["PF_X"].contract_size == Decimal("0.001")


# --- Bitfinex --------------------------------------------------------------------------


def pos(
    pos_id: int, amount: object, is_match: int = 0, symbol: str = "tETHF0:USTF0"
) -> list[object]:
    return [
        "pos",
        pos_id,
        1791547200000,
        None,
        symbol,
        amount,
        2500.5,
        None,
        is_match,
        1,
        None,
        2400,
    ]


def bitfinex(*records: list[object]) -> str:
    return orjson.dumps([17, list(records)]).decode()


def test_bitfinex_any_positive_amount_is_a_long() -> None:
    events = parse(StatusParser(), bitfinex(pos(1, 0.5), pos(2, -3), pos(3, 12)), RECV)
    assert [(e.side, e.qty) for e in events] == [
        ("long", Decimal("0.5")), ("short", Decimal(3)), ("long", Decimal(12)),
    ]  # fmt: skip
    assert events[0].price_kind == "base_price" and events[0].usd_cents == 125_025


def test_bitfinex_triggers_only_and_out_of_scope_pairs_skipped() -> None:
    frame = bitfinex(
        pos(1, -4.5, is_match=1), pos(1, -8.6), pos(2, 1, symbol="tBSVUSD"),
        pos(3, 1, symbol="tETHF0:BTCF0"), pos(4, 1, symbol="tTESTBTCF0:TESTUSDTF0"),
    )  # fmt: skip
    result = StatusParser().parse_frame(frame, RECV)
    assert [(e.qty, e.side) for e in result.events] == [(Decimal("8.6"), "short")]
    assert not result.bad


def test_bitfinex_resent_trigger_has_the_same_id() -> None:
    (first,) = parse(StatusParser(), bitfinex(pos(9, 2)), RECV)
    resent = pos(9, 2)
    resent[2] = 1791547200000.25  # a re-send whose MTS carries a fraction
    (second,) = parse(StatusParser(), bitfinex(resent), RECV)
    assert first.id == second.id


def test_bitfinex_bad_records_are_dead_lettered_alone() -> None:
    frame = bitfinex(pos(1, 0), pos(2, "x"), pos(0, 1), ["pos", 3], "junk", pos(5, 1))
    result = StatusParser().parse_frame(frame, RECV)
    assert len(result.events) == 1 and len(result.bad) == 5
    assert result.bad[0].raw.startswith("[17,[[") and ",0," in result.bad[0].raw


@pytest.mark.parametrize(
    ("symbol", "coin"),
    [("tBTCF0:USTF0", "BTC"), ("tETHF0:USTF0", "ETH"), ("tALGF0:USTF0", "ALGO"),
     ("tBTCDOMF0:USTF0", "BTCDOM"), ("tBSVUSD", None), ("tDOTF0:BTCF0", None),
     ("tTESTBTCF0:TESTUSDTF0", None)],
)  # fmt: skip
def test_bitfinex_symbols(symbol: str, coin: str | None) -> None:
    assert perpetual_coin(symbol) == coin


@pytest.mark.parametrize(
    "raw",
    ["{garbage", "[]", "[1]", '["x","hb"]', "[1,{}]", '{"event":"auth"}', "[1,[[1,2]]]",
     "x" * 100_000, "[" * 100_000, '{"type":"channel_data","channel":"v4_orderbook","id":"A"}',
     '{"type":"channel_data","channel":"v4_trades","id":"A","contents":{}}',
     '{"feed":"trade_snapshot","trades":{},"x":"liquidation"}', '{"feed":"book"}'],
)  # fmt: skip
def test_hostile_frames_are_bad_not_raised(raw: str) -> None:
    for parser in (TradesParser(), TradeParser(kraken_specs()), StatusParser()):
        result = parser.parse_frame(raw, RECV)
        assert not result.events
    assert any(
        p.parse_frame(raw, RECV).bad for p in (TradesParser(), TradeParser({}), StatusParser())
    )


def test_every_event_fits_the_documented_schema() -> None:
    validator = jsonschema_rs.validator_for(events_schema())
    events = [
        e
        for v in VENUES
        for rel in listed(v)
        for e in parse(parser_for(rel), fixture_text(rel), RECV)
    ]
    assert {e.exchange for e in events} == set(VENUES)
    assert any(e.usd_cents == 0 for e in events)  # the dYdX dust fill
    for event in events:
        fields = event.to_fields()
        assert validator.is_valid(fields), fields
        assert LiquidationEvent.from_fields(fields) == event
