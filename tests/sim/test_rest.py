"""REST shapes (Binance exchangeInfo, OKX instruments), listings and injected REST errors."""

from __future__ import annotations

import json

from tests.sim.conftest import fixture, http_get, key_types, okx_subscribed, until_async


async def test_usdm_exchange_info_has_the_real_symbol_shape(make_sim):
    sim = await make_sim()
    body = (
        await http_get(f"{sim.urls['LIQMON_BINANCE_USDM_REST_URL']}/fapi/v1/exchangeInfo")
    ).json()
    real = fixture("binance/binance_usdm_exchangeinfo_symbols_excerpt.json")[0]
    symbols = {s["symbol"]: s for s in body["symbols"]}
    assert len(symbols) > 100
    for symbol in symbols.values():
        assert [k for k, _ in key_types(symbol)] == list(real)
        # same JSON type per field as the real response (filters compared by their own keys)
        assert {k: t for k, t in key_types(symbol) if k != "filters"} == {
            k: t for k, t in key_types(real) if k != "filters"
        }
    pepe = symbols["1000PEPEUSDT"]
    assert (pepe["baseAsset"], pepe["quoteAsset"], pepe["status"]) == (
        "1000PEPE",
        "USDT",
        "TRADING",
    )
    assert symbols["BTCUSDC"]["quoteAsset"] == symbols["BTCUSDC"]["marginAsset"] == "USDC"
    assert symbols["BTCUSDT_261225"]["contractType"] == "CURRENT_QUARTER"
    assert "1MBABYDOGEUSDT" in symbols


async def test_coinm_exchange_info_contract_sizes(make_sim):
    sim = await make_sim()
    body = (
        await http_get(f"{sim.urls['LIQMON_BINANCE_COINM_REST_URL']}/dapi/v1/exchangeInfo")
    ).json()
    real = fixture("binance/binance_coinm_exchangeinfo_symbols_excerpt.json")[0]
    sizes = {s["symbol"]: s["contractSize"] for s in body["symbols"]}
    for symbol in body["symbols"]:
        assert [k for k, _ in key_types(symbol)] == list(real)
        assert isinstance(symbol["contractSize"], int)
    assert sizes["BTCUSD_PERP"] == sizes["BTCUSD_261225"] == 100
    assert sizes["ETHUSD_PERP"] == sizes["SOLUSD_PERP"] == 10
    assert all(v == 10 for k, v in sizes.items() if not k.startswith("BTCUSD_"))
    assert (
        await http_get(f"{sim.urls['LIQMON_BINANCE_COINM_REST_URL']}/fapi/v1/exchangeInfo")
    ).status_code == 404


async def test_okx_instruments_shape_and_contract_values(make_sim):
    sim = await make_sim()
    url = f"{sim.urls['LIQMON_OKX_REST_URL']}/api/v5/public/instruments"
    swap = (await http_get(url, instType="SWAP")).json()
    futures = (await http_get(url, instType="FUTURES")).json()
    real = fixture("okx/okx_instruments_swap_excerpt_2022.json")
    assert (swap["code"], swap["msg"]) == ("0", "")
    real_keys = sorted([*real["data"][0], "instFamily"])
    for inst in swap["data"] + futures["data"]:
        assert list(inst) == real_keys  # alphabetical, as OKX sends them
        assert all(isinstance(v, str) for v in inst.values())
    by_id = {i["instId"]: i for i in swap["data"] + futures["data"]}
    btc_usdt, btc_usd = by_id["BTC-USDT-SWAP"], by_id["BTC-USD-SWAP"]
    assert (btc_usdt["ctType"], btc_usdt["ctVal"], btc_usdt["ctValCcy"]) == (
        "linear",
        "0.01",
        "BTC",
    )
    assert (btc_usd["ctType"], btc_usd["ctVal"], btc_usd["ctValCcy"]) == ("inverse", "100", "USD")
    assert btc_usd["settleCcy"] == "BTC" and btc_usdt["settleCcy"] == "USDT"
    dated = by_id["BTC-USD-261225"]
    assert dated["instType"] == "FUTURES" and dated["expTime"] and dated["ctType"] == "inverse"
    assert by_id["PEPE-USDT-SWAP"]["ctVal"] == "10000000"  # plain digits, no exponent
    assert {i["instType"] for i in futures["data"]} == {"FUTURES"}
    one = (await http_get(url, instType="SWAP", instId="ETH-USDT-SWAP")).json()["data"]
    assert [i["instId"] for i in one] == ["ETH-USDT-SWAP"]
    missing = await http_get(url)
    assert missing.status_code == 400 and missing.json()["code"] == "50014"


async def test_listing_mid_run_shows_in_rest_after_the_delay(make_sim):
    sim = await make_sim(sim_okx_batch_ms=0)
    url = f"{sim.urls['LIQMON_OKX_REST_URL']}/api/v5/public/instruments"

    async def listed() -> bool:
        data = (await http_get(url, instType="SWAP", instId="NEWCOIN-USDT-SWAP")).json()["data"]
        return bool(data)

    async with await okx_subscribed(sim.urls["LIQMON_OKX_WS_URL"]) as ws:
        result = await sim.control(
            "list", instrument="NEWCOIN-USDT-SWAP", price=0.5, ct_val="10", rest_delay=0.5, emit=1
        )
        assert result["ct_val"] == "10" and result["ct_type"] == "linear"
        push = json.loads(await ws.recv())
        assert push["data"][0]["instId"] == "NEWCOIN-USDT-SWAP"
        assert not await listed()  # the event is out before the REST listing catches up
        await until_async(listed, timeout=5)
    entry = sim.ledger.entries[-1]
    assert (entry.instrument, entry.coin) == ("NEWCOIN-USDT-SWAP", "NEWCOIN")


async def test_injected_rest_errors(make_sim):
    sim = await make_sim()
    url = f"{sim.urls['LIQMON_BINANCE_USDM_REST_URL']}/fapi/v1/exchangeInfo"
    await sim.control("rest_errors", venue="binance-usdm", n=2, status=503)
    assert [(await http_get(url)).status_code for _ in range(3)] == [503, 503, 200]
    assert (await http_get(url.replace("exchangeInfo", "time"))).json()["serverTime"] > 0
