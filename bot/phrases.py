"""How newsbot words things in chat: articles, snippets, delivery plans and outlet health as reply lines.

Lengths are capped here so a page of ten search results stays inside Telegram's 4,096 characters
before any platform escaping; the front-ends still enforce the limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from bot.replies import Line, Reply, Span, Style, plain
from core.digest import DeliveryPlan, DigestMode
from core.models import Article, Outlet, Snippet
from core.scheduling import describe_health
from core.search import SearchHit, sort_time

MAX_TITLE = 150
MAX_LABEL = 40
MAX_NAME = 60
MAX_SUMMARY = 2500
MAX_ERROR = 200
SNIPPET_RADIUS = 60  # characters kept either side of the first matched term in a search result


def say(text: str) -> Reply:
    return Reply(lines=(plain(text),))


def refuse(text: str) -> Reply:
    return Reply(lines=(plain(text),), is_error=True)


def reply_text(reply: Reply) -> str:
    return " ".join("".join(span.text for span in line) for line in reply.lines)


def shortened(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def when(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def snippet_line(snippet: Snippet, radius: int = SNIPPET_RADIUS) -> Line:
    """The snippet around its first matched term, with the matched terms marked."""
    marks = sorted(snippet.highlights)
    start = max(0, marks[0][0] - radius) if marks else 0
    end = min(len(snippet.text), marks[0][1] + radius) if marks else 2 * radius
    spans: list[Span] = [Span("…")]
    cursor = start
    for first, last in marks:
        if first < cursor or last > end:
            continue
        spans += [Span(snippet.text[cursor:first]), Span(snippet.text[first:last], Style.MARK)]
        cursor = last
    spans += [Span(snippet.text[cursor:end]), Span("…")]
    return tuple(span for span in spans if span.text)


def title_span(article: Article) -> Span:
    title = shortened(article.title, MAX_TITLE) or "(untitled)"
    return Span(title, Style.LINK, article.url) if article.url else Span(title, Style.BOLD)


def hit_lines(hit: SearchHit, prefix: str) -> list[Line]:
    """A search result: the title as a link; outlet, time and the summary command; the snippet."""
    article = hit.article
    details = f"{shortened(article.outlet_name, MAX_NAME)} · {when(sort_time(article))} · {prefix}summary {article.id}"
    return [(title_span(article),), plain(details), snippet_line(hit.snippet)]


def summary_lines(article: Article) -> list[Line]:
    """An article's stored lead: title, outlet and time, the lead, the link."""
    lead = article.summary.strip()
    lead = shortened(lead, MAX_SUMMARY) if lead else "No summary is stored for this article."
    lines: list[Line] = [
        (Span(shortened(article.title, MAX_TITLE * 2) or "(untitled)", Style.BOLD),),
        plain(f"{article.outlet_name} · {when(sort_time(article))}"),
        plain(lead),
    ]
    if article.url:
        lines.append((Span(article.url, Style.LINK, article.url),))
    return lines


def describe_plan(plan: DeliveryPlan, timezone: str) -> str:
    if plan.digest is DigestMode.HOURLY:
        text = "an hourly digest"
    elif plan.digest is DigestMode.DAILY:
        at = f" at {plan.daily_at:%H:%M} ({timezone})" if plan.daily_at else ""
        text = f"a daily digest{at}"
    else:
        text = "every alert as it comes"
    if plan.quiet is not None:
        text += f"; quiet {plan.quiet.start:%H:%M}–{plan.quiet.end:%H:%M} ({timezone})"
    return text


def outlet_line(outlet: Outlet, now: datetime) -> Line:
    health = describe_health(outlet.state, now)
    return (Span(shortened(outlet.name, MAX_NAME), Style.BOLD), Span(f" — {outlet.kind.value}, {health}"))


def worst(outlets: Sequence[Outlet]) -> list[Outlet]:
    """Outlets that need attention, worst first: deactivated, then by failures in a row."""
    troubled = [o for o in outlets if o.state.is_deactivated or o.state.consecutive_failures]
    return sorted(troubled, key=lambda o: (not o.state.is_deactivated, -o.state.consecutive_failures, o.name))


def trouble_line(outlet: Outlet, now: datetime) -> Line:
    """A troubled outlet for `status`: health, last success, the error."""
    state = outlet.state
    parts = [describe_health(state, now)]
    parts.append(
        f"last success {when(state.last_success_at)}" if state.last_success_at else "never succeeded"
    )
    error = state.deactivation_reason or state.last_error
    if error:
        parts.append(f"error: {shortened(error, MAX_ERROR)}")
    return (Span(shortened(outlet.name, MAX_NAME), Style.BOLD), Span(" — " + "; ".join(parts)))
