"""The evaluation markets: every case of issue #15 at its documented rate, packs whose printed codes a reader can
decode, a code file that tells issued from never-issued and cloned serials, and a held-out market whose surface
the tuning market does not share."""

from __future__ import annotations

import io
import re
from collections import Counter

import numpy as np
import pytest
import zxingcpp
from PIL import Image

from brandpatrol.demo import DemoCatalogue, build_catalogue
from brandpatrol.demo import brand as demo_brand
from brandpatrol.demo.packs import (
    OwnPhoto,
    genuine_pack,
    gtin_check_digit,
    render_own_photo,
    render_pack,
)
from brandpatrol.demo.photos import PhotoRecipe
from brandpatrol.demo.surfaces import CASES, HELDOUT, TUNING, case_counts
from core.codes import gtin_problem

HARD_CASES = ("genuine_own_photo", "printed_lot_diversion", "own_photo_fake", "bent_name_fake", "network_shop",
              "lookalike_other_brand")
BRAND_WORDS = ("露米娜", "lumina")


@pytest.fixture(scope="module")
def tuning() -> DemoCatalogue:
    return build_catalogue()


@pytest.fixture(scope="module")
def heldout() -> DemoCatalogue:
    return build_catalogue(market="heldout")


def _decoded(image: Image.Image) -> set[str]:
    return {result.text for result in zxingcpp.read_barcodes(image)}


def _own_photos(catalogue: DemoCatalogue, case: str) -> list[tuple[str, OwnPhoto]]:
    return [(x.external_id, photo) for x in catalogue.listings if x.case == case
            for name in x.image_names if isinstance(photo := catalogue.recipes[name], OwnPhoto)]


def test_case_rates_add_up_and_each_market_has_every_case(tuning: DemoCatalogue, heldout: DemoCatalogue) -> None:
    assert sum(share for _, share, _ in CASES.values()) == pytest.approx(1.0)
    for catalogue, surface in ((tuning, TUNING), (heldout, HELDOUT)):
        assert catalogue.market == surface.name and catalogue.seed == surface.seed
        for marketplace in demo_brand.MARKETPLACES:
            counts = Counter(x.case for x in catalogue.listings_for(marketplace))
            assert counts == case_counts(surface.listings_per_marketplace)
        totals = Counter(x.case for x in catalogue.listings)
        assert all(totals[case] >= 6 for case in HARD_CASES), totals
    print("\ncases per market:", {c: (Counter(x.case for x in tuning.listings)[c],
                                      Counter(x.case for x in heldout.listings)[c]) for c in CASES})


def test_packs_print_readable_codes_and_own_photos_keep_them() -> None:
    product = demo_brand.PRODUCTS[1]
    pack = genuine_pack(product, lot="GDS2403117", serial="8012345678901234", code_kind="datamatrix")
    assert _decoded(render_pack(pack)) == {product.gtin, "8012345678901234"}
    for background in ("wood", "granite"):
        photo = render_own_photo(OwnPhoto(pack, background, seed=11, tilt=0.15))
        assert photo.size == (900, 900)
        assert product.gtin in _decoded(photo), background
    # The brand's reference artwork is the flat front, with no lot code or serial (printed at filling).
    assert _decoded(render_pack(genuine_pack(product))) == {product.gtin}
    for p in demo_brand.PRODUCTS:
        assert gtin_problem(p.gtin) is None and p.references[-1].source == f"pack:{p.sku}"
    assert gtin_check_digit("690123456789") == "2"


