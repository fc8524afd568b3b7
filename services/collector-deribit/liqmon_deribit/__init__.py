"""Deribit collector: liquidation trades of every future (inverse and linear)."""
