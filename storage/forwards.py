"""The forwards repository: which articles went to the editors' desk, at most once per article."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.models import ForwardRecord
from storage.database import insert_ignoring_conflicts
from storage.tables import forwards

MAX_NAME = 200  # forwards.forwarded_by and forwards.from_chat


class SqlForwards:
    """core.ports.Forwards: the unique key on article_id decides which of two concurrent forwards posts."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def claim_forward(self, record: ForwardRecord) -> ForwardRecord | None:
        statement = (
            insert_ignoring_conflicts(self._engine, forwards)
            .values(
                article_id=record.article_id,
                forwarded_by=record.forwarded_by[:MAX_NAME],
                from_chat=record.from_chat[:MAX_NAME],
                note=record.note,
                created_at=record.at,
            )
            .returning(forwards.c.id)
        )
        earlier = select(forwards).where(forwards.c.article_id == record.article_id)
        async with self._engine.begin() as connection:
            if (await connection.execute(statement)).first() is not None:
                return None
            row = (await connection.execute(earlier)).mappings().one()
        return ForwardRecord(
            row["article_id"], row["forwarded_by"], row["from_chat"], row["note"], row["created_at"]
        )

    async def release_forward(self, article_id: int) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(delete(forwards).where(forwards.c.article_id == article_id))
