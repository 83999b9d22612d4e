"""Keep secrets and personal data out of every message the client builds.

The refresh call carries the refresh token in its query string, and aiohttp puts the full URL
into some exception messages, so any text that may hold a URL goes through `redact` first.
"""

from __future__ import annotations

import logging
import re

_SECRET_PARAM = re.compile(r"((?:^|[?&\s\"'])[A-Za-z_]*token[A-Za-z_]*=)[^&\s\"']*", re.IGNORECASE)
_BEARER = re.compile(r"(Bearer\s+)[^\s\"',;]+", re.IGNORECASE)


def redact(text: str) -> str:
    """Replace token values in query strings and bearer headers by `***`."""
    text = _SECRET_PARAM.sub(r"\1***", text)
    return _BEARER.sub(r"\1***", text)


def mask(value: str | None, keep: int = 1) -> str:
    """Show only the first `keep` characters of a personal value (name, phone, street)."""
    if not value:
        return ""
    return value[:keep] + "***"


class _RedactTokens(logging.Filter):
    """httpx logs every request URL at INFO; the refresh URL carries the refresh token."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "token" in message.lower() or "bearer" in message.lower():
            record.msg, record.args = redact(message), None
        return True


_REDACT_FILTER = _RedactTokens()


def install_log_redaction() -> None:
    """Add the token filter to the httpx/httpcore loggers (once)."""
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if _REDACT_FILTER not in logger.filters:
            logger.addFilter(_REDACT_FILTER)
