"""Bybit collector: allLiquidation.{symbol} for every linear and inverse contract."""
