"""Schema migrations keep what is stored: build a database at a migration's previous revision, fill it, upgrade,
and compare every row; then downgrade. `fill` and `dump` are written for any migration to reuse: rows go in
through the reflected tables, so they hold at whatever revision the database is."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, inspect, select, text

from core.db import alembic_config, make_engine

AT = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
ROWS: dict[str, list[dict[str, Any]]] = {
    "brand": [{"id": 1, "name": "Lumina", "names": {"zh": "露米娜"}}],
    "product": [{"id": 1, "brand_id": 1, "sku": "LM-100", "names": {"zh": "露米娜焕活精华液"}, "keywords": ["精华液"],
                 "prices": [{"currency": "CNY", "suggested": "680", "floor": "580"}]}],
    "marketplace": [{"id": 1, "name": "shop", "base_url": "http://shop.example"}],
    "seller": [{"id": 1, "marketplace_id": 1, "seller_key": "x-3", "name": "美妆小铺3", "external_id": "x-3",
                "first_seen": AT, "last_seen": AT, "contact": {"wechat": "mei2688"}}],
    "crawl_run": [{"id": 1, "marketplace_id": 1, "started_at": AT, "status": "ok", "pages": 3, "items": 2,
                   "drops": {}, "errors": {}, "stats": {"elapsed_time_seconds": 4.5}}],
    "listing": [{"id": i, "marketplace_id": 1, "external_id": str(i), "url": f"http://shop.example/{i}",
                 "title": f"露米娜焕活精华液 {i}", "description": "批号 GD240211", "seller_id": 1, "price": "136.5000",
                 "currency": "CNY", "attributes": {"sold": 45}, "first_seen": AT, "last_seen": AT, "last_run_id": 1,
                 "missed_runs": 0, "gone": False, "content_version": 2, "matched_version": 2} for i in (1, 2)],
    "evidence": [{"sha256": "e" * 64, "kind": "html", "media_type": "text/html", "encoding": "gzip", "size": 3,
                  "content": b"\x1f\x8b\x08\x00", "captured_at": AT, "url": "http://shop.example/1"}],
    "listing_snapshot": [{"id": 1, "listing_id": 1, "crawl_run_id": 1, "captured_at": AT, "title": "露米娜焕活精华液 1",
                          "price": "136.5000", "currency": "CNY", "html_sha256": "e" * 64}],
    "listing_image": [{"id": 1, "listing_id": 1, "position": 0, "url": "http://img.example/1.jpg", "sha256": "a" * 64,
                       "phash": "ffffffffffffffff", "dhash": "8000000000000001", "phash_mirror": "0123456789abcdef",
                       "width": 800, "height": 800, "status": "ok", "thumbnail": b"\xff\xd8\xff\xe0",
                       "fetched_at": AT}],
    "finding": [{"id": 1, "brand_id": 1, "listing_id": 1, "product_id": 1, "verdict": "counterfeit", "score": 0.88,
                 "reasons": ["the listing text says 高仿"], "signals": {"relevance": {"outcome": "match"}},
                 "rule_set_version": "2026.3", "matched_image_id": 1, "image_distance": 4, "created_at": AT,
                 "updated_at": AT}],
    "review": [{"id": 1, "finding_id": 1, "reviewer": "ana", "decision": "confirmed", "note": "fake box",
                "created_at": AT}],
    "notice": [{"id": 1, "brand_id": 1, "marketplace_id": 1, "template": "alibaba_ipp", "ground": "trademark",
                "status": "filed", "body": "Notice body", "created_by": "lee", "created_at": AT, "filed_at": AT,
                "part": 1, "parts": 1, "warnings": [], "context": {"rights_holder": "Lumina"}}],
    "notice_listing": [{"notice_id": 1, "listing_id": 1, "finding_id": 1, "position": 0,
                        "snapshot": {"title": "露米娜焕活精华液 1"}}],
    "audit_log": [{"id": 1, "at": AT, "actor": "ana", "action": "review", "object_type": "finding", "object_id": "1",
                   "detail": {"decision": "confirmed"}}],
}


def revision_before(revision: str) -> str:
    """The down_revision the migration script declares (read, not hard-coded)."""
    script = ScriptDirectory.from_config(alembic_config(make_engine("sqlite://")))
    down = script.get_revision(revision).down_revision
    assert isinstance(down, str)
    return down


def fill(engine: Engine, rows: dict[str, list[dict[str, Any]]] = ROWS) -> None:
    """Insert `rows` through the tables as they are at the database's revision (columns it lacks are left out: a
    finding's brand_id only exists from 0009 on)."""
    meta = MetaData()
    meta.reflect(engine)
    with engine.begin() as conn:
        for name, table_rows in rows.items():
            table = meta.tables[name]
            conn.execute(table.insert(), [{k: v for k, v in row.items() if k in table.c} for row in table_rows])


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat()
    return value


