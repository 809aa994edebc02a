"""Settings: one frozen object built once from TOML and NEWSBOT_<SECTION>_<KEY> environment overrides."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.models import OutletKind, OutletSpec, PageSelectors, Topic
from core.scheduling import DEFAULT_POLICY, SchedulePolicy
from core.stories import STORY_WINDOW, StoryPolicy
from newsbot import __version__
from newsbot.defaults import DEFAULT_OUTLETS, DEFAULT_TOPICS
from watchers.page import selector_problem

DEFAULT_CONFIG_PATH = Path("newsbot.toml")
PROJECT_URL = "https://github.com/newsbot/newsbot"


class ConfigError(Exception):
    """A bad config file or environment variable; the message names the key and the problem."""


class Secret:
    """A token that never shows itself in a repr, a log line, a traceback or `dataclasses.asdict`."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other.value == self.value

    def __hash__(self) -> int:
        return hash(self.value)


@dataclass(frozen=True, slots=True)
class StorageSettings:
    url: str = "sqlite+aiosqlite:///newsbot.db"
    # Article summaries older than this are cleared; titles, GUIDs and URLs are kept. None: never.
    body_retention: timedelta | None = timedelta(days=180)

    @property
    def is_embedded(self) -> bool:
        return self.url.startswith("sqlite")


@dataclass(frozen=True, slots=True)
class TelegramSettings:
    token: Secret | None = None
    api_url: str = "https://api.telegram.org/bot"
    admins: tuple[int, ...] = ()
    editors: tuple[int, ...] = ()
    allowed_chats: tuple[int, ...] = ()
    # Webhook mode when set (Telegram posts updates to this public HTTPS URL); long polling otherwise.
    webhook_url: str = ""
    webhook_listen: str = "127.0.0.1"  # where the local server listens, usually behind a TLS proxy
    webhook_port: int = 8443
    webhook_secret: Secret | None = None  # Telegram sends it back in X-Telegram-Bot-Api-Secret-Token

    @property
    def is_webhook(self) -> bool:
        return bool(self.webhook_url)


@dataclass(frozen=True, slots=True)
class SlackSettings:
    bot_token: Secret | None = None
    signing_secret: Secret | None = None
    app_token: Secret | None = None
    api_url: str = "https://slack.com/api/"
    mode: str = "http"
    port: int = 3000
    editors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FetchSettings:
    allow_private_networks: bool = False
    max_bytes: int = 10_485_760
    timeout: timedelta = timedelta(seconds=20)
    user_agent: str = f"newsbot/{__version__} (+{PROJECT_URL})"
    per_host_limit: int = 4
    global_limit: int = 64
    parse_timeout: timedelta = timedelta(seconds=10)
    parse_workers: int = 2


@dataclass(frozen=True, slots=True)
class StoriesSettings:
    window: timedelta = STORY_WINDOW  # near-duplicates join a story first seen at most this long ago

    @property
    def policy(self) -> StoryPolicy:
        return StoryPolicy(window=self.window)


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    # The wall clock of `digest daily HH:MM` and `quiet HH:MM-HH:MM`: an IANA zone name.
    timezone: str = "UTC"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True)
class Settings:
    storage: StorageSettings = StorageSettings()
    telegram: TelegramSettings = TelegramSettings()
    slack: SlackSettings = SlackSettings()
    fetch: FetchSettings = FetchSettings()
    stories: StoriesSettings = StoriesSettings()
    delivery: DeliverySettings = DeliverySettings()
    outlets: tuple[OutletSpec, ...] = DEFAULT_OUTLETS
    topics: tuple[Topic, ...] = DEFAULT_TOPICS
    schedule: SchedulePolicy = DEFAULT_POLICY

    @property
    def has_chat(self) -> bool:
        """True when a chat platform has a token; otherwise alerts go to the console."""
        return self.telegram.token is not None or self.slack.bot_token is not None

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every configured secret's value, for the log filter that keeps them out of log lines."""
        held = (
            self.telegram.token,
            self.telegram.webhook_secret,
            self.slack.bot_token,
            self.slack.signing_secret,
            self.slack.app_token,
        )
        return tuple(secret.value for secret in held if secret is not None and secret.value)


