"""Index the outbox's sent message references: a reply to an alert is mapped back to its article.

Revision ID: 0010_sent_ref_index
Revises: 0009_forwards
Create Date: 2026-11-27 07:00:00
"""

from __future__ import annotations

from alembic import op


revision = '0010_sent_ref_index'
down_revision = '0009_forwards'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_outbox_sent_ref', 'outbox', ['sent_ref'])


def downgrade() -> None:
    op.drop_index('ix_outbox_sent_ref', table_name='outbox')
