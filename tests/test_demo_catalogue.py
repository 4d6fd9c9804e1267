"""The demo catalogue: deterministic, the promised label mix, each label built the way its docstring says,
a workspace the real config loader accepts, and photos a perceptual hash can (and cannot) match."""

from __future__ import annotations

import csv
import io
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from brandpatrol.demo import LABELS, DemoCatalogue, build_catalogue
from brandpatrol.demo import brand as demo_brand
from brandpatrol.demo.catalogue import reference_recipe
from brandpatrol.demo.photos import PhotoRecipe, render_jpeg
from brandpatrol.demo.surfaces import CASES, case_counts
from core.config import load_config
from core.images import ImageHashes, hamming, hash_image
from core.regions import locate

TELLS = ("高仿", "1:1", "A货", "原单", "replica", "复刻", "一比一")
DIVERSION_WORDS = ("清仓", "尾货", "内部渠道", "刮码")


@pytest.fixture(scope="module")
def catalogue() -> DemoCatalogue:
    return build_catalogue()


def _product(sku: str | None) -> demo_brand.DemoProduct:
    return next(p for p in demo_brand.PRODUCTS if p.sku == sku)


def _authorisation(marketplace: str, seller_id: str) -> demo_brand.DemoSeller | None:
    return next((s for s in demo_brand.AUTHORISED if (s.marketplace, s.seller_id) == (marketplace, seller_id)), None)


def _region_allowed(shop: demo_brand.DemoSeller, location: str) -> bool:
    place = locate(location)
    assert place is not None and place.country, f"demo location {location!r} must be readable"
    return place.subdivision in shop.regions or place.country in shop.regions


def test_same_seed_same_catalogue_and_bytes(catalogue: DemoCatalogue) -> None:
    again = build_catalogue(7)
    assert again.listings == catalogue.listings
    names = [catalogue.listings[i].image_names[0] for i in (0, 17, 45)]
    first = [catalogue.image_bytes(n) for n in names]
    render_jpeg.cache_clear()  # render again for real, not from the cache
    assert [again.image_bytes(n) for n in names] == first
    other = build_catalogue(8)
    assert [x.external_id for x in other.listings] != [x.external_id for x in catalogue.listings]


def test_label_mix_and_fields(catalogue: DemoCatalogue) -> None:
    assert len(catalogue.listings) == 100
    for marketplace in ("demo-shop", "demo-js"):
        counts = Counter(x.label for x in catalogue.listings_for(marketplace))
        assert counts == {"genuine": 13, "diversion": 12, "counterfeit": 19, "unrelated": 6}
        cases = Counter(x.case for x in catalogue.listings_for(marketplace))
        assert cases == case_counts(50) and set(cases) == set(CASES)
        assert all(CASES[x.case][0] == x.label for x in catalogue.listings_for(marketplace))
    ids = [(x.marketplace, x.external_id) for x in catalogue.listings]
    assert len(set(ids)) == len(ids)
    names = [n for x in catalogue.listings for n in x.image_names]
    assert len(set(names)) == len(names)
    for x in catalogue.listings:
        assert x.label in LABELS
        assert x.currency == "CNY" and isinstance(x.price, Decimal) and x.price > 0
        assert x.price == x.price.quantize(Decimal("0.01"))
        assert 1 <= len(x.image_names) <= 3 or x.case == "network_shop"
        assert x.sales >= 0 and x.title and x.description and x.seller_name and x.seller_id and x.location
        assert (x.sku is None) == (x.label == "unrelated")
        assert bool(x.distributor) == (x.label == "diversion" and x.case != "diversion_code_scratched"), x.reason
    small = build_catalogue(3, listings_per_marketplace=10)
    assert Counter(x.label for x in small.listings_for("demo-js")) == {
        "genuine": 3, "diversion": 2, "counterfeit": 4, "unrelated": 1}


