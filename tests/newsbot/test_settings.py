"""Settings: defaults, TOML, NEWSBOT_<SECTION>_<KEY> overrides, secrets only from env, clear errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from core.models import OutletKind, OutletSpec, Topic
from core.scheduling import SchedulePolicy
from newsbot.defaults import DEFAULT_OUTLETS, DEFAULT_TOPICS
from newsbot.settings import (
    ConfigError,
    FetchSettings,
    Secret,
    Settings,
    SlackSettings,
    StorageSettings,
    TelegramSettings,
    load_settings,
    parse_duration,
    parse_retention,
)

TOKEN = "123456:AAE-secret-telegram-token"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "newsbot.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> Settings:
    return load_settings(write(tmp_path, text), environ or {})


# ---- defaults ----


def test_no_file_and_no_environment_gives_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    settings = load_settings(None, {})

    assert settings == Settings()
    assert settings.storage == StorageSettings(url="sqlite+aiosqlite:///newsbot.db")
    assert settings.telegram == TelegramSettings(api_url="https://api.telegram.org/bot")
    assert (settings.slack.api_url, settings.slack.mode, settings.slack.port) == (
        "https://slack.com/api/",
        "http",
        3000,
    )
    assert settings.fetch.timeout == timedelta(seconds=20)
    assert (settings.fetch.allow_private_networks, settings.fetch.max_bytes) == (False, 10_485_760)
    assert settings.fetch.user_agent.startswith("newsbot/")
    assert settings.stories.window == timedelta(hours=72)
    assert not settings.has_chat


def test_defaults_cover_the_outlets_and_topics_the_spec_names() -> None:
    settings = Settings()

    assert len(settings.outlets) >= 12
    assert len({outlet.url for outlet in settings.outlets}) == len(settings.outlets)
    assert {"Tasmagambetov", "Tokayev", "SCO", "CSTO", "JICA"} <= {topic.name for topic in settings.topics}


def test_an_explicit_path_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"

    with pytest.raises(ConfigError, match=r"missing\.toml does not exist"):
        load_settings(missing, {})


def test_newsbot_toml_in_the_working_directory_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, '[slack]\nmode = "socket"\n')
    monkeypatch.chdir(tmp_path)

    assert load_settings(None, {}).slack.mode == "socket"


# ---- TOML ----


def test_toml_values_are_read_and_typed(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        """
[storage]
url = "postgresql+asyncpg://newsbot@db/newsbot"

[telegram]
api_url = "http://127.0.0.1:8081/bot"
admins = [123456789]
editors = [-1001234567890]
allowed_chats = [-1001, -1002]

[slack]
api_url = "http://127.0.0.1:3001/api/"
mode = "socket"
port = 3100
editors = ["C0EDITORS"]

[fetch]
allow_private_networks = true
max_bytes = 1_048_576
timeout = "1.5m"
user_agent = "test-agent/1"
""",
    )

    assert settings.storage == StorageSettings("postgresql+asyncpg://newsbot@db/newsbot")
    assert not settings.storage.is_embedded
    assert settings.telegram == TelegramSettings(
        token=None,
        api_url="http://127.0.0.1:8081/bot",
        admins=(123456789,),
        editors=(-1001234567890,),
        allowed_chats=(-1001, -1002),
    )
    assert settings.slack == SlackSettings(
        api_url="http://127.0.0.1:3001/api/", mode="socket", port=3100, editors=("C0EDITORS",)
    )
    assert settings.fetch == FetchSettings(
        allow_private_networks=True,
        max_bytes=1_048_576,
        timeout=timedelta(seconds=90),
        user_agent="test-agent/1",
    )
    assert (settings.outlets, settings.topics) == (DEFAULT_OUTLETS, DEFAULT_TOPICS)


def test_the_schedule_section_and_its_environment_overrides(tmp_path: Path) -> None:
    toml = (
        '[schedule]\nmin_interval = "30s"\nmax_interval = "6h"\nmax_backoff = "1d"\ndeactivate_after = 20\n'
    )

    settings = load(tmp_path, toml, {"NEWSBOT_SCHEDULE_MAX_INTERVAL": "2h"})

    assert settings.schedule == SchedulePolicy(
        min_interval=timedelta(seconds=30),
        max_interval=timedelta(hours=2),
        max_backoff=timedelta(days=1),
        deactivate_after=20,
    )
    assert Settings().schedule == SchedulePolicy(
        timedelta(minutes=2), timedelta(hours=1), timedelta(hours=6), 50
    )


def test_outlets_and_topics_in_toml_replace_the_defaults(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        """
[[outlets]]
name = "Azattyq"
url = "https://rus.azattyq.example/api/feed"
interval = "10m"

