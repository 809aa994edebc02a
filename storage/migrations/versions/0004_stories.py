"""Stories and revisions: article_stories, story_bands, article_revisions; outbox keyed by story.

Existing articles each become a story of their own, and existing alerts point at it, so an
upgraded archive keeps its one-alert-per-destination history.

Revision ID: 0004_stories
Revises: 0003_outlet_kinds
Create Date: 2026-11-27 03:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0004_stories'
down_revision = '0003_outlet_kinds'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('stories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stories'))
    )
    op.create_table('article_stories',
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('story_id', sa.Integer(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=True),
    sa.Column('signature', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_article_stories_article_id_articles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['story_id'], ['stories.id'], name=op.f('fk_article_stories_story_id_stories'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('article_id', name=op.f('pk_article_stories'))
    )
    with op.batch_alter_table('article_stories', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_article_stories_story_id'), ['story_id'], unique=False)

    op.create_table('story_bands',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('band_key', sa.String(length=24), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('story_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_story_bands_article_id_articles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['story_id'], ['stories.id'], name=op.f('fk_story_bands_story_id_stories'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_story_bands'))
    )
    with op.batch_alter_table('story_bands', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_story_bands_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_story_bands_band_key_created_at', ['band_key', 'created_at'], unique=False)

    op.create_table('article_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('seen_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_article_revisions_article_id_articles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_article_revisions')),
    sa.UniqueConstraint('article_id', 'fingerprint', name=op.f('uq_article_revisions_article_id'))
    )

    # Every existing article is a story of its own (same id), and its alerts belong to that story.
    op.execute('INSERT INTO stories (id, created_at) SELECT id, first_seen_at FROM articles')
    op.execute(
        'INSERT INTO article_stories (article_id, story_id, created_at) '
        'SELECT id, id, first_seen_at FROM articles'
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            "SELECT setval(pg_get_serial_sequence('stories', 'id'), "
            "COALESCE((SELECT MAX(id) FROM stories), 0) + 1, false)"
        )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('story_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('edit_due_at', sa.DateTime(), nullable=True))
    op.execute('UPDATE outbox SET story_id = article_id')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.alter_column('story_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(batch_op.f('fk_outbox_story_id_stories'), 'stories', ['story_id'], ['id'], ondelete='CASCADE')
        batch_op.create_unique_constraint(batch_op.f('uq_outbox_story_id'), ['story_id', 'destination_id'])
        batch_op.create_index(batch_op.f('ix_outbox_edit_due_at'), ['edit_due_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_edit_due_at'))
        batch_op.drop_constraint(batch_op.f('uq_outbox_story_id'), type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_outbox_story_id_stories'), type_='foreignkey')
        batch_op.drop_column('edit_due_at')
        batch_op.drop_column('story_id')

    op.drop_table('article_revisions')
    with op.batch_alter_table('story_bands', schema=None) as batch_op:
        batch_op.drop_index('ix_story_bands_band_key_created_at')
        batch_op.drop_index(batch_op.f('ix_story_bands_created_at'))

    op.drop_table('story_bands')
    with op.batch_alter_table('article_stories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_article_stories_story_id'))

    op.drop_table('article_stories')
    op.drop_table('stories')
