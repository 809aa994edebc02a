"""Sitemaps: Google News sitemaps, plain sitemaps and sitemap indexes, as FeedItems or child lists."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta, timezone

from core.models import FeedItem
from tests.fake_servers.outlet_pages import sample
from watchers.parse import ParsedFeed, ParseError
from watchers.sitemap import MAX_ITEMS, ChildSitemap, SitemapIndex, parse_sitemap

ALMATY = timezone(timedelta(hours=5))


def test_news_sitemap_gives_titles_dates_and_languages_newest_first() -> None:
    result = parse_sitemap(sample("news_sitemap.xml"))
    assert isinstance(result, ParsedFeed)
    assert result.items == (
        FeedItem(
            title="SCO foreign ministers meet in Astana",
            url="https://www.inform.kz/en/sco-foreign-ministers-meet-in-astana-a1234570",
            published=datetime(2026, 11, 26, 11, 0, tzinfo=ALMATY),
            language="en",
        ),
        FeedItem(
            title="Токаев провёл переговоры с президентом Узбекистана",
            url="https://www.inform.kz/ru/tokaev-provel-peregovory-s-prezidentom-uzbekistana-a1234567",
            published=datetime(2026, 11, 26, 9, 30, tzinfo=ALMATY),
            language="ru",
        ),
        FeedItem(
            title="Погода на 27 ноября",
            url="https://www.inform.kz/ru/pogoda-na-27-noyabrya-a1234500",
            published=datetime(2026, 11, 25, tzinfo=UTC),
            language="ru",
        ),
    )


def test_plain_sitemap_titles_come_from_the_slug_and_dates_from_lastmod() -> None:
    result = parse_sitemap(sample("sitemap.xml"))
    assert isinstance(result, ParsedFeed)
    assert [(item.title, item.published) for item in result.items] == [
        ("jica funds irrigation in the fergana valley", datetime(2026, 11, 26, 7, 12, tzinfo=UTC)),
        ("kyrgyzstan and tajikistan open border crossing", datetime(2026, 11, 24, 8, 0, tzinfo=UTC)),
        ("about", None),
    ]


def test_sitemap_index_lists_children_and_picks_the_newest() -> None:
    result = parse_sitemap(sample("sitemap_index.xml").replace(b"{base}", b"https://timesca.com"))
    assert isinstance(result, SitemapIndex)
    assert len(result.children) == 5
    assert [child.url.rsplit("/", 1)[-1] for child in result.newest(3)] == [
        "posts-2026-11.xml",
        "posts-2026-10.xml",
        "posts-2026-09.xml",
    ]


def test_without_lastmod_the_date_in_the_file_name_orders_children() -> None:
    index = SitemapIndex(
        tuple(
            ChildSitemap(f"https://example.org/sitemap-{name}.xml") for name in ("2026-10", "2026-11", "tags")
        )
    )
    assert [child.url for child in index.newest(1)] == ["https://example.org/sitemap-2026-11.xml"]
    undated = SitemapIndex(
        (ChildSitemap("https://example.org/a.xml"), ChildSitemap("https://example.org/b.xml"))
    )
    assert undated.newest(1) == (ChildSitemap("https://example.org/a.xml"),)


def test_gzipped_sitemap_files_are_read() -> None:
    result = parse_sitemap(gzip.compress(sample("news_sitemap.xml")))
    assert isinstance(result, ParsedFeed)
    assert len(result.items) == 3


def test_a_huge_sitemap_is_bounded() -> None:
    urls = "".join(f"<url><loc>https://example.org/story-{n}</loc></url>" for n in range(MAX_ITEMS + 50))
    body = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'.encode()
    result = parse_sitemap(body)
    assert isinstance(result, ParsedFeed)
    assert len(result.items) == MAX_ITEMS


def test_bad_documents_are_clear_errors() -> None:
    billion_laughs = b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa">]><urlset>&a;</urlset>'
    cases = {
        b"<html><body>not a sitemap</body></html>": "not a sitemap",
        b"\x1f\x8b not really gzip": "does not unpack",
        billion_laughs: "entities",
        b"<urlset><url>": "XML error",
    }
    for body, reason in cases.items():
        result = parse_sitemap(body)
        assert isinstance(result, ParseError), body
        assert reason in result.reason


def test_a_lastmod_at_the_calendars_edge_is_no_date() -> None:
    body = (
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url>'
        b"<loc>https://example.org/news/2026/11/27/csto-summit-in-almaty</loc>"
        b"<lastmod>0001-01-01T00:30+01:00</lastmod></url></urlset>"
    )
    feed = parse_sitemap(body)
    assert isinstance(feed, ParsedFeed)
    assert [item.published for item in feed.items] == [None]
