"""The rules: each verdict from whole listings, with reasons that carry the numbers a lawyer would quote."""

from __future__ import annotations

import pytest

from core.config import BrandConfig
from core.models import SUSPECT_VERDICTS, Finding, Verdict
from matching.assess import Assessment, assess
from matching.context import MatchContext
from matching.verdicts import RULE_SET_VERSION
from tests.matching_kit import (
    brand_dict,
    context_for,
    facts,
    genuine_photo,
    make_config,
    mirrored_photo,
    unrelated_photo,
)

OFFICIAL = ("露米娜官方旗舰店", "official")
SOUTH = ("华南美妆专营店", "south")
STRANGER = ("美妆小铺3", "x-3")


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory) -> MatchContext:
    config: BrandConfig = make_config(tmp_path_factory.mktemp("brand"))
    return context_for(config)


def _text(a: Assessment) -> str:
    return "\n".join(a.verdict.reasons)


def _flagged(a: Assessment, ctx: MatchContext) -> bool:
    return a.verdict.verdict in SUSPECT_VERDICTS and a.verdict.score >= ctx.config.thresholds.min_score


def test_far_under_price_from_unauthorised_seller_is_counterfeit(ctx: MatchContext) -> None:
    a = assess(facts("露米娜 焕活精华液 30ml 正品 特价", price="136", seller=STRANGER, images=(mirrored_photo(),)),
               ctx)
    assert a.verdict.verdict is Verdict.COUNTERFEIT and _flagged(a, ctx)
    reasons = _text(a)
    assert "price ¥136 is 20% of the suggested ¥680" in reasons
    assert "seller 美妆小铺3 (id x-3) is not authorised by the brand" in reasons
    assert "matches reference LM-100-front at distance" in reasons and "after mirroring" in reasons
    assert a.sku == "LM-100"
    assert a.matched_image_id == 1 and a.image_distance is not None and a.image_distance <= 10


def test_counterfeit_tells_make_counterfeit_at_any_price(ctx: MatchContext) -> None:
    a = assess(facts("Lumina serum replica 1:1", price="600", seller=STRANGER, images=(unrelated_photo(),)), ctx)
    assert a.verdict.verdict is Verdict.COUNTERFEIT and _flagged(a, ctx)
    reasons = _text(a)
    assert "'replica', '1:1'" in reasons
    assert "no photo matches the brand's reference photos" in reasons


def test_brand_with_tells_but_no_product_is_counterfeit(ctx: MatchContext) -> None:
    a = assess(facts("露米娜 高仿 大牌", price="50", seller=STRANGER, images=(unrelated_photo(),)), ctx)
    assert a.verdict.verdict is Verdict.COUNTERFEIT and a.sku is None and _flagged(a, ctx)


def test_genuine_photo_moderately_under_floor_unauthorised_is_diversion(ctx: MatchContext) -> None:
    a = assess(facts("露米娜焕活精华液 清仓", price="500", seller=STRANGER, images=(genuine_photo(),)), ctx)
    assert a.verdict.verdict is Verdict.DIVERSION and _flagged(a, ctx)
    reasons = _text(a)
    assert "price ¥500 is 74% of the suggested ¥680, under the floor ¥580" in reasons
    assert "photo 1 matches reference LM-100-front at distance" in reasons
    assert "'清仓'" in reasons
    assert a.verdict.reasons[0].startswith("seller 美妆小铺3")  # the heaviest evidence comes first


def test_unauthorised_seller_at_full_price_is_still_diversion(ctx: MatchContext) -> None:
    a = assess(facts("露米娜焕活精华液", price="680", seller=STRANGER, images=(genuine_photo(),)), ctx)
    assert a.verdict.verdict is Verdict.DIVERSION and _flagged(a, ctx)
    assert ("diversion rather than counterfeit: nothing here tells a copy from diverted stock, so the lesser charge; "
            "a test buy would settle it") in a.verdict.reasons


