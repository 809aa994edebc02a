"""`newsbot search` as a user runs it: a subprocess over an archive filled by `newsbot poll --once`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.fake_servers.feeds import Entry, FeedServer, Route, rss
from tests.newsbot.test_cli import newsbot, server, write_config

__all__ = ["server"]  # the fixture, shared with test_cli


def entry(number: int, title: str, days_ago: float) -> Entry:
    return Entry(
        title=title,
        link=f"https://example.org/news/{number}",
        guid=f"example-{number}",
        description=f"Report number {number}: {title}.",
        published=datetime.now(UTC) - timedelta(days=days_ago),
    )


async def test_search_prints_json_lines_newest_first(server: FeedServer, tmp_path: Path) -> None:
    entries = [
        entry(1, "CSTO troops leave Kazakhstan", 10),
        entry(2, "Weather in Almaty", 1),
        entry(3, "Саммит ОДКБ: Тоқаев выступил", 2),
        entry(4, "Tokayev meets the CSTO secretary", 3),
    ]
    config = str(write_config(tmp_path, {"Local": server.serve("/feed", Route(rss(entries)))}))
    assert (await newsbot(tmp_path, "poll", "--once", "--config", config)).status == 0

    found = await newsbot(tmp_path, "search", "Tokayev", "--json", "--config", config)
    assert (found.status, found.stderr) == (0, "")
    hits = found.json_lines()
    assert [h["title"] for h in hits] == ["Саммит ОДКБ: Тоқаев выступил", "Tokayev meets the CSTO secretary"]
    assert hits[0]["terms"] == ["Тоқаев"]
    assert hits[0]["outlet"] == "Local"
    assert hits[0]["url"] == "https://example.org/news/3"
    assert hits[0]["also_in"] == []
    assert {"id", "published", "topics"} <= set(hits[0])

    recent = await newsbot(tmp_path, "search", "CSTO OR ОДКБ", "--since", "7d", "--json", "--config", config)
    assert [h["url"] for h in recent.json_lines()] == [
        "https://example.org/news/3",
        "https://example.org/news/4",
    ]
    in_query = await newsbot(tmp_path, "search", "CSTO since:7d", "--json", "--config", config)
    assert [h["url"] for h in in_query.json_lines()] == ["https://example.org/news/4"]

    first = await newsbot(tmp_path, "search", "CSTO OR ОДКБ", "--limit", "1", "--config", config)
    assert first.stdout.startswith(f"{(datetime.now(UTC) - timedelta(days=2)):%Y-%m-%d}")
    assert "«ОДКБ»" in first.stdout
    cursor = first.stderr.split("--after ")[1].strip()
    rest = await newsbot(tmp_path, "search", "CSTO OR ОДКБ", "--after", cursor, "--json", "--config", config)
    assert [h["url"] for h in rest.json_lines()] == [
        "https://example.org/news/4",
        "https://example.org/news/1",
    ]


async def test_bad_search_input_is_one_line(tmp_path: Path) -> None:
    config = str(write_config(tmp_path, {}))
    malformed = await newsbot(tmp_path, "search", "(SCO OR", "--config", config)
    assert (malformed.status, malformed.stdout) == (2, "")
    assert (
        malformed.stderr
        == "newsbot: expected a word, phrase or '(', found the end of the query at position 7\n"
    )
    for args in (("--since", "soon"), ("--limit", "0"), ("--after", "nonsense")):
        result = await newsbot(tmp_path, "search", "SCO", *args, "--config", config)
        assert result.status == 2
        assert len(result.stderr.splitlines()) == 1
    empty = await newsbot(tmp_path, "search", "SCO", "--config", config)
    assert (empty.status, empty.stdout, empty.stderr) == (0, "", "newsbot: no archived article matches\n")


async def test_article_text_cannot_drive_the_terminal(server: FeedServer, tmp_path: Path) -> None:
    # A JSON Feed: XML parsers drop the escape character, JSON keeps it all the way to the archive.
    hostile = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Local",
        "items": [
            {
                "id": "hostile-1",
                "url": "https://example.org/news/1?\x1b]0;pwned\x07",
                "title": "CSTO \x1b[2J\x1b[31msummit",
                "content_text": "CSTO \x1b[5mblinks",
                "date_published": datetime.now(UTC).isoformat(),
            }
        ],
    }
    feed = server.serve(
        "/feed.json", Route(json.dumps(hostile).encode(), content_type="application/feed+json")
    )
    config = str(write_config(tmp_path, {"Local": feed}))
    assert (await newsbot(tmp_path, "poll", "--once", "--config", config)).status == 0

    found = await newsbot(tmp_path, "search", "CSTO", "--config", config)
    as_json = await newsbot(tmp_path, "search", "CSTO", "--json", "--config", config)
    listed = await newsbot(tmp_path, "outlets", "list", "--config", config)

    assert found.status == listed.status == 0
    assert "summit" in found.stdout
    assert as_json.json_lines()[0]["title"] == "CSTO \x1b[2J\x1b[31msummit"  # the archive kept it
    assert "\x1b" not in found.stdout + found.stderr + listed.stdout + listed.stderr
