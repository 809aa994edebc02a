"""Alembic environment: runs on the connection storage.migrate hands over, or on its own engine."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from storage.database import create_engine
from storage.tables import metadata


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_with_own_engine(url: str) -> None:
    engine = create_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(run_on)
        await connection.commit()
    await engine.dispose()


handed_over = context.config.attributes.get("connection")
if handed_over is not None:
    run_on(handed_over)
else:
    asyncio.run(run_with_own_engine(context.config.get_main_option("sqlalchemy.url") or ""))
