"""Bent names: every way sellers bend the brand's name, found and said; look-alike names and words, not found."""

from __future__ import annotations

import pytest

from core.config import BrandConfig
from core.models import Verdict
from matching.assess import assess
from matching.context import MatchContext
from matching.names import CONFUSABLE, DIGITS, SPACING, Folded, How, NameRules, NameSet, find_names
from matching.signals import Outcome, counterfeit_tells_signal
from tests.matching_kit import brand_dict, context_for, facts, genuine_photo, make_config, unrelated_photo

NAMES = ["Lumière", "臻颜", "Lumina", "露米娜", "Radiance Renewal Serum", "LM-100", "露米娜焕活精华液"]

# (title as a seller writes it, the name it names, how it was found, a bend the reason must say)
BENT = [
    ("Lumière 臻颜 精华 30ml", "Lumière", How.EXACT, None),
    ("ＬＵＭＩＮＡ 面霜 50g", "Lumina", How.EXACT, None),
    ("lumiere paris serum", "Lumière", How.FOLDED, "accents ignored"),
    ("L.umiere 修护精华 正品", "Lumière", How.FOLDED, SPACING),
    ("L u m i e r e 面霜", "Lumière", How.FOLDED, SPACING),
    ("Lumi-ere 新款", "Lumière", How.FOLDED, SPACING),
    ("Lumi ere 精华液", "Lumière", How.FOLDED, SPACING),
    ("臻-颜 焕活精华 包邮", "臻颜", How.FOLDED, SPACING),
    ("臻 颜 面霜", "臻颜", How.FOLDED, SPACING),
    ("Lumi3re cream 50g", "Lumière", How.FOLDED, DIGITS),
    ("1umiere 口红", "Lumière", How.FOLDED, DIGITS),
    ("LUM1NA 精华液", "Lumina", How.FOLDED, DIGITS),
    ("Lum!na serum", "Lumina", How.FOLDED, DIGITS),
    ("Lumina! 限时", "Lumina", How.EXACT, None),
    ("Lumіere 精华", "Lumière", How.CONFUSABLE, CONFUSABLE),  # Cyrillic і
    ("Lumіnа serum", "Lumina", How.CONFUSABLE, CONFUSABLE),  # Cyrillic і and а
    ("𝐋𝐮𝐦𝐢𝐧𝐚 面霜", "Lumina", How.EXACT, None),  # mathematical bold: NFKC reads it as Latin
    ("zhenyan 精华液 30ml", "臻颜", How.PINYIN, "pinyin of 臻颜"),
    ("zhen yan 面霜", "臻颜", How.PINYIN, "pinyin of 臻颜"),
    ("ZhenYan精华", "臻颜", How.PINYIN, "pinyin of 臻颜"),
    ("ZHEN-YAN 口红", "臻颜", How.PINYIN, "pinyin of 臻颜"),
    ("Lumiina serum", "Lumina", How.FUZZY, "spelled 92% alike"),
    ("Lumiere 焕活 RadianceRenewal Serum", "Radiance Renewal Serum", How.FOLDED, SPACING),
    ("Radiance Renewel Serum 30ml", "Radiance Renewal Serum", How.FUZZY, "alike"),
    ("煥活 臻顏 精華", "臻颜", How.EXACT, None),  # traditional script
    ("露米娜 焕活精华液", "露米娜", How.EXACT, None),
    ("露米娜 焕活精华液", "露米娜焕活精华液", How.EXACT, None),  # a space where a long Chinese phrase breaks
    ("露米娜-焕活精华液", "露米娜焕活精华液", How.FOLDED, SPACING),
    ("璐米娜 焕活精华液", "露米娜", How.PINYIN, "璐 for 露, read alike (lu)"),  # a homophone for one character
    ("路米娜精华 30ml", "露米娜", How.PINYIN, "路 for 露, read alike (lu)"),
    ("货号 LM-100 精华液", "LM-100", How.EXACT, None),  # the name's own hyphen is no bend
    ("货号 LM100 精华液", "LM-100", How.FOLDED, SPACING),
]

# Titles that name none of NAMES: other brands' look-alike names, common words, split words, homophones.
NOT_NAMED = [
    "Lumena 焕活精华 30ml",  # another brand, one letter replaced in a six-letter name
    "Lumira serum 50ml",
    "luminous glow cream",
    "illuminating primer",
    "Lumi LED 化妆镜",
    "Lum in a box 收纳",  # three words that happen to spell it
    "L u m i n a r y 字母贴",  # letter-spacing that runs on: another word
    "Lumina30ml",  # glued to other letters: not standing alone
    "真颜 面霜",  # a homophone of a two-character name: an ordinary word
    "鹿迷娜 玩偶",  # two characters of three swapped: another name
    "zhenyang 茶具",  # pinyin of something else
    "zhe nyan",  # spaces inside a syllable
]