# ---- value parsers: each takes what TOML or the environment gave and returns the typed value ----

DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_DURATION = timedelta(days=365)
MAX_RETENTION = timedelta(days=36_500)


def parse_duration(value: Any) -> timedelta:
    """`20s`, `5m`, `1h`, `1d` or a number of seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        found = DURATION.match(str(value))
        if found is None:
            raise ValueError(f"expected a duration such as 30s, 5m or 1h, got {value!r}")
        seconds = float(found[1]) * DURATION_UNITS[found[2] or "s"]
    if not 0 < seconds <= MAX_DURATION.total_seconds():
        raise ValueError("a duration must be positive and at most 365d")
    return timedelta(seconds=seconds)


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def parse_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("expected a whole number")
    if isinstance(value, int):
        return value
    return int(str(value).replace("_", "").strip())


def parse_str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {type(value).__name__}")
    return value


def list_of(item: Callable[[Any], Any]) -> Callable[[Any], tuple[Any, ...]]:
    """A TOML array, or in the environment a JSON array or comma-separated values."""

    def parse(value: Any) -> tuple[Any, ...]:
        if isinstance(value, str):
            text = value.strip()
            value = (
                json.loads(text)
                if text.startswith("[")
                else [p.strip() for p in text.split(",") if p.strip()]
            )
        if not isinstance(value, list):
            raise ValueError("expected a list")
        return tuple(item(v) for v in value)

    return parse


def positive(parser: Callable[[Any], int], upper: int | None = None) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        number = parser(value)
        if number <= 0 or (upper is not None and number > upper):
            raise ValueError(
                f"expected a whole number from 1 to {upper}" if upper else "expected a positive number"
            )
        return number

    return parse


def parse_slack_mode(value: Any) -> str:
    mode = parse_str(value)
    if mode not in ("http", "socket"):
        raise ValueError("expected 'http' or 'socket'")
    return mode


def parse_webhook_url(value: Any) -> str:
    """Telegram delivers webhooks only over HTTPS; the path is also the local server's route."""
    url = parse_str(value).strip()
    if url and not re.fullmatch(r"https://[^\s/?#]+(/[^\s?#]*)?", url):
        raise ValueError("expected an https:// URL without query or fragment (Telegram posts only to HTTPS)")
    return url


# Bot API setWebhook secret_token: 1-256 characters A-Z, a-z, 0-9, _ and -.
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


def check_telegram(telegram: TelegramSettings) -> None:
    secret = telegram.webhook_secret
    if secret is not None and WEBHOOK_SECRET.fullmatch(secret.value) is None:
        raise ConfigError(
            "NEWSBOT_TELEGRAM_WEBHOOK_SECRET: expected 1 to 256 characters of A-Z, a-z, 0-9, _ and -"
        )
    # Without the secret anyone who finds the URL could post forged updates as any user.
    if telegram.is_webhook and secret is None:
        raise ConfigError("[telegram] webhook_url needs NEWSBOT_TELEGRAM_WEBHOOK_SECRET to be set")


def parse_retention(value: Any) -> timedelta | None:
    """How long article bodies are kept: hours or days (`180d`), or "forever"."""
    if isinstance(value, str) and value.strip().lower() == "forever":
        return None
    found = DURATION.match(value) if isinstance(value, str) else None
    if found is None or found[2] not in ("h", "d"):
        raise ValueError(f'expected a duration such as 180d, or "forever", got {value!r}')
    seconds = float(found[1]) * DURATION_UNITS[found[2]]
    if not 3600 <= seconds <= MAX_RETENTION.total_seconds():
        raise ValueError("a retention must be between 1h and 36500d")
    return timedelta(seconds=seconds)


def parse_timezone(value: Any) -> str:
    """An IANA time zone name such as Europe/Berlin or Asia/Almaty."""
    name = parse_str(value).strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}: use an IANA name such as Europe/Berlin") from None
    return name


def parse_storage_url(value: Any) -> str:
    url = parse_str(value)
    if not url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise ValueError("expected sqlite+aiosqlite:///PATH or postgresql+asyncpg://…")
    return url


