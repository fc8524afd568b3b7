"""Exchange simulator: loopback servers speaking Binance's and OKX's exact protocols."""
