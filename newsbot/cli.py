"""The `newsbot` command line: run, poll, outlets, topics and db, per SPEC "Setup and commands"."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn, TextIO
from urllib.parse import urlsplit

from sqlalchemy.exc import SQLAlchemyError

from bot.console import ConsoleChannel, article_record, clean, highlight
from bot.telegram.app import TelegramStartError
from core.models import (
    Alert,
    ArticleText,
    Destination,
    Failed,
    FetchOutcome,
    Modified,
    Outlet,
    OutletKind,
    OutletSpec,
    PageSelectors,
    Platform,
    Topic,
)
from core.polling import PollReport, poll_outlets
from core.query import QuerySyntaxError
from core.scheduling import adaptive_interval, describe_health, reactivated
from core.search import MAX_LIMIT, Cursor, SearchHit, SearchRequest, parse_age, search_archive, sort_time
from core.watchlist import compile_watchlist, expansions
from newsbot import __version__
from newsbot.bootstrap import App, fetch_policy, open_app, parser_pool, utc_now
from newsbot.redaction import install_redaction
from newsbot.runtime import Runtime, deliver_everything_due
from newsbot.settings import ConfigError, Settings, load_settings, parse_duration
from newsbot.terminal import ProgressBar
from storage.database import create_engine
from storage.migrate import current_revision, upgrade
from watchers.detect import Identified, Unidentified, identify_outlet
from watchers.fetch import Fetcher, FetchError, Response
from watchers.guard import refusal_reason
from watchers.opml import OpmlError, read_opml, write_opml
from watchers.page import selector_problem
from watchers.parse import ParsedFeed
from watchers.watcher import OutletWatcher
from watchers.workers import FEED, Reader, Reading, reason_of

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
    async with open_app(settings, sys.stdout, serve_chats=True) as app:
        if app.console is not None:
            print("newsbot: no chat token set; alerts are printed here", file=sys.stderr)
        try:
            await Runtime(app).run()
        except TelegramStartError as error:
            raise CommandError(str(error)) from None
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
            policy=settings.schedule,
            stories=app.settings.stories.policy,
        )
        progress.close()
        for report in reports:
            if report.error:
                print(f"newsbot: {clean(report.outlet.name)}: {clean(report.error)}", file=sys.stderr)
            if report.has_deactivated:
                print(
                    f"newsbot: {report.outlet.name}: deactivated after {settings.schedule.deactivate_after} "
                    f"failures in a row; `newsbot outlets enable {report.outlet.name!r}` polls it again",
                    file=sys.stderr,
                )
        await print_unqueued_matches(app, reports, ConsoleChannel(sys.stdout, as_json=args.json))
        await deliver_everything_due(app)
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
        now = utc_now()
        for outlet in await app.archive.list_outlets():
            print("\t".join(clean(column) for column in outlet_columns(outlet, settings, now)))
    return 0


def outlet_columns(outlet: Outlet, settings: Settings, now: datetime) -> list[str]:
    """Name, kind, configured interval, health, URL and group; then pace, last success and error when known."""
    state = outlet.state
    minutes = outlet.interval.total_seconds() / 60
    health = describe_health(state, now)
    columns = [outlet.name, outlet.kind, f"every {minutes:g} min", health, outlet.url, outlet.group or "-"]
    if state.rate_per_hour is not None and not state.is_deactivated:
        pace = adaptive_interval(state.rate_per_hour, outlet.interval, settings.schedule)
        columns.append(f"{state.rate_per_hour:.2g} new/h, polled every {pace.total_seconds() / 60:.3g} min")
    if state.last_success_at is not None:
        columns.append(f"last success {state.last_success_at:%Y-%m-%d %H:%M} UTC")
    if state.deactivation_reason:
        columns.append(state.deactivation_reason)
    elif state.last_error:
        columns.append(f"last error: {state.last_error}")
    return columns


async def outlets_enable_command(args: argparse.Namespace, settings: Settings) -> int:
    async with open_app(settings, sys.stdout) as app:
        outlets = {outlet.name: outlet for outlet in await app.archive.list_outlets()}
        outlet = outlets.get(args.name)
        if outlet is None:
            raise CommandError(f"no outlet named {args.name!r} (see `newsbot outlets list`)")
        await app.archive.enable_outlet(outlet.id, reactivated(outlet.state, utc_now()))
    print(f"enabled {outlet.name!r}: polled again from the next cycle")
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


def parse_selector(value: str) -> tuple[str, str]:
    """`item=article.card` for --selector."""
    key, equals, css = value.partition("=")
    if not equals or key.strip() not in ("item", "title", "link", "date") or not css.strip():
        raise argparse.ArgumentTypeError(f"expected item=CSS, title=CSS, link=CSS or date=CSS, got {value!r}")
    return key.strip(), css.strip()


def selectors_of(args: argparse.Namespace) -> PageSelectors:
    selectors = PageSelectors(**dict(args.selector or ()))
    problem = selector_problem(selectors)
    if problem is not None:
        raise CommandError(problem)
    return selectors


async def identify(
    settings: Settings, url: str, kind: OutletKind | None, selectors: PageSelectors
) -> tuple[Identified, int]:
    """What `url` is and how many items a poll reads from it now, or a CommandError saying why not."""
    if not url.startswith("@") and (reason := refusal_reason(url, settings.fetch.allow_private_networks)):
        raise CommandError(f"refused: {reason}")
    # The URL is user-supplied: everything it serves is parsed in workers with a time limit.
    async with Fetcher(fetch_policy(settings)) as fetcher, parser_pool(settings) as parsers:
        identified = await identify_outlet(fetcher, parsers, url, kind)
        if isinstance(identified, Unidentified):
            raise CommandError(f"{url}: {identified.reason}")
        if identified.kind is OutletKind.PAGE and not selectors.is_empty():
            identified = replace(identified, parser="page-selectors")
        # One poll through the same watcher `run` uses: what it reads now is what it will read.
        outlet = Outlet(
            0, identified.title, identified.url, identified.kind, timedelta(minutes=5), selectors=selectors
        )
        outcome: FetchOutcome = await OutletWatcher(fetcher, parsers).fetch(outlet)
    if isinstance(outcome, Failed):
        raise CommandError(f"{identified.url}: {outcome.reason}")
    return identified, len(outcome.items) if isinstance(outcome, Modified) else 0


def describe(identified: Identified, count: int) -> str:
    noun = {OutletKind.PAGE: "article links", OutletKind.TELEGRAM: "posts"}.get(identified.kind, "items")
    kind = "telegram channel" if identified.kind is OutletKind.TELEGRAM else identified.kind.value
    text = f"{kind}: {count} {noun}, title {identified.title!r} (read with {identified.parser})"
    if identified.note:
        text += f", {identified.note}: {identified.url}"
    if identified.kind is OutletKind.PAGE and count == 0:
        text += "; no article links recognised: name them with --selector item=CSS --selector link=CSS"
    return text


async def outlets_check_command(args: argparse.Namespace, settings: Settings) -> int:
    identified, count = await identify(settings, args.url, kind_of(args), selectors_of(args))
    print(describe(identified, count))
    return 0


async def outlets_add_command(args: argparse.Namespace, settings: Settings) -> int:
    selectors = selectors_of(args)
    identified, count = await identify(settings, args.url, kind_of(args), selectors)
    name = args.name or identified.title or urlsplit(identified.url).hostname or identified.url
    spec = OutletSpec(
        name=name,
        url=identified.url,
        kind=identified.kind,
        interval=args.interval,
        group=args.group or "",
        selectors=selectors,
    )
    async with open_app(settings, sys.stdout) as app:
        added = await app.archive.add_outlet(spec, utc_now())
    if added is None:
        raise CommandError(f"an outlet named {name!r} or with that URL is already watched")
    print(f"added {name!r}: {describe(identified, count)}; only articles published from here on alert")
    return 0


def kind_of(args: argparse.Namespace) -> OutletKind | None:
    """The --kind given; selectors only make sense for a page, so --selector alone means a page."""
    if args.kind:
        return OutletKind(args.kind)
    return OutletKind.PAGE if args.selector else None


# ---- OPML ----


@dataclass(frozen=True, slots=True)
class ImportSummary:
    added: tuple[OutletSpec, ...]
    duplicates: tuple[OutletSpec, ...]
    refused: tuple[tuple[OutletSpec, str], ...]


async def opml_import_command(args: argparse.Namespace, settings: Settings) -> int:
    try:
        document = args.file.read_bytes()
    except OSError as error:
        raise CommandError(f"cannot read {args.file}: {error.strerror or error}") from None
    if len(document) > settings.fetch.max_bytes:
        raise CommandError(f"{args.file} is larger than {settings.fetch.max_bytes} bytes ([fetch] max_bytes)")
    specs = read_opml(document)
    if isinstance(specs, OpmlError):
        raise CommandError(f"{args.file}: {specs.reason}")
    if not specs:
        raise CommandError(f"{args.file}: no outlines with an xmlUrl (nothing to import)")
    async with open_app(settings, sys.stdout) as app:
        progress = ProgressBar(sys.stderr, len(specs), "outlets")
        summary = await import_outlets(app, specs, settings.fetch.allow_private_networks, progress.advance)
        progress.close()
    print(
        f"imported {args.file}: {len(summary.added)} added, "
        f"{len(summary.duplicates)} skipped as duplicates, {len(summary.refused)} refused"
    )
    for spec in summary.duplicates:
        print(f"  duplicate: {clean(spec.name)} ({clean(spec.url)})")
    for spec, reason in summary.refused:
        print(f"  refused: {clean(spec.name)} ({clean(spec.url)}): {clean(reason)}")
    return 0


async def import_outlets(
    app: App, specs: Sequence[OutletSpec], allow_private_networks: bool, on_done: Callable[[], None]
) -> ImportSummary:
    """Add each outlet the guard allows and the archive does not hold yet (by URL)."""
    existing = await app.archive.list_outlets()
    urls = {outlet.url for outlet in existing}
    names = {outlet.name for outlet in existing}
    added: list[OutletSpec] = []
    duplicates: list[OutletSpec] = []
    refused: list[tuple[OutletSpec, str]] = []
    for spec in specs:
        # The same guard as every fetch: a list from elsewhere must not point newsbot inward.
        reason = refusal_reason(spec.url, allow_private_networks) or selector_problem(spec.selectors)
        if reason is not None:
            refused.append((spec, reason))
        elif spec.url in urls:
            duplicates.append(spec)
        else:
            unique = replace(spec, name=unique_name(spec, names))
            if await app.archive.add_outlet(unique, utc_now()) is None:
                duplicates.append(spec)
            else:
                added.append(unique)
                urls.add(unique.url)
                names.add(unique.name)
        on_done()
    return ImportSummary(tuple(added), tuple(duplicates), tuple(refused))


def unique_name(spec: OutletSpec, taken: set[str]) -> str:
    """Two readers' feeds may share a title ("News"); the host, then a number, tells them apart."""
    if spec.name not in taken:
        return spec.name
    candidate = f"{spec.name} ({urlsplit(spec.url).hostname or spec.url})"
    number = 2
    while candidate in taken:
        candidate = f"{spec.name} ({urlsplit(spec.url).hostname or spec.url}, {number})"
        number += 1
    return candidate


