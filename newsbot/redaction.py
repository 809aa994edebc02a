"""Keeps secrets out of logs: a filter on newsbot's log handlers that masks every configured token.

httpx (under python-telegram-bot) logs request URLs, and a Bot API URL carries the bot token, so
masking at the handler catches what any library logs, in the message, its arguments and tracebacks.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

MASK = "[secret]"


class SecretRedactor(logging.Filter):
    """Rewrites a record whose text contains a secret so that only the mask is shown."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Longest first: a secret that contains another is masked whole.
        self._secrets = sorted({secret for secret in secrets if secret}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed format string: keep what we can show
            message = str(record.msg)
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            # Formatted here so the traceback text (exception messages hold URLs too) can be masked.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def install_redaction(secrets: Iterable[str], handlers: Iterable[logging.Handler] | None = None) -> None:
    """Mask `secrets` in everything the root logger's handlers (or `handlers`) write."""
    redactor = SecretRedactor(secrets)
    for handler in logging.getLogger().handlers if handlers is None else handlers:
        for old in [f for f in handler.filters if isinstance(f, SecretRedactor)]:
            handler.removeFilter(old)
        handler.addFilter(redactor)