def dump(engine: Engine, tables: list[str] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table (or of `tables`), comparable across revisions."""
    meta = MetaData()
    meta.reflect(engine)
    out = {}
    with engine.connect() as conn:
        for name in tables or sorted(meta.tables):
            table = meta.tables[name]
            rows = conn.execute(select(table)).mappings().all()
            out[name] = sorted(({k: _plain(v) for k, v in r.items()} for r in rows), key=repr)
    return out


def upgraded_keeping_rows(tmp_path: Path, revision: str) -> tuple[Engine, Config, dict[str, Any]]:
    """A database built at the revision before `revision`, filled (every table), then upgraded to `revision`; asserts
    no row was lost or changed. Returns the engine, its Alembic config and the rows as they were before."""
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    cfg = alembic_config(engine)
    command.upgrade(cfg, revision_before(revision))
    fill(engine)
    before = dump(engine)
    assert all(before[name] for name in ROWS), "every table was filled"
    command.upgrade(cfg, revision)
    after = dump(engine, [t for t in before if t != "alembic_version"])
    # Columns the revision adds are new, not changed: each row is compared on the columns it had.
    kept = {t: sorted(({k: row[k] for k in before[t][0]} for row in rows), key=repr) if before[t] else rows
            for t, rows in after.items()}
    assert kept == {t: rows for t, rows in before.items() if t != "alembic_version"}
    return engine, cfg, before


@pytest.mark.parametrize("revision", ["0002"])
def test_upgrade_keeps_every_row_and_downgrade_returns(tmp_path: Path, revision: str) -> None:
    engine, cfg, before = upgraded_keeping_rows(tmp_path, revision)
    before_revision = revision_before(revision)
    tables = set(inspect(engine).get_table_names())
    assert {"photo_copy", "photo_reading", "photo_code"} <= tables
    assert "ix_listing_image_sha256" in {i["name"] for i in inspect(engine).get_indexes("listing_image")}

    command.downgrade(cfg, before_revision)
    assert dump(engine) == before
    engine.dispose()


def test_network_index_upgrade_keeps_every_row_and_downgrade_returns(tmp_path: Path) -> None:
    engine, cfg, before = upgraded_keeping_rows(tmp_path, "0006")
    before_revision = revision_before("0006")
    columns = {c["name"] for c in inspect(engine).get_columns("network_index_block")}
    assert columns == {"part", "block", "rows", "data", "updated_at"}
    assert inspect(engine).get_pk_constraint("network_index_block")["constrained_columns"] == ["part", "block"]

    command.downgrade(cfg, before_revision)
    assert dump(engine) == before
    engine.dispose()


def test_crawl_run_shard_upgrade_keeps_every_row_and_downgrade_returns(tmp_path: Path) -> None:
    engine, cfg, before = upgraded_keeping_rows(tmp_path, "0010")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT shard FROM crawl_run")).scalars().all() == [None]  # whole-marketplace runs

    command.downgrade(cfg, revision_before("0010"))
    assert dump(engine) == before
    engine.dispose()


def test_two_stage_upgrade_keeps_every_row_and_marks_them_seen_from_their_item_page(tmp_path: Path) -> None:
    engine, cfg, before = upgraded_keeping_rows(tmp_path, "0008")
    columns = {c["name"] for c in inspect(engine).get_columns("listing")}
    assert {"seen_from", "card_sha256", "page_card_sha256", "item_page_at"} <= columns
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT seen_from, card_sha256, item_page_at FROM listing").all()
    # Every listing stored before came from its item page: its evidence stands, it is not card-only.
    assert rows and all(row == ("page", None, None) for row in rows)

    command.downgrade(cfg, revision_before("0008"))
    assert dump(engine) == before
    engine.dispose()