@pytest.fixture(scope="module")
def coded(tmp_path_factory: pytest.TempPathFactory) -> MatchContext:
    """The brand gave the south distributor lots starting GD24; any other code is nobody's."""
    data = brand_dict()
    data["authorised_sellers"][1]["batch_prefixes"] = ["GD24"]
    return context_for(make_config(tmp_path_factory.mktemp("coded"), data))


def test_a_fake_priced_near_the_floor_with_a_made_up_code_is_counterfeit(coded: MatchContext) -> None:
    # The price alone reads as diversion (74% of suggested); the made-up lot code is what a copy shows.
    a = assess(facts("露米娜焕活精华液 30ml 正品", price="500", seller=STRANGER, images=(genuine_photo(),),
                     description="正品保证，假一赔十。批号：LMX2405001。"), coded)
    assert a.verdict.verdict is Verdict.COUNTERFEIT and _flagged(a, coded)
    assert ("counterfeit rather than diversion: a batch code no distributor was given (weight 0.50) against "
            "a price only moderately under the floor (weight 0.30)") in a.verdict.reasons
    assert "price ¥500 is 74% of the suggested ¥680, under the floor ¥580" in _text(a)


def test_cleared_stock_far_under_the_floor_with_its_distributors_code_is_diversion(coded: MatchContext) -> None:
    # The price alone reads as counterfeit (29%); the distributor's own code and 尾货 say diverted stock.
    a = assess(facts("露米娜焕活精华液 尾货清仓", price="199", seller=STRANGER, images=(genuine_photo(),),
                     description="专柜撤柜尾货，保质期内。批号 GD2405117。"), coded)
    assert a.verdict.verdict is Verdict.DIVERSION and _flagged(a, coded)
    weighed = next(r for r in a.verdict.reasons if r.startswith("diversion rather than counterfeit: "))
    assert "a batch code that traces to a distributor; words of cleared or diverted stock (weight 0.70)" in weighed
    assert weighed.endswith("against a price genuine stock does not sell at (weight 0.60)")
    assert "price ¥199 is 29% of the suggested ¥680" in _text(a)
    assert any(r.startswith("batch code GD2405117 was shipped to 华南美妆供应链") for r in a.verdict.reasons)


@pytest.mark.parametrize(("title", "price", "description", "expected"), [
    # a real code alone does not outweigh a price genuine stock never sells at: copies quote real codes too
    ("露米娜焕活精华液", "199", "批号 GD2405117。", Verdict.COUNTERFEIT),
    # neither side has anything that tells them apart: the lesser charge
    ("露米娜焕活精华液", "500", "", Verdict.DIVERSION),
    # no price the rule can read (another currency, no rate): the made-up code decides
    ("露米娜焕活精华液", None, "批号：LMX2405001", Verdict.COUNTERFEIT),
])
def test_rule_four_weighs_only_what_tells_a_copy_from_diverted_stock(
        coded: MatchContext, title: str, price: str | None, description: str, expected: Verdict) -> None:
    a = assess(facts(title, price=price or "90", currency="EUR" if price is None else "CNY", seller=STRANGER,
                     images=(genuine_photo(),), description=description), coded)
    assert a.verdict.verdict is expected, a.verdict.reasons
    weighed = next(r for r in a.verdict.reasons if " rather than " in r)
    if price == "500" and not description:
        assert weighed == ("diversion rather than counterfeit: a price only moderately under the floor (weight 0.30) "
                           "against nothing for counterfeit")


def test_authorised_seller_outside_its_region_is_diversion(ctx: MatchContext) -> None:
    a = assess(facts("露米娜焕活精华液", price="600", seller=SOUTH, location="福建 泉州", images=(genuine_photo(),)),
               ctx)
    assert a.verdict.verdict is Verdict.DIVERSION and _flagged(a, ctx)
    assert "ships from 福建 泉州 (CN-FJ), outside the seller's authorised regions CN-GD" in _text(a)


