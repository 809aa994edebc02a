"""The console destination: alerts printed as text for people or as JSON lines for programs."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, TextIO

from core.models import Alert, Article, Destination, SendOutcome, Sent, Snippet

# C0/C1 control characters (ANSI escape sequences start with one): article text must not drive
# the terminal. Tab and newline are folded to spaces by the renderer anyway.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean(text: str) -> str:
    return " ".join(CONTROL_CHARACTERS.sub(" ", text).split())


def highlight(snippet: Snippet, mark: tuple[str, str] = ("«", "»")) -> str:
    """The snippet with each highlighted span wrapped in `mark`."""
    pieces, cursor = [], 0
    for start, end in sorted(snippet.highlights):
        if start < cursor:
            continue
        pieces += [snippet.text[cursor:start], mark[0], snippet.text[start:end], mark[1]]
        cursor = end
    pieces.append(snippet.text[cursor:])
    return clean("".join(pieces))


def alert_record(alert: Alert) -> dict[str, Any]:
    """The machine-readable alert of SPEC "Setup and commands": one JSON object per line."""
    snippet = alert.matches[0].snippet.text if alert.matches else ""
    return article_record(alert.article, alert.topics, alert.terms, alert.also_in, snippet)


def article_record(
    article: Article,
    topics: Sequence[str],
    terms: Sequence[str],
    also_in: Sequence[str],
    snippet: str,
) -> dict[str, Any]:
    """An article as SPEC's JSON line, shared by alerts and search hits."""
    return {
        "id": article.id,
        "title": article.title,
        "url": article.url,
        "outlet": article.outlet_name,
        "published": (article.published or article.first_seen_at).isoformat(),
        "topics": list(topics),
        "terms": list(terms),
        "also_in": list(also_in),
        "snippet": snippet,
    }


def render_alert_text(alert: Alert) -> str:
    article = alert.article
    when = (article.published or article.first_seen_at).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"[{', '.join(alert.topics)}] {clean(article.title)}",
        f"  {clean(article.outlet_name)} · {when} · matched: {clean(', '.join(alert.terms))}",
    ]
    if alert.matches:
        lines.append(f"  …{highlight(alert.matches[0].snippet)}…")
    if alert.also_in:
        lines.append(f"  also in: {clean(', '.join(alert.also_in))}")
    if article.url:
        lines.append(f"  {clean(article.url)}")
    return "\n".join(lines)


def render_digest_text(alerts: Sequence[Alert]) -> str:
    count = f"{len(alerts)} alert" + ("s" if len(alerts) != 1 else "")
    return f"=== Digest: {count} ===\n\n" + "\n\n".join(render_alert_text(alert) for alert in alerts)


class ConsoleChannel:
    """core.ports.Channel that writes to a text stream; used when no chat platform is configured."""

    def __init__(self, stream: TextIO, as_json: bool = False) -> None:
        self._stream = stream
        self._as_json = as_json

    async def send(self, destination: Destination, alert: Alert) -> SendOutcome:
        if self._as_json:
            self._stream.write(json.dumps(alert_record(alert), ensure_ascii=False) + "\n")
        else:
            self._stream.write(render_alert_text(alert) + "\n\n")
        self._stream.flush()
        return Sent(f"console:{alert.id}")

    async def send_digest(self, destination: Destination, alerts: Sequence[Alert]) -> SendOutcome:
        """core.ports.DigestChannel: a header and the alerts; as JSON, one line per alert marked `digest`."""
        if self._as_json:
            for alert in alerts:
                record = alert_record(alert) | {"digest": True}
                self._stream.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            self._stream.write(render_digest_text(alerts) + "\n\n")
        self._stream.flush()
        return Sent(f"console:digest:{alerts[0].id}")