@pytest.mark.parametrize(("title", "name", "how", "bend"), BENT, ids=[t for t, *_ in BENT])
def test_bent_names_are_found_and_said(title: str, name: str, how: How, bend: str | None) -> None:
    hits = [h for h in find_names(title, NAMES) if h.name == name]
    assert hits, f"{name} not found in {title!r}"
    hit = hits[0]
    assert hit.how is how
    assert title[hit.start:hit.end] == hit.written  # the span as written, for the reason to quote
    if bend is None:
        assert hit.describe() == f"'{name}'"
    else:
        assert any(bend in b for b in hit.bends), hit.bends
        assert hit.describe().startswith(f'{name} as "{hit.written}" (')


@pytest.mark.parametrize("title", NOT_NAMED)
def test_look_alike_names_and_common_words_are_not_names(title: str) -> None:
    assert find_names(title, NAMES) == []


def test_a_plural_is_a_near_spelling() -> None:
    # Whether a lamp called Lumières is the brand's is for the relevance signal (no product word): the name is there.
    [hit] = find_names("Lumières de Paris lamp", NAMES)
    assert (hit.name, hit.written, hit.how, round(hit.ratio, 2)) == ("Lumière", "Lumières", How.FUZZY, 0.93)


@pytest.mark.parametrize(("ratio", "found"), [(0.88, True), (0.95, False), (1.0, False)])
def test_fuzzy_threshold_is_the_configured_one(ratio: float, found: bool) -> None:
    # "Lumiina" is 92% alike to Lumina: found at 0.88, not at 0.95, and 1.0 turns fuzzy matching off.
    hits = find_names("Lumiina serum", ["Lumina"], NameRules(fuzzy_ratio=ratio))
    assert bool(hits) is found


def test_short_names_never_match_fuzzily() -> None:
    assert find_names("Lumii 精华", ["Lumi"]) == []
    assert find_names("Lumii 精华", ["Lumi"], NameRules(fuzzy_min_length=4)) != []
    assert find_names("Lumi 精华", ["Lumi"])[0].how is How.EXACT


def test_first_letter_must_agree_for_a_fuzzy_match() -> None:
    # One letter replaced in nine is 89% alike; at the front it makes another word (another brand), not a slip.
    assert find_names("Kuminelle cream", ["Luminelle"]) == []
    assert find_names("Luminolle cream", ["Luminelle"])[0].how is How.FUZZY
    assert find_names("Lumiena serum", ["Lumina"])[0].how is How.FUZZY


@pytest.mark.parametrize(("title", "marker"), [
    ("适用 Lumina 精华液 替换泵头", "适用"),
    ("适用于露米娜面霜的收纳盒", "适用于"),
    ("兼容Lumina精华瓶 滴管", "兼容"),
    ("compatible with Lumina serum bottles, pump", "compatible with"),
    ("Replacement pump for Lumina serum", "for"),
    ("Travel case fits: Lumina 30ml", "fits"),
])
def test_accessory_phrasing_marks_the_hit(title: str, marker: str) -> None:
    hits = find_names(title, NAMES)
    assert hits and hits[0].accessory == marker


def test_the_brand_as_the_subject_is_no_accessory() -> None:
    assert find_names("Lumina serum for dry skin", NAMES)[0].accessory == ""
    assert find_names("Lumina 适用于干皮", NAMES)[0].accessory == ""


def test_folded_text_keeps_where_each_letter_came_from() -> None:
    folded = Folded.of("Ｌ.ｕｍ  Ｉｎа!")  # full width, a dot, two spaces, a Cyrillic а
    assert folded.plain == "lumina"
    assert [folded.text[i] for i in folded.origin] == ["Ｌ", "ｕ", "ｍ", "Ｉ", "ｎ", "а"]
    assert folded.gap[:4] == ("", ".", "", " ")
    assert folded.loose == "lumlna"


def test_east_asian_characters_are_never_read_as_latin_lookalikes() -> None:
    # 〇 is in Unicode's confusables as o; in 二〇二六 it is a Chinese zero.
    assert Folded.of("二〇二六 年").plain == "二〇二六年"
    assert find_names("〇〇〇 lumina", ["ooo"]) == []


