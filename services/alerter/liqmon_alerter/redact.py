"""Secrets never reach a log line, an error text or Redis.

The rules file's secrets (bot token, webhook URLs, HMAC secret) are known at start-up;
`Redactor` replaces each with `***` in any text, and `install_log_filter` applies it to
every record of every logger (formatted message and exception text), so a library that
logs a URL (httpx logs each request's URL at INFO) cannot leak a token either.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

MASK = "***"


class Redactor:
    def __init__(self, secrets: Iterable[str]) -> None:
        # longest first, so a URL is masked whole before a token inside it
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text


class RedactingFilter(logging.Filter):
    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.redactor(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = self.redactor(text)
            record.exc_info = None
            record.msg = f"{record.msg}\n{record.exc_text}"
            record.exc_text = None
        return True


def install_log_filter(redactor: Redactor) -> None:
    """Filter every handler of the root logger (handlers see records of all loggers)."""
    flt = RedactingFilter(redactor)
    for handler in logging.getLogger().handlers:
        handler.addFilter(flt)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
