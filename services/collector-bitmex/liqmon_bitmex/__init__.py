"""BitMEX collector: the `liquidation` table (inverse, linear and quanto contracts)."""
