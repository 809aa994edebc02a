"""Outlet health and pace: estimated publishing rate, deactivation time and reason.

Revision ID: 0002_outlet_health
Revises: 0001
Create Date: 2026-11-27 03:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0002_outlet_health'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outlets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rate_per_hour', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('deactivated_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('deactivation_reason', sa.Text(), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35): rebuilding `outlets` would cascade-delete
    # every article through the foreign key.
    with op.batch_alter_table('outlets', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('deactivation_reason')
        batch_op.drop_column('deactivated_at')
        batch_op.drop_column('rate_per_hour')
