"""OKX collector: liquidation-orders for SWAP and FUTURES."""
