"""photo reading: reading copies of listing photos, what OCR and the code reader found on them

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05 11:40:00

Three new tables and one index; nothing existing changes. photo_copy holds a bounded copy of each listing photo
(longest side <= BRANDPATROL_READING_COPY_MAX_SIDE) so matching can read print from the database alone;
photo_reading caches, by the photo's SHA-256, what OCR and the barcode / QR / DataMatrix reader found;
photo_code indexes the decoded codes, so the same serial on several listings is one look-up. listing_image.sha256
is indexed for that look-up.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('photo_copy',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('media_type', sa.String(length=20), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('stored_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_photo_copy'))
    )
    with op.batch_alter_table('photo_copy', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_photo_copy_stored_at'), ['stored_at'], unique=False)

    op.create_table('photo_reading',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('engine', sa.String(length=120), nullable=False),
    sa.Column('status', sa.Enum('ok', 'unreadable', 'failed', name='readingstatus', native_enum=False, length=32), nullable=False),
    sa.Column('lines', sa.JSON(), nullable=False),
    sa.Column('codes', sa.JSON(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('seconds', sa.Double(), nullable=True),
    sa.Column('error', sa.String(length=300), nullable=True),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_photo_reading'))
    )

    op.create_table('photo_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('code', sa.String(length=100), nullable=False),
    sa.Column('format', sa.String(length=30), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_photo_code')),
    sa.UniqueConstraint('sha256', 'code', name=op.f('uq_photo_code_sha256'))
    )
    with op.batch_alter_table('photo_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_photo_code_code'), ['code'], unique=False)
        batch_op.create_index(batch_op.f('ix_photo_code_sha256'), ['sha256'], unique=False)

    with op.batch_alter_table('listing_image', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_listing_image_sha256'), ['sha256'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('listing_image', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_listing_image_sha256'))

    with op.batch_alter_table('photo_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_photo_code_sha256'))
        batch_op.drop_index(batch_op.f('ix_photo_code_code'))

    op.drop_table('photo_code')
    op.drop_table('photo_reading')
    with op.batch_alter_table('photo_copy', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_photo_copy_stored_at'))

    op.drop_table('photo_copy')