# Every key a section accepts, with its parser. Secrets come only from the environment.
SCHEMA: dict[str, dict[str, Callable[[Any], Any]]] = {
    "storage": {"url": parse_storage_url, "body_retention": parse_retention},
    "telegram": {
        "api_url": parse_str,
        "admins": list_of(parse_int),
        "editors": list_of(parse_int),
        "allowed_chats": list_of(parse_int),
        "webhook_url": parse_webhook_url,
        "webhook_listen": parse_str,
        "webhook_port": positive(parse_int, upper=65535),
    },
    "slack": {
        "api_url": parse_str,
        "mode": parse_slack_mode,
        "port": positive(parse_int, upper=65535),
        "editors": list_of(parse_str),
    },
    "fetch": {
        "allow_private_networks": parse_bool,
        "max_bytes": positive(parse_int),
        "timeout": parse_duration,
        "user_agent": parse_str,
        "per_host_limit": positive(parse_int),
        "global_limit": positive(parse_int),
        "parse_timeout": parse_duration,
        "parse_workers": positive(parse_int, upper=64),
    },
    "schedule": {
        "min_interval": parse_duration,
        "max_interval": parse_duration,
        "max_backoff": parse_duration,
        "deactivate_after": positive(parse_int),
    },
    "stories": {"window": parse_duration},
    "delivery": {"timezone": parse_timezone},
}
SECRETS: dict[str, dict[str, str]] = {
    "telegram": {"token": "NEWSBOT_TELEGRAM_TOKEN", "webhook_secret": "NEWSBOT_TELEGRAM_WEBHOOK_SECRET"},
    "slack": {
        "bot_token": "NEWSBOT_SLACK_BOT_TOKEN",
        "signing_secret": "NEWSBOT_SLACK_SIGNING_SECRET",
        "app_token": "NEWSBOT_SLACK_APP_TOKEN",
    },
}
SECTION_TYPES: dict[str, type[Any]] = {
    "storage": StorageSettings,
    "telegram": TelegramSettings,
    "slack": SlackSettings,
    "fetch": FetchSettings,
    "schedule": SchedulePolicy,
    "stories": StoriesSettings,
    "delivery": DeliverySettings,
}
OUTLET_KEYS = {"name", "url", "kind", "interval", "group", "selectors"}
SELECTOR_KEYS = ("item", "title", "link", "date")
TOPIC_KEYS = {"name", "query", "aliases"}


def load_settings(path: Path | None, environ: Mapping[str, str]) -> Settings:
    """Settings from `path` (else ./newsbot.toml if present, else built-in defaults) and `environ`."""
    document = read_toml(path)
    unknown = set(document) - set(SCHEMA) - {"outlets", "topics"}
    if unknown:
        raise ConfigError(f"unknown section [{sorted(unknown)[0]}]")
    check_environment(environ)
    sections = {name: build_section(name, document.get(name, {}), environ) for name in SCHEMA}
    check_schedule(sections["schedule"])
    check_telegram(sections["telegram"])
    return Settings(
        storage=sections["storage"],
        telegram=sections["telegram"],
        slack=sections["slack"],
        fetch=sections["fetch"],
        stories=sections["stories"],
        delivery=sections["delivery"],
        outlets=parse_outlets(document["outlets"]) if "outlets" in document else DEFAULT_OUTLETS,
        topics=parse_topics(document["topics"]) if "topics" in document else DEFAULT_TOPICS,
        schedule=sections["schedule"],
    )


def check_schedule(schedule: SchedulePolicy) -> None:
    if schedule.min_interval > schedule.max_interval:
        raise ConfigError("[schedule] min_interval is longer than max_interval")


def read_toml(path: Path | None) -> dict[str, Any]:
    if path is None:
        if not DEFAULT_CONFIG_PATH.exists():
            return {}
        path = DEFAULT_CONFIG_PATH
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text (TOML files must be UTF-8)") from None
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror}") from None


