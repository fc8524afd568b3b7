"""REST bodies: Binance `exchangeInfo` (USDⓈ-M and COIN-M), OKX `instruments` and Bybit
`instruments-info` (paginated with `nextPageCursor`).

Key order and value types copy the real responses in tests/fixtures/exchanges
(`binance_*_exchangeinfo_symbols_excerpt.json`, `okx_instruments_swap_excerpt_2022.json`,
plus `instFamily`, which OKX added after 2022). OKX answers every value as a string;
Binance mixes strings and numbers exactly as its excerpt does.
"""

from __future__ import annotations

from typing import Any

from liqmon_sim.catalog import EXPIRY_MS, Catalog, Instrument
from liqmon_sim.frames import plain

PERPETUAL_DELIVERY_MS = 4_133_404_800_000
_ORDER_TYPES = [
    "LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET",
    "TRAILING_STOP_MARKET",
]  # fmt: skip
_TIME_IN_FORCE = ["GTC", "IOC", "FOK", "GTX"]


def _filters(inst: Instrument, usdm: bool) -> list[dict[str, Any]]:
    tick, lot = plain(inst.tick), plain(inst.lot)
    filters: list[dict[str, Any]] = [
        {"minPrice": tick, "maxPrice": "1000000", "filterType": "PRICE_FILTER", "tickSize": tick},
        {"stepSize": lot, "filterType": "LOT_SIZE", "maxQty": "1000000", "minQty": lot},
        {"stepSize": lot, "filterType": "MARKET_LOT_SIZE", "maxQty": "100000", "minQty": lot},
        {"limit": 200, "filterType": "MAX_NUM_ORDERS"},
        {"limit": 10 if usdm else 100, "filterType": "MAX_NUM_ALGO_ORDERS"},
    ]
    if usdm:
        filters.append({"notional": "5", "filterType": "MIN_NOTIONAL"})
    filters.append(
        {
            "multiplierDown": "0.8500",
            "multiplierUp": "1.1500",
            "multiplierDecimal": "4",
            "filterType": "PERCENT_PRICE",
        }
    )
    return filters


def _binance_contract(inst: Instrument) -> dict[str, Any]:
    """The keys both Binance products' symbols start with, in the real responses' order."""
    return {
        "symbol": inst.inst_id,
        "pair": inst.pair,
        "contractType": "CURRENT_QUARTER" if inst.delivery else "PERPETUAL",
        "deliveryDate": EXPIRY_MS if inst.delivery else PERPETUAL_DELIVERY_MS,
        "onboardDate": inst.listed_ms,
    }


def binance_usdm_symbol(inst: Instrument) -> dict[str, Any]:
    return {
        **_binance_contract(inst),
        "status": "TRADING",
        "maintMarginPercent": "2.5000",
        "requiredMarginPercent": "5.0000",
        "baseAsset": inst.base_asset,
        "quoteAsset": inst.quote,
        "marginAsset": inst.quote,
        "pricePrecision": inst.price_decimals,
        "quantityPrecision": inst.lot_decimals,
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "underlyingSubType": [],
        "settlePlan": 0,
        "triggerProtect": "0.0500",
        "liquidationFee": "0.012500",
        "marketTakeBound": "0.30",
        "filters": _filters(inst, usdm=True),
        "orderTypes": _ORDER_TYPES,
        "timeInForce": _TIME_IN_FORCE,
    }


def binance_coinm_symbol(inst: Instrument) -> dict[str, Any]:
    return {
        **_binance_contract(inst),
        "contractStatus": "TRADING",
        "contractSize": int(inst.contract_size),
        "marginAsset": inst.coin,
        "maintMarginPercent": "2.5000",
        "requiredMarginPercent": "5.0000",
        "baseAsset": inst.coin,
        "quoteAsset": "USD",
        "pricePrecision": inst.price_decimals,
        "quantityPrecision": 0,
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "equalQtyPrecision": 4,
        "maxMoveOrderLimit": 10000,
        "triggerProtect": "0.0500",
        "underlyingType": "COIN",
        "underlyingSubType": [],
        "filters": _filters(inst, usdm=False),
        "orderTypes": _ORDER_TYPES,
        "timeInForce": _TIME_IN_FORCE,
        "liquidationFee": "0.010000",
        "marketTakeBound": "0.30",
    }


def binance_exchange_info(catalog: Catalog, venue: str, now_ms: int) -> dict[str, Any]:
    usdm = venue == "binance-usdm"
    make = binance_usdm_symbol if usdm else binance_coinm_symbol
    symbols = [
        make(i) for i in catalog.rest_visible("binance-usdm" if usdm else "binance-coinm", now_ms)
    ]
    body: dict[str, Any] = {
        "timezone": "UTC",
        "serverTime": now_ms,
        "rateLimits": [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": 2400,
            },
        ],
        "exchangeFilters": [],
    }
    if usdm:
        body["futuresType"] = "U_MARGINED"
    body["symbols"] = symbols
    return body


