"""Each signal alone: MATCH / NO_MATCH / UNKNOWN, the measure, the reason, the evidence."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image, ImageOps

from core.config import AuthorisedSeller, BrandConfig, Product
from core.images import hash_image
from core.models import ImageStatus
from matching.facts import ImageFacts
from matching.references import ReferenceIndex, reference
from matching.signals import (
    Outcome,
    SignalResult,
    counterfeit_tells_signal,
    diversion_tells_signal,
    image_signal,
    price_signal,
    region_signal,
    relevance_signal,
    seller_signal,
)
from matching.signals.text import COUNTERFEIT_TELLS, DIVERSION_TELLS
from matching.terms import fold_script
from tests.images import jpeg, photo
from tests.matching_kit import (
    context_for,
    genuine_photo,
    image_facts,
    make_config,
    mirrored_photo,
    unrelated_photo,
)


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> BrandConfig:
    return make_config(tmp_path_factory.mktemp("brand"))


@pytest.fixture(scope="module")
def index(config: BrandConfig) -> ReferenceIndex:
    return context_for(config).index


def _json_safe(result: SignalResult) -> None:
    assert json.loads(json.dumps(result.to_dict())) == result.to_dict()


# --- image ---------------------------------------------------------------------------------------------------

def test_image_exact_copy_matches_with_evidence(index: ReferenceIndex) -> None:
    result = image_signal([image_facts(genuine_photo(), image_id=7)], index, 10)
    assert result.outcome is Outcome.MATCH
    assert result.measure is not None and result.measure <= 2
    ev = result.evidence
    assert (ev["reference"], ev["sku"], ev["listing_image_id"], ev["mirrored"]) == ("LM-100-front", "LM-100", 7, False)
    assert "photo 1 matches reference LM-100-front at distance" in result.reason
    _json_safe(result)


def test_mirrored_reference_matches_via_phash_mirror(index: ReferenceIndex) -> None:
    result = image_signal([image_facts(mirrored_photo())], index, 10)
    assert result.outcome is Outcome.MATCH
    assert result.evidence["mirrored"] is True
    assert result.evidence["view"] == "as given"
    assert "after mirroring" in result.reason


def test_corner_crop_and_rotation_match_through_derived_views(index: ReferenceIndex) -> None:
    original = photo("coffee")
    w, h = original.size
    cropped = original.crop((round(w * 0.1), round(h * 0.1), w, h))  # 10% off the top-left corner's edges
    rotated = original.rotate(4, resample=Image.Resampling.BICUBIC, fillcolor=(255, 255, 255))
    for altered in (cropped, ImageOps.mirror(cropped), rotated):
        result = image_signal([image_facts(altered)], index, 10)
        assert result.outcome is Outcome.MATCH, result.reason
        assert result.evidence["sku"] == "LM-100"


def test_unrelated_photo_is_no_match_with_distance(index: ReferenceIndex) -> None:
    result = image_signal([image_facts(unrelated_photo())], index, 10)
    assert result.outcome is Outcome.NO_MATCH
    assert result.measure is not None and result.measure > 10
    assert "no photo matches" in result.reason


def _flip(hex_hash: str, bits: int) -> str:
    value = int(hex_hash, 16)
    for bit in range(bits):
        value ^= 1 << (bit * 5 % 64)
    return f"{value:016x}"


@pytest.mark.parametrize(("flipped", "outcome"), [(9, Outcome.MATCH), (10, Outcome.MATCH), (11, Outcome.NO_MATCH)])
def test_threshold_boundary_inclusive(flipped: int, outcome: Outcome) -> None:
    ref = hash_image(jpeg(photo("coffee")))
    # A reference without a thumbnail has only its stored views, so the distance is exactly the flipped bits.
    made = reference(1, "R", "S", ref.phash, ref.dhash, ref.phash_mirror)
    assert made is not None
    listing = ImageFacts(1, 0, ImageStatus.OK.value, _flip(ref.phash, flipped), ref.dhash, None)
    result = image_signal([listing], ReferenceIndex([made]), 10)
    assert result.measure == flipped
    assert result.outcome is outcome


def test_blank_image_listing_never_matches(index: ReferenceIndex) -> None:
    white = Image.new("RGB", (500, 500), (255, 255, 255))
    blank = image_facts(white)
    assert blank.status == ImageStatus.BLANK.value and blank.phash is None
    result = image_signal([blank], index, 64)  # even the loosest threshold
    assert result.outcome is Outcome.UNKNOWN
    assert "1 blank" in result.reason
    # A hash that slipped into a row whose status is not ok is still ignored.
    smuggled = ImageFacts(2, 0, ImageStatus.BLANK.value, "0000000000000000", "0000000000000000", None)
    assert image_signal([smuggled], index, 64).outcome is Outcome.UNKNOWN
    # Beside a real photo a blank one changes nothing.
    mixed = image_signal([blank, image_facts(genuine_photo(), position=1)], index, 10)
    assert mixed.outcome is Outcome.MATCH and mixed.evidence["listing_image_position"] == 1


def test_no_hashes_or_no_references_is_unknown(index: ReferenceIndex) -> None:
    assert image_signal([], index, 10).outcome is Outcome.UNKNOWN
    failed = image_signal([image_facts(None)], index, 10)
    assert failed.outcome is Outcome.UNKNOWN and "fetch_failed" in failed.reason
    assert image_signal([image_facts(genuine_photo())], ReferenceIndex([]), 10).outcome is Outcome.UNKNOWN
    malformed = ImageFacts(1, 0, ImageStatus.OK.value, "not-a-hash!!!!!!", None, None)
    assert image_signal([malformed], index, 10).outcome is Outcome.UNKNOWN


def test_image_signal_restricted_to_one_product(index: ReferenceIndex) -> None:
    result = image_signal([image_facts(genuine_photo("LM-100"))], index, 10, frozenset({"LM-200"}))
    assert result.outcome is Outcome.NO_MATCH
    assert result.evidence["sku"] == "LM-200"


# --- relevance -----------------------------------------------------------------------------------------------

def _relevance(config: BrandConfig, index: ReferenceIndex, title: str,
               images: tuple[Image.Image | None, ...] = (unrelated_photo(),)) -> SignalResult:
    facts = [image_facts(img, i + 1, i) for i, img in enumerate(images)]
    return relevance_signal(title, config.brand, config.products, image_signal(facts, index, 10))


def test_brand_and_product_word_identify_the_product(config: BrandConfig, index: ReferenceIndex) -> None:
    result = _relevance(config, index, "露米娜 水润面霜 50g 正品")
    assert result.outcome is Outcome.MATCH
    assert result.evidence["sku"] == "LM-200"
    assert result.evidence["basis"] == ["text"]
    _json_safe(result)


def test_full_width_and_case_are_folded(config: BrandConfig, index: ReferenceIndex) -> None:
    result = _relevance(config, index, "ＬＵＭＩＮＡ　ＳＥＲＵＭ 30ml")
    assert result.outcome is Outcome.MATCH and result.evidence["sku"] == "LM-100"


def test_traditional_characters_read_as_simplified(config: BrandConfig, index: ReferenceIndex) -> None:
    # A Taiwan or Hong Kong shop writes the brand's simplified names in traditional script.
    result = _relevance(config, index, "露米娜 煥活精華液 30ml 台灣公司貨")
    assert result.outcome is Outcome.MATCH and result.evidence["sku"] == "LM-100"
    assert _relevance(config, index, "露米娜 水潤麵霜 50g").evidence["sku"] == "LM-200"


def test_brand_word_alone_with_unrelated_photo_is_not_relevant(config: BrandConfig, index: ReferenceIndex) -> None:
    result = _relevance(config, index, "Lumina LED 台灯 护眼 三档调光")
    assert result.outcome is Outcome.NO_MATCH
    assert "names the brand ('Lumina') but none of its products" in result.reason


def test_product_word_without_brand_is_not_relevant(config: BrandConfig, index: ReferenceIndex) -> None:
    result = _relevance(config, index, "雅诗兰黛 多效智妍面霜 50ml")
    assert result.outcome is Outcome.NO_MATCH
    assert result.evidence["product_terms"] == {"LM-200": ["面霜"]}


def test_latin_words_must_stand_alone(config: BrandConfig, index: ReferenceIndex) -> None:
    assert _relevance(config, index, "Lumina icecream maker").outcome is Outcome.NO_MATCH
    assert _relevance(config, index, "Lumina露米娜cream 50g").outcome is Outcome.MATCH


def test_copied_photo_alone_identifies_the_product(config: BrandConfig, index: ReferenceIndex) -> None:
    result = _relevance(config, index, "大牌平替 同款 50g", images=(genuine_photo("LM-200"),))
    assert result.outcome is Outcome.MATCH
    assert result.evidence["sku"] == "LM-200" and result.evidence["basis"] == ["photo"]


def test_brand_word_without_checkable_photo_is_unknown(config: BrandConfig, index: ReferenceIndex) -> None:
    result = _relevance(config, index, "Lumina 新品", images=(None,))
    assert result.outcome is Outcome.UNKNOWN


# --- price ---------------------------------------------------------------------------------------------------

def _product(currency: str = "CNY", suggested: str = "680", floor: str = "580") -> Product:
    return Product.model_validate({"sku": "P", "names": {"en": "P"},
                                   "prices": [{"currency": currency, "suggested": suggested, "floor": floor}]})


RATIO = Decimal("0.5")


def test_price_far_under_is_counterfeit_risk_with_numbers() -> None:
    result = price_signal(Decimal("136"), "CNY", _product(), {}, RATIO)
    assert result.outcome is Outcome.MATCH
    assert result.evidence["band"] == "far_under"
    assert result.measure == pytest.approx(0.2)
    assert "price ¥136 is 20% of the suggested ¥680" in result.reason
    _json_safe(result)


def test_price_boundaries() -> None:
    assert price_signal(Decimal("340"), "CNY", _product(), {}, RATIO).evidence["band"] == "far_under"  # == 50%
    under = price_signal(Decimal("579.90"), "CNY", _product(), {}, RATIO)
    assert (under.outcome, under.evidence["band"]) == (Outcome.MATCH, "under_floor")
    assert "under the floor ¥580" in under.reason and "¥579.90" in under.reason
    at_floor = price_signal(Decimal("580"), "CNY", _product(), {}, RATIO)
    assert (at_floor.outcome, at_floor.evidence["band"]) == (Outcome.NO_MATCH, "at_or_above_floor")


def test_price_currency_mismatch_without_rate_is_unknown() -> None:
    result = price_signal(Decimal("5"), "EUR", _product("USD", "40", "34"), {}, RATIO)
    assert result.outcome is Outcome.UNKNOWN
    assert result.measure is None
    assert "no exchange rate" in result.reason and "EUR/USD" in result.reason


def test_price_converted_with_configured_rate() -> None:
    result = price_signal(Decimal("20"), "USD", _product(), {"USD/CNY": Decimal("7.2")}, RATIO)
    assert result.evidence["compared_amount"] == "144.00"
    assert result.evidence["band"] == "far_under"
    assert "US$20 (≈ ¥144 at the configured rate) is 21% of the suggested ¥680" in result.reason
    inverse = price_signal(Decimal("680"), "CNY", _product("USD", "100", "90"), {"USD/CNY": Decimal("6.8")}, RATIO)
    assert inverse.outcome is Outcome.NO_MATCH and inverse.measure == pytest.approx(1.0)


def test_price_missing_is_unknown() -> None:
    assert price_signal(None, "CNY", _product(), {}, RATIO).outcome is Outcome.UNKNOWN
    assert price_signal(Decimal("100"), None, _product(), {}, RATIO).outcome is Outcome.UNKNOWN
    no_prices = Product.model_validate({"sku": "P", "names": {"en": "P"}})
    assert price_signal(Decimal("100"), "CNY", no_prices, {}, RATIO).outcome is Outcome.UNKNOWN


def test_price_range_judged_by_its_lowest() -> None:
    result = price_signal(Decimal("99"), "CNY", _product(), {}, RATIO, price_high=Decimal("680"))
    assert result.outcome is Outcome.MATCH and "range up to ¥680" in result.reason


# --- seller --------------------------------------------------------------------------------------------------

def test_seller_authorised_by_id(config: BrandConfig) -> None:
    result = seller_signal("shop", "renamed shop", "south", config.authorised_sellers)
    assert result.outcome is Outcome.MATCH
    assert result.evidence["regions"] == ["CN-GD"]
    assert "distributor 华南美妆供应链" in result.reason


def test_seller_authorised_by_folded_name_when_no_id_configured(config: BrandConfig) -> None:
    result = seller_signal("shop", "全国美妆集合店", "whatever-id", config.authorised_sellers)
    assert result.outcome is Outcome.MATCH


def test_seller_lookalike_name_with_other_id(config: BrandConfig) -> None:
    result = seller_signal("shop", "露米娜官方旗舰店", "fake-99", config.authorised_sellers)
    assert result.outcome is Outcome.NO_MATCH
    assert result.evidence["status"] == "lookalike"
    assert "not the authorised id official" in result.reason


def test_seller_authorised_elsewhere_and_unknown(config: BrandConfig) -> None:
    elsewhere = seller_signal("mall", "华南美妆专营店", "zz", config.authorised_sellers)
    assert (elsewhere.outcome, elsewhere.evidence["status"]) == (Outcome.NO_MATCH, "authorised_elsewhere")
    assert "authorised on shop, not on mall" in elsewhere.reason
    stranger = seller_signal("shop", "美妆小铺3", None, config.authorised_sellers)
    assert (stranger.outcome, stranger.evidence["status"]) == (Outcome.NO_MATCH, "unknown_to_brand")
    assert stranger.reason == "seller 美妆小铺3 is not authorised by the brand"
    assert seller_signal("shop", None, None, config.authorised_sellers).outcome is Outcome.UNKNOWN


# --- region --------------------------------------------------------------------------------------------------

def _auth(*regions: str) -> AuthorisedSeller:
    return AuthorisedSeller(name="s", marketplace="shop", regions=list(regions))


def test_country_allows_its_subdivisions() -> None:
    assert region_signal("CN", "CN-GD", "listing", _auth("CN")).outcome is Outcome.MATCH
    assert region_signal("CN", None, "listing", _auth("CN")).outcome is Outcome.MATCH
    assert region_signal("US", "US-CA", "listing", _auth("CN")).outcome is Outcome.NO_MATCH


def test_subdivision_allows_only_itself() -> None:
    assert region_signal("CN", "CN-GD", "listing", _auth("CN-GD")).outcome is Outcome.MATCH
    outside = region_signal("CN", "CN-FJ", "listing", _auth("CN-GD"), "福建 泉州")
    assert outside.outcome is Outcome.NO_MATCH
    assert outside.reason == "ships from 福建 泉州 (CN-FJ), outside the seller's authorised regions CN-GD"
    assert region_signal("US", None, "listing", _auth("CN-GD")).outcome is Outcome.NO_MATCH
    coarse = region_signal("CN", None, "listing", _auth("CN-GD"))
    assert coarse.outcome is Outcome.UNKNOWN and "without a province" in coarse.reason


def test_region_missing_is_unknown_never_authorised() -> None:
    result = region_signal(None, None, None, _auth("CN-GD"))
    assert result.outcome is Outcome.UNKNOWN
    assert "location is unknown" in result.reason
    _json_safe(result)


def test_region_not_applicable_without_authorisation() -> None:
    result = region_signal("CN", "CN-GD", "listing", None)
    assert result.outcome is Outcome.UNKNOWN and result.evidence["applicable"] is False


def test_authorisation_without_regions_has_no_limit() -> None:
    assert region_signal("FR", None, "listing", _auth()).outcome is Outcome.MATCH


# --- text ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "露米娜精华液 高仿 专柜品质", "Lumina同款面霜 A货", "原单尾单 特价", "一比一复刻", "1：1 精华",
    "Lumina serum REPLICA", "inspired by Lumina", "Lumina dupe", "AAA级 精华", "大牌平替", "仿品 精华液",
    "一比一復刻", "Lumina同款麵霜 A貨", "原單尾單 特價",  # traditional script
])
def test_counterfeit_tells(text: str) -> None:
    result = counterfeit_tells_signal(text)
    assert result.outcome is Outcome.MATCH, text
    assert result.measure is not None and result.measure >= 1


@pytest.mark.parametrize("text", [
    "仿真花 摆件", "模仿秀", "Lumina LED 台灯 需要 AAA batteries", "anti-counterfeit label, 假一赔十",
    "比例 10:15", "露米娜 焕活精华液 官方正品",
])
def test_benign_text_has_no_counterfeit_tell(text: str) -> None:
    assert counterfeit_tells_signal(text).outcome is Outcome.NO_MATCH, text


def test_the_tells_are_written_in_the_script_text_is_folded_to() -> None:
    # Listing text is read with traditional characters as simplified; a pattern the fold would change could never
    # be found.
    for _, pattern in COUNTERFEIT_TELLS + DIVERSION_TELLS:
        assert fold_script(pattern) == pattern, pattern


def test_tell_inside_a_longer_tell_is_quoted_once() -> None:
    assert counterfeit_tells_signal("高仿 精华").evidence["tells"] == ["高仿"]


@pytest.mark.parametrize("text", ["清仓特价", "尾货处理", "内部渠道 员工价", "已刮码 介意慎拍", "parallel import",
                                  "香港免税店代购", "水货", "清倉特價", "尾貨處理", "香港免稅店代購"])
def test_diversion_tells(text: str) -> None:
    result = diversion_tells_signal(text)
    assert result.outcome is Outcome.MATCH, text
    assert "authorised channel" in result.reason


def test_signals_on_a_whole_listing_are_json_safe(tmp_path: Path, config: BrandConfig) -> None:
    from matching.assess import assess
    from tests.matching_kit import facts

    assessment = assess(facts("露米娜精华液 高仿", price="136", images=(mirrored_photo(),)), context_for(config))
    for result in assessment.signals.all():
        _json_safe(result)
