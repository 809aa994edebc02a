"""The `newsbot` command line: run, poll, outlets, topics and db, per SPEC "Setup and commands"."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO
from urllib.parse import urlsplit

from sqlalchemy.exc import SQLAlchemyError

from bot.console import ConsoleChannel, clean, highlight
from core.models import Alert, ArticleText, Destination, OutletKind, OutletSpec, Platform, Topic
from core.polling import PollReport, poll_outlets
from core.query import QuerySyntaxError
from core.search import MAX_LIMIT, Cursor, SearchHit, SearchRequest, parse_age, search_archive, sort_time
from core.watchlist import compile_watchlist, expansions
from newsbot import __version__
from newsbot.bootstrap import App, fetch_policy, open_app, utc_now
from newsbot.runtime import Runtime, deliver_all_due
from newsbot.settings import ConfigError, Settings, load_settings, parse_duration
from newsbot.terminal import ProgressBar
from storage.database import create_engine
from storage.migrate import current_revision, upgrade
from watchers.fetch import Fetcher, FetchError, Response
from watchers.guard import refusal_reason
from watchers.parse import ParsedFeed, ParseError, page_text, parse_feed

log = logging.getLogger("newsbot")

Handler = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]


class CommandError(Exception):
    """Bad input from the user: printed as one line, exit status 1."""


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line instead of a usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"newsbot: {message} (see `newsbot --help`)\n")


# ---- run and poll ----


async def run_command(args: argparse.Namespace, settings: Settings) -> int:
    async with open_app(settings, sys.stdout) as app:
        if app.console is not None:
            print("newsbot: no chat token set; alerts are printed here", file=sys.stderr)
        await Runtime(app).run()
    return 0


async def poll_command(args: argparse.Namespace, settings: Settings) -> int:
    if not args.once:
        raise CommandError("poll needs --once (`newsbot run` keeps polling on a schedule)")
    async with open_app(settings, sys.stdout, as_json=args.json) as app:
        now = utc_now()
        outlets = await (
            app.archive.due_outlets(now) if args.due else app.archive.list_outlets(enabled_only=True)
        )
        progress = ProgressBar(sys.stderr, len(outlets), "outlets")
        reports = await poll_outlets(
            outlets,
            app.watcher,
            app.archive,
            app.watchlist,
            now,
            lambda: 0.5,
            on_done=progress.advance,
        )
        progress.close()
        for report in reports:
            if report.error:
                print(f"newsbot: {report.outlet.name}: {report.error}", file=sys.stderr)
        await print_unqueued_matches(app, reports, ConsoleChannel(sys.stdout, as_json=args.json))
        await deliver_all_due(app)
        print_poll_summary(reports, sys.stderr)
    return 0


async def print_unqueued_matches(app: App, reports: Sequence[PollReport], channel: ConsoleChannel) -> None:
    """Show matches that have no console alert row: an outlet's first read, or when chats get the alerts.

    A first read alerts nobody (no backfill flood in the chats), but the person who asked for
    this poll sees what it found.
    """
    terminal = Destination(0, Platform.CONSOLE, "stdout")
    for report in reports:
        if report.is_baseline or app.console is None:
            for found in report.matched:
                await channel.send(terminal, Alert(0, terminal, found.article, found.matches))


def print_poll_summary(reports: Sequence[PollReport], stream: TextIO) -> None:
    if not stream.isatty():
        return
    failed = sum(1 for report in reports if report.error)
    new = sum(report.new_articles for report in reports)
    matched = sum(len(report.matched) for report in reports)
    print(
        f"newsbot: polled {len(reports)} outlets ({failed} failed): {new} new articles, {matched} matched",
        file=stream,
    )


# ---- outlets ----


async def outlets_list_command(args: argparse.Namespace, settings: Settings) -> int:
    async with open_app(settings, sys.stdout) as app:
        for outlet in await app.archive.list_outlets():
            state = outlet.state
            if state.last_polled_at is None:
                health = "never polled"
            elif state.consecutive_failures:
                health = f"failing ×{state.consecutive_failures}: {state.last_error}"
            else:
                health = f"ok, last success {state.last_success_at:%Y-%m-%d %H:%M} UTC"
            minutes = outlet.interval.total_seconds() / 60
            print(f"{outlet.name}\t{outlet.kind}\tevery {minutes:g} min\t{health}\t{outlet.url}")
    return 0


async def fetch_document(settings: Settings, url: str) -> Response:
    """The successful response at `url`, or a CommandError saying why there is none."""
    reason = refusal_reason(url, settings.fetch.allow_private_networks)
    if reason is not None:
        raise CommandError(f"refused: {reason}")
    async with Fetcher(fetch_policy(settings)) as fetcher:
        response = await fetcher.get(url)
    if isinstance(response, FetchError):
        raise CommandError(f"{url}: {response.reason}")
    if not response.is_ok():
        raise CommandError(f"{url}: HTTP {response.status}")
    return response


async def describe(settings: Settings, url: str) -> ParsedFeed:
    """The feed at `url`, or a CommandError saying why it cannot be watched."""
    feed = parse_feed((await fetch_document(settings, url)).body)
    if isinstance(feed, ParseError):
        raise CommandError(f"{url}: {feed.reason}")
    return feed


async def outlets_check_command(args: argparse.Namespace, settings: Settings) -> int:
    feed = await describe(settings, args.url)
    print(f"feed: {len(feed.items)} items, title {feed.title!r} (read with {feed.parser})")
    return 0


async def outlets_add_command(args: argparse.Namespace, settings: Settings) -> int:
    feed = await describe(settings, args.url)
    name = args.name or feed.title or urlsplit(args.url).hostname or args.url
    spec = OutletSpec(name=name, url=args.url, kind=OutletKind(args.kind), interval=args.interval)
    async with open_app(settings, sys.stdout) as app:
        added = await app.archive.add_outlet(spec, utc_now())
    if added is None:
        raise CommandError(f"an outlet named {name!r} or with that URL is already watched")
    print(f"added {name!r}: {len(feed.items)} items now; only articles published from here on alert")
    return 0


# ---- search ----


async def search_command(args: argparse.Namespace, settings: Settings) -> int:
    request = SearchRequest(args.query, since=args.since, limit=args.limit, after=args.after)
    async with open_app(settings, sys.stdout) as app:
        page = await search_archive(app.search, request, utc_now())
    for hit in page.hits:
        if args.json:
            print(json.dumps(search_record(hit), ensure_ascii=False))
        else:
            published = f"{sort_time(hit.article):%Y-%m-%d %H:%M}"
            print(f"{published}  {clean(hit.article.outlet_name)}  {clean(hit.article.title)}")
            print(f"  {hit.article.url or ''}\n  …{highlight(hit.snippet)}…")
    if not page.hits:
        print("newsbot: no archived article matches", file=sys.stderr)
    if page.next is not None:
        print(f"newsbot: more with --after {page.next.encode()}", file=sys.stderr)
    return 0


def search_record(hit: SearchHit) -> dict[str, object]:
    """A search hit as the JSON line of SPEC "Setup and commands"."""
    article = hit.article
    return {
        "id": article.id,
        "title": article.title,
        "url": article.url,
        "outlet": article.outlet_name,
        "published": sort_time(article).isoformat(),
        "topics": list(hit.topics),
        "terms": list(hit.terms),
        "also_in": list(hit.also_in),
        "snippet": hit.snippet.text,
    }


def argument(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse type whose ValueError message is shown as it is."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return convert


def search_limit(text: str) -> int:
    limit = int(text)
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"--limit must be between 1 and {MAX_LIMIT}")
    return limit


# ---- topics and db ----


async def topics_list_command(args: argparse.Namespace, settings: Settings) -> int:
    for topic in settings.topics:
        aliases = f"\taliases: {', '.join(topic.aliases)}" if topic.aliases else ""
        print(f"{topic.name}\t{topic.query}{aliases}")
    return 0


async def topics_test_command(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0 and print the matched terms on a match, 1 without one, 2 for a malformed query.

    A query that is the name of a configured topic tests that topic, aliases included.
    """
    topic = next((t for t in settings.topics if t.name == args.query), Topic(args.query, args.query))
    spelled = expansions(topic.query)  # parses first, so a bad query is reported as typed
    watchlist = compile_watchlist([topic])
    if topic.aliases:
        print(f"topic {topic.name}: {topic.query} OR {' OR '.join(topic.aliases)}")
    for typed, spellings in spelled.items():
        if spellings != (typed,):
            print(f"{typed} → {', '.join(spellings)}")
    if args.url is not None:
        texts = await texts_at(settings, args.url)
    elif args.text is not None:
        title, _, body = args.text.partition("\n")
        texts = [ArticleText(title=title, body=body)]
    else:
        return 0
    found = [(text, match) for text in texts for match in watchlist.match(text)[:1]]
    for text, match in found:
        print(f"match: {', '.join(match.terms)} (in {match.field}) — {clean(text.title)}")
        print(f"  …{highlight(match.snippet)}…")
    if not found:
        print("no match")
    return 0 if found else 1