def okx_instrument(inst: Instrument) -> dict[str, str]:
    """Alphabetical keys, as OKX sends them; every value a string."""
    return {
        "alias": "quarter" if inst.delivery else "",
        "baseCcy": "",
        "category": "1",
        "ctMult": plain(inst.ct_mult),
        "ctType": inst.ct_type,
        "ctVal": plain(inst.contract_size),
        "ctValCcy": inst.coin if inst.ct_type == "linear" else "USD",
        "expTime": str(EXPIRY_MS) if inst.delivery else "",
        "instFamily": inst.pair,
        "instId": inst.inst_id,
        "instType": inst.inst_type,
        "lever": "100",
        "listTime": str(inst.listed_ms),
        "lotSz": plain(inst.lot),
        "maxIcebergSz": "100000000",
        "maxLmtSz": "100000000",
        "maxMktSz": "10000",
        "maxStopSz": "10000",
        "maxTriggerSz": "100000000",
        "maxTwapSz": "100000000",
        "minSz": plain(inst.lot),
        "optType": "",
        "quoteCcy": "",
        "settleCcy": inst.quote if inst.ct_type == "linear" else inst.coin,
        "state": "live",
        "stk": "",
        "tickSz": plain(inst.tick),
        "uly": inst.pair,
    }


def okx_instruments(
    catalog: Catalog, inst_type: str, now_ms: int, inst_id: str | None, family: str | None
) -> dict[str, Any]:
    data = [
        okx_instrument(i)
        for i in catalog.rest_visible("okx", now_ms)
        if i.inst_type == inst_type
        and (inst_id is None or i.inst_id == inst_id)
        and (family is None or i.pair == family)
    ]
    return {"code": "0", "msg": "", "data": data}


# --- Bybit ---------------------------------------------------------------------------

_BYBIT_CONTRACT = {
    ("linear", False): "LinearPerpetual", ("linear", True): "LinearFutures",
    ("inverse", False): "InversePerpetual", ("inverse", True): "InverseFutures",
}  # fmt: skip


def bybit_instrument(inst: Instrument) -> dict[str, Any]:
    """Key order and types as in Bybit's instruments-info doc example (strings, bools)."""
    return {
        "symbol": inst.inst_id,
        "contractType": _BYBIT_CONTRACT[(inst.ct_type, inst.delivery)],
        "status": "Trading",
        "baseCoin": inst.base_asset,
        "quoteCoin": inst.quote,
        "launchTime": str(inst.listed_ms),
        "deliveryTime": str(EXPIRY_MS) if inst.delivery else "0",
        "deliveryFeeRate": "",
        "priceScale": str(inst.price_decimals),
        "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"},
        "priceFilter": {
            "minPrice": plain(inst.tick),
            "maxPrice": "1999999.8",
            "tickSize": plain(inst.tick),
        },
        "lotSizeFilter": {
            "maxOrderQty": "1190.000",
            "minOrderQty": plain(inst.lot),
            "qtyStep": plain(inst.lot),
            "postOnlyMaxOrderQty": "1190.000",
            "maxMktOrderQty": "500.000",
            "minNotionalValue": "5",
        },
        "unifiedMarginTrade": True,
        "fundingInterval": 480,
        "settleCoin": inst.quote if inst.ct_type == "linear" else inst.coin,
        "copyTrading": "both",
        "upperFundingRate": "0.005",
        "lowerFundingRate": "-0.005",
        "isPreListing": False,
        "preListingInfo": None,
    }


def bybit_instruments_info(
    catalog: Catalog, venue: str, category: str, limit: int, cursor: str, now_ms: int
) -> dict[str, Any] | None:
    """One page; `nextPageCursor` is an opaque token (here the next offset), "" on the last
    page. None for a cursor this server did not hand out."""
    listed = sorted(catalog.rest_visible(venue, now_ms), key=lambda i: i.inst_id)
    start = 0
    if cursor:
        if not (cursor.startswith("next%3D") and cursor[7:].isdigit()):
            return None
        start = int(cursor[7:])
    page = listed[start : start + limit]
    after = start + limit
    return {
        "retCode": 0,
        "retMsg": "OK",
        "result": {
            "category": category,
            "list": [bybit_instrument(i) for i in page],
            "nextPageCursor": f"next%3D{after}" if after < len(listed) else "",
        },
        "retExtInfo": {},
        "time": now_ms,
    }
