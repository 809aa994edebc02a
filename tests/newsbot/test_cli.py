"""The `newsbot` command as a user runs it: a subprocess against outlets served on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fake_servers.feeds import FeedServer, Route, news_entry, rss

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Completed:
    status: int
    stdout: str
    stderr: str

    def json_lines(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.stdout.splitlines()]


async def newsbot(cwd: Path, *args: str, **settings: str) -> Completed:
    """Run the CLI in a child process without blocking the loop that serves the fake outlets."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    environment.update(settings, PYTHONPATH=str(REPO))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "newsbot", *args, cwd=cwd, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return Completed(process.returncode, stdout.decode(), stderr.decode())


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as server:
        yield server


def write_config(tmp_path: Path, outlets: dict[str, str]) -> Path:
    blocks = "".join(f'[[outlets]]\nname = "{name}"\nurl = "{url}"\n\n' for name, url in outlets.items())
    config = tmp_path / "newsbot.toml"
    config.write_text(
        ("" if outlets else "outlets = []  # none of the built-in outlets\n")
        + f'[storage]\nurl = "sqlite+aiosqlite:///{tmp_path / "archive.db"}"\n\n'
        f'[fetch]\nallow_private_networks = true\ntimeout = "5s"\n\n{blocks}',
        encoding="utf-8",
    )
    return config


def article_count(tmp_path: Path) -> int:
    with sqlite3.connect(tmp_path / "archive.db") as connection:
        (count,) = connection.execute("SELECT count(*) FROM articles").fetchone()
    return int(count)


async def test_poll_once_prints_matches_once(server: FeedServer, tmp_path: Path) -> None:
    entries = [
        news_entry(1, "CSTO troops leave Kazakhstan"),
        news_entry(2, "Weather in Almaty"),
        news_entry(3, "Саммит ОДКБ: Токаев выступил"),
    ]
    config = write_config(tmp_path, {"Local": server.serve("/feed", Route(rss(entries)))})

    first = await newsbot(tmp_path, "poll", "--once", "--json", "--config", str(config))
    assert (first.status, first.stderr) == (0, "")
    alerts = first.json_lines()
    assert [a["title"] for a in alerts] == ["CSTO troops leave Kazakhstan", "Саммит ОДКБ: Токаев выступил"]
    assert alerts[0]["topics"] == ["CSTO"]
    assert alerts[0]["terms"] == ["CSTO"]
    assert alerts[0]["outlet"] == "Local"
    assert alerts[0]["url"] == "https://example.org/news/1"
    assert alerts[0]["also_in"] == []
    assert set(alerts[1]["topics"]) == {"CSTO", "Tokayev"}
    assert set(alerts[1]["terms"]) == {"ОДКБ", "Токаев"}
    assert {"id", "published"} <= set(alerts[0])
    assert article_count(tmp_path) == 3

    again = await newsbot(tmp_path, "poll", "--once", "--json", "--config", str(config))
    assert (again.status, again.stdout) == (0, "")
    assert article_count(tmp_path) == 3

    server.serve("/feed", Route(rss([news_entry(4, "JICA opens an office in Tashkent"), *entries])))
    later = await newsbot(tmp_path, "poll", "--once", "--json", "--config", str(config))
    assert [a["title"] for a in later.json_lines()] == ["JICA opens an office in Tashkent"]
    assert article_count(tmp_path) == 4


async def test_broken_outlets_get_one_line_each_and_the_rest_is_polled(
    server: FeedServer, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path,
        {
            "Down": "http://127.0.0.1:9/feed",
            "Failing": server.serve("/500", Route(b"boom", status=500)),
            "Page": server.serve(
                "/page", Route(b"<html><body>not a feed</body></html>", content_type="text/html")
            ),
            "Good": server.serve("/feed", Route(rss([news_entry(1, "SCO summit opens")]))),
        },
    )
    result = await newsbot(tmp_path, "poll", "--once", "--json", "--config", str(config))
    assert result.status == 0
    assert [a["title"] for a in result.json_lines()] == ["SCO summit opens"]
    assert sorted(result.stderr.splitlines()) == [
        "newsbot: Down: cannot connect to 127.0.0.1:9: connection refused",
        "newsbot: Failing: HTTP 500",
        "newsbot: Page: not a feed (no RSS, Atom or JSON Feed found)",
    ]


async def test_outlets_add_check_and_list(server: FeedServer, tmp_path: Path) -> None:
    config = write_config(tmp_path, {})
    feed_url = server.serve(
        "/feed", Route(rss([news_entry(1, "One"), news_entry(2, "Two")], title="Kazakh wire"))
    )

    checked = await newsbot(tmp_path, "outlets", "check", feed_url, "--config", str(config))
    assert (checked.status, checked.stdout) == (
        0,
        "feed: 2 items, title 'Kazakh wire' (read with fastfeedparser)\n",
    )

    added = await newsbot(tmp_path, "outlets", "add", feed_url, "--config", str(config))
    assert added.status == 0
    assert "added 'Kazakh wire'" in added.stdout
    twice = await newsbot(tmp_path, "outlets", "add", feed_url, "--config", str(config))
    assert twice.status == 1
    assert "already watched" in twice.stderr

    listed = await newsbot(tmp_path, "outlets", "list", "--config", str(config))
    assert listed.stdout.startswith("Kazakh wire\tfeed\tevery 5 min\tnever polled\t")


