"""`newsbot opml import/export`, `outlets add/check` for every kind and `outlets list`, run as a user would."""

from __future__ import annotations

import json
import os
import pty
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.models import OutletKind, PageSelectors
from newsbot.settings import ConfigError, load_settings
from tests.fake_servers.feeds import FeedServer, Route, news_entry, rss
from tests.fake_servers.outlet_pages import SAMPLES, html, sample, serve_channel
from tests.newsbot.test_cli import REPO, newsbot
from tests.watchers.test_hostile import author_email_redos

Row = tuple[str, str, str, str, int, str | None]


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as server:
        yield server


def config_file(folder: Path, allow_private_networks: bool = False, outlets: str = "outlets = []\n") -> Path:
    folder.mkdir(exist_ok=True)
    config = folder / "newsbot.toml"
    config.write_text(
        f'{outlets}\n[storage]\nurl = "sqlite+aiosqlite:///{folder / "archive.db"}"\n\n'
        f'[fetch]\nallow_private_networks = {str(allow_private_networks).lower()}\ntimeout = "5s"\n',
        encoding="utf-8",
    )
    return config


def stored_outlets(folder: Path) -> list[Row]:
    with sqlite3.connect(folder / "archive.db") as connection:
        rows = connection.execute(
            "SELECT name, url, kind, group_name, interval_seconds, selectors FROM outlets ORDER BY url, name"
        ).fetchall()
    return [tuple(row) for row in rows]


@pytest.mark.parametrize(
    ("name", "summary", "details"),
    [
        ("rsstt.opml", "3 added, 0 skipped as duplicates, 0 refused", []),
        (
            "miniflux.opml",
            "3 added, 0 skipped as duplicates, 1 refused",
            ["  refused: Local test outlet (http://127.0.0.1/feed.xml): 127.0.0.1 is a loopback address"],
        ),
        (
            "freshrss.opml",
            "3 added, 1 skipped as duplicates, 2 refused",
            [
                "  duplicate: Interfax (https://www.interfax.ru/rss.asp)",
                "  refused: Metadata server (http://169.254.169.254/latest/meta-data/): "
                "169.254.169.254 is the cloud metadata address",
                "  refused: Local file (file:///etc/passwd): only http and https URLs can be fetched, not 'file'",
            ],
        ),
    ],
)
async def test_opml_exports_of_other_readers_import(
    tmp_path: Path, name: str, summary: str, details: list[str]
) -> None:
    config = config_file(tmp_path)
    result = await newsbot(tmp_path, "opml", "import", str(SAMPLES / name), "--config", str(config))
    assert (result.status, result.stderr) == (0, "")
    assert result.stdout.splitlines() == [f"imported {SAMPLES / name}: {summary}", *details]
    again = await newsbot(tmp_path, "opml", "import", str(SAMPLES / name), "--config", str(config))
    assert (
        f"0 added, {int(summary.split()[0]) + int(summary.split()[2])} skipped as duplicates" in again.stdout
    )


