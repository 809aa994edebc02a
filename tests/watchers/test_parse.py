"""Feed parsing: formats, encodings, refusals, and every real feed of the shared corpus."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest

from watchers.parse import ParsedFeed, ParseError, parse_feed, plain_text

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom outlet</title>
<entry><id>urn:1</id><title type="html">&lt;b&gt;SCO&lt;/b&gt; ministers meet</title>
<link href="https://example.org/a/1"/><updated>2026-11-25T08:30:00Z</updated>
<summary type="html">&lt;p&gt;Ministers of the &lt;a href="x"&gt;SCO&lt;/a&gt; met.&lt;/p&gt;</summary></entry></feed>"""

JSON_FEED = b"""{"version": "https://jsonfeed.org/version/1.1", "title": "JSON outlet",
"items": [{"id": "7", "url": "https://example.org/j/7", "title": "JICA loan",
"content_text": "JICA signs a loan.", "date_published": "2026-11-24T10:00:00+05:00"}]}"""

CYRILLIC_RSS = """<?xml version="1.0" encoding="windows-1251"?>
<rss version="2.0"><channel><title>Новости</title><item><title>Саммит ОДКБ в Астане</title>
<link>https://example.kz/news/1</link><description>Лидеры стран ОДКБ встретились.</description>
</item></channel></rss>""".encode("cp1251")


def parsed(body: bytes) -> ParsedFeed:
    result = parse_feed(body)
    assert isinstance(result, ParsedFeed), result
    return result


def test_atom_text_is_plain_and_dated() -> None:
    (entry,) = parsed(ATOM).items
    assert entry.title == "SCO ministers meet"
    assert entry.summary == "Ministers of the SCO met."
    assert (entry.guid, entry.url) == ("urn:1", "https://example.org/a/1")
    assert entry.published == datetime(2026, 11, 25, 8, 30, tzinfo=UTC)


def test_json_feed() -> None:
    (entry,) = parsed(JSON_FEED).items
    assert (entry.title, entry.summary, entry.url) == (
        "JICA loan",
        "JICA signs a loan.",
        "https://example.org/j/7",
    )
    assert entry.published == datetime(2026, 11, 24, 5, 0, tzinfo=UTC)


def test_windows_1251_document_decodes_to_correct_text() -> None:
    feed = parsed(CYRILLIC_RSS)
    assert feed.title == "Новости"
    assert feed.items[0].title == "Саммит ОДКБ в Астане"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "not a feed"),
        (b"<html><body><p>Section page</p></body></html>", "not a feed"),
        (b"\x00\x01binary", "not a feed"),
        (
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
            b"<rss><channel><title>&lol2;</title></channel></rss>",
            "declares XML entities",
        ),
    ],
)
def test_refusals_say_why(body: bytes, reason: str) -> None:
    result = parse_feed(body)
    assert isinstance(result, ParseError)
    assert reason in result.reason


@pytest.mark.parametrize(
    ("markup", "text"),
    [("<p>a <b>b</b></p>\n c", "a b c"), ("AT&amp;T", "AT&T"), ("plain", "plain"), ("<", "<"), ("", "")],
)
def test_plain_text(markup: str, text: str) -> None:
    assert plain_text(markup) == text


def test_every_corpus_feed_parses_to_its_entries(corpora: Path) -> None:
    """Each of the 200 real feeds yields at least the entries feedparser counted, with titles."""
    feeds = corpora / "feeds"
    with (feeds / "index.tsv").open(encoding="utf-8") as index:
        rows = list(csv.DictReader(index, delimiter="\t"))
    assert len(rows) == 200
    short = []
    for row in rows:
        feed = parsed((feeds / row["file"]).read_bytes())
        if len(feed.items) < int(row["entries"]):
            short.append((row["file"], len(feed.items), row["entries"]))
        assert all(item.title for item in feed.items)
    assert short == []