def test_fake_packs_differ_subtly_from_the_real_one(tuning: DemoCatalogue) -> None:
    fakes = [photo.pack for _, photo in _own_photos(tuning, "own_photo_fake") + _own_photos(tuning, "bent_name_fake")]
    assert len(fakes) >= 10
    real_prefixes = {p for s in demo_brand.AUTHORISED for p in s.batch_prefixes}
    for pack in fakes:
        # No fake prints a real distributor's lot: none or a made-up one.
        assert pack.lot is None or pack.lot[:3] in demo_brand.COUNTERFEIT_BOGUS_PREFIXES, pack
        assert pack.lot is None or pack.lot[:3] not in real_prefixes
    assert any(not p.bold_brand for p in fakes) and any(p.tint != (0, 0, 0) for p in fakes)
    assert any(p.brand_latin != "LUMINA" or p.brand_chinese != "露米娜" for p in fakes)
    assert any(p.lot is None for p in fakes) and any(p.lot for p in fakes)
    # Differences stay subtle: same layout and size, so a photo matcher still sees the brand's box.
    for pack in fakes[:4]:
        real = genuine_pack(next(p for p in demo_brand.PRODUCTS if p.sku == pack.palette_of))
        a, b = (np.asarray(render_pack(x).convert("L"), dtype=np.float32) for x in (pack, real))
        assert a.shape == b.shape and float(np.abs(a - b).mean()) < 40


def test_codes_issued_never_issued_and_cloned(tuning: DemoCatalogue, heldout: DemoCatalogue) -> None:
    distributors = {s.distributor for s in demo_brand.AUTHORISED}
    for catalogue in (tuning, heldout):
        issued = {code: (distributor, sku) for code, distributor, sku in catalogue.issued_codes}
        assert len(issued) == len(catalogue.issued_codes) and {d for d, _ in issued.values()} <= distributors
        assert all(re.fullmatch(r"[0-9]{16}", code) for code in issued)
        by_listing = {x.external_id: x for x in catalogue.listings}
        fake_serials: Counter[str] = Counter()
        for case in ("own_photo_fake", "bent_name_fake", "network_shop", "genuine_own_photo", "printed_lot_diversion"):
            for external_id, photo in _own_photos(catalogue, case):
                listing = by_listing[external_id]
                serial = photo.pack.serial
                if listing.label == "counterfeit":
                    fake_serials[serial or ""] += 1
                elif serial is not None:
                    # A real box's serial was issued to the distributor its stock came from, for its product.
                    shop = next(s for s in demo_brand.AUTHORISED if s.seller_id == listing.seller_id) \
                        if listing.case == "genuine_own_photo" else None
                    expected = shop.distributor if shop else listing.distributor
                    assert issued[serial] == (expected, listing.sku), listing.reason
        never = [s for s in fake_serials if s and s not in issued]
        assert never, "some fakes print a serial the brand never issued"
        cloned = [s for s, n in fake_serials.items() if s and s in issued]
        assert len(cloned) == 1 and fake_serials[cloned[0]] >= 3, fake_serials
        assert sum(1 for x in catalogue.listings if cloned[0] in x.reason) >= 3


def test_printed_lot_codes_are_on_the_box_only(tuning: DemoCatalogue) -> None:
    listings = [x for x in tuning.listings if x.case == "printed_lot_diversion"]
    for x in listings:
        [photo] = [tuning.recipes[n] for n in x.image_names if isinstance(tuning.recipes[n], OwnPhoto)]
        assert isinstance(photo, OwnPhoto) and photo.pack.lot
        shop = next(s for s in demo_brand.AUTHORISED if s.distributor == x.distributor)
        assert photo.pack.lot.startswith(shop.batch_prefixes[0])
        assert photo.pack.lot not in x.title + x.description
        assert not any(p in x.title + x.description for s in demo_brand.AUTHORISED for p in s.batch_prefixes)
        assert x.seller_id not in {s.seller_id for s in demo_brand.AUTHORISED}
    assert len({x.distributor for x in listings}) >= 2


