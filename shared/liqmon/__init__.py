"""liqmon: a self-hosted, real-time monitor of crypto futures liquidations.

This package (`shared/liqmon`) is the code every service imports: the event contract
(`event`), Redis key names (`keys`), settings (`settings`), the Redis factory
(`redis_client`), the bus writers (`bus`), logging (`logs`), the service runtime
(`runtime`) and the `liqmon` command line (`cli`, `launcher`).
"""

__version__ = "0.1.0"
