"""Kraken Futures collector: the trade feed of every listed contract, liquidation trades only."""
