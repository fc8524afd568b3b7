"""Gate collector: futures.public_liquidates for every USDT-settled contract."""
