"""Bitfinex collector: the status channel liq:global (derivatives liquidations)."""
