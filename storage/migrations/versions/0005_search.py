"""Search: the article_search index, the search_queue its triggers feed, and the sort-time index.

Revision ID: 0005_search
Revises: 0004_stories
Create Date: 2026-11-27 03:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql


revision = '0005_search'
down_revision = '0004_stories'
branch_labels = None
depends_on = None

SQLITE_TRIGGERS: tuple[str, ...] = (
    """CREATE TRIGGER articles_search_insert AFTER INSERT ON articles
    BEGIN INSERT INTO search_queue (article_id) VALUES (new.id); END""",
    """CREATE TRIGGER articles_search_update AFTER UPDATE OF title, summary ON articles
    BEGIN INSERT INTO search_queue (article_id) VALUES (new.id); END""",
    """CREATE TRIGGER articles_search_delete AFTER DELETE ON articles
    BEGIN INSERT INTO search_queue (article_id) VALUES (old.id); END""",
)

POSTGRESQL_TRIGGERS: tuple[str, ...] = (
    """CREATE FUNCTION newsbot_queue_search() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            INSERT INTO search_queue (article_id) VALUES (OLD.id);
        ELSE
            INSERT INTO search_queue (article_id) VALUES (NEW.id);
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER articles_search_insert AFTER INSERT ON articles
    FOR EACH ROW EXECUTE FUNCTION newsbot_queue_search()""",
    """CREATE TRIGGER articles_search_update AFTER UPDATE OF title, summary ON articles
    FOR EACH ROW EXECUTE FUNCTION newsbot_queue_search()""",
    """CREATE TRIGGER articles_search_delete AFTER DELETE ON articles
    FOR EACH ROW EXECUTE FUNCTION newsbot_queue_search()""",
)


def upgrade() -> None:
    op.create_table('search_queue',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_queue'))
    )
    op.create_index('ix_articles_sort_time', 'articles', [sa.text('coalesce(published_at, first_seen_at)'), 'id'])
    if op.get_bind().dialect.name == 'sqlite':
        # The text is core.normalize-folded by storage.search before it is written, so the
        # tokenizer only has to split on the spaces folding leaves between words.
        op.execute(
            "CREATE VIRTUAL TABLE article_search USING fts5("
            "document, tokenize = 'unicode61 remove_diacritics 2')"
        )
        triggers = SQLITE_TRIGGERS
    else:
        op.create_table('article_search',
        sa.Column('article_id', sa.Integer(), nullable=False),
        sa.Column('document', postgresql.TSVECTOR(), nullable=False),
        sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_article_search_article_id_articles'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('article_id', name=op.f('pk_article_search'))
        )
        # fastupdate off: entries go straight into the GIN tree instead of a pending list that
        # every search would scan; index writes happen in storage.search.refresh, off the poll path.
        op.create_index('ix_article_search_document', 'article_search', ['document'], postgresql_using='gin', postgresql_with={'fastupdate': 'off'})
        triggers = POSTGRESQL_TRIGGERS
    for statement in triggers:
        op.execute(statement)
    # Articles archived before this revision are indexed by the first refresh.
    op.execute('INSERT INTO search_queue (article_id) SELECT id FROM articles')


def downgrade() -> None:
    for name in ('articles_search_insert', 'articles_search_update', 'articles_search_delete'):
        if op.get_bind().dialect.name == 'sqlite':
            op.execute(f'DROP TRIGGER IF EXISTS {name}')
        else:
            op.execute(f'DROP TRIGGER IF EXISTS {name} ON articles')
    if op.get_bind().dialect.name != 'sqlite':
        op.execute('DROP FUNCTION IF EXISTS newsbot_queue_search()')
    op.execute('DROP TABLE IF EXISTS article_search')
    op.drop_index('ix_articles_sort_time', table_name='articles')
    op.drop_table('search_queue')