def test_network_shares_photos_and_one_contact(tuning: DemoCatalogue, heldout: DemoCatalogue) -> None:
    for catalogue, surface in ((tuning, TUNING), (heldout, HELDOUT)):
        network = [x for x in catalogue.listings if x.case == "network_shop"]
        assert len({x.seller_id for x in network}) >= 3
        contact = surface.contact_forms[0].split()[-1]
        assert all(contact in x.description for x in network)
        assert any(form in x.description for x in network for form in surface.contact_forms)
        shared = Counter(catalogue.recipes[n] for x in network for n in x.image_names)
        assert max(shared.values()) >= 2  # the same photo on several listings
        photo_shops = {}
        for x in network:
            for n in x.image_names:
                photo_shops.setdefault(catalogue.recipes[n], set()).add(x.seller_id)
        assert max(len(s) for s in photo_shops.values()) >= 2, "shops of the network share photos"


def test_bent_names_and_lookalikes(tuning: DemoCatalogue, heldout: DemoCatalogue) -> None:
    for catalogue, surface in ((tuning, TUNING), (heldout, HELDOUT)):
        for x in catalogue.listings:
            folded = x.title.casefold()
            if x.case == "bent_name_fake":
                assert not any(w in folded for w in BRAND_WORDS), x.title
                assert any(b in x.title for b in surface.bent_brands + surface.brandless), x.title
            if x.case == "lookalike_other_brand":
                assert not any(w in folded for w in BRAND_WORDS), x.title
                assert any(o.chinese in x.title for o in surface.lookalikes), x.title
                recipe = catalogue.recipes[x.image_names[0]]
                pack = recipe.pack if isinstance(recipe, OwnPhoto) else None
                assert pack is None or pack.brand_latin in {o.latin for o in surface.lookalikes}
                if isinstance(recipe, PhotoRecipe):
                    assert recipe.source.startswith("lookalike:")
    bent = Counter(b for x in tuning.listings + heldout.listings if x.case == "bent_name_fake"
                   for b in TUNING.bent_brands + HELDOUT.bent_brands + TUNING.brandless + HELDOUT.brandless
                   if b in x.title)
    assert len(bent) >= 8, bent


def test_heldout_surface_is_not_the_tuning_one(tuning: DemoCatalogue, heldout: DemoCatalogue) -> None:
    assert TUNING.seed != HELDOUT.seed
    assert not set(TUNING.bent_brands) & set(HELDOUT.bent_brands)
    assert not set(TUNING.brandless) & set(HELDOUT.brandless)
    assert not set(TUNING.backgrounds) & set(HELDOUT.backgrounds)
    assert not set(TUNING.contact_forms) & set(HELDOUT.contact_forms)
    assert not {o.latin for o in TUNING.lookalikes} & {o.latin for o in HELDOUT.lookalikes}
    shops = ({s.name for s in c.sellers if not s.authorised} - {s.name for s in demo_brand.OTHERS}
             for c in (tuning, heldout))
    assert not set.intersection(*shops)
    assert not {x.external_id for x in tuning.listings} & {x.external_id for x in heldout.listings}
    for catalogue, surface in ((tuning, TUNING), (heldout, HELDOUT)):
        photos = [photo for case in HARD_CASES for _, photo in _own_photos(catalogue, case)]
        assert {p.background for p in photos} <= set(surface.backgrounds)
        assert all(surface.tilt[0] <= p.tilt <= surface.tilt[1] for p in photos)
    with pytest.raises(ValueError, match="unknown market 'nowhere'; use one of tuning, heldout"):
        build_catalogue(market="nowhere")


def test_every_photo_is_served_as_jpeg(heldout: DemoCatalogue) -> None:
    for case in HARD_CASES:
        x = next(x for x in heldout.listings if x.case == case)
        data = heldout.image_bytes(x.image_names[0])
        with Image.open(io.BytesIO(data)) as image:
            assert image.format == "JPEG" and 600 <= image.size[0] <= 1000, case
    assert heldout.image_bytes(x.image_names[0]) == data  # same recipe, same bytes


def test_same_seed_same_market() -> None:
    a, b = build_catalogue(market="heldout"), build_catalogue(market="heldout")
    assert a.listings == b.listings and a.issued_codes == b.issued_codes
    assert a.recipes == b.recipes
    c = build_catalogue(2028, market="heldout")
    assert c.listings != a.listings and c.issued_codes != a.issued_codes
