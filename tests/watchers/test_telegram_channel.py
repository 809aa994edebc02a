"""Public Telegram channels read through the t.me/s/<channel> web preview, and channels that cannot be."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.fake_servers.outlet_pages import sample
from watchers.parse import ParsedFeed, ParseError
from watchers.telegram_channel import channel_name, parse_channel_preview, preview_url


def test_posts_become_items_with_text_date_and_link_newest_first() -> None:
    result = parse_channel_preview(sample("telegram_channel.html"), "https://t.me/s/ordakz", "ordakz")
    assert isinstance(result, ParsedFeed)
    assert result.title == "Orda.kz"
    assert [(item.url, item.published) for item in result.items] == [
        ("https://t.me/ordakz/18233", datetime(2026, 11, 26, 10, 45, 31, tzinfo=UTC)),
        ("https://t.me/ordakz/18232", datetime(2026, 11, 26, 9, 0, tzinfo=UTC)),
        ("https://t.me/ordakz/18230", datetime(2026, 11, 26, 8, 10, 4, tzinfo=UTC)),
    ]
    long_post, photo, first = result.items
    assert first.title == "Тасмагамбетов назначен послом"
    assert first.summary.startswith("Тасмагамбетов назначен послом\nИманғали Тасмағамбетов возглавит")
    assert first.guid == "https://t.me/ordakz/18230"
    assert photo.title == "[photo]"
    assert long_post.title.endswith("…")
    assert len(long_post.title) <= 121
    assert "транспортных коридоров" in long_post.summary


@pytest.mark.parametrize(
    ("page", "final_url", "reason"),
    [
        (
            "telegram_missing.html",
            "https://t.me/no_such_channel_kz",
            "Telegram channel @no_such_channel_kz does not exist or is private",
        ),
        (
            "telegram_private.html",
            "https://t.me/closed_newsroom",
            "Telegram channel @closed_newsroom has no public web preview",
        ),
        (
            "telegram_restricted.html",
            "https://t.me/s/blocked_channel",
            "Telegram channel @blocked_channel is restricted: This channel can’t be displayed because it violated",
        ),
    ],
)
def test_channels_without_posts_to_read_say_why(page: str, final_url: str, reason: str) -> None:
    channel = final_url.rsplit("/", 1)[-1]
    result = parse_channel_preview(sample(page), final_url, channel)
    assert isinstance(result, ParseError)
    assert result.reason.startswith(reason)


@pytest.mark.parametrize(
    ("url", "name", "preview"),
    [
        ("https://t.me/ordakz", "ordakz", "https://t.me/s/ordakz"),
        ("https://t.me/s/ordakz", "ordakz", "https://t.me/s/ordakz"),
        ("t.me/ordakz/18230", "ordakz", "https://t.me/s/ordakz"),
        ("https://telegram.me/ordakz", "ordakz", "https://telegram.me/s/ordakz"),
        ("@ordakz", "ordakz", "https://t.me/s/ordakz"),
        ("https://t.me/+AbCdEfGhIjK", None, None),
        ("https://t.me/joinchat/AbCdEf", None, None),
        ("https://example.org/ordakz", None, "https://example.org/s/ordakz"),
        ("https://t.me/", None, None),
    ],
)
def test_channel_names_and_preview_addresses(url: str, name: str | None, preview: str | None) -> None:
    assert channel_name(url) == name
    assert preview_url(url) == preview