def test_seller_authorised_on_another_marketplace_is_diversion(ctx: MatchContext) -> None:
    a = assess(facts("露米娜焕活精华液", price="560", marketplace="mall", seller=("华南美妆专营店", "zz"),
                     images=(genuine_photo(),)), ctx)
    assert a.verdict.verdict is Verdict.DIVERSION
    assert "authorised on shop, not on mall" in _text(a)


def test_authorised_seller_in_region_under_floor_is_price_floor_breach(ctx: MatchContext) -> None:
    a = assess(facts("露米娜水润面霜 50g", price="360", seller=SOUTH, location="广东 广州",
                     images=(genuine_photo("LM-200"),)), ctx)
    assert a.verdict.verdict is Verdict.PRICE_FLOOR_BREACH and _flagged(a, ctx)
    assert "price ¥360 is 75% of the suggested ¥480, under the floor ¥400" in _text(a)
    assert "seller 华南美妆专营店 (id south) is authorised on shop" in _text(a)


def test_authorised_seller_in_region_at_floor_is_ok(ctx: MatchContext) -> None:
    a = assess(facts("露米娜焕活精华液", price="580", seller=OFFICIAL, location="上海", images=(genuine_photo(),)), ctx)
    assert a.verdict.verdict is Verdict.OK and not _flagged(a, ctx)
    reasons = _text(a)
    assert "ships from 上海 (CN-SH), inside the seller's authorised regions CN-SH" in reasons
    assert "price ¥580 is 85% of the suggested ¥680, at or above the floor ¥580" in reasons


def test_missing_region_is_said_and_lowers_confidence(ctx: MatchContext) -> None:
    known = assess(facts("露米娜焕活精华液", price="680", seller=OFFICIAL, location="上海"), ctx)
    unknown = assess(facts("露米娜焕活精华液", price="680", seller=OFFICIAL, location=None), ctx)
    assert unknown.verdict.verdict is Verdict.OK
    assert unknown.signals.region is not None and unknown.signals.region.unknown
    assert "not known: the ship-from location is unknown" in _text(unknown)
    assert unknown.verdict.score < known.verdict.score


def test_price_in_another_currency_without_rate_is_not_called_cheap(ctx: MatchContext) -> None:
    # LM-300 is priced in USD only; a CNY listing cannot be compared, so nothing reads as "far under".
    a = assess(facts("露米娜丝绒口红", price="30", seller=STRANGER, images=(genuine_photo("LM-300"),)), ctx)
    assert a.signals.price is not None and a.signals.price.unknown
    assert a.verdict.verdict is Verdict.DIVERSION
    assert "not known: the price ¥30 is in CNY, LM-300 is priced in USD" in _text(a)


def test_unrelated_listing_sharing_the_brand_word(ctx: MatchContext) -> None:
    a = assess(facts("Lumina LED 台灯 学生宿舍", price="89", seller=STRANGER, images=(unrelated_photo(),)), ctx)
    assert a.verdict.verdict is Verdict.UNRELATED and not _flagged(a, ctx)
    assert a.sku is None and a.signals.price is None
    assert "nearest distance" in _text(a)


def test_other_brands_product_in_the_same_category_is_unrelated(ctx: MatchContext) -> None:
    a = assess(facts("雅诗兰黛 多效面霜 50ml", price="120", seller=SOUTH, images=(unrelated_photo(),)), ctx)
    assert a.verdict.verdict is Verdict.UNRELATED


def test_scores_are_in_range_and_rule_set_is_named(ctx: MatchContext) -> None:
    for title, price in (("露米娜焕活精华液 高仿", "100"), ("Lumina LED", "10"), ("露米娜焕活精华液", "680")):
        a = assess(facts(title, price=price), ctx)
        assert 0.0 <= a.verdict.score <= 1.0
        assert a.verdict.reasons
    assert RULE_SET_VERSION


def test_the_rule_set_version_fits_the_column_it_is_stored_in() -> None:
    # PostgreSQL refuses a longer value (SQLite would store it), which lost every finding of a run there.
    assert len(RULE_SET_VERSION) <= Finding.__table__.c.rule_set_version.type.length