def test_each_label_is_built_as_documented(catalogue: DemoCatalogue) -> None:
    seen: Counter[str] = Counter()
    for x in catalogue.listings:
        shop = _authorisation(x.marketplace, x.seller_id)
        if x.label == "unrelated":
            assert not any(p.short_zh in x.title or p.short_en in x.title for p in demo_brand.PRODUCTS)
            continue
        product = _product(x.sku)
        ratio = x.price / product.suggested
        if x.label == "genuine":
            assert shop is not None and _region_allowed(shop, x.location), x.reason
            assert x.price >= product.floor
            if x.case == "genuine":
                assert any(p in x.description for p in shop.batch_prefixes)
        elif x.label == "diversion":
            assert Decimal("0.3") <= ratio <= Decimal("0.85") and x.price < product.floor, x.reason
            if ratio <= Decimal("0.5"):  # cleared stock priced like a fake: its distributor's code is shown
                assert shop is None and any(p in x.description for s in demo_brand.AUTHORISED
                                            for p in s.batch_prefixes), x.reason
                seen["diversion priced like a fake"] += 1
            if shop is None:
                seen["diversion by unauthorised seller"] += 1
            else:
                assert not _region_allowed(shop, x.location), x.reason
                seen["diversion outside regions"] += 1
            seen["diversion word"] += any(w in x.title for w in DIVERSION_WORDS)
        else:
            assert Decimal("0.15") <= ratio <= Decimal("0.75"), x.reason
            assert shop is None
            if x.case == "premium_fake":  # a premium fake priced like diverted stock prints a made-up code
                assert ratio > Decimal("0.5"), x.reason
                assert any(f"批号：{p}" in x.description for p in demo_brand.COUNTERFEIT_BOGUS_PREFIXES), x.reason
                seen["counterfeit priced like diversion"] += 1
            seen["counterfeit with tell" if any(t in x.title for t in TELLS) else "counterfeit without"] += 1
    # Mixed on purpose: no single text or seller cue sorts the classes.
    assert seen["diversion by unauthorised seller"] and seen["diversion outside regions"]
    assert seen["diversion word"] and seen["counterfeit with tell"] and seen["counterfeit without"]
    # Price bands overlap on purpose: the price alone would give these the wrong verdict.
    assert seen["diversion priced like a fake"] >= 4 and seen["counterfeit priced like diversion"] >= 4
    sellers_by_label: dict[str, set[str]] = {}
    for x in catalogue.listings:
        sellers_by_label.setdefault(x.label, set()).add(x.seller_id)
    assert sellers_by_label["diversion"] & sellers_by_label["counterfeit"], "some shops sell both"


def test_workspace_loads_with_the_real_config_loader(catalogue: DemoCatalogue, tmp_path: Path) -> None:
    path = catalogue.write_workspace(tmp_path / "ws", "http://127.0.0.1:8123")
    assert path == tmp_path / "ws" / "brandpatrol.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("#") and "露米娜" in text
    config = load_config(path)
    assert config.brand.names == {"en": "Lumina", "zh": "露米娜"}
    assert config.brand.rights_holder and config.brand.rights_holder.email
    assert [p.sku for p in config.products] == ["LM-100", "LM-200", "LM-300"]
    assert config.products[0].price_in("CNY").suggested == Decimal("680")  # type: ignore[union-attr]
    shop, js = config.marketplace("demo-shop"), config.marketplace("demo-js")
    assert shop.search_url == "http://127.0.0.1:8123/shop/search?q={query}&page={page}"
    assert js.search_url == "http://127.0.0.1:8123/js/search?q={query}&page={page}"
    assert (shop.javascript, js.javascript) == (False, True)
    assert shop.spider == js.spider == "demo" and shop.search_terms == ["露米娜", "Lumina"]
    assert config.egress.allow_private_hosts == ["127.0.0.1:8123"]
    assert {s.marketplace for s in config.authorised_sellers} == {"demo-shop", "demo-js"}
    for product in config.products:
        assert 2 <= len(product.reference_images) <= 3
        assert product.reference_images[-1].id == f"{product.sku}-pack"  # the flat front of its box
        assert product.gtins == [_product(product.sku).gtin]
        for ref in product.reference_images:
            file = config.resolve_path(ref.path)
            with Image.open(file) as image:
                assert image.format == "JPEG" and image.size == (600, 600)
    rows = list(csv.DictReader(io.StringIO((tmp_path / "ws" / "labels.csv").read_text(encoding="utf-8"))))
    assert len(rows) == 100 and list(rows[0]) == ["marketplace", "external_id", "label", "case", "distributor"]
    assert {tuple(r.values()) for r in rows} == {
        (x.marketplace, x.external_id, x.label, x.case, x.distributor) for x in catalogue.listings}
    # The code file the config names: header code,distributor,sku; every distributor is an authorised one's.
    assert config.brand.issued_codes == "codes.csv"
    codes = list(csv.DictReader(io.StringIO(config.resolve_path(config.brand.issued_codes).read_text(
        encoding="utf-8"))))
    assert list(codes[0]) == ["code", "distributor", "sku"]
    assert {c["distributor"] for c in codes} <= {s.distributor for s in config.authorised_sellers}
    assert len({c["code"] for c in codes}) == len(codes) == len(catalogue.issued_codes)


