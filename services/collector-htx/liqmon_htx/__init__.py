"""HTX collector: public.*.liquidation_orders on the USDT-M and coin-M notification
endpoints."""
