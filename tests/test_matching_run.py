"""run_matching over a real SQLite database: findings written, idempotent, incremental, reviews respected."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from core.catalogue import sync_catalogue
from core.config import BrandConfig
from core.db import Database
from core.models import Brand, Finding, Listing, MatchState, ReferenceImage, Review, ReviewDecision, Verdict
from matching.context import CatalogueNotSynced
from matching.run import STATE_RULES, brand_state_key, run_matching
from matching.verdicts import RULE_SET_VERSION
from tests.matching_kit import add_listing, brand_dict, genuine_photo, make_config, unrelated_photo


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Database, BrandConfig, dict[str, int]]]:
    db = Database(f"sqlite:///{tmp_path}/t.db")
    config = make_config(tmp_path)
    assert sync_catalogue(db, config).ok
    ids = {
        "ok": add_listing(db, "shop", "1", "露米娜焕活精华液 30ml", price="680",
                          seller=("露米娜官方旗舰店", "official"), location="上海", images=(genuine_photo(),)),
        "counterfeit": add_listing(db, "shop", "2", "露米娜焕活精华液 高仿", price="136", images=(genuine_photo(),)),
        "diversion": add_listing(db, "shop", "3", "露米娜水润面霜 清仓", price="330",
                                 images=(genuine_photo("LM-200"),)),
        "unrelated": add_listing(db, "mall", "4", "Lumina LED 台灯", price="89", images=(unrelated_photo(),)),
        "breach": add_listing(db, "shop", "5", "露米娜水润面霜", price="350", seller=("华南美妆专营店", "south"),
                              location="广东 深圳"),
    }
    yield db, config, ids
    db.dispose()


def _rows(db: Database) -> list[tuple[Any, ...]]:
    with db.read() as session:
        return [
            (f.id, f.listing_id, f.verdict, f.score, f.reasons, f.signals, f.rule_set_version, f.updated_at)
            for f in session.scalars(select(Finding).order_by(Finding.id))
        ]


def test_findings_written_for_every_listing(world: tuple[Database, BrandConfig, dict[str, int]]) -> None:
    db, config, ids = world
    summary = run_matching(db, config)
    assert summary.examined == 5 and summary.created == 5
    assert summary.by_verdict == {"counterfeit": 1, "diversion": 1, "ok": 1, "price_floor_breach": 1, "unrelated": 1}
    assert summary.queued == 3
    with db.read() as session:
        findings = {f.listing_id: f for f in session.scalars(select(Finding))}
        assert {k: findings[v].verdict for k, v in ids.items()} == {
            "ok": Verdict.OK, "counterfeit": Verdict.COUNTERFEIT, "diversion": Verdict.DIVERSION,
            "unrelated": Verdict.UNRELATED, "breach": Verdict.PRICE_FLOOR_BREACH,
        }
        counterfeit = findings[ids["counterfeit"]]
        assert counterfeit.rule_set_version == RULE_SET_VERSION
        assert counterfeit.product is not None and counterfeit.product.sku == "LM-100"
        ref = session.get(ReferenceImage, counterfeit.matched_reference_id)
        assert ref is not None and ref.ref_id == "LM-100-front"
        assert counterfeit.matched_image_id is not None and counterfeit.image_distance is not None
        assert set(counterfeit.signals) == {"relevance", "image", "price", "seller", "region", "text.counterfeit",
                                            "text.diversion", "batch_code", "price.history", "seller.history",
                                            "relisting", "photo.text", "photo.codes"}
        assert findings[ids["unrelated"]].product_id is None
        assert all(listing.matched_version == listing.content_version for listing in session.scalars(select(Listing)))


def test_matching_idempotent(world: tuple[Database, BrandConfig, dict[str, int]]) -> None:
    db, config, _ = world
    run_matching(db, config)
    first = _rows(db)
    again = run_matching(db, config)
    assert again.examined == 0  # nothing changed
    assert _rows(db) == first
    full = run_matching(db, config, full=True)
    assert (full.examined, full.created, full.updated, full.unchanged) == (5, 0, 0, 5)
    assert _rows(db) == first  # same rows, same timestamps: no rewrite without a change
    with db.read() as session:
        assert len(session.scalars(select(Finding)).all()) == 5


def test_matching_incremental(world: tuple[Database, BrandConfig, dict[str, int]]) -> None:
    db, config, ids = world
    run_matching(db, config)
    with db.session() as session:
        session.execute(update(Listing).where(Listing.id == ids["ok"])
                        .values(price=500, content_version=Listing.content_version + 1))
    summary = run_matching(db, config)
    assert (summary.examined, summary.updated, summary.created) == (1, 1, 0)
    with db.read() as session:
        finding = session.scalars(select(Finding).where(Finding.listing_id == ids["ok"])).one()
        assert finding.verdict is Verdict.PRICE_FLOOR_BREACH
        assert any("¥500 is 74% of the suggested ¥680" in r for r in finding.reasons)


def test_reviewed_finding_is_not_overwritten(world: tuple[Database, BrandConfig, dict[str, int]]) -> None:
    db, config, ids = world
    run_matching(db, config)
    with db.session() as session:
        finding = session.scalars(select(Finding).where(Finding.listing_id == ids["diversion"])).one()
        session.add(Review(finding_id=finding.id, reviewer="ana", decision=ReviewDecision.CONFIRMED))
        session.execute(update(Listing).where(Listing.id == ids["diversion"])
                        .values(price=480, content_version=Listing.content_version + 1))
    before = [r for r in _rows(db) if r[1] == ids["diversion"]]
    summary = run_matching(db, config)
    assert summary.kept_reviewed == 1 and summary.updated == 0
    assert [r for r in _rows(db) if r[1] == ids["diversion"]] == before
    full = run_matching(db, config, full=True)
    assert full.kept_reviewed == 1
    assert [r for r in _rows(db) if r[1] == ids["diversion"]] == before


def test_rule_set_change_reexamines_everything(world: tuple[Database, BrandConfig, dict[str, int]]) -> None:
    db, config, _ = world
    run_matching(db, config)
    with db.session() as session:
        state = session.get(MatchState, brand_state_key(STATE_RULES, session.scalar(select(Brand.id))))
        assert state is not None and state.value == RULE_SET_VERSION
        state.value = "older-rules"
    summary = run_matching(db, config)
    assert summary.full and summary.examined == 5
    assert summary.full_because is not None and RULE_SET_VERSION in summary.full_because


def test_catalogue_change_reexamines_everything(tmp_path: Path,
                                                world: tuple[Database, BrandConfig, dict[str, int]]) -> None:
    db, config, ids = world
    run_matching(db, config)
    data = brand_dict()
    data["products"][0]["prices"] = [{"currency": "CNY", "suggested": "680", "floor": "690"}]
    with pytest.raises(ValueError, match="floor"):
        BrandConfig.model_validate(data)  # a floor above suggested is refused by the config itself
    data["products"][0]["prices"] = [{"currency": "CNY", "suggested": "800", "floor": "700"}]
    changed = make_config(tmp_path, data, write_files=False)
    sync_catalogue(db, changed)
    summary = run_matching(db, changed)
    assert summary.full and summary.examined == 5
    with db.read() as session:
        ok = session.scalars(select(Finding).where(Finding.listing_id == ids["ok"])).one()
        assert ok.verdict is Verdict.PRICE_FLOOR_BREACH  # 680 is now under the 700 floor


def test_small_batches_give_the_same_findings(world: tuple[Database, BrandConfig, dict[str, int]]) -> None:
    db, config, _ = world
    summary = run_matching(db, config, batch_size=2)
    assert summary.examined == 5 and summary.created == 5
    assert len(_rows(db)) == 5


def test_unsynced_catalogue_is_a_clear_error(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/empty.db")
    with pytest.raises(CatalogueNotSynced, match="run the catalogue sync first"):
        run_matching(db, make_config(tmp_path))
    db.dispose()


def test_reference_dropped_from_config_is_no_longer_matched(
        tmp_path: Path, world: tuple[Database, BrandConfig, dict[str, int]]) -> None:
    from matching.context import load_context

    db, _, _ = world
    data = brand_dict()
    data["products"][0]["reference_images"] = []
    changed = make_config(tmp_path, data, write_files=False)
    sync_catalogue(db, changed)
    with db.read() as session:
        ctx = load_context(session, changed)
    assert sorted(r.ref_id for r in ctx.index.references) == ["LM-200-front", "LM-300-front"]
    assert ctx.product_ids.keys() == {"LM-100", "LM-200", "LM-300"}
