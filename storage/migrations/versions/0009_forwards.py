"""Forwards: which articles went to the editors' desk, by whom and from which chat (one per article).

Revision ID: 0009_forwards
Revises: 0008_delivery_plans
Create Date: 2026-11-27 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0009_forwards'
down_revision = '0008_delivery_plans'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('forwards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('forwarded_by', sa.String(length=200), nullable=False),
    sa.Column('from_chat', sa.String(length=200), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_forwards_article_id_articles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_forwards')),
    sa.UniqueConstraint('article_id', name=op.f('uq_forwards_article_id'))
    )


def downgrade() -> None:
    op.drop_table('forwards')
