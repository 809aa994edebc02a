"""The console prints a digest: a header and the alerts as text, or one JSON line per alert."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

from bot.console import ConsoleChannel
from core.models import Alert, Article, Destination, Platform, Sent, Snippet, TopicMatch

NOW = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
CONSOLE = Destination(1, Platform.CONSOLE, "stdout", "console")
CSTO = TopicMatch("CSTO", ("CSTO",), "title", Snippet("CSTO summit opens", ((0, 4),)))


def alert(alert_id: int, title: str) -> Alert:
    article = Article(alert_id, 1, "Tengrinews", title, f"https://tengrinews.kz/{alert_id}", "", NOW, NOW)
    return Alert(alert_id, CONSOLE, article, (CSTO,), also_in=("TASS",))


ALERTS = (alert(7, "CSTO summit opens"), alert(9, "CSTO drills \x1b[31mend"))


async def test_a_digest_prints_as_text_under_one_header() -> None:
    stream = io.StringIO()

    outcome = await ConsoleChannel(stream).send_digest(CONSOLE, ALERTS)

    assert outcome == Sent("console:digest:7")
    text = stream.getvalue()
    assert text.startswith("=== Digest: 2 alerts ===\n\n[CSTO] CSTO summit opens\n")
    assert "[CSTO] CSTO drills [31mend" in text  # the escape character is cleaned away
    assert "\x1b" not in text
    assert text.count("also in: TASS") == 2


async def test_a_digest_of_one_says_alert() -> None:
    stream = io.StringIO()
    await ConsoleChannel(stream).send_digest(CONSOLE, ALERTS[:1])
    assert stream.getvalue().startswith("=== Digest: 1 alert ===\n")


async def test_a_digest_prints_as_json_lines_marked_digest() -> None:
    stream = io.StringIO()

    await ConsoleChannel(stream, as_json=True).send_digest(CONSOLE, ALERTS)

    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(r["id"], r["digest"], r["topics"], r["also_in"]) for r in records] == [
        (7, True, ["CSTO"], ["TASS"]),
        (9, True, ["CSTO"], ["TASS"]),
    ]