# --- photos ---------------------------------------------------------------------------------------------

def _distance(listing: ImageHashes, reference: ImageHashes) -> int:
    """pHash distance allowing for a mirrored copy, as core.images stores both."""
    return min(hamming(listing.phash, reference.phash), hamming(listing.phash_mirror, reference.phash))


@pytest.fixture(scope="module")
def references() -> dict[str, ImageHashes]:
    return {ref.source: hash_image(render_jpeg(reference_recipe(ref.source)))
            for p in demo_brand.PRODUCTS for ref in p.references}


def test_listing_images_are_jpeg_and_unknown_names_raise(catalogue: DemoCatalogue) -> None:
    listing = catalogue.listings[0]
    data = catalogue.image_bytes(listing.image_names[0])
    assert data[:3] == b"\xff\xd8\xff"
    assert catalogue.image_bytes(listing.image_names[0] + ".jpg") == data
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG" and 600 <= image.size[0] <= 1000
    with pytest.raises(KeyError):
        catalogue.image_bytes("no-such-image")
    with pytest.raises(KeyError):
        catalogue.reference_bytes("LM-999-front")


def test_seller_alterations_change_bytes_but_stay_recognisable(references: dict[str, ImageHashes]) -> None:
    source = "coffee"
    original = render_jpeg(reference_recipe(source))
    ref = references[source]
    plain = PhotoRecipe(source, size=800, quality=85)
    altered = {
        "plain": plain,
        "recompressed": PhotoRecipe(source, size=700, quality=35),
        "mirrored": PhotoRecipe(source, mirror=True, quality=70),
        "watermarked": PhotoRecipe(source, watermark="1:1 COPY", quality=70),
        "white border": PhotoRecipe(source, border=0.10, quality=70),
    }
    for kind, recipe in altered.items():
        data = render_jpeg(recipe)
        assert data != original, kind
        assert _distance(hash_image(data), ref) <= (6 if kind == "plain" else 10), kind
    # A corner crop or a tilt moves a whole-image hash too far; against the reference cropped or rotated the
    # same way (what a robust matcher precomputes) it is the same photo again.
    for recipe, variant in (
        (PhotoRecipe(source, crop_corner="tl", quality=60), PhotoRecipe(source, size=600, crop_corner="tl")),
        (PhotoRecipe(source, crop_corner="br", mirror=True), PhotoRecipe(source, size=600, crop_corner="br")),
        (PhotoRecipe(source, rotate=8.0), PhotoRecipe(source, size=600, rotate=6.0)),
    ):
        data = render_jpeg(recipe)
        assert data != original
        assert _distance(hash_image(data), hash_image(render_jpeg(variant))) <= 10, recipe


def test_unrelated_photos_never_match_a_reference(references: dict[str, ImageHashes]) -> None:
    for source in demo_brand.UNRELATED_PHOTOS:
        hashes = hash_image(render_jpeg(PhotoRecipe(source, size=400)))
        assert min(_distance(hashes, ref) for ref in references.values()) > 16, source
    for a in references:
        for b in references:
            if a != b:
                assert _distance(references[a], references[b]) > 16, (a, b)


def test_genuine_photos_match_their_own_product(catalogue: DemoCatalogue,
                                                references: dict[str, ImageHashes]) -> None:
    plain = [x for x in catalogue.listings if x.label in ("genuine", "diversion")
             and x.case not in ("genuine_own_photo", "printed_lot_diversion")]  # own photos: see test_demo_packs
    for x in plain[:12]:
        product = _product(x.sku)
        own = [references[r.source] for r in product.references]
        hashes = hash_image(catalogue.image_bytes(x.image_names[0]))
        assert min(_distance(hashes, ref) for ref in own) <= 10, x.reason
