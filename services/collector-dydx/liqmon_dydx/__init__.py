"""dYdX v4 collector: v4_trades of every perpetual market, LIQUIDATED trades only."""