[[outlets]]
url = "https://t.me/s/example"
kind = "telegram"

[[topics]]
name = "CSTO"
query = 'CSTO OR ОДКБ'
aliases = ["ҰҚШҰ"]
""",
    )

    assert settings.outlets == (
        OutletSpec("Azattyq", "https://rus.azattyq.example/api/feed", OutletKind.FEED, timedelta(minutes=10)),
        OutletSpec(
            "https://t.me/s/example", "https://t.me/s/example", OutletKind.TELEGRAM, timedelta(minutes=5)
        ),
    )
    assert settings.topics == (Topic("CSTO", "CSTO OR ОДКБ", ("ҰҚШҰ",)),)


# ---- environment overrides ----


@pytest.mark.parametrize(
    ("variable", "value", "read", "expected"),
    [
        pytest.param(
            "NEWSBOT_FETCH_ALLOW_PRIVATE_NETWORKS",
            "yes",
            lambda s: s.fetch.allow_private_networks,
            True,
            id="bool",
        ),
        pytest.param(
            "NEWSBOT_FETCH_ALLOW_PRIVATE_NETWORKS",
            "0",
            lambda s: s.fetch.allow_private_networks,
            False,
            id="bool-0",
        ),
        pytest.param("NEWSBOT_SLACK_PORT", "8080", lambda s: s.slack.port, 8080, id="int"),
        pytest.param(
            "NEWSBOT_STORIES_WINDOW",
            "48h",
            lambda s: s.stories.policy.window,
            timedelta(hours=48),
            id="story-window",
        ),
        pytest.param(
            "NEWSBOT_FETCH_MAX_BYTES", "1_000", lambda s: s.fetch.max_bytes, 1000, id="int-underscores"
        ),
        pytest.param(
            "NEWSBOT_TELEGRAM_ADMINS", "[1, 2]", lambda s: s.telegram.admins, (1, 2), id="list-json"
        ),
        pytest.param(
            "NEWSBOT_TELEGRAM_EDITORS", "-1001,-1002", lambda s: s.telegram.editors, (-1001, -1002), id="csv"
        ),
        pytest.param(
            "NEWSBOT_TELEGRAM_ALLOWED_CHATS", "", lambda s: s.telegram.allowed_chats, (), id="empty-list"
        ),
        pytest.param(
            "NEWSBOT_SLACK_EDITORS",
            '["C1", "C2"]',
            lambda s: s.slack.editors,
            ("C1", "C2"),
            id="str-list-json",
        ),
        pytest.param(
            "NEWSBOT_FETCH_TIMEOUT", "45s", lambda s: s.fetch.timeout, timedelta(seconds=45), id="duration"
        ),
        pytest.param(
            "NEWSBOT_FETCH_TIMEOUT", "2", lambda s: s.fetch.timeout, timedelta(seconds=2), id="seconds"
        ),
        pytest.param(
            "NEWSBOT_STORAGE_URL",
            "sqlite+aiosqlite:////var/lib/newsbot.db",
            lambda s: s.storage.url,
            "sqlite+aiosqlite:////var/lib/newsbot.db",
            id="storage-url",
        ),
        pytest.param("NEWSBOT_SLACK_MODE", "socket", lambda s: s.slack.mode, "socket", id="mode"),
    ],
)
def test_environment_overrides_the_file(
    tmp_path: Path, variable: str, value: str, read: Callable[[Settings], object], expected: object
) -> None:
    toml = """
