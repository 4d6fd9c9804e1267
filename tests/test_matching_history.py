"""Batch codes, price history, repeat offenders, relistings and the allow-list: signals alone, then in verdicts."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from core.config import AuthorisedSeller, BrandConfig, ConfigError, parse_config
from core.models import Verdict
from matching.assess import assess
from matching.context import MatchContext
from matching.facts import ListingFacts, PriceSeen, SellerRecord, TakenDown
from matching.signals import (
    Outcome,
    batch_code_signal,
    price_history_signal,
    relisting_signal,
    seller_history_signal,
)
from matching.signals.batch import find_codes
from tests.matching_kit import brand_dict, context_for, facts, genuine_photo, make_config

SOUTH = ("华南美妆专营店", "south")
OFFICIAL = ("露米娜官方旗舰店", "official")
STRANGER = ("美妆小铺3", "x-3")


def _world() -> dict[str, Any]:
    data = brand_dict()
    sellers = data["authorised_sellers"]
    sellers[0]["batch_prefixes"] = ["LMA"]
    sellers[1]["batch_prefixes"] = ["GDS", "GD24"]
    sellers[1]["distributor"] = "华南美妆供应链有限公司"
    data["allow_list"] = {
        "sellers": [{"marketplace": "shop", "seller_id": "brand-outlet", "note": "the brand's own outlet store"}],
    }
    return data


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> BrandConfig:
    return make_config(tmp_path_factory.mktemp("brand"), _world())


@pytest.fixture(scope="module")
def ctx(config: BrandConfig) -> MatchContext:
    return context_for(config)


# --- batch codes ---------------------------------------------------------------------------------------------

def test_codes_are_read_after_batch_words_or_by_prefix() -> None:
    after, prefixed = find_codes("正品保真。批号：GDS2405117，另有 lot gd24-0311 和型号 X100", ["GDS", "GD24"])
    assert after == ["GDS2405117", "GD240311"]
    assert prefixed == ["GDS2405117", "GD240311"]
    assert find_codes("iPhone15 手机壳 批次 12", ["GDS"]) == ([], [])  # too short, no prefix


def test_batch_code_of_another_distributor_names_it(config: BrandConfig) -> None:
    result = batch_code_signal("露米娜精华液 批号：GDS2405117", "shop", *STRANGER, config.authorised_sellers)
    assert result.outcome is Outcome.MATCH
    assert result.evidence["distributor"] == "华南美妆供应链有限公司" and result.evidence["own"] is False
    assert result.reason == "batch code GDS2405117 was shipped to 华南美妆供应链有限公司 (prefix GDS)"


def test_longest_prefix_wins_and_own_code_is_said(config: BrandConfig) -> None:
    own = batch_code_signal("批号 GD2412001", "shop", *SOUTH, config.authorised_sellers)
    assert own.outcome is Outcome.MATCH and own.evidence["prefix"] == "GD24" and own.evidence["own"] is True
    assert "the seller's own distributor" in own.reason
    foreign = batch_code_signal("批号 LMA2401002", "shop", *SOUTH, config.authorised_sellers)
    assert foreign.evidence["own"] is False
    assert "not to the seller's own distributor 华南美妆供应链有限公司" in foreign.reason


def test_unknown_code_and_no_code(config: BrandConfig) -> None:
    bogus = batch_code_signal("正品保证，批号：LMX2305117。", "shop", *STRANGER, config.authorised_sellers)
    assert bogus.outcome is Outcome.NO_MATCH and bogus.evidence["unknown_codes"] == ["LMX2305117"]
    assert "matches none of the batch prefixes" in bogus.reason
    none = batch_code_signal("露米娜精华液 正品", "shop", *STRANGER, config.authorised_sellers)
    assert none.outcome is Outcome.UNKNOWN and none.reason == "the listing shows no batch code"
    unconfigured = batch_code_signal("批号 GDS2405117", "shop", *STRANGER,
                                     [AuthorisedSeller(name="a", marketplace="shop")])
    assert unconfigured.outcome is Outcome.UNKNOWN and "no distributor's batch prefixes" in unconfigured.reason


def test_unauthorised_seller_with_traced_code_is_diversion_naming_the_distributor(ctx: MatchContext) -> None:
    a = assess(facts("露米娜焕活精华液 清仓", price="500", seller=STRANGER, images=(genuine_photo(),),
                     description="代理商清仓。批号：GDS2405117。"), ctx)
    assert a.verdict.verdict is Verdict.DIVERSION
    assert any(r.startswith("batch code GDS2405117 was shipped to 华南美妆供应链有限公司") for r in a.verdict.reasons)


def test_authorised_seller_selling_another_distributors_lots_is_diversion(ctx: MatchContext) -> None:
    a = assess(facts("露米娜焕活精华液", price="680", seller=SOUTH, location="广东 广州", images=(genuine_photo(),),
                     description="批号 LMA2401002"), ctx)
    assert a.verdict.verdict is Verdict.DIVERSION
    assert "batch code LMA2401002 was shipped to Lumina Cosmetics (prefix LMA)" in a.verdict.reasons[0]
    at_home = assess(facts("露米娜焕活精华液", price="680", seller=SOUTH, location="广东 广州",
                           images=(genuine_photo(),), description="批号 GDS2401002"), ctx)
    assert at_home.verdict.verdict is Verdict.OK


def test_made_up_code_supports_counterfeit(ctx: MatchContext) -> None:
    a = assess(facts("露米娜焕活精华液 特价", price="150", seller=STRANGER, images=(genuine_photo(),),
                     description="正品保证，批号：LMX2305117。"), ctx)
    assert a.verdict.verdict is Verdict.COUNTERFEIT
    assert any("LMX2305117 matches none" in r and "made-up codes" in r for r in a.verdict.reasons)


# --- price history -------------------------------------------------------------------------------------------

def _seen(*prices: str, currency: str = "CNY") -> tuple[PriceSeen, ...]:
    return tuple(PriceSeen(datetime(2026, 5, day + 1, tzinfo=UTC), Decimal(p), currency)
                 for day, p in enumerate(prices))


def test_sudden_drop_is_a_signal_with_numbers() -> None:
    result = price_history_signal(Decimal("390"), "CNY", _seen("680", "680", "660"), Decimal("0.3"))
    assert result.outcome is Outcome.MATCH
    assert result.reason == ("the price dropped 43% to ¥390 from ¥680, its median over 3 earlier crawls since "
                             "2026-05-01")
    assert result.measure == pytest.approx(0.4265, abs=1e-3)


def test_small_changes_other_currencies_and_no_history() -> None:
    steady = price_history_signal(Decimal("640"), "CNY", _seen("680"), Decimal("0.3"))
    assert steady.outcome is Outcome.NO_MATCH and "6% under ¥680, its price on 2026-05-01" in steady.reason
    up = price_history_signal(Decimal("700"), "CNY", _seen("680"), Decimal("0.3"))
    assert up.outcome is Outcome.NO_MATCH and "over" in up.reason
    other = price_history_signal(Decimal("50"), "CNY", _seen("100", currency="USD"), Decimal("0.3"))
    assert other.outcome is Outcome.UNKNOWN and "in CNY" in other.reason
    assert price_history_signal(Decimal("50"), "CNY", (), Decimal("0.3")).outcome is Outcome.UNKNOWN


def test_price_drop_adds_weight_to_a_breach(ctx: MatchContext) -> None:
    base = facts("露米娜水润面霜 50g", price="360", seller=SOUTH, location="广东 广州",
                 images=(genuine_photo("LM-200"),))
    small = assess(ListingFacts(**{**base.__dict__, "earlier_prices": _seen("480", "480")}), ctx)  # 25% < 30%
    plain = assess(base, ctx)
    big = assess(ListingFacts(**{**base.__dict__, "earlier_prices": _seen("600", "600")}), ctx)
    assert plain.verdict.verdict is small.verdict.verdict is big.verdict.verdict is Verdict.PRICE_FLOOR_BREACH
    assert small.verdict.score == plain.verdict.score < big.verdict.score
    assert any(r.startswith("the price dropped 40% to ¥360 from ¥600") for r in big.verdict.reasons)


# --- seller history and relistings ---------------------------------------------------------------------------

def test_repeat_offender() -> None:
    record = SellerRecord(3, ("101", "102", "103"))
    result = seller_history_signal("美妆小铺3", record, 2)
    assert result.outcome is Outcome.MATCH
    assert result.reason == ("seller 美妆小铺3 is a repeat offender: reviewers confirmed 3 findings on its other "
                             "listings (listings 101, 102, 103)")
    assert seller_history_signal("美妆小铺3", SellerRecord(1, ("101",)), 2).outcome is Outcome.NO_MATCH
    assert seller_history_signal("美妆小铺3", None, 2).outcome is Outcome.UNKNOWN


def test_relisting_by_photo_or_by_seller() -> None:
    gone = datetime(2026, 4, 2, tzinfo=UTC)
    by_photo = TakenDown("shop", "9001", gone, "same photo", "LM-100", 0, 0)
    result = relisting_signal([by_photo], None)
    assert result.outcome is Outcome.MATCH
    assert result.reason == ("a relisting: photo 1 is the very photo (same bytes) of listing 9001 on shop "
                             "(gone since 2026-04-02), which was taken down")
    same_seller = TakenDown("shop", "9002", gone, "same seller", "LM-200")
    assert relisting_signal([same_seller], "LM-100").outcome is Outcome.NO_MATCH  # another product
    assert "sells LM-200 again" in relisting_signal([same_seller], "LM-200").reason
    assert relisting_signal([], "LM-100").outcome is Outcome.NO_MATCH


def test_history_weighs_on_the_verdict(ctx: MatchContext) -> None:
    base = facts("露米娜焕活精华液", price="560", seller=STRANGER, images=(genuine_photo(),))
    plain = assess(base, ctx)
    known = assess(ListingFacts(**{**base.__dict__, "seller_record": SellerRecord(2, ("7", "8")),
                                   "taken_down": (TakenDown("shop", "7", None, "same seller", "LM-100"),)}), ctx)
    assert plain.verdict.verdict is known.verdict.verdict is Verdict.DIVERSION
    assert known.verdict.score > plain.verdict.score
    reasons = "\n".join(known.verdict.reasons)
    assert "repeat offender" in reasons and "a relisting: the seller had listing 7 on shop taken down" in reasons


# --- allow-list ----------------------------------------------------------------------------------------------

def test_allowed_seller_is_never_flagged(ctx: MatchContext) -> None:
    a = assess(facts("露米娜焕活精华液 清仓 特价", price="150", seller=("露米娜折扣店", "brand-outlet"),
                     images=(genuine_photo(),)), ctx)
    assert a.verdict.verdict is Verdict.OK
    assert a.verdict.reasons[0] == ("the brand marked seller 露米娜折扣店 on shop as fine: the brand's own outlet "
                                    "store")
    assert any(r.startswith("said but not held against it: price ¥150") for r in a.verdict.reasons)
    # Only by id when the entry gives one: the same name elsewhere is not covered.
    other = assess(facts("露米娜焕活精华液 特价", price="150", seller=("露米娜折扣店", "someone-else"),
                         images=(genuine_photo(),)), ctx)
    assert other.verdict.verdict is Verdict.COUNTERFEIT


def test_allow_list_config_is_checked(tmp_path: Path) -> None:
    import yaml

    data = _world()
    data["allow_list"] = {"images": ["not-a-sha"], "sellers": [{"marketplace": "shop"}]}
    with pytest.raises(ConfigError) as caught:
        parse_config(yaml.safe_dump(data, allow_unicode=True), tmp_path / "b.yaml")
    text = str(caught.value)
    assert "'not-a-sha' is not a SHA-256" in text and "needs seller_id or name" in text
    data["allow_list"] = {"sellers": [{"marketplace": "nowhere", "name": "x"}]}
    with pytest.raises(ConfigError, match="names marketplace 'nowhere'"):
        parse_config(yaml.safe_dump(data, allow_unicode=True), tmp_path / "b.yaml")
