"""Shared fixtures: a fresh archive database on SQLite and on PostgreSQL, the corpora path, a fake Bot API."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.database import create_engine
from storage.migrate import upgrade
from tests.fake_servers.telegram_api import TelegramApiServer

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
POSTGRES_ADMIN_DSN = os.environ.get("NEWSBOT_TEST_POSTGRES", "postgresql://127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def corpora() -> Path:
    if not CORPORA.is_dir():
        pytest.skip(f"the shared corpora are not beside the repository ({CORPORA})")
    return CORPORA


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database of its own for this test session, dropped afterwards."""
    name = f"newsbot_test_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as error:
        pytest.skip(f"no PostgreSQL reachable at {POSTGRES_ADMIN_DSN}: {error}")
    base = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    yield f"{base}/{name}"
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _reset_schema(url: str) -> None:
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"), timeout=5)
    try:
        await connection.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await connection.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file, or the session's PostgreSQL database with a clean schema."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'newsbot.db'}"
    url: str = request.getfixturevalue("postgres_database")
    asyncio.run(_reset_schema(url))
    return url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated archive database."""
    engine = create_engine(database_url)
    await upgrade(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
async def telegram_api() -> AsyncIterator[TelegramApiServer]:
    """A fake Telegram Bot API on loopback; PTB reaches it with `base_url=f"{telegram_api.url}/bot"`."""
    async with TelegramApiServer() as server:
        yield server
