"""OPML: exports of RSS-to-Telegram-Bot, Miniflux and FreshRSS read as outlets; newsbot's own export round-trips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.models import OutletKind, OutletSpec, PageSelectors
from tests.fake_servers.outlet_pages import sample
from watchers.opml import OpmlError, read_opml, write_opml

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def read(name: str) -> tuple[OutletSpec, ...]:
    specs = read_opml(sample(name))
    assert not isinstance(specs, OpmlError)
    return specs


def test_rss_to_telegram_bot_export() -> None:
    assert read("rsstt.opml") == (
        OutletSpec("Tengrinews", "https://tengrinews.kz/news.rss"),
        OutletSpec("Eurasianet", "https://eurasianet.org/rss"),
        OutletSpec("Азаттык", "https://rus.azattyq.org/api/zrqiteuuir"),
    )


def test_miniflux_export_categories_become_groups() -> None:
    assert [(spec.name, spec.group, spec.kind) for spec in read("miniflux.opml")] == [
        ("Kun.uz", "Central Asia", OutletKind.FEED),
        ("Times of Central Asia", "Central Asia", OutletKind.FEED),
        ("Jamestown Foundation", "Think tanks", OutletKind.FEED),
        ("Local test outlet", "Think tanks", OutletKind.FEED),
    ]


def test_freshrss_export_with_scraped_pages_and_repeats() -> None:
    specs = read("freshrss.opml")
    assert [(spec.name, spec.group, spec.kind) for spec in specs] == [
        ("Interfax", "Uncategorized", OutletKind.FEED),
        ("TASS", "Uncategorized", OutletKind.FEED),
        ("Vlast.kz news", "Scraped", OutletKind.PAGE),
        ("Metadata server", "Scraped", OutletKind.FEED),
        ("Local file", "Scraped", OutletKind.FEED),
        ("Interfax", "", OutletKind.FEED),
    ]
    assert specs[2].url == "https://vlast.kz/novosti/"


def test_nested_folders_and_kinds_by_url() -> None:
    document = b"""<opml version="1.0"><head/><body>
        <outline text="Asia"><outline title="Kazakhstan" text="KZ">
            <outline text="Orda" xmlUrl="https://t.me/s/ordakz"/>
            <outline text="Kazinform news" xmlUrl="https://www.inform.kz/sitemap-news.xml"/>
        </outline></outline>
        <outline xmlUrl="https://example.org/feed"/>
    </body></opml>"""
    specs = read_opml(document)
    assert specs == (
        OutletSpec("Orda", "https://t.me/s/ordakz", OutletKind.TELEGRAM, group="Asia / Kazakhstan"),
        OutletSpec(
            "Kazinform news",
            "https://www.inform.kz/sitemap-news.xml",
            OutletKind.SITEMAP,
            group="Asia / Kazakhstan",
        ),
        OutletSpec("example.org", "https://example.org/feed"),
    )


def test_export_then_import_gives_the_same_outlets() -> None:
    outlets = (
        OutletSpec("Tengrinews", "https://tengrinews.kz/news.rss", interval=timedelta(minutes=3)),
        OutletSpec(
            "Vlast.kz",
            "https://vlast.kz/novosti/",
            OutletKind.PAGE,
            timedelta(minutes=15),
            group="Kazakhstan",
            selectors=PageSelectors(item="li.news-item", title="h3", link="h3 a", date="time[datetime]"),
        ),
        OutletSpec("Orda & Co <news>", "https://t.me/s/ordakz", OutletKind.TELEGRAM, group="Kazakhstan"),
        OutletSpec(
            "Kazinform", "https://www.inform.kz/sitemap-news.xml", OutletKind.SITEMAP, group="Wires / KZ"
        ),
        OutletSpec("Азаттык", "https://rus.azattyq.org/api/zrqiteuuir?a=1&b=2", group="Wires / KZ"),
    )
    document = write_opml(outlets, NOW)
    again = read_opml(document)
    assert isinstance(again, tuple)
    assert sorted(again, key=lambda spec: spec.name) == sorted(outlets, key=lambda spec: spec.name)
    assert b"<dateCreated>Fri, 27 Nov 2026 03:00:00 +0000</dateCreated>" in document


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (b"not xml at all", "XML error"),
        (b"<rss><channel/></rss>", "no <opml> element"),
        (b"<opml version='2.0'><head/></opml>", "no <body> element"),
        (b'<!DOCTYPE opml [<!ENTITY a "aaaaaaaa">]><opml><body>&a;</body></opml>', "entities"),
    ],
)
def test_bad_files_are_clear_errors(document: bytes, reason: str) -> None:
    result = read_opml(document)
    assert isinstance(result, OpmlError)
    assert reason in result.reason


@pytest.mark.parametrize("interval", ["99999999999999999", "²", "0", "-5", "ten"])
def test_a_bad_interval_attribute_falls_back_to_the_default(interval: str) -> None:
    document = (
        '<opml version="2.0" xmlns:newsbot="https://github.com/newsbot/newsbot/opml"><body>'
        f'<outline text="A" xmlUrl="https://a.example/feed" newsbot:interval="{interval}"/></body></opml>'
    )
    specs = read_opml(document.encode())
    assert not isinstance(specs, OpmlError)
    assert [spec.interval for spec in specs] == [timedelta(minutes=5)]
