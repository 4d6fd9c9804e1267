"""partner banks: partner brands, the bank files taken from them, their entries, and this brand's own exports

Revision ID: 0007
Revises: 0002
Create Date: 2026-12-05 12:05:00

Four new tables; nothing existing changes. partner holds the public keys a brand trusts (by SHA-256
fingerprint) and the sequence number of the newest file taken from each; bank_import records each file taken;
bank_entry holds what partners reported (sellers, photo hashes), quarantined until an admin accepts them;
bank_export records this brand's own files (sequence, entries shared, revocations). partner and bank_export say
their brand, so several brands in one install keep separate banks.
(The issue asked for down_revision 0001; it revises 0002, main's head when written, so that `upgrade head` has
one head on this branch. Re-chain at merge as needed: the upgrade test reads the previous revision from here.)
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bank_export',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('brand_id', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.BigInteger(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('entry_ids', sa.JSON(), nullable=False),
    sa.Column('revocations', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brand.id'], name=op.f('fk_bank_export_brand_id_brand')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_export')),
    sa.UniqueConstraint('brand_id', 'sequence', name=op.f('uq_bank_export_brand_id'))
    )
    op.create_table('partner',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('brand_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('public_key', sa.String(length=64), nullable=False),
    sa.Column('last_sequence', sa.BigInteger(), nullable=False),
    sa.Column('trusted_by', sa.String(length=200), nullable=False),
    sa.Column('trusted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brand.id'], name=op.f('fk_partner_brand_id_brand')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner')),
    sa.UniqueConstraint('brand_id', 'fingerprint', name='uq_partner_brand_fingerprint'),
    sa.UniqueConstraint('brand_id', 'name', name='uq_partner_brand_name')
    )
    op.create_table('bank_import',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.BigInteger(), nullable=False),
    sa.Column('issuer_name', sa.String(length=200), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('entries', sa.Integer(), nullable=False),
    sa.Column('added', sa.Integer(), nullable=False),
    sa.Column('revoked', sa.Integer(), nullable=False),
    sa.Column('imported_by', sa.String(length=200), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.id'], name=op.f('fk_bank_import_partner_id_partner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_import')),
    sa.UniqueConstraint('partner_id', 'sequence', name=op.f('uq_bank_import_partner_id'))
    )
    with op.batch_alter_table('bank_import', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bank_import_partner_id'), ['partner_id'], unique=False)

    op.create_table('bank_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('marketplace', sa.String(length=40), nullable=True),
    sa.Column('seller_id', sa.String(length=200), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('phash', sa.String(length=16), nullable=True),
    sa.Column('dhash', sa.String(length=16), nullable=True),
    sa.Column('confirmed', sa.Integer(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('status', sa.Enum('quarantined', 'accepted', 'revoked', name='bankentrystatus', native_enum=False, length=32), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('accepted_by', sa.String(length=200), nullable=True),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['import_id'], ['bank_import.id'], name=op.f('fk_bank_entry_import_id_bank_import')),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.id'], name=op.f('fk_bank_entry_partner_id_partner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_entry')),
    sa.UniqueConstraint('partner_id', 'entry_id', name=op.f('uq_bank_entry_partner_id'))
    )
    with op.batch_alter_table('bank_entry', schema=None) as batch_op:
        batch_op.create_index('ix_bank_entry_seller', ['marketplace', 'seller_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('bank_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_bank_entry_seller')

    op.drop_table('bank_entry')
    with op.batch_alter_table('bank_import', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bank_import_partner_id'))

    op.drop_table('bank_import')
    op.drop_table('partner')
    op.drop_table('bank_export')
