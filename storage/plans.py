"""Delivery plans in the destinations table, and the re-planning of held alerts when a plan changes."""

from __future__ import annotations

from collections.abc import Collection
from datetime import time, tzinfo

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.digest import DeliveryPlan, DigestMode, QuietHours, release_at
from storage.tables import destinations, outbox

PLAN_COLUMNS = (
    destinations.c.digest_mode,
    destinations.c.digest_daily_at,
    destinations.c.quiet_start,
    destinations.c.quiet_end,
)


def plan_from_row(row: RowMapping) -> DeliveryPlan:
    start, end = row["quiet_start"], row["quiet_end"]
    return DeliveryPlan(
        digest=DigestMode(row["digest_mode"]),
        daily_at=row["digest_daily_at"],
        quiet=QuietHours(start, end) if start is not None and end is not None else None,
    )


async def plans_of(connection: AsyncConnection, destination_ids: Collection[int]) -> dict[int, DeliveryPlan]:
    """The plans of these destinations; a destination not found has none (instant)."""
    statement = select(destinations.c.id, *PLAN_COLUMNS).where(destinations.c.id.in_(destination_ids))
    return {row["id"]: plan_from_row(row) for row in (await connection.execute(statement)).mappings()}


class SqlDeliveryPlans:
    """core.ports.DeliveryPlans.

    A changed plan re-plans the destination's held alerts (those never tried yet) as if the new
    plan had been in force when each was queued: `digest off` with no quiet hours makes them due at
    once, still together as one digest; a later digest time holds them longer. Alerts already
    being sent, or waiting on a platform's retry_after, keep their time.
    """

    def __init__(self, engine: AsyncEngine, zone: tzinfo) -> None:
        self._engine = engine
        self._zone = zone

    async def plan_of(self, destination_id: int) -> DeliveryPlan:
        async with self._engine.connect() as connection:
            return (await plans_of(connection, [destination_id])).get(destination_id, DeliveryPlan())

    async def set_digest(self, destination_id: int, mode: DigestMode, daily_at: time | None) -> None:
        if mode is DigestMode.DAILY and daily_at is None:
            raise ValueError("a daily digest needs its time of day")
        kept = daily_at if mode is DigestMode.DAILY else None
        await self._change(destination_id, digest_mode=mode.value, digest_daily_at=kept)

    async def set_quiet(self, destination_id: int, quiet: QuietHours | None) -> None:
        start, end = (quiet.start, quiet.end) if quiet is not None else (None, None)
        await self._change(destination_id, quiet_start=start, quiet_end=end)

    async def _change(self, destination_id: int, **values: object) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(destinations).where(destinations.c.id == destination_id).values(**values)
            )
            plan = (await plans_of(connection, [destination_id])).get(destination_id)
            if plan is not None:
                await self._replan_held(connection, destination_id, plan)

    async def _replan_held(
        self, connection: AsyncConnection, destination_id: int, plan: DeliveryPlan
    ) -> None:
        held = (
            select(outbox.c.id, outbox.c.created_at)
            .where(
                outbox.c.destination_id == destination_id,
                outbox.c.digest.is_(True),
                outbox.c.state == "pending",
                outbox.c.attempts == 0,
            )
            .with_for_update(skip_locked=True, of=outbox)
        )
        changes = [
            {"alert_id": alert_id, "at": release_at(plan, queued_at, self._zone) or queued_at}
            for alert_id, queued_at in await connection.execute(held)
        ]
        if changes:
            await connection.execute(
                update(outbox)
                .where(outbox.c.id == bindparam("alert_id"))
                .values(next_attempt_at=bindparam("at")),
                changes,
            )