async def test_an_outlet_failing_too_often_is_deactivated_listed_and_enabled_again(
    server: FeedServer, tmp_path: Path
) -> None:
    failing = server.serve("/500", Route(b"boom", status=500))
    config = write_config(tmp_path, {"Failing": failing, "Good": server.serve("/feed", Route(rss([])))})
    with config.open("a", encoding="utf-8") as file:
        file.write("[schedule]\ndeactivate_after = 2\n")

    async def poll_and_list() -> tuple[str, dict[str, list[str]]]:
        polled = await newsbot(tmp_path, "poll", "--once", "--config", str(config))
        listed = await newsbot(tmp_path, "outlets", "list", "--config", str(config))
        rows = [line.split("\t") for line in listed.stdout.splitlines()]
        return polled.stderr, {row[0]: row[3:] for row in rows}

    first, rows = await poll_and_list()
    assert first == "newsbot: Failing: HTTP 500\n"
    assert rows["Failing"][0].startswith("backing off until ")
    assert rows["Failing"][0].endswith(" UTC (1 failure)")
    assert rows["Failing"][-1] == "last error: HTTP 500"
    assert rows["Good"][0] == "ok"

    second, rows = await poll_and_list()
    assert second.splitlines() == [
        "newsbot: Failing: HTTP 500",
        "newsbot: Failing: deactivated after 2 failures in a row; "
        "`newsbot outlets enable 'Failing'` polls it again",
    ]
    assert rows["Failing"][0].startswith("deactivated ")
    assert rows["Failing"][-1] == "2 failures in a row, the last: HTTP 500"

    third, _ = await poll_and_list()
    assert third == ""
    assert [path for path, _ in server.requests].count("/500") == 2  # no longer polled

    missing = await newsbot(tmp_path, "outlets", "enable", "Nope", "--config", str(config))
    assert (missing.status, missing.stderr) == (
        1,
        "newsbot: no outlet named 'Nope' (see `newsbot outlets list`)\n",
    )
    enabled = await newsbot(tmp_path, "outlets", "enable", "Failing", "--config", str(config))
    assert (enabled.status, enabled.stdout) == (0, "enabled 'Failing': polled again from the next cycle\n")
    fourth, rows = await poll_and_list()
    assert fourth == "newsbot: Failing: HTTP 500\n"
    assert [path for path, _ in server.requests].count("/500") == 3
    assert rows["Failing"][0].endswith(" UTC (1 failure)")


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (
            ("outlets", "check", "file:///etc/passwd"),
            1,
            "refused: only http and https URLs can be fetched, not 'file'",
        ),
        (
            ("outlets", "check", "http://169.254.169.254/latest"),
            1,
            "refused: 169.254.169.254 is the cloud metadata address",
        ),
        (("poll",), 1, "poll needs --once"),
        (("frobnicate",), 2, "invalid choice: 'frobnicate'"),
        (("topics", "list", "--config", "missing.toml"), 2, "config file missing.toml does not exist"),
    ],
)
async def test_bad_input_is_one_clear_line(
    tmp_path: Path, args: tuple[str, ...], status: int, message: str
) -> None:
    result = await newsbot(tmp_path, *args)
    assert result.status == status
    assert len(result.stderr.splitlines()) == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


async def test_a_bad_config_key_exits_2_naming_it(tmp_path: Path) -> None:
    (tmp_path / "newsbot.toml").write_text('[fetch]\ntimeout = "soon"\n', encoding="utf-8")
    result = await newsbot(tmp_path, "topics", "list")
    assert (result.status, result.stderr) == (
        2,
        "newsbot: [fetch] timeout: expected a duration such as 30s, 5m or 1h, got 'soon'\n",
    )


@pytest.mark.parametrize(
    ("args", "status", "expected"),
    [
        (("Tasmagambetov", "--text", "Визит Тасмагамбетова в Москву"), 0, "match: Тасмагамбетова (in title)"),
        (("SCO", "--text", "Scotland beat SCOTUS at disco"), 1, "no match"),
        (("CSTO", "--text", "Headline\nЛидеры ОДКБ встретились"), 0, "match: ОДКБ (in body)"),
    ],
)
async def test_topics_test_exit_codes(
    tmp_path: Path, args: tuple[str, ...], status: int, expected: str
) -> None:
    result = await newsbot(tmp_path, "topics", "test", *args)
    assert result.status == status
    assert expected in result.stdout


async def test_topics_test_reports_the_error_position(tmp_path: Path) -> None:
    result = await newsbot(tmp_path, "topics", "test", "(SCO OR", "--text", "SCO")
    assert (result.status, result.stdout) == (2, "")
    assert (
        result.stderr == "newsbot: expected a word, phrase or '(', found the end of the query at position 7\n"
    )


async def test_topics_test_on_a_feed_url(server: FeedServer, tmp_path: Path) -> None:
    config = write_config(tmp_path, {})
    url = server.serve("/feed", Route(rss([news_entry(1, "CSTO drills"), news_entry(2, "Weather")])))
    result = await newsbot(tmp_path, "topics", "test", "CSTO", "--url", url, "--config", str(config))
    assert result.status == 0
    assert result.stdout.splitlines()[0].startswith("topic CSTO: CSTO OR ОДКБ OR ҰҚШҰ OR")
    assert "match: CSTO (in title) — CSTO drills" in result.stdout.splitlines()
    assert "Weather" not in result.stdout


async def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    result = await newsbot(
        tmp_path, "outlets", "list", NEWSBOT_STORAGE_URL="postgresql+asyncpg://127.0.0.1:9/newsbot"
    )
    assert result.status == 1
    assert result.stderr.startswith("newsbot: cannot reach the database:")
    assert len(result.stderr.splitlines()) == 1
