"""Reading the photos (matching/photos): real OCR (RapidOCR, the wheel's PP-OCR models) and real zxing-cpp on pack
photos generated at run time, over a real SQLite database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

from core.catalogue import sync_catalogue
from core.config import BrandConfig, ConfigError, parse_config
from core.db import Database
from core.images import hash_image, reading_copy
from core.models import Finding, Listing, PhotoCode, PhotoCopy, PhotoReading, ReadingStatus, Verdict
from core.settings import get_settings
from dashboard.data.detail import photo_readings
from matching.assess import assess
from matching.photos.codes import read_codes
from matching.photos.draw import render_photo_reading
from matching.photos.ocr import OcrEngine, shared_engine
from matching.photos.reading import PhotoRead, Sighting
from matching.photos.store import PhotoReader
from matching.run import run_matching
from tests.images import jpeg
from tests.matching_kit import add_listing, brand_dict, context_for, facts, make_config
from tests.packs import Pack, pack_image

GTIN = "6901234567892"


def photo_brand(directory: Path) -> BrandConfig:
    """The matching kit's Lumina, with LM-100's GTIN, GD24 lots shipped to 华南美妆供应链 and an issued-codes file."""
    data: dict[str, Any] = brand_dict()
    data["products"][0]["gtins"] = [GTIN]
    data["authorised_sellers"][1]["batch_prefixes"] = ["GD24"]
    data["brand"]["issued_codes"] = "codes.csv"
    (directory / "codes.csv").write_text("code,distributor,sku\nSN00012345,华南美妆供应链,LM-100\n"
                                         "SN00012346,Lumina Cosmetics,LM-100\n", encoding="utf-8")
    make_config(directory)
    import yaml

    path = directory / "brand.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return parse_config(path.read_text(encoding="utf-8"), path)


def add_pack_listing(db: Database, external_id: str, title: str, pack: Pack, **kwargs: Any) -> tuple[int, str]:
    """A listing whose one photo is `pack`, stored with its reading copy as the crawl stores it."""
    picture = pack_image(pack)
    listing_id = add_listing(db, "shop", external_id, title, images=(picture,), **kwargs)
    data = jpeg(picture)
    copy = reading_copy(data)
    with db.session() as session:
        sha = session.scalars(select(Listing).where(Listing.id == listing_id)).one().images[0].sha256
        assert sha is not None
        if session.get(PhotoCopy, sha) is None:
            session.add(PhotoCopy(sha256=sha, media_type=copy.media_type, width=copy.width, height=copy.height,
                                  size=len(copy.content), content=copy.content))
    return listing_id, sha


@pytest.fixture
def world(tmp_path: Path) -> Any:
    db = Database(f"sqlite:///{tmp_path}/t.db")
    config = photo_brand(tmp_path)
    assert sync_catalogue(db, config).ok
    yield db, config
    db.dispose()


def finding_of(db: Database, listing_id: int) -> Finding:
    with db.read() as session:
        finding = session.scalars(select(Finding).where(Finding.listing_id == listing_id)).one()
        session.expunge(finding)
        return finding


def test_ocr_reads_the_pack_names_the_product_traces_the_printed_lot_and_sees_the_stamp(world: Any) -> None:
    db, config = world
    # No brand in the title, no reference photo: only the pack says whose it is and which lot it came from.
    diverted, sha = add_pack_listing(db, "10", "精华液 特价 现货", Pack(lot="GD240211", qr=None), price="400")
    stamp_pack = Pack(lot=None, ean13=None, qr=None, stamp="高仿", seed=3)
    stamped, _ = add_pack_listing(db, "11", "露米娜焕活精华液", stamp_pack, price="600")
    summary = run_matching(db, config, clusters=False, reader=PhotoReader.from_settings(get_settings()))
    assert summary.photos["ocr"] == "ok" and summary.photos["read"] == 2 and summary.photos["skipped_share"] == 0

    with db.read() as session:
        reading = session.get(PhotoReading, sha)
        assert reading is not None and reading.status == ReadingStatus.OK
        texts = [line[0] for line in reading.lines]
        assert any("露米娜" in t for t in texts) and any("GD240211" in t.replace(" ", "") for t in texts)
        assert ["EAN13", GTIN] in [code[:2] for code in reading.codes]
        assert GTIN.zfill(14) in set(session.scalars(select(PhotoCode.code).where(PhotoCode.sha256 == sha)))
        drawn = render_photo_reading(session, sha)
    assert drawn is not None and drawn.startswith(b"\x89PNG")

    found = finding_of(db, diverted)
    assert found.verdict is Verdict.DIVERSION
    assert found.signals["relevance"]["evidence"]["sku"] == "LM-100"
    assert found.signals["photo.text"]["outcome"] == "match"
    assert found.signals["photo.text"]["evidence"]["photo"]["matched"], "the words read are kept as evidence"
    batch = found.signals["batch_code"]
    assert batch["outcome"] == "match" and batch["evidence"]["distributor"] == "华南美妆供应链"
    assert batch["reason"].startswith("printed on the pack in photo 1")
    assert any("华南美妆供应链" in r for r in found.reasons)
    drawings = photo_readings(db, found.id)
    assert [position for position, _ in drawings] == [0] and drawings[0][1].startswith(b"\x89PNG")

    stamp = finding_of(db, stamped)
    assert stamp.verdict is Verdict.COUNTERFEIT
    assert "高仿" in stamp.signals["text.counterfeit"]["evidence"]["tells"]
    assert stamp.signals["text.counterfeit"]["evidence"]["source"] == "photo"

    again = run_matching(db, config, full=True, clusters=False, reader=PhotoReader.from_settings(get_settings()))
    assert again.photos["read"] == 0 and again.photos["cached"] == 2, "a photo is read once, then cached by SHA-256"


def _codes_only(pack: Pack, position: int = 0, sha: str = "a" * 64) -> PhotoRead:
    """A photo as the reader leaves it, with only the codes zxing-cpp decodes on it (no OCR needed here)."""
    return PhotoRead(sha, position, None, ReadingStatus.OK.value, (), tuple(read_codes(pack_image(pack))))


def test_codes_on_the_pack_identify_trace_expose_and_catch_clones(tmp_path: Path) -> None:
    config = photo_brand(tmp_path)
    ctx = context_for(config)
    seller = ("美妆小铺3", "x-3")
    title = "精华液 现货"  # product words only: the GTIN identifies the product

    issued = facts(title, price="400", seller=seller)
    issued = issued.__class__(**{**issued.__dict__, "readings": (_codes_only(Pack(lot=None, name="", latin="")),)})
    result = assess(issued, ctx)
    assert result.sku == "LM-100" and result.signals.photo_codes is not None
    assert result.signals.photo_codes.evidence["gtin"] == GTIN
    assert result.signals.batch_code is not None and result.signals.batch_code.matched
    assert result.signals.batch_code.evidence["distributor"] == "华南美妆供应链"
    assert result.verdict.verdict is Verdict.DIVERSION

    never = Pack(lot=None, name="", latin="", qr="https://lumina.example/v/SN99999999")
    made_up = issued.__class__(**{**issued.__dict__, "readings": (_codes_only(never),)})
    result = assess(made_up, ctx)
    assert result.signals.batch_code is not None and result.signals.batch_code.unmatched
    assert "never issued" in result.signals.batch_code.reason
    assert result.verdict.verdict is Verdict.COUNTERFEIT

    elsewhere = {"SN00012345": (Sighting("SN00012345", "mall", "另一家店", "77", "b" * 64),
                                Sighting("SN00012345", "shop", "第三家", "78", "c" * 64))}
    cloned = issued.__class__(**{**issued.__dict__, "readings": (_codes_only(Pack(lot=None, name="", latin="")),),
                                 "code_sightings": elsewhere})
    result = assess(cloned, ctx)
    assert result.signals.cloned_code is not None and result.signals.cloned_code.matched
    assert result.signals.cloned_code.measure == 2.0
    assert result.verdict.verdict is Verdict.COUNTERFEIT
    assert any("also on the packs of 2 other seller(s)" in r for r in result.verdict.reasons)

    same_photo = {"SN00012345": (Sighting("SN00012345", "mall", "另一家店", "77", "a" * 64),)}
    shared = issued.__class__(**{**issued.__dict__, "readings": (_codes_only(Pack(lot=None, name="", latin="")),),
                                 "code_sightings": same_photo})
    assert assess(shared, ctx).signals.cloned_code is None, "the same photo reused is not a second unit"

    unread = assess(facts(title, price="400", seller=seller), ctx)
    assert unread.signals.photo_codes is not None and unread.signals.photo_codes.unknown


def test_a_model_that_fails_to_load_is_said_and_matching_goes_on(world: Any, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    db, config = world
    broken = tmp_path / "models"
    broken.mkdir()
    for name in ("PP-OCRv6_det_small.onnx", "ch_ppocr_mobile_v2.0_cls_mobile.onnx", "PP-OCRv6_rec_small.onnx"):
        (broken / name).write_bytes(b"not an onnx model")
    monkeypatch.setenv("BRANDPATROL_OCR_MODEL_DIR", str(broken))
    get_settings.cache_clear()
    listing_id, _ = add_pack_listing(db, "20", "露米娜焕活精华液", Pack(), price="600")
    summary = run_matching(db, config, clusters=False)
    assert summary.photos["ocr"].startswith(f"unavailable: OCR models in {broken} failed to load")
    assert "BRANDPATROL_OCR_MODEL_DIR" in summary.photos["ocr"]
    found = finding_of(db, listing_id)
    assert found.verdict is not None
    assert found.signals["photo.text"]["outcome"] == "unknown"
    assert "failed to load" in found.signals["photo.text"]["reason"]

    monkeypatch.setenv("BRANDPATROL_OCR_MODEL_DIR", str(tmp_path / "nowhere"))
    get_settings.cache_clear()
    missing = run_matching(db, config, full=True, clusters=False)
    assert "OCR models not found in" in missing.photos["ocr"] and "missing" in missing.photos["ocr"]


def test_a_photo_ocr_cannot_read_is_stored_unreadable_and_reads_as_unknown(world: Any) -> None:
    db, config = world
    listing_id, sha = add_pack_listing(db, "30", "露米娜焕活精华液", Pack(), price="600")
    with db.session() as session:
        copy = session.get(PhotoCopy, sha)
        assert copy is not None
        copy.content = copy.content[:300]  # a truncated JPEG
    summary = run_matching(db, config, clusters=False, reader=PhotoReader.from_settings(get_settings()))
    assert summary.photos["unreadable"] == 1
    with db.read() as session:
        reading = session.get(PhotoReading, sha)
        assert reading is not None and reading.status == ReadingStatus.UNREADABLE and reading.error
    found = finding_of(db, listing_id)
    assert found.signals["photo.text"]["outcome"] == "unknown"
    assert found.signals["photo.codes"]["outcome"] == "unknown"


def test_issued_codes_file_with_bad_rows_is_refused_whole_with_line_numbers(tmp_path: Path) -> None:
    config = photo_brand(tmp_path)
    assert len(config.issued_codes) == 2 and config.issued_codes.shaped_like_ours("SN99999999")
    (tmp_path / "codes.csv").write_text("code,distributor\nSN00000001,华南美妆供应链\nSN00000002,Nobody\n"
                                        "--,华南美妆供应链\nSN00000003,华南美妆供应链,extra\n", encoding="utf-8")
    path = tmp_path / "brand.yaml"
    with pytest.raises(ConfigError) as caught:
        parse_config(path.read_text(encoding="utf-8"), path)
    problems = "\n".join(caught.value.problems)
    assert "codes.csv: line 3: distributor 'Nobody'" in problems
    assert "line 4: code '--' has no digits" in problems
    assert "line 5: 3 fields where the header has 2" in problems
    assert "csv: line 2" not in problems and "none of it was loaded" in problems

    bad_gtin = path.read_text(encoding="utf-8").replace(GTIN, GTIN[:-1] + "3")
    (tmp_path / "codes.csv").write_text("code,distributor\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="check digit is 3, the digits before it give 2"):
        parse_config(bad_gtin, path)


def test_reading_copy_keeps_small_photos_as_fetched_and_bounds_large_ones() -> None:
    small = jpeg(pack_image(Pack()))
    kept = reading_copy(small, 1280)
    assert kept.content == small and (kept.width, kept.height) == (800, 800)
    large = jpeg(pack_image(Pack()).resize((3000, 2400)))
    bounded = reading_copy(large, 1280)
    assert max(bounded.width, bounded.height) == 1280 and bounded.media_type == "image/jpeg"
    assert Image.open(__import__("io").BytesIO(bounded.content)).size == (1280, 1024)


@pytest.mark.slow
def test_the_run_budget_skips_photos_says_how_many_and_the_next_run_reads_them(world: Any) -> None:
    db, config = world
    for i in range(3):
        pack = Pack(lot=f"GD24000{i}", qr=None, ean13=None, seed=i)
        add_pack_listing(db, f"4{i}", "露米娜焕活精华液", pack, price="600")

    def engine() -> OcrEngine:
        return shared_engine(None, get_settings().ocr_max_side)

    tiny = PhotoReader(engine, run_budget_s=1e-6)  # one photo read, then the budget is spent
    first = run_matching(db, config, clusters=False, reader=tiny)
    assert (first.photos["read"], first.photos["skipped_budget"]) == (1, 2)
    assert first.photos["skipped_share"] == pytest.approx(2 / 3, abs=1e-3)
    assert first.awaiting_photos == 2
    with db.read() as session:
        waiting = session.scalars(select(Listing).where(Listing.content_version > Listing.matched_version)).all()
        assert len(waiting) == 2, "listings whose photos wait stay in the matching queue"
        finding = session.scalars(select(Finding).where(Finding.listing_id == waiting[0].id)).one()
        assert "budget ran out" in finding.signals["photo.text"]["reason"]
    second = run_matching(db, config, clusters=False, reader=PhotoReader(engine, run_budget_s=1e-6))
    assert second.examined == 2 and (second.photos["read"], second.photos["skipped_budget"]) == (1, 1)


def test_the_crawl_keeps_one_bounded_reading_copy_per_photo(db: Database) -> None:
    from crawler.items import ImageRecord, ListingItem
    from crawler.storage import ListingStore

    data = jpeg(pack_image(Pack()).resize((2000, 2000)))
    hashes = hash_image(data, thumbnail=True)
    copy = reading_copy(data, 1280)

    def item(external_id: str) -> ListingItem:
        record = ImageRecord(url=f"http://img.example/{external_id}.jpg", status="ok", sha256=hashes.sha256,
                             phash=hashes.phash, dhash=hashes.dhash, phash_mirror=hashes.phash_mirror,
                             width=2000, height=2000, thumbnail=hashes.thumbnail, reading_copy=copy)
        return ListingItem(marketplace="shop", external_id=external_id, url=f"http://shop.example/{external_id}",
                           title="露米娜焕活精华液", images=[record])

    store = ListingStore(db, "shop", None)
    store.write_batch([item("1"), item("2")])
    store.write_batch([item("3")])
    with db.read() as session:
        copies = session.scalars(select(PhotoCopy)).all()
    assert len(copies) == 1 and copies[0].sha256 == hashes.sha256
    assert (copies[0].width, copies[0].height) == (1280, 1280) and copies[0].size == len(copies[0].content)


@pytest.mark.postgres
def test_copies_are_stored_once_pruned_and_serials_looked_up_on_postgresql(postgres_url: str) -> None:
    from crawler.items import ImageRecord, ListingItem
    from crawler.storage import ListingStore

    db = Database(postgres_url)
    try:
        data = jpeg(pack_image(Pack()))
        hashes = hash_image(data, thumbnail=True)
        record = ImageRecord(url="http://img.example/1.jpg", status="ok", sha256=hashes.sha256, phash=hashes.phash,
                             dhash=hashes.dhash, phash_mirror=hashes.phash_mirror, width=800, height=800,
                             thumbnail=hashes.thumbnail, reading_copy=reading_copy(data))
        store = ListingStore(db, "shop", None)
        for external_id in ("1", "2"):  # the second batch inserts the same photo again: ignored, not an error
            store.write_batch([ListingItem(marketplace="shop", external_id=external_id, title="露米娜",
                                           url=f"http://shop.example/{external_id}", images=[record])])
        with db.session() as session:
            assert len(session.scalars(select(PhotoCopy)).all()) == 1
            session.add(PhotoReading(sha256=hashes.sha256, engine="e", status=ReadingStatus.OK, lines=[], codes=[]))
            session.add(PhotoCode(sha256=hashes.sha256, code="SN00012345", format="QRCode"))
        with db.session() as session:
            reader = PhotoReader(None)
            assert reader.prune(session) == 1, "a copy whose reading found nothing is dropped"
            found = reader.sightings(session, {"SN00012345"})
        assert sorted(s.external_id for s in found["SN00012345"]) == ["1", "2"]
    finally:
        db.dispose()


def test_lot_codes_read_with_letters_for_digits_are_traced(tmp_path: Path) -> None:
    from matching.photos.reading import TextLine
    from matching.photos.signals import ocr_digits

    assert ocr_digits("批号: GD24O2l1") == "批号: GD240211"
    assert ocr_digits("露米娜 30ml SPF50") == "露米娜 30ml SPF50", "words after a number are left alone"
    config = photo_brand(tmp_path)
    line = TextLine("批号: GD24O2l1", 0.9, ((0, 0), (10, 0), (10, 10), (0, 10)))
    read = PhotoRead("d" * 64, 0, None, ReadingStatus.OK.value, (line,))
    base = facts("露米娜焕活精华液", price="400")
    result = assess(base.__class__(**{**base.__dict__, "readings": (read,)}), context_for(config))
    assert result.signals.batch_code is not None and result.signals.batch_code.evidence["code"] == "GD240211"
    assert result.signals.batch_code.evidence["distributor"] == "华南美妆供应链"


def test_the_brands_own_photo_is_not_read(world: Any) -> None:
    """A copied reference photo's print is the brand's artwork (a lot code on it names the lot the brand shot)."""
    from tests.matching_kit import genuine_photo

    db, config = world
    listing_id = add_listing(db, "shop", "50", "露米娜焕活精华液", price="600", images=(genuine_photo(),))
    with db.session() as session:
        image = session.get_one(Listing, listing_id).images[0]
        data = jpeg(genuine_photo())
        copy = reading_copy(data)
        assert image.sha256 is not None
        session.add(PhotoCopy(sha256=image.sha256, media_type=copy.media_type, width=copy.width,
                              height=copy.height, size=len(copy.content), content=copy.content))
    summary = run_matching(db, config, clusters=False, reader=PhotoReader.from_settings(get_settings()))
    assert summary.photos["brand_photos"] == 1 and summary.photos["read"] == 0
    assert "the brand's own photo" in finding_of(db, listing_id).signals["photo.text"]["reason"]