def test_a_name_set_is_prepared_once_for_many_texts() -> None:
    names = NameSet.of(NAMES)
    assert names is NameSet.of(list(NAMES))
    assert names.find("zhenyan")[0].name == "臻颜"
    # 露米娜's pinyin is "lumina", the Latin name already given: not looked for twice.
    assert sum(1 for f in names.forms if f.plain == "lumina") == 1


def test_long_text_is_capped() -> None:
    assert find_names("x " * 20_000 + "Lumina", NAMES) == []
    assert find_names("x " * 100 + "Lumina", NAMES)[0].start == 200


# --- in the relevance signal and the verdict --------------------------------------------------------------------

@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory) -> MatchContext:
    config: BrandConfig = make_config(tmp_path_factory.mktemp("brand"))
    return context_for(config)


STRANGER = ("美妆小铺3", "x-3")


@pytest.mark.parametrize(("title", "said"), [
    ("L.umina 焕活精华液 30ml 特价", 'Lumina as "L.umina" (spacing and punctuation removed)'),
    ("Lum1na serum 特价", 'Lumina as "Lum1na" (look-alike digits or letters read as the name\'s)'),
    ("Lumіna serum 特价", 'Lumina as "Lumіna" (letters of another script that look like Latin ones)'),
    ("lumina 水润面霜", "'Lumina'"),
    ("露-米-娜 水润面霜", '露米娜 as "露-米-娜" (spacing and punctuation removed)'),
])
def test_the_relevance_reason_says_how_the_name_was_bent(ctx: MatchContext, title: str, said: str) -> None:
    a = assess(facts(title, price="136", seller=STRANGER, images=(unrelated_photo(),)), ctx)
    relevance = a.signals.relevance
    assert relevance.outcome is Outcome.MATCH, relevance.reason
    assert f"the text names the brand ({said})" in relevance.reason
    assert a.verdict.verdict is Verdict.COUNTERFEIT
    assert any(said in r for r in a.verdict.reasons)
    bent = relevance.evidence["bent_names"]
    assert bool(bent) is (said != "'Lumina'")


def test_pinyin_of_the_brand_names_the_product(ctx: MatchContext) -> None:
    a = assess(facts("LU MI NA 水润面霜 50g", price="136", seller=STRANGER, images=(unrelated_photo(),)), ctx)
    assert a.sku == "LM-200"
    assert 'Lumina as "LU MI NA" (spacing and punctuation removed)' in a.signals.relevance.reason
    b = assess(facts("lumi na 焕活精华液", price="136", seller=STRANGER, images=(unrelated_photo(),)), ctx)
    assert b.sku == "LM-100"


def test_accessory_for_the_brand_is_not_its_product(ctx: MatchContext) -> None:
    a = assess(facts("适用 Lumina 精华液 替换泵头 3个装", price="19", seller=STRANGER, images=(unrelated_photo(),)),
               ctx)
    relevance = a.signals.relevance
    assert relevance.outcome is Outcome.NO_MATCH
    assert "names the brand only as what an accessory fits ('适用 Lumina')" in relevance.reason
    assert relevance.evidence["brand_terms"] == []
    assert relevance.evidence["accessory_for"][0]["accessory"] == "适用"
    assert a.verdict.verdict is Verdict.UNRELATED
    # Without 适用 the same words claim to be the brand's serum, at a copy's price.
    assert assess(facts("Lumina 精华液 3个装", price="19", seller=STRANGER, images=(unrelated_photo(),)),
                  ctx).verdict.verdict is Verdict.COUNTERFEIT


def test_accessory_words_with_tells_do_not_make_a_brand_counterfeit(ctx: MatchContext) -> None:
    # Rule 1's exception (brand + tells) needs the brand claimed, not fitted.
    a = assess(facts("compatible with Lumina 高仿 bottles", price="19", seller=STRANGER, images=(None,)), ctx)
    assert a.verdict.verdict is Verdict.UNRELATED


@pytest.mark.parametrize("tell", ["大牌同款", "某大牌", "专柜同款", "原单"])
def test_brandless_tells_count_without_the_brand(ctx: MatchContext, tell: str) -> None:
    assert counterfeit_tells_signal(f"{tell} 修护精华 30ml").matched
    # The photo shows it is the brand's serum; the words say it is a copy: counterfeit, with no name in sight.
    a = assess(facts(f"{tell} 修护精华 30ml 包邮", price="600", seller=STRANGER, images=(genuine_photo(),)), ctx)
    assert a.verdict.verdict is Verdict.COUNTERFEIT
    assert any(f"'{tell}'" in r for r in a.verdict.reasons)


