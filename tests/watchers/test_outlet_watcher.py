"""A poll of every outlet kind through the watcher, against outlets served on loopback, end to end."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.models import (
    Failed,
    FeedItem,
    Modified,
    NotModified,
    Outlet,
    OutletKind,
    OutletSpec,
    OutletState,
    PageSelectors,
    Topic,
    Validators,
)
from core.polling import poll_outlets
from core.watchlist import compile_watchlist
from storage.archive import SqlArchive
from tests.fake_servers.feeds import FeedServer, Route, news_entry, rss
from tests.fake_servers.outlet_pages import (
    html,
    sample,
    serve_channel,
    serve_channel_without_preview,
    serve_sitemap_index,
)
from watchers.fetch import Fetcher, FetchPolicy
from watchers.watcher import OutletWatcher
from watchers.workers import ThreadParser

LOOPBACK = FetchPolicy(allow_private_networks=True, timeout=timedelta(seconds=5))
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as server:
        yield server


def outlet(
    url: str,
    kind: OutletKind,
    selectors: PageSelectors = PageSelectors(),
    validators: Validators = Validators(),
) -> Outlet:
    state = OutletState(validators=validators)
    return Outlet(1, "Outlet", url, kind, timedelta(minutes=5), state, selectors=selectors)


async def fetch(target: Outlet) -> Modified | NotModified | Failed:
    async with Fetcher(LOOPBACK) as fetcher:
        return await OutletWatcher(fetcher, ThreadParser()).fetch(target)


def titles(outcome: object) -> list[str]:
    assert isinstance(outcome, Modified), outcome
    return [item.title for item in outcome.items]


async def test_feed_outlets_go_to_the_feed_watcher(server: FeedServer) -> None:
    url = server.serve("/feed", Route(rss([news_entry(1, "CSTO drills")])))
    assert titles(await fetch(outlet(url, OutletKind.FEED))) == ["CSTO drills"]


async def test_page_with_defaults_and_with_selectors(server: FeedServer) -> None:
    url = server.serve("/novosti/", html(sample("section.html")))
    defaults = await fetch(outlet(url, OutletKind.PAGE))
    # The sample's third article links to https://vlast.kz/…, another site than the loopback page's.
    assert len(titles(defaults)) == 2
    assert isinstance(defaults, Modified)
    assert defaults.items[0].url == server.url(
        "/novosti/2026/11/26/tokaev-vstretilsya-s-generalnym-sekretarem-odkb.html"
    )
    selected = await fetch(outlet(url, OutletKind.PAGE, PageSelectors(item="li.news-item", title="h3")))
    assert titles(selected)[-1] == "Экономика"


async def test_page_conditional_get(server: FeedServer) -> None:
    url = server.serve("/novosti/", Route(sample("section.html"), content_type="text/html", etag='"p1"'))
    assert await fetch(outlet(url, OutletKind.PAGE, validators=Validators('"p1"'))) == NotModified(
        Validators('"p1"')
    )


async def test_news_sitemap_and_sitemap_index(server: FeedServer) -> None:
    news = server.serve(
        "/sitemap-news.xml", Route(sample("news_sitemap.xml"), content_type="application/xml")
    )
    assert titles(await fetch(outlet(news, OutletKind.SITEMAP)))[0] == "SCO foreign ministers meet in Astana"
    index = serve_sitemap_index(server)
    assert titles(await fetch(outlet(index, OutletKind.SITEMAP))) == [
        "central asia story of month 11",
        "central asia story of month 10",
        "central asia story of month 09",
    ]
    # The index is bounded: the oldest child and the undated one were never fetched.
    fetched = [path for path, _headers in server.requests]
    assert "/sitemaps/posts-2026-08.xml" not in fetched
    assert "/sitemaps/pages.xml" not in fetched


async def test_sitemap_index_whose_children_all_fail(server: FeedServer) -> None:
    index = (
        b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<sitemap><loc>" + server.url("/missing.xml").encode() + b"</loc></sitemap></sitemapindex>"
    )
    url = server.serve("/index.xml", Route(index, content_type="application/xml"))
    outcome = await fetch(outlet(url, OutletKind.SITEMAP))
    assert outcome == Failed("sitemap index: no child sitemap could be read (HTTP 404)")


async def test_telegram_channel_public_and_missing(server: FeedServer) -> None:
    public = serve_channel(server, "ordakz", "telegram_channel.html")
    outcome = await fetch(outlet(public, OutletKind.TELEGRAM))
    assert titles(outcome)[-1] == "Тасмагамбетов назначен послом"
    missing = serve_channel_without_preview(server, "closed_newsroom", "telegram_private.html")
    failed = await fetch(outlet(missing, OutletKind.TELEGRAM))
    assert isinstance(failed, Failed)
    assert failed.reason.startswith("Telegram channel @closed_newsroom has no public web preview")


async def test_http_failures_of_other_kinds_are_values(server: FeedServer) -> None:
    url = server.serve("/busy", Route(b"", status=429, headers={"Retry-After": "60"}))
    busy = await fetch(outlet(url, OutletKind.PAGE))
    assert busy == Failed("HTTP 429: the outlet asks us to slow down", timedelta(seconds=60))
    assert await fetch(outlet(server.url("/nothing"), OutletKind.SITEMAP)) == Failed("HTTP 404")


async def test_a_poll_cycle_of_every_kind_archives_and_matches(
    server: FeedServer, engine: AsyncEngine
) -> None:
    """The use case, the real archive and the dispatching watcher together: one outlet of each kind."""
    archive = SqlArchive(engine)
    specs = [
        OutletSpec("Feed", server.serve("/feed", Route(rss([news_entry(1, "SCO summit opens")])))),
        OutletSpec(
            "Page", server.serve("/novosti/", html(sample("section.html"))), OutletKind.PAGE, group="KZ"
        ),
        OutletSpec(
            "Sitemap",
            server.serve(
                "/sitemap-news.xml", Route(sample("news_sitemap.xml"), content_type="application/xml")
            ),
            OutletKind.SITEMAP,
        ),
        OutletSpec(
            "Channel",
            serve_channel(server, "ordakz", "telegram_channel.html"),
            OutletKind.TELEGRAM,
            selectors=PageSelectors(),
        ),
    ]
    for spec in specs:
        assert await archive.add_outlet(spec, NOW) is not None
    outlets = await archive.list_outlets()
    assert {(o.name, o.kind, o.group) for o in outlets} >= {("Page", OutletKind.PAGE, "KZ")}
    watchlist = compile_watchlist([Topic("SCO", "SCO OR ШОС"), Topic("CSTO", "CSTO OR ОДКБ")])
    async with Fetcher(LOOPBACK) as fetcher:
        reports = await poll_outlets(
            outlets, OutletWatcher(fetcher, ThreadParser()), archive, watchlist, NOW, lambda: 0.0
        )
    by_name = {report.outlet.name: report for report in reports}
    assert {name: report.error for name, report in by_name.items()} == dict.fromkeys(by_name)
    assert {name: report.new_articles for name, report in by_name.items()} == {
        "Channel": 3,
        "Feed": 1,
        "Page": 2,  # the third article link of the sample points at vlast.kz, not at this loopback site
        "Sitemap": 3,
    }
    matched = {
        name: sorted(found.article.title for found in report.matched) for name, report in by_name.items()
    }
    assert matched["Page"] == ["Токаев встретился с генеральным секретарём ОДКБ"]
    assert matched["Sitemap"] == ["SCO foreign ministers meet in Astana"]
    assert len(matched["Channel"]) == 1
    assert matched["Channel"][0].startswith("Министры иностранных дел стран ШОС")
    assert await archive.count_articles() == 9


async def test_groups_and_selectors_are_stored(engine: AsyncEngine) -> None:
    archive = SqlArchive(engine)
    selectors = PageSelectors(item="article", link="h2 a")
    spec = OutletSpec(
        "Vlast", "https://vlast.kz/novosti/", OutletKind.PAGE, group="Kazakhstan", selectors=selectors
    )
    added = await archive.add_outlet(spec, NOW)
    assert added is not None
    (stored,) = await archive.list_outlets()
    assert (stored.group, stored.selectors, stored.kind) == ("Kazakhstan", selectors, OutletKind.PAGE)
    assert (added.group, added.selectors) == ("Kazakhstan", selectors)
    plain = await archive.add_outlet(OutletSpec("Feed", "https://example.org/feed"), NOW)
    assert plain is not None
    assert (plain.group, plain.selectors) == ("", PageSelectors())


def test_feed_items_are_core_values() -> None:
    assert FeedItem("t").title == "t"
