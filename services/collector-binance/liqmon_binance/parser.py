"""Binance `forceOrder` frames -> `LiquidationEvent`s (USDⓈ-M and COIN-M).

A real frame (USDⓈ-M `/market`, combined mode, 2026-10-09):

    {"stream":"!forceOrder@arr","data":{"e":"forceOrder","E":1791565603055,"o":{"s":"BTCUSDT",
     "S":"SELL","o":"LIMIT","f":"IOC","q":"0.190","p":"82338.30","ap":"82651.90","X":"FILLED",
     "l":"0.155","z":"0.190","T":1791565602120,"ps":"BTCUSDT","st":1}}}

Rules (docs/venues/binance.md): side from the order side `o.S` (`SELL` closes a long, so
`long`); quantity is the accumulated fill `o.z` (never `q` or `l`); price is the average fill
`o.ap`; time is `o.T`. Raw, combined (`{"stream","data"}`) and array frames are accepted and
unknown keys (`ps`, `st`) ignored.
- USDⓈ-M: `qty` is base units; `usd = z × ap`. The coin is the symbol's `baseAsset` from
  exchangeInfo. A symbol exchangeInfo does not list is held like a COIN-M one (a refresh
  is requested; still unknown after the hold time => dead letter), so a bogus instrument
  never counts (events that arrive before the first exchangeInfo answer wait for it); only
  while exchangeInfo could not be loaded at all does the collector fall back to the symbol
  minus its USD quote suffix (and `_YYMMDD`). Then the multiplier
  prefix is split off (`1000PEPEUSDT` -> `PEPE`, qty × 1000). Pairs quoted in something other
  than a USD stablecoin cannot be valued in USD and are dead-lettered.
- COIN-M: `z` is contracts of `contractSize` USD each (exchangeInfo, per symbol):
  `usd = z × contractSize`, `qty = usd / ap` rounded half-even to 8 decimals. Without the
  spec the liquidation is held (see `liqmon.collector.frames.Held`), never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any, Final

from liqmon.collector.frames import (
    BadPart,
    FlatRecord,
    FrameResult,
    MalformedFrame,
    SpecMissing,
    SpecSource,
    attempt,
    dump_part,
    load_json,
    require,
)
from liqmon.collector.symbols import USD_QUOTES, strip_usd_quote
from liqmon.collector.valuation import EventBuilder, mul
from liqmon.event import LiquidationEvent, parse_decimal

USDM: Final = "binance-usdm"
COINM: Final = "binance-coinm"
_SIDES: Final = {"BUY": "short", "SELL": "long"}  # order side: SELL closes a long
#: `o.z` is the accumulated fill (never `q` or `l`), `o.ap` the average fill price.
_ORDER: Final = FlatRecord("s", "S", _SIDES, "z", "ap", "T", label="o.")


@dataclass(frozen=True, slots=True)
class BinanceSpec:
    """What exchangeInfo tells us about one symbol."""

    base: str
    quote: str
    contract_size: Decimal | None = None


class ForceOrderParser:
    """Parser for one Binance product's `!forceOrder@arr` feed."""

    def __init__(self, product: str, specs: SpecSource[BinanceSpec]) -> None:
        if product not in (USDM, COINM):
            raise ValueError(f"unknown Binance product {product!r}")
        self.product = product
        self.margin = "linear" if product == USDM else "inverse"
        self._specs = specs
        self._events = EventBuilder("binance", "avg_fill", product, self.margin)

    def parse_frame(self, raw: str, recv_ts: int) -> FrameResult:
        result = FrameResult()
        try:
            msg = load_json(raw)
        except MalformedFrame as exc:
            result.bad.append(BadPart(str(exc), raw, self.product))
            return result
        if isinstance(msg, dict) and "stream" in msg and "data" in msg:
            msg = msg["data"]
        items = msg if isinstance(msg, list) else [msg]
        if not items:
            result.control = "empty"
        single = len(items) == 1
        for index, item in enumerate(items):
            if isinstance(item, dict) and item.get("e") != "forceOrder":
                if "result" in item and "id" in item:
                    result.control = "ack"
                    continue
                if "code" in item and "msg" in item:
                    result.error = f"binance error {item.get('code')!r}: {item.get('msg')!r:.200}"
                    continue
            context = self.product if single else f"{self.product} item[{index}]"
            raw_part = (lambda: raw) if single else partial(dump_part, item)
            attempt(result, raw_part, context, partial(self._event, item, recv_ts), recv_ts)
        return result

    def _event(self, item: object, recv_ts: int) -> LiquidationEvent:
        event = require(item, "event")
        if event.get("e") != "forceOrder":
            raise MalformedFrame(f"not a forceOrder event: e={event.get('e')!r:.40}")
        order = require(event.get("o"), "o")
        instrument, side, filled, price, ts = _ORDER.read(order)
        spec: BinanceSpec | None = self._specs.get(instrument)
        if self.product == USDM:
            if spec is None and (len(self._specs) or not getattr(self._specs, "attempted", True)):
                # exchangeInfo is loaded and does not list it, or its first load is pending
                raise SpecMissing(instrument)
            amount, base = filled, self._linear_base(instrument, spec)
        else:
            if spec is None or spec.contract_size is None:
                raise SpecMissing(instrument)
            amount, base = mul(filled, spec.contract_size), spec.base
        return self._events.event(instrument, base, side, price, amount, ts, recv_ts, filled)

    @staticmethod
    def _linear_base(instrument: str, spec: BinanceSpec | None) -> str:
        """USDⓈ-M: the base asset from exchangeInfo, or by the symbol's USD quote suffix."""
        if spec is not None:
            if spec.quote.upper() not in USD_QUOTES:
                raise MalformedFrame(f"{instrument}: quote {spec.quote!r} is not a USD quote")
            base: str | None = spec.base
        else:
            base = strip_usd_quote(instrument)
        if not base:
            raise MalformedFrame(f"{instrument!r:.80}: cannot tell its base asset")
        return base


def parse_exchange_info(doc: Any, product: str) -> dict[str, BinanceSpec]:
    """`GET /fapi/v1/exchangeInfo` or `/dapi/v1/exchangeInfo` -> specs by symbol.

    Entries that do not make sense (no symbol, no base, COIN-M without a positive
    `contractSize`) are skipped: their liquidations stay held or fall back to suffix rules.
    """
    symbols = doc.get("symbols") if isinstance(doc, dict) else doc
    if not isinstance(symbols, list):
        raise ValueError("exchangeInfo: no symbols list")
    specs: dict[str, BinanceSpec] = {}
    for entry in symbols:
        if not isinstance(entry, dict):
            continue
        symbol, base, quote = entry.get("symbol"), entry.get("baseAsset"), entry.get("quoteAsset")
        if not (isinstance(symbol, str) and isinstance(base, str) and base):
            continue
        size: Decimal | None = None
        if product == COINM:
            raw_size = entry.get("contractSize")
            if isinstance(raw_size, bool) or not isinstance(raw_size, int | str):
                continue
            try:
                size = parse_decimal(str(raw_size), "contractSize")
            except ValueError:
                continue
        specs[symbol] = BinanceSpec(base, quote if isinstance(quote, str) else "", size)
    return specs