async def opml_export_command(args: argparse.Namespace, settings: Settings) -> int:
    async with open_app(settings, sys.stdout) as app:
        outlets = await app.archive.list_outlets()
    specs = [
        OutletSpec(outlet.name, outlet.url, outlet.kind, outlet.interval, outlet.group, outlet.selectors)
        for outlet in sorted(outlets, key=lambda outlet: (outlet.group, outlet.name))
    ]
    document = write_opml(specs, utc_now())
    if args.output is None:
        sys.stdout.buffer.write(document)
        sys.stdout.flush()
    else:
        try:
            args.output.write_bytes(document)
        except OSError as error:
            raise CommandError(f"cannot write {args.output}: {error.strerror or error}") from None
        print(f"exported {len(specs)} outlets to {args.output}", file=sys.stderr)
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
            print(f"  {clean(hit.article.url or '')}\n  …{highlight(hit.snippet)}…")
    if not page.hits:
        print("newsbot: no archived article matches", file=sys.stderr)
    if page.next is not None:
        print(f"newsbot: more with --after {page.next.encode()}", file=sys.stderr)
    return 0


def search_record(hit: SearchHit) -> dict[str, object]:
    """A search hit as the JSON line of SPEC "Setup and commands"."""
    return article_record(hit.article, hit.topics, hit.terms, hit.also_in, hit.snippet.text)


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
    async with parser_pool(settings) as parsers:
        feed = await parsers.parse(response.body, FEED)
        if isinstance(feed, ParsedFeed):
            return [
                ArticleText(title=item.title, body=item.summary, source=feed.title) for item in feed.items
            ]
        page = await parsers.parse(response.body, Reading(Reader.TEXT))
    if not isinstance(page, ParsedFeed):
        raise CommandError(f"{url}: {reason_of(page)}")
    return [ArticleText(title=page.title, body=page.items[0].summary)]


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
    add.add_argument("--interval", type=parse_duration, default=parse_duration("5m"))
    add.add_argument("--group", help="a group for the outlet (an OPML folder on export)")
    check = outlet_commands.add_parser(
        "check", parents=[common], help="say what a URL is, or why it is refused"
    )
    check.add_argument("url")
    for command in (add, check):
        command.add_argument(
            "--kind",
            choices=[kind.value for kind in OutletKind],
            help="skip detection (and feed discovery) and watch the URL as this kind",
        )
        command.add_argument(
            "--selector",
            action="append",
            type=parse_selector,
            metavar="KEY=CSS",
            help="CSS selector for item, title, link or date of a page (repeatable; implies --kind page)",
        )
    add.set_defaults(handler=outlets_add_command)
    check.set_defaults(handler=outlets_check_command)
    enable = outlet_commands.add_parser(
        "enable", parents=[common], help="poll an outlet again after it was deactivated"
    )
    enable.add_argument("name")
    enable.set_defaults(handler=outlets_enable_command)

    opml = commands.add_parser("opml", help="import or export outlets as OPML")
    opml_commands = opml.add_subparsers(dest="action", required=True, parser_class=OneLineParser)
    opml_import = opml_commands.add_parser(
        "import", parents=[common], help="add the outlets of an OPML file (folders become groups)"
    )
    opml_import.add_argument("file", type=Path)
    opml_import.set_defaults(handler=opml_import_command)
    opml_export = opml_commands.add_parser("export", parents=[common], help="write every outlet as OPML")
    opml_export.add_argument("--output", "-o", type=Path, help="a file instead of standard output")
    opml_export.set_defaults(handler=opml_export_command)

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
    # httpx logs every request URL at INFO, and Bot API URLs carry the token (also masked below).
    logging.getLogger("httpx").setLevel(logging.WARNING)


def execute(argv: Sequence[str] | None = None) -> int:
    """Run one command; every expected failure ends as one line on stderr and an exit status."""
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose or args.command == "run")
    handler: Handler = args.handler
    try:
        settings = load_settings(args.config, os.environ)
        install_redaction(settings.secrets)
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
