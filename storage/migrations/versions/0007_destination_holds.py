"""Destination holds and pauses: flood-control holds, why a destination was paused, per-destination claims.

`held_until` keeps a destination's alerts unclaimed while the platform asked us to wait (Telegram
429 `retry_after`, the chat's own pace); `paused_reason` says why an unreachable destination was
disabled. The index serves claims that look at each destination's queue and in-flight alerts.

Revision ID: 0007_destination_holds
Revises: 0006_rekey_identities
Create Date: 2026-11-27 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0007_destination_holds'
down_revision = '0006_rekey_identities'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('destinations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held_until', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('paused_reason', sa.Text(), nullable=True))
    op.create_index('ix_outbox_destination_state', 'outbox', ['destination_id', 'state'])


def downgrade() -> None:
    op.drop_index('ix_outbox_destination_state', table_name='outbox')
    # Plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35): rebuilding `destinations` would cascade-delete
    # every subscription and outbox row through the foreign keys.
    with op.batch_alter_table('destinations', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('paused_reason')
        batch_op.drop_column('held_until')
