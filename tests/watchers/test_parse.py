"""Feed parsing: formats, encodings, refusals, and every real feed of the shared corpus."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest

from watchers.parse import SUMMARY_CHARS, ParsedFeed, ParseError, charset_of, parse_feed, plain_text

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


CYRILLIC_TEMPLATE = """<?xml version="1.0" encoding="{encoding}"?>
<rss version="2.0"><channel><title>Новости</title><item><title>Саммит ОДКБ в Астане</title>
<link>https://example.kz/news/1</link><description>Лидеры стран ОДКБ встретились.</description>
</item></channel></rss>"""


@pytest.mark.parametrize(
    ("declared", "codec"),
    [
        ("windows-1251", "cp1251"),
        ("koi8-r", "koi8_r"),
        ("utf-16", "utf-16"),
        ("utf-16", "utf-16-le"),
        ("utf-16", "utf-16-be"),
        ("utf-8", "utf-8-sig"),
    ],
)
def test_cyrillic_text_is_correct_in_every_encoding(declared: str, codec: str) -> None:
    feed = parsed(CYRILLIC_TEMPLATE.format(encoding=declared).encode(codec))
    assert feed.title == "Новости"
    (item,) = feed.items
    assert (item.title, item.summary) == ("Саммит ОДКБ в Астане", "Лидеры стран ОДКБ встретились.")


RSS_ITEM = "<item><title>SCO summit</title><link>https://example.org/1</link></item>"
RDF = 'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
FORMATS = {
    "rss 0.90": f'<rdf:RDF {RDF} xmlns="http://my.netscape.com/rdf/simple/0.9/"><channel><title>t</title>'
    f"</channel>{RSS_ITEM}</rdf:RDF>",
    "rss 0.91": f'<rss version="0.91"><channel><title>t</title>{RSS_ITEM}</channel></rss>',
    "rss 0.92": f'<rss version="0.92"><channel><title>t</title>{RSS_ITEM}</channel></rss>',
    "rss 1.0": f'<rdf:RDF {RDF} xmlns="http://purl.org/rss/1.0/"><channel rdf:about="https://example.org/">'
    f'<title>t</title></channel><item rdf:about="https://example.org/1"><title>SCO summit</title>'
    "<link>https://example.org/1</link></item></rdf:RDF>",
    "rss 2.0": f'<rss version="2.0"><channel><title>t</title>{RSS_ITEM}</channel></rss>',
    "atom 0.3": '<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>t</title><entry>'
    '<title>SCO summit</title><link rel="alternate" type="text/html" href="https://example.org/1"/>'
    "<id>tag:1</id><issued>2026-11-25T08:30:00Z</issued></entry></feed>",
    "atom 1.0": '<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><title>SCO summit</title>'
    '<link href="https://example.org/1"/><id>tag:1</id><updated>2026-11-25T08:30:00Z</updated></entry></feed>',
    "json feed 1.0": '{"version": "https://jsonfeed.org/version/1", "title": "t", "items": '
    '[{"id": "1", "url": "https://example.org/1", "title": "SCO summit"}]}',
    "json feed 1.1": '{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": '
    '[{"id": "1", "url": "https://example.org/1", "title": "SCO summit"}]}',
}


@pytest.mark.parametrize("document", FORMATS.values(), ids=FORMATS.keys())
def test_every_feed_format(document: str) -> None:
    (item,) = parsed(document.encode()).items
    assert (item.title, item.url) == ("SCO summit", "https://example.org/1")


def test_a_long_summary_is_cut_to_its_first_words() -> None:
    paragraph = "<p>" + "Word " * 200 + "</p>"
    body = f"<rss><channel><item><title>t</title><description><![CDATA[{paragraph * 100}]]></description></item></channel></rss>"
    (item,) = parsed(body.encode()).items
    assert len(item.summary) == SUMMARY_CHARS
    assert "<" not in item.summary


def test_every_corpus_feed_agrees_with_feedparser(corpora: Path) -> None:
    """Each of the 200 real feeds yields at least the entries feedparser finds, with the same links."""
    feeds = corpora / "feeds"
    with (feeds / "index.tsv").open(encoding="utf-8") as index:
        rows = list(csv.DictReader(index, delimiter="\t"))
    assert len(rows) == 200
    disagreements = []
    for row in rows:
        body = (feeds / row["file"]).read_bytes()
        ours = [item.url for item in parsed(body).items]
        # Sanitising changes content, not links; leaving it off halves feedparser's time here.
        theirs = [
            entry.get("link")
            for entry in feedparser.parse(
                io.BytesIO(body), sanitize_html=False, resolve_relative_uris=False
            ).entries
        ]
        if ours[: len(theirs)] != theirs:
            disagreements.append((row["file"], len(ours), len(theirs)))
    assert disagreements == []


def test_every_feedparser_test_document_ends_classified(corpora: Path) -> None:
    """feedparser's own ~2,100 test documents: each ok, ok_degraded or rejected with a reason, none crash."""
    outcomes = Counter(
        parse_feed(path.read_bytes()).outcome
        for path in sorted((corpora / "feedparser").rglob("*"))
        if path.is_file()
    )
    assert sum(outcomes.values()) > 2000
    assert set(outcomes) <= {"ok", "ok_degraded", "rejected:entities", "rejected:not_a_feed"}
    assert outcomes["ok"] > 2000


NO_DECLARATION = CYRILLIC_TEMPLATE.split("\n", 1)[1]


@pytest.mark.parametrize(("charset", "codec"), [("windows-1251", "cp1251"), ("KOI8-R", "koi8_r")])
def test_the_http_charset_decodes_a_document_that_names_none(charset: str, codec: str) -> None:
    (item,) = parsed_with(NO_DECLARATION.encode(codec), charset).items
    assert item.title == "Саммит ОДКБ в Астане"


@pytest.mark.parametrize(
    "body",
    [
        NO_DECLARATION.encode("utf-8"),  # a server claiming Latin-1 for UTF-8 text
        CYRILLIC_TEMPLATE.format(encoding="windows-1251").encode("cp1251"),  # the document's own word wins
    ],
)
def test_a_wrong_http_charset_does_not_garble_text(body: bytes) -> None:
    (item,) = parsed_with(body, "iso-8859-1").items
    assert item.title == "Саммит ОДКБ в Астане"


def parsed_with(body: bytes, charset: str) -> ParsedFeed:
    result = parse_feed(body, charset)
    assert isinstance(result, ParsedFeed), result
    return result


def test_charset_of_a_content_type() -> None:
    assert charset_of('application/rss+xml; charset="windows-1251"') == "windows-1251"
    assert charset_of("text/xml") is None


@pytest.mark.parametrize(
    "date",
    [
        "9999-12-31T23:59:59-12:00",
        "0001-01-01T00:30:00+01:00",
        "2026-02-30T10:00:00Z",
        "Fri, 31 Dec 9999 23:59:59 -1200",
    ],
)
def test_an_impossible_date_is_no_date_not_a_failed_poll(date: str) -> None:
    atom = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><title>SCO summit</title>'
        f'<link href="https://example.org/1"/><id>x</id><updated>{date}</updated></entry></feed>'
    )
    (item,) = parsed(atom.encode()).items
    assert (item.title, item.published) == ("SCO summit", None)


def test_a_feed_gives_at_most_its_first_five_thousand_entries() -> None:
    items = "".join(
        f"<item><title>n{n}</title><link>https://example.org/{n}</link></item>" for n in range(5500)
    )
    feed = parsed(f'<rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode())
    assert [item.title for item in feed.items] == [f"n{n}" for n in range(5000)]
