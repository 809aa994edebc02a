"""Re-key identities: archived link-derived keys recomputed with the current canonical URL form.

core.identity.canonical_url now drops trailing slashes, mobile/AMP mirror hosts and AMP forms,
more click ids, and sorts query parameters. Keys stored in the previous form no longer match
what a poll computes for the same entry, so without this every archived item still in a feed
would be archived and alerted again after an upgrade.

Revision ID: 0006_rekey_identities
Revises: 0005_search
Create Date: 2026-11-27 04:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.engine import Connection, RowMapping

from core.identity import canonical_url
from storage.archive import bounded_key


revision = '0006_rekey_identities'
down_revision = '0005_search'
branch_labels = None
depends_on = None

# Rows read, and keys looked up, per statement: a large archive is never held in memory at once.
BATCH_ROWS = 1000

articles = sa.table(
    'articles',
    sa.column('id', sa.Integer),
    sa.column('outlet_id', sa.Integer),
    sa.column('guid', sa.String),
    sa.column('canonical_url', sa.String),
    sa.column('url', sa.String),
)


def upgrade() -> None:
    connection = op.get_bind()
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(articles.c.id, articles.c.outlet_id, articles.c.guid, articles.c.canonical_url, articles.c.url)
            # Without the stored link (too long to keep) the new key cannot be computed: it stays.
            .where(articles.c.id > last_id, articles.c.url.is_not(None))
            .order_by(articles.c.id)
            .limit(BATCH_ROWS)
        ).mappings().all()
        if not rows:
            return
        last_id = rows[-1]['id']
        rekey(connection, rows)


def rekey(connection: Connection, rows: Sequence[RowMapping]) -> None:
    """Rewrite one batch's changed keys; a key another article already holds stays as it was.

    Two old rows whose links now canonicalize alike are one article archived twice: the first to
    claim the new key keeps it, the other keeps its old key (and its alerts), and no row is deleted.
    """
    changed = [
        (row, new)
        for row in rows
        if row['canonical_url'] is not None
        and (new := bounded_key(canonical_url(row['url']))) != row['canonical_url']
    ]
    if not changed:
        return
    new_keys = sorted({new for _, new in changed})
    taken_links = set(
        connection.execute(sa.select(articles.c.canonical_url).where(articles.c.canonical_url.in_(new_keys))).scalars()
    )
    taken_keys = {
        (outlet_id, guid)
        for outlet_id, guid in connection.execute(
            sa.select(articles.c.outlet_id, articles.c.guid).where(articles.c.guid.in_(new_keys))
        )
    }
    links: list[dict[str, object]] = []
    keys: list[dict[str, object]] = []
    for row, new in changed:
        link_derived = row['guid'] == row['canonical_url']
        if new not in taken_links:
            links.append({'article_id': row['id'], 'new_key': new})
            taken_links.add(new)
            # The old key is free once this row's update has run, and later updates run after it.
            taken_links.discard(row['canonical_url'])
        # A GUID equal to the stored link was derived from the link (the entry had no GUID).
        if link_derived and (row['outlet_id'], new) not in taken_keys:
            keys.append({'article_id': row['id'], 'new_key': new})
            taken_keys.add((row['outlet_id'], new))
            taken_keys.discard((row['outlet_id'], row['guid']))
    for column, values in (('canonical_url', links), ('guid', keys)):
        if values:
            connection.execute(
                articles.update()
                .where(articles.c.id == sa.bindparam('article_id'))
                .values({column: sa.bindparam('new_key')}),
                values,
            )


def downgrade() -> None:
    # Nothing to undo: keys in the new form are still valid identities for the previous release,
    # which at worst archives an entry once more; rewriting them back would need the old function.
    pass
