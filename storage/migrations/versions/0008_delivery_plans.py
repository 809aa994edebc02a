"""Delivery plans: each destination's digest mode and quiet hours, and outbox rows held for a digest.

Revision ID: 0008_delivery_plans
Revises: 0007_destination_holds
Create Date: 2026-11-27 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0008_delivery_plans'
down_revision = '0007_destination_holds'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE … ADD COLUMN: rebuilding `destinations` on SQLite would cascade-delete every
    # subscription and outbox row through the foreign keys.
    with op.batch_alter_table('destinations', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('digest_mode', sa.String(length=10), nullable=False, server_default='off'))
        batch_op.add_column(sa.Column('digest_daily_at', sa.Time(), nullable=True))
        batch_op.add_column(sa.Column('quiet_start', sa.Time(), nullable=True))
        batch_op.add_column(sa.Column('quiet_end', sa.Time(), nullable=True))
    with op.batch_alter_table('outbox', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('digest', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    # Plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35), for the same reason.
    with op.batch_alter_table('outbox', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('digest')
    with op.batch_alter_table('destinations', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('quiet_end')
        batch_op.drop_column('quiet_start')
        batch_op.drop_column('digest_daily_at')
        batch_op.drop_column('digest_mode')