def test_brandless_tells_alone_do_not_make_a_listing_the_brands(ctx: MatchContext) -> None:
    a = assess(facts("大牌同款 修护精华 30ml", price="60", seller=STRANGER, images=(unrelated_photo(),)), ctx)
    assert a.verdict.verdict is Verdict.UNRELATED


def test_look_alike_brand_is_not_called_ours(ctx: MatchContext) -> None:
    for title in ("Lumena 焕活精华液 30ml", "LUMINOUS serum 30ml", "Luminara 面霜"):
        a = assess(facts(title, price="136", seller=STRANGER, images=(unrelated_photo(),)), ctx)
        assert a.verdict.verdict is Verdict.UNRELATED, (title, a.verdict.reasons)


def test_a_symbol_reads_as_a_letter_only_between_two_letters() -> None:
    assert find_names("Lum!na 面霜", ["Lumina"])[0].how is How.FOLDED
    assert find_names("新品 !ina 面霜", ["Lina"]) == []  # "!" opening a word is punctuation, not an l


def test_the_brands_thresholds_set_how_loosely_names_match(tmp_path_factory: pytest.TempPathFactory) -> None:
    data = brand_dict()
    title = "Lumiina 焕活精华液 30ml"
    loose = context_for(make_config(tmp_path_factory.mktemp("loose"), data))
    assert assess(facts(title, images=(unrelated_photo(),)), loose).sku == "LM-100"
    data["thresholds"]["name_fuzzy_ratio"] = 1.0  # near spellings off
    strict = context_for(make_config(tmp_path_factory.mktemp("strict"), data))
    assert assess(facts(title, images=(unrelated_photo(),)), strict).sku is None
    data["thresholds"]["name_fuzzy_ratio"] = 0.88
    data["thresholds"]["name_fuzzy_min_length"] = 7  # "Lumina" has six letters
    longer = context_for(make_config(tmp_path_factory.mktemp("longer"), data))
    assert assess(facts(title, images=(unrelated_photo(),)), longer).sku is None
    data["thresholds"]["name_fuzzy_ratio"] = 0.5
    with pytest.raises(ValueError, match="name_fuzzy_ratio"):
        make_config(tmp_path_factory.mktemp("bad"), data)


@pytest.mark.parametrize(("title", "copy"), [
    ("露 米 娜焕活精华液 30ml 专柜品质", True),
    ("L.umina serum 30ml", True),
    ("Lum1na serum 30ml", True),
    ("Lumіna serum 30ml", True),
    ("璐米娜 焕活精华液 30ml", True),
    ("Lumina serum 30ml", False),  # written plainly
    ("Lumiina serum 30ml", False),  # a near spelling is how people type, not a dodge
    ("露米娜 L.umina serum 30ml", False),  # the plain name beside the bent one: nothing dodged
])
def test_a_name_only_ever_bent_to_dodge_filters_weighs_for_a_copy(ctx: MatchContext, title: str, copy: bool) -> None:
    # Priced moderately under the floor in the seller's own photo: diverted stock, unless the name is dodged.
    a = assess(facts(title, price="470", seller=STRANGER, images=(unrelated_photo(),)), ctx)
    assert a.verdict.verdict is (Verdict.COUNTERFEIT if copy else Verdict.DIVERSION), a.verdict.reasons
    said = [r for r in a.verdict.reasons if r.startswith("the text writes the brand's name only bent (")]
    assert bool(said) is copy
    if copy:
        assert said[0].endswith("as sellers of copies do to slip past keyword filters")
        assert a.verdict.weights[said[0]] == pytest.approx(0.3)


@pytest.mark.parametrize(("text", "name"), [
    ("Lumiere 精华液", "Lumina"), ("Lumina 精华液", "Lumière"), ("luminous serum", "Lumina"),
    ("luminous serum", "Lumière"), ("Lumen 面霜", "Lumina"), ("Lumine 面霜", "Lumina"), ("Luminaire 灯具", "Lumina"),
    ("真颜 面霜", "臻颜"), ("臻品 面霜", "臻颜"), ("zhenpin", "臻颜"), ("Lumi", "Lumina"),
])
def test_one_brand_is_not_another(text: str, name: str) -> None:
    assert find_names(text, [name]) == []
