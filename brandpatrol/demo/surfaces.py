"""The evaluation markets: which cases a market holds, at what rates, and the surface each market shows.

Detection is tuned on the `tuning` market (the one `brandpatrol demo` serves) and its targets are measured on
`heldout`, a market it was never tuned on: another seed and another surface (other bent spellings of the brand,
other shop names and contacts, other backgrounds, angles and light in sellers' own photos, other look-alike
brands). Pure data; catalogue.py and market.py build listings from it.

Rates are shares of each marketplace's search results for the brand. They follow what brand-protection teams
report for a mid-priced cosmetics brand on Chinese marketplaces: about a quarter genuine, a quarter diverted
stock, a third counterfeit (of which roughly half are the careless copies with the brand's photo or name, the
rest shot on their own or with the name bent), and the remainder other products the search also returns,
half of them other brands' look-alike packs.
"""

from __future__ import annotations

from dataclasses import dataclass

from brandpatrol.demo.brand import UNAUTHORISED, DemoSeller, shops_on_both

# case -> (label, share of a marketplace's listings, what it is)
CASES: dict[str, tuple[str, float, str]] = {
    "genuine": ("genuine", 0.20, "an authorised shop, in its regions, at or over the floor, the brand's photos"),
    "genuine_own_photo": ("genuine", 0.06, "an authorised shop's own photo of the real box (lot and serial of "
                                           "its own distributor)"),
    "control_diversion_title_code": ("diversion", 0.08, "an unauthorised shop under the floor; the lot code "
                                                        "in the listing's text names the distributor"),
    "diversion_outside_region": ("diversion", 0.05, "an authorised shop shipping from outside its regions"),
    "diversion_code_scratched": ("diversion", 0.03, "an unauthorised shop whose stock has its code scratched off"),
    "cleared_stock": ("diversion", 0.04, "genuine stock cleared at fake prices, its distributor's code shown"),
    "printed_lot_diversion": ("diversion", 0.06, "genuine stock whose lot code is printed only on the box in "
                                                 "the photo, not in the text"),
    "control_copy": ("counterfeit", 0.10, "a fake with the brand's photo (altered) and name"),
    "premium_fake": ("counterfeit", 0.04, "a fake priced like diverted stock, printing a made-up lot code"),
    "unbranded_copy": ("counterfeit", 0.02, "a fake with the brand's photo and no brand name"),
    "own_photo_fake": ("counterfeit", 0.07, "the fake box itself, shot at an angle on another background"),
    "bent_name_fake": ("counterfeit", 0.07, "a fake whose title bends the brand's name or names no brand "
                                            "(大牌同款), in its own photo"),
    "network_shop": ("counterfeit", 0.06, "shops of one network sharing own photos and one WeChat contact"),
    "unrelated": ("unrelated", 0.06, "another product a search for the brand returns"),
    "lookalike_other_brand": ("unrelated", 0.06, "another brand's look-alike pack; the title names that brand"),
}
# The cases the demo had before issue #15: the careless infringers. Their figures must not fall.
PLAIN_CASES = ("genuine", "control_diversion_title_code", "diversion_outside_region", "diversion_code_scratched",
               "cleared_stock", "control_copy", "premium_fake", "unbranded_copy", "unrelated")


def case_counts(n: int) -> dict[str, int]:
    """Listings per case for n listings: the shares, rounded so they add up to n (largest remainder)."""
    exact = {case: n * share for case, (_, share, _) in CASES.items()}
    counts = {case: int(value) for case, value in exact.items()}
    by_remainder = sorted(exact, key=lambda case: exact[case] - counts[case], reverse=True)
    for case in by_remainder[: n - sum(counts.values())]:
        counts[case] += 1
    return counts


@dataclass(frozen=True)
class LookalikeBrand:
    chinese: str
    latin: str
    imitates: str  # the sku whose trade dress its pack borrows
    product_chinese: str
    product_latin: str
    motif: str | None  # its own artwork, or None to borrow the imitated one too