def check_environment(environ: Mapping[str, str]) -> None:
    """A misspelt NEWSBOT_ variable is an error, not a silently ignored setting."""
    known = {f"NEWSBOT_{s}_{k}".upper() for s, keys in SCHEMA.items() for k in keys}
    known |= {name for keys in SECRETS.values() for name in keys.values()}
    for name in sorted(environ):
        if name.startswith("NEWSBOT_") and name not in known:
            raise ConfigError(f"unknown environment variable {name}")


def build_section(section: str, table: Any, environ: Mapping[str, str]) -> Any:
    if not isinstance(table, dict):
        raise ConfigError(f"[{section}] must be a table")
    values: dict[str, Any] = {}
    for key, raw in table.items():
        if key in SECRETS.get(section, {}):
            raise ConfigError(
                f"[{section}] {key}: secrets are read only from the environment (set {SECRETS[section][key]})"
            )
        if key not in SCHEMA[section]:
            raise ConfigError(f"unknown key [{section}] {key}")
        values[key] = parse_value(f"[{section}] {key}", SCHEMA[section][key], raw)
    for key, parser in SCHEMA[section].items():
        variable = f"NEWSBOT_{section}_{key}".upper()
        if variable in environ:
            values[key] = parse_value(variable, parser, environ[variable])
    for key, variable in SECRETS.get(section, {}).items():
        if environ.get(variable):
            values[key] = Secret(environ[variable])
    return SECTION_TYPES[section](**values)


def parse_value(where: str, parser: Callable[[Any], Any], raw: Any) -> Any:
    try:
        return parser(raw)
    except (ValueError, TypeError, OverflowError) as error:
        raise ConfigError(f"{where}: {error}") from None


def parse_outlets(entries: Any) -> tuple[OutletSpec, ...]:
    specs = []
    for index, entry in enumerate(table_list("outlets", entries)):
        where = f"[[outlets]] #{index + 1}"
        check_keys(where, entry, OUTLET_KEYS, required={"url"})
        url = parse_value(f"{where} url", parse_str, entry["url"])
        specs.append(
            OutletSpec(
                name=parse_value(f"{where} name", parse_str, entry.get("name", url)),
                url=url,
                kind=parse_value(f"{where} kind", OutletKind, entry.get("kind", "feed")),
                interval=parse_value(f"{where} interval", parse_duration, entry.get("interval", "5m")),
                group=parse_value(f"{where} group", parse_str, entry.get("group", "")),
                selectors=parse_value(f"{where} selectors", parse_selectors, entry.get("selectors", {})),
            )
        )
    return tuple(specs)


def parse_selectors(value: Any) -> PageSelectors:
    """`{ item = "article", title = "h2", link = "h2 a", date = "time" }`: CSS selectors, all optional."""
    if not isinstance(value, dict):
        raise ValueError('expected an inline table such as { item = "article", link = "h2 a" }')
    for key in value:
        if key not in SELECTOR_KEYS:
            raise ValueError(f"unknown selector {key!r} (expected {', '.join(SELECTOR_KEYS)})")
    selectors = PageSelectors(**{key: parse_str(value[key]) for key in SELECTOR_KEYS if key in value})
    problem = selector_problem(selectors)
    if problem is not None:
        raise ValueError(problem)
    return selectors


def parse_topics(entries: Any) -> tuple[Topic, ...]:
    topics = []
    for index, entry in enumerate(table_list("topics", entries)):
        where = f"[[topics]] #{index + 1}"
        check_keys(where, entry, TOPIC_KEYS, required={"name", "query"})
        topics.append(
            Topic(
                name=parse_value(f"{where} name", parse_str, entry["name"]),
                query=parse_value(f"{where} query", parse_str, entry["query"]),
                aliases=parse_value(f"{where} aliases", list_of(parse_str), entry.get("aliases", [])),
            )
        )
    return tuple(topics)


def table_list(name: str, entries: Any) -> list[dict[str, Any]]:
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError(f"{name} must be written as [[{name}]] tables")
    return entries


def check_keys(where: str, entry: dict[str, Any], allowed: set[str], required: set[str]) -> None:
    for key in entry:
        if key not in allowed:
            raise ConfigError(f"unknown key {where} {key}")
    for key in sorted(required - set(entry)):
        raise ConfigError(f"{where}: missing key {key}")