async def texts_at(settings: Settings, url: str) -> list[ArticleText]:
    """The items of the feed at `url`, or the text of the page there."""
    response = await fetch_document(settings, url)
    feed = parse_feed(response.body)
    if isinstance(feed, ParsedFeed):
        return [ArticleText(title=item.title, body=item.summary, source=feed.title) for item in feed.items]
    page = page_text(response.body)
    return [ArticleText(title=page.title, body=page.summary)]


async def db_upgrade_command(args: argparse.Namespace, settings: Settings) -> int:
    engine = create_engine(settings.storage.url)
    try:
        await upgrade(engine)
        print(f"database at revision {await current_revision(engine)}")
    finally:
        await engine.dispose()
    return 0


# ---- the parser ----


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="newsbot", description="News monitoring for journalists.")
    parser.add_argument("--version", action="version", version=f"newsbot {__version__}")
    common = OneLineParser(add_help=False)
    common.add_argument(
        "--config", type=Path, help="TOML config (default ./newsbot.toml, then built-in defaults)"
    )
    common.add_argument(
        "-v", "--verbose", action="store_true", help="log what happens, with details of errors"
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    run = commands.add_parser("run", parents=[common], help="scheduler, delivery and chat front-ends")
    run.set_defaults(handler=run_command)

    poll = commands.add_parser("poll", parents=[common], help="poll outlets now and print new alerts")
    poll.add_argument("--once", action="store_true", help="one cycle, then exit")
    poll.add_argument("--due", action="store_true", help="only outlets whose poll time has come")
    poll.add_argument("--json", action="store_true", help="one JSON object per line")
    poll.set_defaults(handler=poll_command)

    search = commands.add_parser("search", parents=[common], help="newest archived articles matching a query")
    search.add_argument("query", help="the topic query language, with since:7d source:NAME lang:ru")
    search.add_argument("--since", type=argument(parse_age), help="only articles this recent: 24h, 7d, 2w")
    search.add_argument("--limit", type=argument(search_limit), default=20)
    search.add_argument("--after", type=argument(Cursor.decode), help="continue after a previous page")
    search.add_argument("--json", action="store_true", help="one JSON object per line")
    search.set_defaults(handler=search_command)

    outlets = commands.add_parser("outlets", help="the outlets newsbot watches")
    outlet_commands = outlets.add_subparsers(dest="action", required=True, parser_class=OneLineParser)
    outlet_commands.add_parser("list", parents=[common]).set_defaults(handler=outlets_list_command)
    add = outlet_commands.add_parser("add", parents=[common], help="watch a new outlet")
    add.add_argument("url")
    add.add_argument("--name")
    add.add_argument("--kind", choices=[OutletKind.FEED.value], default=OutletKind.FEED.value)
    add.add_argument("--interval", type=parse_duration, default=parse_duration("5m"))
    add.set_defaults(handler=outlets_add_command)
    check = outlet_commands.add_parser(
        "check", parents=[common], help="say what a URL is, or why it is refused"
    )
    check.add_argument("url")
    check.set_defaults(handler=outlets_check_command)

    topics = commands.add_parser("topics", help="the topics newsbot matches")
    topic_commands = topics.add_subparsers(dest="action", required=True, parser_class=OneLineParser)
    topic_commands.add_parser("list", parents=[common]).set_defaults(handler=topics_list_command)
    test = topic_commands.add_parser("test", parents=[common], help="does a query match a text?")
    test.add_argument("query")
    source = test.add_mutually_exclusive_group()
    source.add_argument("--text", help="the text to test (its first line counts as the title)")
    source.add_argument("--url", help="a feed (every item is tested) or an article page")
    test.set_defaults(handler=topics_test_command)

    db = commands.add_parser("db", help="the archive database")
    db_commands = db.add_subparsers(dest="action", required=True, parser_class=OneLineParser)
    db_commands.add_parser("upgrade", parents=[common]).set_defaults(handler=db_upgrade_command)
    return parser


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # APScheduler reports every job run at INFO; newsbot logs what the jobs did instead.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def execute(argv: Sequence[str] | None = None) -> int:
    """Run one command; every expected failure ends as one line on stderr and an exit status."""
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose or args.command == "run")
    handler: Handler = args.handler
    try:
        settings = load_settings(args.config, os.environ)
        return asyncio.run(handler(args, settings))
    except (ConfigError, QuerySyntaxError) as error:
        print(f"newsbot: {error}", file=sys.stderr)
        return 2
    except CommandError as error:
        print(f"newsbot: {error}", file=sys.stderr)
        return 1
    except SQLAlchemyError as error:
        log.debug("database error", exc_info=True)
        print(
            f"newsbot: database error: {error.__class__.__name__}: {str(error).splitlines()[0]}",
            file=sys.stderr,
        )
        return 1
    except ConnectionError as error:
        # Outlets' network errors are values; one that escapes is the database being unreachable.
        log.debug("database unreachable", exc_info=True)
        print(f"newsbot: cannot reach the database: {error.strerror or error}", file=sys.stderr)
        return 1
    except OSError as error:
        log.debug("system error", exc_info=True)
        print(f"newsbot: {error.strerror or error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def main() -> NoReturn:
    sys.exit(execute())
