"""The rules: each verdict from whole listings, with reasons that carry the numbers a lawyer would quote."""

from __future__ import annotations

import pytest

from core.config import BrandConfig
from core.models import SUSPECT_VERDICTS, Verdict
from matching.assess import Assessment, assess
from matching.context import MatchContext
from matching.verdicts import RULE_SET_VERSION
from tests.matching_kit import context_for, facts, genuine_photo, make_config, mirrored_photo, unrelated_photo

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
