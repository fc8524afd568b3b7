"""One logging setup for every service: a line per record, service name first."""

from __future__ import annotations

import logging
import logging.config


def configure_logging(service: str, level: str = "INFO") -> None:
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "plain": {
                    "format": f"%(asctime)s %(levelname)-7s {service} %(name)s: %(message)s",
                }
            },
            "handlers": {
                "stderr": {"class": "logging.StreamHandler", "formatter": "plain"},
            },
            "root": {"handlers": ["stderr"], "level": level.upper()},
            "loggers": {
                "websockets": {"level": "WARNING"},
                "uvicorn.access": {"level": "WARNING"},
            },
        }
    )


class LogOnce:
    """Log a given kind of problem once with full context, then only count it.

    A hostile feed can send thousands of bad frames a second; the first of each reason is
    logged with its context, the rest are counted (and kept in the dead-letter stream).
    """

    def __init__(self, logger: logging.Logger, limit: int = 1000) -> None:
        self._logger = logger
        self._seen: set[str] = set()
        self._limit = limit

    def warning(self, key: str, msg: str, *args: object) -> None:
        if key in self._seen or len(self._seen) >= self._limit:
            return
        self._seen.add(key)
        self._logger.warning(msg, *args)
