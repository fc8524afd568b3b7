"""Binance collector: !forceOrder@arr on USDⓈ-M (fstream /market) and COIN-M (dstream)."""
