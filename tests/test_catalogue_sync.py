"""core.catalogue.sync_catalogue on a real SQLite database: upserts, hashing, idempotence, clear errors."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from core.catalogue import URL_NOT_FETCHED, sync_catalogue
from core.db import Database
from core.images import HASH_VERSION, hash_image
from core.models import Brand, ImageStatus, Marketplace, Product, ReferenceImage
from tests.images import jpeg, photo
from tests.matching_kit import brand_dict, make_config


def _refs(db: Database) -> dict[str, ReferenceImage]:
    with db.read() as session:
        return {r.ref_id: r for r in session.scalars(select(ReferenceImage))}


def test_sync_creates_brand_products_references_and_marketplaces(db: Database, tmp_path: Path) -> None:
    config = make_config(tmp_path)
    report = sync_catalogue(db, config)
    assert report.ok and report.changed and report.brand_created
    assert report.products_created == ["LM-100", "LM-200", "LM-300"]
    assert sorted(report.references_hashed) == ["LM-100/LM-100-front", "LM-200/LM-200-front", "LM-300/LM-300-front"]
    assert report.marketplaces_created == ["shop", "mall"]
    with db.read() as session:
        brand = session.scalars(select(Brand)).one()
        assert brand.names == {"en": "Lumina", "zh": "露米娜"}
        serum = session.scalars(select(Product).where(Product.sku == "LM-100")).one()
        assert serum.prices == [{"currency": "CNY", "suggested": "680", "floor": "580"}]
        assert serum.keywords == ["精华液", "Lumina serum", "serum"]
        assert {m.name: m.base_url for m in session.scalars(select(Marketplace))} == {
            "shop": "http://shop.example", "mall": "http://mall.example"}
    ref = _refs(db)["LM-100-front"]
    expected = hash_image((tmp_path / "refs" / "LM-100-front.jpg").read_bytes(), thumbnail=True)
    assert ref.status is ImageStatus.OK
    assert (ref.phash, ref.dhash, ref.phash_mirror, ref.sha256) == (
        expected.phash, expected.dhash, expected.phash_mirror, expected.sha256)
    assert ref.thumbnail and ref.thumbnail.startswith(b"\xff\xd8")
    assert ref.source == "refs/LM-100-front.jpg"


def test_sync_is_idempotent(db: Database, tmp_path: Path) -> None:
    config = make_config(tmp_path)
    sync_catalogue(db, config)
    before = {k: (r.id, r.sha256, r.phash) for k, r in _refs(db).items()}
    again = sync_catalogue(db, config)
    assert again.ok and not again.changed
    assert len(again.references_unchanged) == 3 and not again.references_hashed
    assert {k: (r.id, r.sha256, r.phash) for k, r in _refs(db).items()} == before


def test_changed_file_is_hashed_again(db: Database, tmp_path: Path) -> None:
    config = make_config(tmp_path)
    sync_catalogue(db, config)
    old = _refs(db)["LM-200-front"]
    (tmp_path / "refs" / "LM-200-front.jpg").write_bytes(jpeg(photo("rocket")))
    report = sync_catalogue(db, config)
    assert report.references_hashed == ["LM-200/LM-200-front"]
    new = _refs(db)["LM-200-front"]
    assert new.id == old.id and new.sha256 != old.sha256 and new.phash != old.phash


def test_missing_and_corrupt_files_are_reported_and_do_not_stop_the_others(db: Database, tmp_path: Path) -> None:
    config = make_config(tmp_path)
    (tmp_path / "refs" / "LM-100-front.jpg").unlink()
    (tmp_path / "refs" / "LM-200-front.jpg").write_bytes(jpeg(photo("coffee"))[:300])  # cut short
    report = sync_catalogue(db, config)
    assert not report.ok
    assert report.references_hashed == ["LM-300/LM-300-front"]
    assert sorted(report.references_failed) == ["LM-100/LM-100-front", "LM-200/LM-200-front"]
    missing, corrupt = sorted(report.errors)
    assert "product LM-100, reference 'LM-100-front'" in missing and "LM-100-front.jpg" in missing
    assert "file not found" in missing and "fix the path in the config" in missing
    assert "product LM-200, reference 'LM-200-front'" in corrupt and "replace it with" in corrupt
    refs = _refs(db)
    assert refs["LM-100-front"].status is ImageStatus.FETCH_FAILED and refs["LM-100-front"].phash is None
    assert refs["LM-200-front"].status is ImageStatus.CORRUPT
    assert refs["LM-300-front"].status is ImageStatus.OK


def test_good_hashes_survive_a_file_going_missing(db: Database, tmp_path: Path) -> None:
    config = make_config(tmp_path)
    sync_catalogue(db, config)
    before = _refs(db)["LM-100-front"]
    (tmp_path / "refs" / "LM-100-front.jpg").unlink()
    report = sync_catalogue(db, config)
    assert not report.ok and "file not found" in report.errors[0]
    after = _refs(db)["LM-100-front"]
    assert (after.status, after.phash, after.sha256) == (ImageStatus.OK, before.phash, before.sha256)


def test_url_references_are_not_fetched_yet(db: Database, tmp_path: Path) -> None:
    data = brand_dict()
    data["products"][0]["reference_images"].append({"id": "LM-100-web", "path": "https://cdn.example/lm100.jpg"})
    report = sync_catalogue(db, make_config(tmp_path, data))
    assert report.ok
    assert report.references_skipped == ["LM-100/LM-100-web"]
    assert any(URL_NOT_FETCHED in note for note in report.notes)
    assert _refs(db)["LM-100-web"].status is ImageStatus.PENDING


def test_config_changes_update_rows_and_removed_items_are_kept(db: Database, tmp_path: Path) -> None:
    sync_catalogue(db, make_config(tmp_path))
    data = brand_dict()
    data["products"][1]["keywords"] = ["面霜", "cream", "hydra"]
    data["products"][0]["reference_images"] = []
    del data["products"][2]
    report = sync_catalogue(db, make_config(tmp_path, data, write_files=False))
    assert report.products_updated == ["LM-200"]
    assert report.products_not_in_config == ["LM-300"]
    assert report.references_not_in_config == ["LM-100/LM-100-front"]
    with db.read() as session:
        assert len(session.scalars(select(Product)).all()) == 3  # nothing is deleted
        cream = session.scalars(select(Product).where(Product.sku == "LM-200")).one()
        assert cream.keywords == ["面霜", "cream", "hydra"]
    assert "LM-100-front" in _refs(db)
    assert report.to_dict()["ok"] is True


def test_hashes_of_another_version_are_made_again(db: Database, tmp_path: Path) -> None:
    config = make_config(tmp_path)
    sync_catalogue(db, config)
    with db.session() as session:
        for ref in session.scalars(select(ReferenceImage)):
            ref.hash_version, ref.phash = "older", "0000000000000000"
    report = sync_catalogue(db, config)
    assert sorted(report.references_hashed) == ["LM-100/LM-100-front", "LM-200/LM-200-front", "LM-300/LM-300-front"]
    refs = _refs(db)
    assert all(r.hash_version == HASH_VERSION and r.phash != "0000000000000000" for r in refs.values())
    assert not sync_catalogue(db, config).references_hashed
