"""Batch-code ranges (`batch_ranges`): validated at load, traced before prefixes, and named in diversion findings."""

from __future__ import annotations

from typing import Any

import pytest

from core.batchcodes import parse_batch_range, trace_batch_code
from core.config import AuthorisedSeller, BrandConfig, ConfigError, parse_config
from core.models import Verdict
from matching.assess import assess
from matching.context import MatchContext
from matching.signals import Outcome, batch_code_signal
from matching.signals.batch import find_codes
from tests.matching_kit import brand_dict, context_for, facts, genuine_photo, make_config


def seller(name: str, distributor: str, *, ranges: tuple[str, ...] = (), prefixes: tuple[str, ...] = (),
           regions: tuple[str, ...] = ()) -> AuthorisedSeller:
    return AuthorisedSeller(name=name, marketplace="taobao", distributor=distributor, batch_ranges=list(ranges),
                            batch_prefixes=list(prefixes), regions=list(regions))


SOUTH_RANGE = seller("华南美妆专营店", "South China Beauty Trading", ranges=("GD240100..GD240399",), regions=("CN-GD",))


# --- what lies in a range -------------------------------------------------------------------------------------

def test_a_code_inside_a_range_names_its_distributor_and_the_range() -> None:
    trace = trace_batch_code("gd24-0211", [SOUTH_RANGE])
    assert (trace.code, trace.range, trace.prefix, trace.distributor, trace.regions) == (
        "GD240211", "GD240100..GD240399", None, "South China Beauty Trading", ("CN-GD",))
    assert trace.found and not trace.ambiguous
    assert trace.describe() == ("Code GD240211 lies in the range GD240100..GD240399 shipped to "
                                "South China Beauty Trading (authorised for CN-GD).")


def test_both_ends_are_included_and_one_past_them_is_not() -> None:
    assert trace_batch_code("GD240100", [SOUTH_RANGE]).range == "GD240100..GD240399"
    assert trace_batch_code("GD240399", [SOUTH_RANGE]).range == "GD240100..GD240399"
    below, above = trace_batch_code("GD240099", [SOUTH_RANGE]), trace_batch_code("GD240400", [SOUTH_RANGE])
    assert not below.found and below.range is None
    assert not above.found and above.range is None
    assert above.describe() == "Code GD240400 matches no configured batch prefix or range."


def test_a_different_letters_part_or_a_shorter_code_is_not_in_the_range() -> None:
    assert not trace_batch_code("GE240211", [SOUTH_RANGE]).found  # same length and number, other letters
    assert not trace_batch_code("G1240211", [SOUTH_RANGE]).found  # a digit where the range has a letter
    assert not trace_batch_code("GD24021", [SOUTH_RANGE]).found  # shorter than the range's codes
    hyphenated = seller("East shop", "East Ltd", ranges=("A7-0001..A7-5000",))
    assert hyphenated.batch_ranges == ["A70001..A75000"]
    assert trace_batch_code("a7-4999", [hyphenated]).distributor == "East Ltd"
    assert not trace_batch_code("B7-4999", [hyphenated]).found
    assert not trace_batch_code("A7-5001", [hyphenated]).found


def test_a_longer_code_is_read_by_its_first_characters() -> None:
    trace = trace_batch_code("GD240211X3", [SOUTH_RANGE])
    assert trace.distributor == "South China Beauty Trading" and trace.code == "GD240211X3"
    assert trace.describe() == ("Code GD240211X3 begins with GD240211, which lies in the range GD240100..GD240399 "
                                "shipped to South China Beauty Trading (authorised for CN-GD).")
    assert not trace_batch_code("GD240400X3", [SOUTH_RANGE]).found


def test_a_range_beats_a_shorter_prefix_of_another_distributor() -> None:
    sellers = [seller("Official", "Lumina China Direct", prefixes=("GD24",)), SOUTH_RANGE]
    inside = trace_batch_code("GD240211", sellers)
    assert inside.distributor == "South China Beauty Trading" and inside.range == "GD240100..GD240399"
    outside = trace_batch_code("GD240400", sellers)  # out of the range: the prefix still traces it, as before
    assert (outside.distributor, outside.prefix, outside.range) == ("Lumina China Direct", "GD24", None)
    assert outside.describe() == "Code GD240400 (prefix GD24) was shipped to Lumina China Direct."


def test_overlapping_ranges_of_two_distributors_are_ambiguous_not_guessed() -> None:
    east = seller("East shop", "East Ltd", ranges=("GD240300..GD240499",))
    sellers = [SOUTH_RANGE, east]
    trace = trace_batch_code("GD240350", sellers)
    assert trace.ambiguous and not trace.found and trace.distributor is None
    assert trace.sellers == ("South China Beauty Trading", "East Ltd")
    assert trace.range == "GD240100..GD240399, GD240300..GD240499"
    assert "correct batch_ranges" in trace.describe()
    assert trace_batch_code("GD240299", sellers).distributor == "South China Beauty Trading"
    assert trace_batch_code("GD240450", sellers).distributor == "East Ltd"
    # two shops of one distributor holding the same range: not ambiguous
    same = [SOUTH_RANGE, seller("华南美妆 京东店", "South China Beauty Trading", ranges=("GD240100..GD240399",))]
    assert trace_batch_code("GD240350", same).distributor == "South China Beauty Trading"


def test_the_longer_range_wins_over_a_range_of_shorter_codes() -> None:
    broad = seller("Official", "Lumina China Direct", ranges=("GD20..GD29",))
    assert trace_batch_code("GD240211", [broad, SOUTH_RANGE]).distributor == "South China Beauty Trading"
    assert trace_batch_code("GD250211", [broad, SOUTH_RANGE]).distributor == "Lumina China Direct"


