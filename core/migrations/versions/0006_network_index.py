"""seller-network index: what the last computation of the seller networks read, packed by block

Revision ID: 0006
Revises: 0002
Create Date: 2026-12-05 12:20:00

One new table; nothing existing changes. network_index_block holds, per part (photos, listing details, seller
details) and block of ids, the packed rows matching/network_index.py reads, so a matching run updates the seller
networks from what changed instead of re-reading every listing. Derived data: dropping it only makes the next
update a full one.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('network_index_block',
    sa.Column('part', sa.String(length=20), nullable=False),
    sa.Column('block', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('part', 'block', name=op.f('pk_network_index_block'))
    )


def downgrade() -> None:
    op.drop_table('network_index_block')
