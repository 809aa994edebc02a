"""Outlet groups (OPML folders) and per-outlet CSS selectors for HTML listing pages.

Revision ID: 0003_outlet_kinds
Revises: 0002_outlet_health
Create Date: 2026-11-27 03:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003_outlet_kinds'
down_revision = '0002_outlet_health'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outlets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('group_name', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('selectors', sa.JSON(), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35): rebuilding `outlets` would cascade-delete
    # every article through the foreign key.
    with op.batch_alter_table('outlets', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('selectors')
        batch_op.drop_column('group_name')