async def test_export_and_reimport_gives_the_same_outlets(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first_config, second_config = config_file(first), config_file(second)
    for name in ("rsstt.opml", "miniflux.opml", "freshrss.opml"):
        imported = await newsbot(first, "opml", "import", str(SAMPLES / name), "--config", str(first_config))
        assert imported.status == 0
    # A page with selectors, and a name two readers share, must survive the trip too.
    extra = tmp_path / "extra.opml"
    extra.write_text(
        '<opml version="2.0" xmlns:newsbot="https://github.com/newsbot/newsbot/opml"><body>'
        '<outline text="Kazakhstan"><outline text="Vlast" xmlUrl="https://vlast.kz/politika/" newsbot:kind="page" '
        'newsbot:interval="900" newsbot:item="li.news-item" newsbot:link="h3 a"/>'
        '<outline text="Interfax" xmlUrl="https://interfax.kz/rss"/></outline></body></opml>',
        encoding="utf-8",
    )
    assert (await newsbot(first, "opml", "import", str(extra), "--config", str(first_config))).status == 0

    exported = await newsbot(first, "opml", "export", "--config", str(first_config))
    assert exported.status == 0
    assert exported.stdout.startswith("<?xml version='1.0' encoding='UTF-8'?>\n<opml")
    written = tmp_path / "outlets.opml"
    to_file = await newsbot(first, "opml", "export", "-o", str(written), "--config", str(first_config))
    assert to_file.stderr == "exported 11 outlets to " + str(written) + "\n"

    reimported = await newsbot(second, "opml", "import", str(written), "--config", str(second_config))
    assert reimported.stdout.splitlines()[0].endswith("11 added, 0 skipped as duplicates, 0 refused")
    assert stored_outlets(second) == stored_outlets(first)
    rows = {row[0]: row for row in stored_outlets(first)}
    assert rows["Vlast"][2:] == ("page", "Kazakhstan", 900, '{"item": "li.news-item", "link": "h3 a"}')
    assert rows["Interfax (interfax.kz)"][1] == "https://interfax.kz/rss"
    assert rows["Vlast.kz news"][2:4] == ("page", "Scraped")


async def test_bad_opml_files_are_one_line(tmp_path: Path) -> None:
    config = config_file(tmp_path)
    not_opml = tmp_path / "feeds.opml"
    not_opml.write_text("<rss/>", encoding="utf-8")
    for path, message in [
        (not_opml, "not an OPML file (no <opml> element)"),
        (tmp_path / "missing.opml", "cannot read"),
    ]:
        result = await newsbot(tmp_path, "opml", "import", str(path), "--config", str(config))
        assert result.status == 1
        assert len(result.stderr.splitlines()) == 1
        assert message in result.stderr


async def test_check_and_add_detect_each_kind(server: FeedServer, tmp_path: Path) -> None:
    config = config_file(tmp_path, allow_private_networks=True)
    feed = server.serve("/feed/", Route(rss([news_entry(1, "A"), news_entry(2, "B")], title="Vlast.kz")))
    announcing = server.serve(
        "/",
        html(
            b'<html><head><title>Home</title><link rel="alternate" type="application/rss+xml" href="/feed/">'
            b"</head><body></body></html>"
        ),
    )
    page = server.serve("/novosti/", html(sample("section.html")))
    sitemap = server.serve(
        "/sitemap-news.xml", Route(sample("news_sitemap.xml"), content_type="application/xml")
    )
    channel = serve_channel(server, "ordakz", "telegram_channel.html")

    async def check(*args: str) -> str:
        result = await newsbot(tmp_path, "outlets", "check", *args, "--config", str(config))
        assert (result.status, result.stderr) == (0, "")
        return result.stdout.strip()

    assert await check(announcing) == (
        f"feed: 2 items, title 'Vlast.kz' (read with fastfeedparser), announced by the page: {feed}"
    )
    assert await check(page) == (
        "page: 2 article links, title 'Новости Казахстана — Vlast.kz' (read with page-defaults)"
    )
    assert await check(page, "--selector", "item=li.news-item", "--selector", "title=h3") == (
        "page: 4 article links, title 'Новости Казахстана — Vlast.kz' (read with page-selectors)"
    )
    assert await check(sitemap) == "sitemap: 3 items, title '127.0.0.1' (read with sitemap)"
    assert await check(channel, "--kind", "telegram") == (
        "telegram channel: 3 posts, title 'Orda.kz' (read with telegram-preview)"
    )

    added = await newsbot(
        tmp_path, "outlets", "add", page, "--group", "Kazakhstan",
        "--selector", "item=li.news-item", "--name", "Vlast", "--interval", "15m", "--config", str(config),
    )  # fmt: skip
    assert added.status == 0
    assert added.stdout.startswith("added 'Vlast': page: 4 article links")
    assert (await newsbot(tmp_path, "outlets", "add", announcing, "--config", str(config))).status == 0
    listed = await newsbot(tmp_path, "outlets", "list", "--config", str(config))
    assert listed.stdout.splitlines() == [
        f"Vlast\tpage\tevery 15 min\tnever polled\t{page}\tKazakhstan",
        f"Vlast.kz\tfeed\tevery 5 min\tnever polled\t{feed}\t-",
    ]


async def test_a_feed_that_parses_too_long_is_stopped_and_reported_in_one_line(
    server: FeedServer, tmp_path: Path
) -> None:
    config = config_file(tmp_path, allow_private_networks=True)
    url = server.serve("/feed", Route(author_email_redos()))  # minutes in feedparser without the limit
    result = await newsbot(
        tmp_path, "outlets", "check", url, "--config", str(config), NEWSBOT_FETCH_PARSE_TIMEOUT="1s"
    )
    assert (result.status, result.stdout) == (1, "")
    assert result.stderr.splitlines() == [f"newsbot: {url}: parsing took longer than 1 s and was stopped"]


async def test_channels_that_cannot_be_watched_are_refused_with_the_reason(tmp_path: Path) -> None:
    config = config_file(tmp_path)
    result = await newsbot(
        tmp_path, "outlets", "check", "https://t.me/joinchat/AbCdEf", "--config", str(config)
    )
    assert result.status == 1
    assert "invite links cannot be watched" in result.stderr
    bad = await newsbot(
        tmp_path, "outlets", "check", "https://x.org/", "--selector", "item=a[[", "--config", str(config)
    )
    assert bad.status == 1
    assert "selector item = 'a[[' is not valid CSS" in bad.stderr
    usage = await newsbot(tmp_path, "outlets", "check", "https://x.org/", "--selector", "body=p")
    assert usage.status == 2
    assert "expected item=CSS" in usage.stderr


async def test_poll_once_reads_a_configured_page_with_selectors(server: FeedServer, tmp_path: Path) -> None:
    page = server.serve("/novosti/", html(sample("section.html")))
    outlets = (
        f'[[outlets]]\nname = "Vlast"\nurl = "{page}"\nkind = "page"\ngroup = "Kazakhstan"\n'
        'selectors = { item = "li.news-item", title = "h3", date = "time" }\n'
    )
    config = config_file(tmp_path, allow_private_networks=True, outlets=outlets)
    polled = await newsbot(tmp_path, "poll", "--once", "--json", "--config", str(config))
    assert (polled.status, polled.stderr) == (0, "")
    alerts = [json.loads(line) for line in polled.stdout.splitlines()]
    assert [alert["title"] for alert in alerts] == [
        "Токаев встретился с генеральным секретарём ОДКБ",
        "JICA выделит Казахстану грант на водные проекты",
    ]
    assert stored_outlets(tmp_path)[0][2:] == (
        "page",
        "Kazakhstan",
        300,
        '{"item": "li.news-item", "title": "h3", "date": "time"}',
    )


def test_outlet_settings_keys(tmp_path: Path) -> None:
    config = tmp_path / "newsbot.toml"
    config.write_text(
        '[[outlets]]\nurl = "https://vlast.kz/novosti/"\nkind = "page"\ngroup = "KZ"\n'
        'selectors = { item = "article", link = "h2 a" }\n',
        encoding="utf-8",
    )
    (outlet,) = load_settings(config, {}).outlets
    assert (outlet.kind, outlet.group, outlet.selectors) == (
        OutletKind.PAGE,
        "KZ",
        PageSelectors(item="article", link="h2 a"),
    )
    config.write_text('[[outlets]]\nurl = "https://x.org/"\nselectors = { body = "p" }\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[\[outlets\]\] #1 selectors: unknown selector 'body'"):
        load_settings(config, {})
    config.write_text(
        '[[outlets]]\nurl = "https://x.org/"\nselectors = { item = "li[[" }\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"selectors: selector item = 'li\[\[' is not valid CSS"):
        load_settings(config, {})


def test_import_shows_a_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    """stderr on a pseudo-terminal, as in an interactive shell: the bar is drawn and then cleared."""
    config = config_file(tmp_path)
    controller, terminal = pty.openpty()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    command = [
        sys.executable,
        "-m",
        "newsbot",
        "opml",
        "import",
        str(SAMPLES / "rsstt.opml"),
        "--config",
        str(config),
    ]
    with subprocess.Popen(  # noqa: S603 - the command is this repository's own CLI
        command,
        cwd=tmp_path,
        env={**environment, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=terminal,
    ) as process:
        os.close(terminal)
        drawn = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            drawn += chunk
        stdout, _ = process.communicate(timeout=60)
    os.close(controller)
    assert process.returncode == 0
    assert b"] 3/3 outlets" in drawn
    assert b"imported" in stdout
