"""Secrets never reach a log line: the redacting filter on newsbot's log handlers."""

from __future__ import annotations

import io
import logging

from newsbot.redaction import MASK, SecretRedactor, install_redaction

TOKEN = "123456:AAE-secret-telegram-token"


def logged(*secrets: str) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    install_redaction(secrets, [handler])
    logger = logging.getLogger(f"tests.redaction.{len(secrets)}.{id(stream)}")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    return logger, stream


def test_secrets_are_masked_in_messages_arguments_and_tracebacks() -> None:
    logger, stream = logged(TOKEN, "xoxb-slack")

    logger.info("HTTP Request: POST https://api.telegram.org/bot%s/getMe", TOKEN)
    logger.warning("slack said %r", {"token": "xoxb-slack"})
    try:
        raise RuntimeError(f"cannot reach https://api.telegram.org/bot{TOKEN}/sendMessage")
    except RuntimeError:
        logger.exception("send failed")

    text = stream.getvalue()
    assert TOKEN not in text
    assert "xoxb-slack" not in text
    assert f"https://api.telegram.org/bot{MASK}/getMe" in text
    assert f"RuntimeError: cannot reach https://api.telegram.org/bot{MASK}/sendMessage" in text


def test_a_secret_inside_another_is_masked_whole_and_other_text_is_untouched() -> None:
    redactor = SecretRedactor(["abc", "abcdef", ""])

    assert redactor.redact("x abcdef y abc z") == f"x {MASK} y {MASK} z"
    assert SecretRedactor([]).redact("nothing to hide") == "nothing to hide"


def test_installing_again_replaces_the_filter() -> None:
    handler = logging.StreamHandler(io.StringIO())
    install_redaction(["one"], [handler])
    install_redaction(["two"], [handler])

    assert len([f for f in handler.filters if isinstance(f, SecretRedactor)]) == 1