[fetch]
allow_private_networks = true
max_bytes = 5
timeout = "1h"
[slack]
port = 1
editors = ["C0FILE"]
mode = "http"
[telegram]
admins = [9]
editors = [9]
allowed_chats = [9]
"""

    settings = load(tmp_path, toml, {variable: value})

    assert read(settings) == expected


def test_comma_separated_strings_are_stripped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    settings = load_settings(None, {"NEWSBOT_SLACK_EDITORS": "C1, C2"})

    assert settings.slack.editors == ("C1", "C2")


# ---- secrets ----


def test_secrets_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    environ = {
        "NEWSBOT_TELEGRAM_TOKEN": TOKEN,
        "NEWSBOT_SLACK_BOT_TOKEN": "xoxb-secret",
        "NEWSBOT_SLACK_SIGNING_SECRET": "signing-secret",
        "NEWSBOT_SLACK_APP_TOKEN": "xapp-secret",
    }

    settings = load_settings(None, environ)

    assert settings.telegram.token == Secret(TOKEN)
    assert (settings.slack.bot_token, settings.slack.signing_secret, settings.slack.app_token) == (
        Secret("xoxb-secret"),
        Secret("signing-secret"),
        Secret("xapp-secret"),
    )
    assert settings.has_chat


def test_an_empty_secret_variable_means_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    settings = load_settings(None, {"NEWSBOT_TELEGRAM_TOKEN": ""})

    assert settings.telegram.token is None
    assert not settings.has_chat


def test_secrets_never_show_in_repr_or_str(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(
        None, {"NEWSBOT_TELEGRAM_TOKEN": TOKEN, "NEWSBOT_SLACK_BOT_TOKEN": "xoxb-secret"}
    )
    token = settings.telegram.token
    assert token is not None

    shown = [repr(settings), str(settings), repr(settings.telegram), repr(token), str(token), f"{token}"]

    assert token.value == TOKEN
    assert [TOKEN in text or "xoxb-secret" in text for text in shown] == [False] * len(shown)
    assert "Secret('********')" in repr(settings.telegram)


def test_webhook_mode_takes_its_url_from_the_file_and_its_secret_from_the_environment(
    tmp_path: Path,
) -> None:
    settings = load(
        tmp_path,
        '[telegram]\nwebhook_url = "https://bot.example.org/telegram/updates"\nwebhook_port = 8080\n',
        {"NEWSBOT_TELEGRAM_WEBHOOK_SECRET": "s3cret_-token", "NEWSBOT_TELEGRAM_WEBHOOK_LISTEN": "10.0.0.5"},
    )

    telegram = settings.telegram
    assert telegram.is_webhook
    assert (telegram.webhook_url, telegram.webhook_listen, telegram.webhook_port) == (
        "https://bot.example.org/telegram/updates",
        "10.0.0.5",
        8080,
    )
    assert telegram.webhook_secret == Secret("s3cret_-token")
    assert "s3cret_-token" in settings.secrets
    assert not TelegramSettings().is_webhook  # long polling by default


@pytest.mark.parametrize(
    ("text", "environ", "problem"),
    [
        pytest.param(
            '[telegram]\nwebhook_url = "http://bot.example.org/hook"\n',
            {"NEWSBOT_TELEGRAM_WEBHOOK_SECRET": "abc"},
            "https://",
            id="plain-http",
        ),
        pytest.param(
            '[telegram]\nwebhook_url = "https://bot.example.org/hook"\n', {}, "WEBHOOK_SECRET", id="no-secret"
        ),
        pytest.param(
            "",
            {"NEWSBOT_TELEGRAM_WEBHOOK_SECRET": "has spaces"},
            "NEWSBOT_TELEGRAM_WEBHOOK_SECRET",
            id="bad-secret",
        ),
        pytest.param("[telegram]\nwebhook_port = 70000\n", {}, "webhook_port", id="port"),
    ],
)
def test_a_bad_webhook_setting_is_an_error_naming_it(
    tmp_path: Path, text: str, environ: dict[str, str], problem: str
) -> None:
    with pytest.raises(ConfigError, match=problem):
        load(tmp_path, text, environ)


@pytest.mark.parametrize(
    ("section", "key", "variable"),
    [
        ("telegram", "token", "NEWSBOT_TELEGRAM_TOKEN"),
        ("telegram", "webhook_secret", "NEWSBOT_TELEGRAM_WEBHOOK_SECRET"),
        ("slack", "bot_token", "NEWSBOT_SLACK_BOT_TOKEN"),
        ("slack", "signing_secret", "NEWSBOT_SLACK_SIGNING_SECRET"),
        ("slack", "app_token", "NEWSBOT_SLACK_APP_TOKEN"),
    ],
)
def test_a_secret_in_the_file_is_an_error_naming_the_variable(
    tmp_path: Path, section: str, key: str, variable: str
) -> None:
    with pytest.raises(ConfigError) as error:
        load(tmp_path, f'[{section}]\n{key} = "{TOKEN}"\n')

    assert variable in str(error.value)
    assert TOKEN not in str(error.value)


# ---- errors name what is wrong ----


@pytest.mark.parametrize(
    ("toml", "environ", "named"),
    [
        pytest.param("[telegarm]\n", {}, "[telegarm]", id="unknown-section"),
        pytest.param("[telegram]\nadmin = [1]\n", {}, "[telegram] admin", id="unknown-key"),
        pytest.param("", {"NEWSBOT_TELEGRAM_TOKN": "x"}, "NEWSBOT_TELEGRAM_TOKN", id="unknown-env-var"),
        pytest.param('[fetch]\ntimeout = "soon"\n', {}, "[fetch] timeout", id="bad-duration"),
        pytest.param('[fetch]\ntimeout = "0s"\n', {}, "[fetch] timeout", id="zero-duration"),
        pytest.param(
            "", {"NEWSBOT_FETCH_TIMEOUT": "5 minutes"}, "NEWSBOT_FETCH_TIMEOUT", id="bad-env-duration"
        ),
        pytest.param('[storage]\nurl = "mysql://db"\n', {}, "[storage] url", id="bad-storage-url"),
        pytest.param("", {"NEWSBOT_STORAGE_URL": "sqlite:///x.db"}, "NEWSBOT_STORAGE_URL", id="sync-driver"),
        pytest.param("[storage]\nurl = 5\n", {}, "[storage] url", id="storage-url-not-a-string"),
        pytest.param('[slack]\nmode = "rtm"\n', {}, "[slack] mode", id="bad-mode"),
        pytest.param("", {"NEWSBOT_SLACK_PORT": "http"}, "NEWSBOT_SLACK_PORT", id="bad-int"),
        pytest.param(
            "", {"NEWSBOT_FETCH_ALLOW_PRIVATE_NETWORKS": "maybe"}, "NEWSBOT_FETCH_ALLOW", id="bad-bool"
        ),
        pytest.param("", {"NEWSBOT_TELEGRAM_ADMINS": "[1, 2"}, "NEWSBOT_TELEGRAM_ADMINS", id="bad-json"),
        pytest.param(
            "", {"NEWSBOT_TELEGRAM_ADMINS": "1,alice"}, "NEWSBOT_TELEGRAM_ADMINS", id="bad-list-item"
        ),
        pytest.param('storage = "sqlite"\n', {}, "[storage]", id="section-not-a-table"),
        pytest.param('[[outlets]]\nname = "No URL"\n', {}, "url", id="outlet-missing-url"),
        pytest.param(
            '[[outlets]]\nurl = "https://x.example"\nfeed = 1\n', {}, "feed", id="outlet-unknown-key"
        ),
        pytest.param(
            '[[outlets]]\nurl = "https://x.example"\ninterval = "often"\n',
            {},
            "interval",
            id="outlet-interval",
        ),
        pytest.param('[[outlets]]\nurl = "https://x.example"\nkind = "rss"\n', {}, "kind", id="outlet-kind"),
        pytest.param('outlets = "https://x.example"\n', {}, "[[outlets]]", id="outlets-not-tables"),
        pytest.param('[[topics]]\nname = "CSTO"\n', {}, "query", id="topic-missing-query"),
        pytest.param('[schedule]\nmin_interval = "never"\n', {}, "[schedule] min_interval", id="bad-min"),
        pytest.param("[schedule]\ndeactivate_after = 0\n", {}, "[schedule] deactivate_after", id="deact-0"),
        pytest.param(
            "",
            {"NEWSBOT_SCHEDULE_DEACTIVATE_AFTER": "-1"},
            "NEWSBOT_SCHEDULE_DEACTIVATE_AFTER",
            id="deact-env",
        ),
        pytest.param(
            '[schedule]\nmin_interval = "2h"\nmax_interval = "1h"\n', {}, "min_interval", id="min-over-max"
        ),
    ],
)
def test_bad_config_is_a_config_error_naming_the_key(
    tmp_path: Path, toml: str, environ: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigError) as error:
        load(tmp_path, toml, environ)

    assert named in str(error.value)


def test_malformed_toml_is_a_config_error_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        load(tmp_path, "[telegram\nadmins = [1]\n")

    assert "newsbot.toml is not valid TOML" in str(error.value)


def test_an_outlet_error_says_which_outlet(tmp_path: Path) -> None:
    toml = '[[outlets]]\nurl = "https://a.example"\n\n[[outlets]]\nname = "B"\n'

    with pytest.raises(ConfigError, match=r"\[\[outlets\]\] #2: missing key url"):
        load(tmp_path, toml)


def test_a_config_file_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "newsbot.toml"
    path.write_bytes('[[topics]]\nname = "CSTO"\nquery = "ОДКБ"\n'.encode("cp1251"))

    with pytest.raises(ConfigError, match=r"newsbot\.toml"):
        load_settings(path, {})


@pytest.mark.parametrize(
    ("toml", "environ"),
    [
        pytest.param("", {"NEWSBOT_FETCH_TIMEOUT": "99999999999d"}, id="huge-env"),
        pytest.param("[fetch]\ntimeout = inf\n", {}, id="toml-inf"),
    ],
)
def test_an_out_of_range_duration_is_a_config_error(
    tmp_path: Path, toml: str, environ: dict[str, str]
) -> None:
    with pytest.raises(ConfigError, match=r"(?i)timeout"):
        load(tmp_path, toml, environ)


# ---- durations ----


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("20s", timedelta(seconds=20)),
        ("5m", timedelta(minutes=5)),
        ("1h", timedelta(hours=1)),
        ("1d", timedelta(days=1)),
        ("250ms", timedelta(milliseconds=250)),
        ("1.5h", timedelta(minutes=90)),
        (" 10 m ", timedelta(minutes=10)),
        ("30", timedelta(seconds=30)),
        (30, timedelta(seconds=30)),
        (0.5, timedelta(milliseconds=500)),
    ],
)
def test_parse_duration(value: object, expected: timedelta) -> None:
    assert parse_duration(value) == expected


@pytest.mark.parametrize("value", ["", "soon", "5 minutes", "5M", "-5m", "0", 0, -1, True])
def test_parse_duration_rejects(value: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("180d", timedelta(days=180)),
        ("3650d", timedelta(days=3650)),
        ("12h", timedelta(hours=12)),
        ("forever", None),
    ],
)
def test_parse_retention(value: str, expected: timedelta | None) -> None:
    assert parse_retention(value) == expected


@pytest.mark.parametrize("value", ["", "5m", "0d", "40000d", "soon", 180, True])
def test_parse_retention_rejects(value: object) -> None:
    with pytest.raises(ValueError, match=r"retention|duration"):
        parse_retention(value)


def test_body_retention_is_read_from_the_file_and_the_environment(tmp_path: Path) -> None:
    assert Settings().storage.body_retention == timedelta(days=180)
    assert load(tmp_path, '[storage]\nbody_retention = "30d"\n').storage.body_retention == timedelta(days=30)
    environ = {"NEWSBOT_STORAGE_BODY_RETENTION": "forever"}
    assert load(tmp_path, "", environ).storage.body_retention is None
    with pytest.raises(ConfigError, match="body_retention"):
        load(tmp_path, '[storage]\nbody_retention = "soon"\n')


def test_the_delivery_timezone_is_an_iana_name_from_the_file_or_the_environment(tmp_path: Path) -> None:
    assert Settings().delivery.timezone == "UTC"
    berlin = load(tmp_path, '[delivery]\ntimezone = "Europe/Berlin"\n').delivery
    assert (berlin.timezone, berlin.zone.key) == ("Europe/Berlin", "Europe/Berlin")
    environ = {"NEWSBOT_DELIVERY_TIMEZONE": "Asia/Almaty"}
    assert (
        load(tmp_path, '[delivery]\ntimezone = "Europe/Berlin"\n', environ).delivery.timezone == "Asia/Almaty"
    )


@pytest.mark.parametrize(
    "name", ["Mars/Olympus", "CEST+2", "../../etc/passwd", "", "/usr/share/zoneinfo/UTC"]
)
def test_an_unknown_delivery_timezone_is_a_config_error_naming_the_key(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError, match=r"^\[delivery\] timezone: unknown time zone"):
        load(tmp_path, f'[delivery]\ntimezone = "{name}"\n')
    with pytest.raises(ConfigError, match=r"^NEWSBOT_DELIVERY_TIMEZONE: unknown time zone"):
        load(tmp_path, "", {"NEWSBOT_DELIVERY_TIMEZONE": name})
