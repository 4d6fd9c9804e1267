"""brand workspaces: several brands in one database; every brand-owned row says its brand

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-05 14:40:00

finding, notice and test_buy get a brand_id (not null); crawl_run, audit_log and alert_log a nullable one
(None: install-wide). A finding is now unique per brand and listing, so a listing two brands' crawls saw is
stored once and judged by each. New tables: brand_listing (which brands' crawls saw a listing, and the version
each brand's matching last judged) and user_brand_role (a user's role on one brand).

Existing rows belong to the install's brand: a finding to its product's brand where it has one, everything else
to the configured brand, which is the only brand row of a single-brand install (where a renamed brand left
several, the newest). A database holding brand-owned rows and no brand at all gets a brand named "default",
which `brandpatrol match -c FILE` leaves alone (rename it in the database to the configured name to keep using
those rows). Matching's remembered state (rule set, catalogue fingerprint, distrusted references) becomes the
brand's. Users need no rows: an account without brand roles holds its role on the install's first brand.

Downgrade refuses when a listing has findings of two brands (it would have to drop one); otherwise it drops the
columns and tables again, and matching's state returns to install-wide keys.
(down_revision is 0007, main's head when written; the lead re-chains at merge.)
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0007'
branch_labels = None
depends_on = None

OWNED = ('finding', 'notice', 'test_buy')  # not null once filled
NOTED = ('crawl_run', 'audit_log', 'alert_log')  # nullable: install-wide rows stay possible
MATCH_STATE_KEYS = ('matching.rule_set_version', 'matching.catalogue_fingerprint', 'matching.distrusted_references')


def _default_brand(conn: sa.Connection) -> int | None:
    """The brand existing rows belong to; created when rows need one and there is none."""
    brand_id = conn.scalar(sa.text("SELECT max(id) FROM brand"))
    if brand_id is not None:
        return int(brand_id)
    needs = any(conn.scalar(sa.select(sa.func.count()).select_from(sa.table(table)))
                for table in (*OWNED, *NOTED, 'listing'))
    if not needs:
        return None
    conn.execute(sa.text("INSERT INTO brand (name, names) VALUES ('default', '{}')"))
    return int(conn.scalar(sa.text("SELECT max(id) FROM brand")))


def upgrade() -> None:
    op.create_table('brand_listing',
    sa.Column('brand_id', sa.Integer(), nullable=False),
    sa.Column('listing_id', sa.Integer(), nullable=False),
    sa.Column('matched_version', sa.Integer(), nullable=False),
    sa.Column('first_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('crawled', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brand.id'], name=op.f('fk_brand_listing_brand_id_brand')),
    sa.ForeignKeyConstraint(['listing_id'], ['listing.id'], name=op.f('fk_brand_listing_listing_id_listing')),
    sa.PrimaryKeyConstraint('brand_id', 'listing_id', name=op.f('pk_brand_listing'))
    )
    with op.batch_alter_table('brand_listing', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_brand_listing_listing_id'), ['listing_id'], unique=False)
    op.create_table('user_brand_role',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('brand_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('granted_by', sa.String(length=200), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brand.id'], name=op.f('fk_user_brand_role_brand_id_brand')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_user_brand_role_user_id_app_user')),
    sa.PrimaryKeyConstraint('user_id', 'brand_id', name=op.f('pk_user_brand_role'))
    )
    for table in (*OWNED, *NOTED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('brand_id', sa.Integer(), nullable=True))

    conn = op.get_bind()
    brand = _default_brand(conn)
    if brand is not None:
        conn.execute(sa.text("UPDATE finding SET brand_id = (SELECT product.brand_id FROM product "
                             "WHERE product.id = finding.product_id) WHERE product_id IS NOT NULL"))
        for table in (*OWNED, *NOTED):
            owned = sa.table(table, sa.column('brand_id'))
            conn.execute(sa.update(owned).where(owned.c.brand_id.is_(None)).values(brand_id=brand))
        # Every listing stored so far was seen by the install's crawls; with the version matching last judged.
        conn.execute(sa.text("INSERT INTO brand_listing (brand_id, listing_id, matched_version, first_seen, crawled) "
                             "SELECT :b, id, matched_version, first_seen, :crawled FROM listing"),
                     {"b": brand, "crawled": True})
        for key in MATCH_STATE_KEYS:
            conn.execute(sa.text("UPDATE match_state SET key = :new WHERE key = :old"),
                         {"new": f"{key}@{brand}", "old": key})

    for table in (*OWNED, *NOTED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            if table in OWNED:
                batch_op.alter_column('brand_id', existing_type=sa.Integer(), nullable=False)
            batch_op.create_index(batch_op.f(f'ix_{table}_brand_id'), ['brand_id'], unique=False)
            batch_op.create_foreign_key(batch_op.f(f'fk_{table}_brand_id_brand'), 'brand', ['brand_id'], ['id'])
    with op.batch_alter_table('finding', schema=None) as batch_op:
        batch_op.drop_constraint('uq_finding_listing_id', type_='unique')
        batch_op.create_unique_constraint('uq_finding_brand_listing', ['brand_id', 'listing_id'])


def downgrade() -> None:
    conn = op.get_bind()
    shared = conn.scalar(sa.text("SELECT count(*) FROM (SELECT listing_id FROM finding GROUP BY listing_id "
                                 "HAVING count(DISTINCT brand_id) > 1) AS shared"))
    if shared:
        raise RuntimeError(f"{shared} listings have findings of more than one brand; before 0009 a listing has one "
                           "finding. Keep this version, or delete the findings of all brands but one first.")
    with op.batch_alter_table('finding', schema=None) as batch_op:
        batch_op.drop_constraint('uq_finding_brand_listing', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_finding_listing_id'), ['listing_id'])
    for table in (*OWNED, *NOTED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'fk_{table}_brand_id_brand'), type_='foreignkey')
            batch_op.drop_index(batch_op.f(f'ix_{table}_brand_id'))
            batch_op.drop_column('brand_id')
    for key in MATCH_STATE_KEYS:
        conn.execute(sa.text("DELETE FROM match_state WHERE key LIKE :pattern AND key NOT IN "
                             "(SELECT min(key) FROM match_state WHERE key LIKE :pattern)"), {"pattern": f"{key}@%"})
        conn.execute(sa.text("UPDATE match_state SET key = :old WHERE key LIKE :pattern"),
                     {"old": key, "pattern": f"{key}@%"})
    op.drop_table('user_brand_role')
    with op.batch_alter_table('brand_listing', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_brand_listing_listing_id'))
    op.drop_table('brand_listing')
