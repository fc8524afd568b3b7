"""The simulated venues: Binance USDⓈ-M / COIN-M and OKX servers."""
