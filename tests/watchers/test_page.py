"""HTML listing pages: article links found by the defaults and by an outlet's CSS selectors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from core.models import FeedItem, PageSelectors
from tests.fake_servers.outlet_pages import sample
from watchers.page import is_article_path, parse_page, selector_problem
from watchers.parse import ParsedFeed, ParseError

BASE = "https://vlast.kz/novosti/"
ALMATY = timezone(timedelta(hours=5))


def parsed(selectors: PageSelectors = PageSelectors()) -> ParsedFeed:
    result = parse_page(sample("section.html"), BASE, selectors)
    assert isinstance(result, ParsedFeed)
    return result


def test_defaults_find_the_articles_and_skip_navigation_tags_and_other_sites() -> None:
    page = parsed()
    assert page.title == "Новости Казахстана — Vlast.kz"
    assert [(item.title, item.url) for item in page.items] == [
        (
            "Токаев встретился с генеральным секретарём ОДКБ",
            "https://vlast.kz/novosti/2026/11/26/tokaev-vstretilsya-s-generalnym-sekretarem-odkb.html",
        ),
        (
            "В Алматы открылся новый терминал аэропорта",
            "https://vlast.kz/novosti/60412-v-almaty-otkrylsya-novyj-terminal-aeroporta.html",
        ),
        (
            "JICA выделит Казахстану грант на водные проекты",
            "https://vlast.kz/novosti/60398-jica-vydelit-kazakhstanu-grant-na-vodnye-proekty.html",
        ),
    ]
    assert all(isinstance(item, FeedItem) for item in page.items)


def test_defaults_date_a_teaser_by_its_own_time_element() -> None:
    dates = [item.published for item in parsed().items]
    assert dates == [
        datetime(2026, 11, 26, 10, 15, tzinfo=ALMATY),
        datetime(2026, 11, 26, 9, 40, tzinfo=ALMATY),
        datetime(2026, 11, 25, 18, 5, tzinfo=ALMATY),
    ]


def test_selectors_read_every_item_with_title_link_date_and_text() -> None:
    page = parsed(PageSelectors(item="li.news-item", title="h3", link="h3 a", date="time"))
    assert [item.title for item in page.items] == [
        "Токаев встретился с генеральным секретарём ОДКБ",
        "В Алматы открылся новый терминал аэропорта",
        "JICA выделит Казахстану грант на водные проекты",
        "Экономика",
    ]
    first, *_, last = page.items
    assert first.published == datetime(2026, 11, 26, 10, 15, tzinfo=ALMATY)
    assert "подготовку к саммиту" in first.summary
    assert (last.url, last.published) == ("https://vlast.kz/novosti/60390-ekonomika", None)


def test_a_link_selector_alone_makes_each_link_an_item() -> None:
    page = parsed(PageSelectors(link="li.news-item h3 a"))
    assert len(page.items) == 4
    assert (
        page.items[2].url
        == "https://vlast.kz/novosti/60398-jica-vydelit-kazakhstanu-grant-na-vodnye-proekty.html"
    )


def test_a_date_from_text_or_the_path_when_no_time_element() -> None:
    body = b"""<html><body><div class="card"><a href="/2026/11/20/long-story-about-the-region">
        A long story about the region</a><span class="d">Fri, 20 Nov 2026 10:00:00 +0000</span></div>
        <div class="card"><a href="/2026/11/21/another-story-about-the-region">Another story about
        the region</a></div></body></html>"""
    result = parse_page(body, "https://example.org/", PageSelectors(item="div.card", date="span.d"))
    assert isinstance(result, ParsedFeed)
    assert [item.published for item in result.items] == [
        datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
        datetime(2026, 11, 21, tzinfo=UTC),
    ]


def test_a_bad_selector_is_a_clear_error_not_an_exception() -> None:
    result = parse_page(sample("section.html"), BASE, PageSelectors(item="li[["))
    assert isinstance(result, ParseError)
    assert "selector" in result.reason
    assert selector_problem(PageSelectors(title="h3 >")) is not None
    assert selector_problem(PageSelectors(item="article", link="h2 a")) is None


@pytest.mark.parametrize(
    ("url", "is_article"),
    [
        ("https://timesca.com/2026/11/26/sco-summit/", True),
        ("https://www.inform.kz/ru/tokaev-provel-peregovory-s-prezidentom-a4012345", True),
        ("https://rus.azattyq.org/a/33212345.html", True),
        ("https://tengrinews.kz/kazakhstan_news/v-astane-proshel-sammit-shos-551234/", True),
        ("https://lenta.ru/news/2026/11/26/odkb/", True),
        ("https://example.org/kazakhstan-and-china-sign-a-trade-deal", True),
        ("https://example.org/politics/", False),
        ("https://example.org/tag/odkb-summit-in-astana-news/", False),
        ("https://example.org/category/central-asia-news-and-views/", False),
        ("https://example.org/news/page/2/", False),
        ("https://example.org/", False),
        ("https://example.org/files/annual-report-on-the-region.pdf", False),
    ],
)
def test_article_paths(url: str, is_article: bool) -> None:
    assert is_article_path(url) is is_article


def test_not_html_is_an_error() -> None:
    assert isinstance(parse_page(b"", BASE), ParseError)