# --- the written forms ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("written", "canonical"), [
    ("GD240100..GD240399", "GD240100..GD240399"),
    ("gd240100 .. gd240399", "GD240100..GD240399"),
    ("GD240100-GD240399", "GD240100..GD240399"),
    ("GD240100 - GD240399", "GD240100..GD240399"),
    ("A7-0001-A7-5000", "A70001..A75000"),  # the one hyphen that splits it into two codes of one shape
    ("LOT-0001..LOT-0001", "LOT0001..LOT0001"),  # a range of one code
])
def test_accepted_forms(written: str, canonical: str) -> None:
    assert str(parse_batch_range(written)) == canonical


@pytest.mark.parametrize(("written", "said"), [
    ("GD240399..GD240100", "GD240399 is above GD240100; write the lower code first, as GD240100..GD240399"),
    ("GD240100..399", "are not the same length; write both ends in full"),
    ("GD240100..GE240399", "only the digits at the end may differ"),
    ("GDAA..GDZZ", "does not end in digits"),
    ("..GD240399", "it needs a code at both ends"),
    ("GD240100", "write it as LOW..HIGH"),
    ("GD1..GD2..GD3", "is not one batch range"),
])
def test_refused_forms_say_what_to_fix(written: str, said: str) -> None:
    with pytest.raises(ValueError, match=said):
        parse_batch_range(written)


BRAND = """\
brand:
  name: Acme
products:
  - sku: A-1
    names: {en: Acme Widget}
authorised_sellers:
  - name: Acme South
    marketplace: shop
    batch_prefixes: [GD]
    batch_ranges:
      - GD240100..GD240399
      - GD240399..GD240100
marketplaces:
  - name: shop
    start_urls: ["https://shop.example/search?q=acme"]
"""


def test_a_malformed_range_in_the_file_names_the_field_the_line_and_the_fix() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(BRAND, "brand.yaml")
    (problem,) = caught.value.problems
    assert problem.startswith(
        "authorised_sellers.0.batch_ranges.1 (line 12): 'GD240399..GD240100' is not a batch range")
    assert "write the lower code first, as GD240100..GD240399" in problem
    good = parse_config(BRAND.replace("GD240399..GD240100", "gd24-0500 - gd24-0599"), "brand.yaml")
    assert good.authorised_sellers[0].batch_ranges == ["GD240100..GD240399", "GD240500..GD240599"]


# --- in matching ----------------------------------------------------------------------------------------------

def test_a_batch_word_in_traditional_script_is_read() -> None:
    after, _ = find_codes("香港專櫃 批號：XK2405117", [], [])
    assert after == ["XK2405117"]


def test_codes_in_a_range_are_read_without_a_batch_word() -> None:
    after, found = find_codes("正品现货 GD24-0211 和 GD240400，型号 X100", [], ["GD240100..GD240399"])
    assert after == [] and found == ["GD240211"]


SOUTH = ("华南美妆专营店", "south")
STRANGER = ("美妆小铺3", "x-3")
NATIONAL = "全国美妆连锁有限公司"


def _world() -> dict[str, Any]:
    data = brand_dict()
    sellers = data["authorised_sellers"]
    sellers[1]["batch_prefixes"] = ["GD24"]  # the south distributor's lots ...
    sellers[2]["batch_ranges"] = ["GD240100..GD240399"]  # ... except this run, shipped to the national chain
    sellers[2]["distributor"] = NATIONAL
    return data


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> BrandConfig:
    return make_config(tmp_path_factory.mktemp("brand"), _world())


@pytest.fixture(scope="module")
def ctx(config: BrandConfig) -> MatchContext:
    return context_for(config)


def test_signal_names_the_range(config: BrandConfig) -> None:
    result = batch_code_signal("露米娜精华液 批号：GD240211", "shop", *SOUTH, config.authorised_sellers)
    assert result.outcome is Outcome.MATCH and result.evidence["own"] is False
    assert result.evidence["range"] == "GD240100..GD240399" and result.evidence["distributor"] == NATIONAL
    assert result.reason == (f"batch code GD240211 was shipped to {NATIONAL} (range GD240100..GD240399), "
                             "not to the seller's own distributor 华南美妆供应链")


def test_listing_quoting_a_code_in_another_distributors_range_is_diversion_naming_it(ctx: MatchContext) -> None:
    a = assess(facts("露米娜焕活精华液 清仓", price="500", seller=STRANGER, images=(genuine_photo(),),
                     description="代理商清仓。批号：GD240211。"), ctx)
    assert a.verdict.verdict is Verdict.DIVERSION
    assert any(r.startswith(f"batch code GD240211 was shipped to {NATIONAL} (range GD240100..GD240399)")
               for r in a.verdict.reasons)
    # the south distributor's own shop selling the national chain's run, at home and at the suggested price
    leaked = assess(facts("露米娜焕活精华液", price="680", seller=SOUTH, location="广东 广州",
                          images=(genuine_photo(),), description="批号 GD240211"), ctx)
    assert leaked.verdict.verdict is Verdict.DIVERSION
    assert f"batch code GD240211 was shipped to {NATIONAL} (range GD240100..GD240399)" in leaked.verdict.reasons[0]
    at_home = assess(facts("露米娜焕活精华液", price="680", seller=SOUTH, location="广东 广州",
                           images=(genuine_photo(),), description="批号 GD240400"), ctx)
    assert at_home.verdict.verdict is Verdict.OK
