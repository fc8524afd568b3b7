"""Entry point for `liqmon run` (placeholder until the service lands)."""

from __future__ import annotations

import logging


def main(argv: list[str]) -> int:
    logging.getLogger(__name__).error("not implemented yet (args %s)", argv)
    return 3
