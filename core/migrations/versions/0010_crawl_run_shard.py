"""crawl runs name their shard: team mode crawls a marketplace one search term or start URL at a time

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 14:40:00

One nullable column, crawl_run.shard (`term:lumina`, `url:https://...`); the runs before it crawled a whole
marketplace and keep NULL, which still means that. A shard's run resumes and closes only runs of its own shard, and
says nothing about which listings are gone (it saw one term's results, not the marketplace).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


# Plain ADD/DROP COLUMN (SQLite 3.35+ has both): a batch copy of crawl_run would drop the table that listings
# point at, which SQLite's foreign keys refuse.
def upgrade() -> None:
    op.add_column('crawl_run', sa.Column('shard', sa.String(length=300), nullable=True))


def downgrade() -> None:
    op.drop_column('crawl_run', 'shard')
