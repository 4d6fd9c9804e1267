"""two-stage crawling: how each listing was last seen (search card or item page), its card's fingerprint, and when
its item page was captured

Revision ID: 0008
Revises: 0010
Create Date: 2026-12-05 14:40:00

Four new columns on listing; nothing existing changes. Every listing stored before this revision came from its item
page (that was the only way), so `seen_from` is 'page' for them (the server default) and their evidence stands as it
is. card_sha256 is the SHA-256 of the listing's last search card (title, price, seller, photo); page_card_sha256 the
card's when the item page was last captured (item_page_at): the second stage fetches an item page again only when the
two differ.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0008'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('listing', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seen_from', sa.String(length=10), server_default='page', nullable=False))
        batch_op.add_column(sa.Column('card_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('page_card_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('item_page_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN in place (SQLite 3.35+): rebuilding listing, as batch mode would, breaks the
    # foreign keys of every table that points at it.
    with op.batch_alter_table('listing', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('item_page_at')
        batch_op.drop_column('page_card_sha256')
        batch_op.drop_column('card_sha256')
        batch_op.drop_column('seen_from')