@dataclass(frozen=True)
class Surface:
    name: str
    seed: int
    listings_per_marketplace: int
    unauthorised: tuple[DemoSeller, ...]  # same keys as brand.UNAUTHORISED, so the same roles
    network: tuple[DemoSeller, ...]  # one network's shops; key "net*"
    contact_forms: tuple[str, ...]  # how the network writes its one WeChat contact
    bent_brands: tuple[str, ...]  # the brand's name bent (escapes: Cyrillic letters and full-width forms)
    brandless: tuple[str, ...]  # brandless tells used instead of the name
    backgrounds: tuple[str, ...]
    tilt: tuple[float, float]
    blur: tuple[float, float]
    angle: tuple[float, float]
    lookalikes: tuple[LookalikeBrand, ...]


TUNING = Surface(
    name="tuning", seed=7, listings_per_marketplace=50,
    unauthorised=UNAUTHORISED,
    network=shops_on_both((
        ("net1", "meimei-youxuan", "901101", "美美优选好物", "广东 广州"),
        ("net2", "xiaomei-jia", "901102", "小美家美妆", "广东 佛山"),
        ("net3", "meizhuang-yancang", "901103", "美妆严选仓", "广东 东莞"),
    )),
    contact_forms=("V: mei2688", "加V mei2688", "薇 mei2688", "V信 mei2688"),
    bent_brands=("L.umina", "Lu-mina", "Lum1na", "Lum\u0456na", "LUMlNA", "璐米娜", "露 米 娜", "露-米-娜", "lu mi na"),
    brandless=("大牌同款", "某大牌"),
    backgrounds=("wood", "linen", "marble", "desk"),
    tilt=(0.05, 0.18), blur=(0.3, 0.9), angle=(-6.0, 6.0),
    lookalikes=(
        LookalikeBrand("雅丝", "YASI", "LM-100", "赋活修护精华", "Revital Repair Essence", None),
        LookalikeBrand("奥瑞尔", "AURELLE", "LM-200", "多效保湿面霜", "Multi Moist Cream", "petals"),
        LookalikeBrand("胭脂屋", "ROUGE MAISON", "LM-300", "丝绒子弹头口红", "Velvet Bullet Lipstick", None),
    ),
)

HELDOUT = Surface(
    name="heldout", seed=2027, listings_per_marketplace=70,
    unauthorised=shops_on_both((
        ("putian", "pt-jingpin", "322041", "莆田精品化妆品", "福建 莆田"),
        ("yiwu", "yiwu-haohuo", "433127", "义乌好货美妆", "浙江 义乌"),
        ("baiyun", "baiyun-huazhuang", "299860", "白云化妆品批发", "广东 广州"),
        ("linyi", "linyi-tehui", "506611", "临沂特惠美妆", "山东 临沂"),
        ("wuhan", "hankou-meizhuang", "618204", "汉口美妆小店", "湖北 武汉"),
        ("hongkong", "hk-zhiyou", "721390", "港货直邮小铺", "香港"),
        ("usa", "ny-beauty-deals", "831577", "NY Beauty Deals", "New York, United States"),
    )),
    network=shops_on_both((
        ("net1", "lily-meizhuang", "902201", "莉莉美妆馆", "福建 厦门"),
        ("net2", "lily-haowu", "902202", "莉家好物", "福建 泉州"),
        ("net3", "aimei-cang", "902203", "爱美仓库店", "福建 漳州"),
        ("net4", "meili-shuo", "902204", "美丽说小铺", "福建 福州"),
    )),
    contact_forms=("vx: lily0919", "加薇 lily0919", "wechat lily0919", "+V lily0919", "微信 lily0919"),
    bent_brands=("L_umina", "Lumi.na", "LUM1NA", "Lumin\u0430", "\uff2c\uff55\uff4d\uff49\uff4e\uff41", "路米娜",
                 "露·米·娜", "露米-娜", "lumi na"),
    brandless=("专柜同款", "大牌平替"),
    backgrounds=("carpet", "tiles", "kraft", "granite"),
    tilt=(0.10, 0.26), blur=(0.5, 1.3), angle=(-12.0, 12.0),
    lookalikes=(
        LookalikeBrand("薇洛拉", "VELORA", "LM-100", "焕颜精粹液", "Glow Essence", "rings"),
        LookalikeBrand("米欧", "MIO", "LM-200", "水感修护霜", "Aqua Repair Cream", None),
        LookalikeBrand("朱丽", "JULIE ROUGE", "LM-300", "雾面唇膏", "Matte Lip Color", None),
    ),
)
MARKETS = {s.name: s for s in (TUNING, HELDOUT)}
