"""The demo brand, Lumina / 露米娜: its products, its distribution contracts, and the sellers around it.

Pure data. `catalogue.py` turns it into listings; `workspace.py` turns it into a brandpatrol.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

MARKETPLACES = ("demo-shop", "demo-js")
SEARCH_TERMS = ("露米娜", "Lumina")
CURRENCY = "CNY"

BRAND_NAME = "Lumina"
BRAND_NAMES = {"en": "Lumina", "zh": "露米娜"}
RIGHTS_HOLDER = {
    "name": "Lumina Cosmetics Ltd.",
    "email": "brand-protection@lumina-cosmetics.example",
    "address": "88 Century Avenue, Pudong, Shanghai, China",
    "phone": "+86 21 5555 0100",
    "signatory": "Chen Jing",
    "signatory_title": "Brand Protection Counsel",
}
# Fictional registrations, so the demo can draft every kind of notice.
TRADEMARKS = (
    {"number": "30123456", "jurisdiction": "CN", "mark": "露米娜", "classes": [3]},
    {"number": "30123457", "jurisdiction": "CN", "mark": "LUMINA", "classes": [3]},
    {"number": "018765432", "jurisdiction": "EU", "mark": "LUMINA", "classes": [3]},
    {"number": "6543210", "jurisdiction": "US", "mark": "LUMINA", "classes": [3]},
)
COPYRIGHT_WORKS = (
    {"title": "Lumina product photographs 2026", "description": "The brand's own studio photographs of its products"},
)


@dataclass(frozen=True)
class Reference:
    id: str
    source: str  # a photo in photos.SOURCES, or "pack:<sku>": the flat front of the product's box (packs.py)


@dataclass(frozen=True)
class DemoProduct:
    sku: str
    name_en: str
    name_zh: str
    short_zh: str  # how sellers shorten the name in titles
    kind_zh: str  # the product word: 精华液, 面霜, 口红
    short_en: str
    size: str
    suggested: Decimal
    floor: Decimal
    keywords: tuple[str, ...]
    references: tuple[Reference, ...]
    gtin: str  # the EAN-13 printed on its box


PRODUCTS: tuple[DemoProduct, ...] = (
    DemoProduct(
        sku="LM-100", name_en="Lumina Radiance Renewal Serum 30ml", name_zh="露米娜焕活修护精华液 30ml",
        short_zh="焕活修护精华液", kind_zh="精华液", short_en="Radiance Renewal Serum", size="30ml",
        suggested=Decimal("680"), floor=Decimal("580"),
        keywords=("露米娜精华液", "焕活精华", "精华液", "Lumina serum", "Radiance Renewal Serum", "serum"),
        references=(Reference("LM-100-front", "coffee"), Reference("LM-100-box", "rocket"),
                    Reference("LM-100-pack", "pack:LM-100")),
        gtin="6971234500014",
    ),
    DemoProduct(
        sku="LM-200", name_en="Lumina Hydra Balance Cream 50g", name_zh="露米娜水润平衡面霜 50g",
        short_zh="水润平衡面霜", kind_zh="面霜", short_en="Hydra Balance Cream", size="50g",
        suggested=Decimal("480"), floor=Decimal("400"),
        keywords=("露米娜面霜", "水润面霜", "面霜", "Lumina cream", "Hydra Balance Cream", "cream"),
        references=(Reference("LM-200-front", "chelsea"), Reference("LM-200-texture", "immunohistochemistry"),
                    Reference("LM-200-pack", "pack:LM-200")),
        gtin="6971234500021",
    ),
    DemoProduct(
        sku="LM-300", name_en="Lumina Velvet Matte Lipstick 3.5g", name_zh="露米娜丝绒哑光口红 3.5g",
        short_zh="丝绒哑光口红", kind_zh="口红", short_en="Velvet Matte Lipstick", size="3.5g",
        suggested=Decimal("260"), floor=Decimal("220"),
        keywords=("露米娜口红", "丝绒口红", "口红", "唇膏", "Lumina lipstick", "Velvet Matte Lipstick", "lipstick"),
        references=(Reference("LM-300-front", "astronaut"), Reference("LM-300-pack", "pack:LM-300")),
        gtin="6971234500038",
    ),
)

# Photos that are not the brand's: what unrelated listings show. None is within a 64-bit pHash distance of 20
# of any reference above. (Counterfeiters' photos of their fakes are drawn boxes: packs.py.)
UNRELATED_PHOTOS = (
    "camera", "moon", "page", "brick", "grass", "gravel", "hubble_deep_field", "retina", "motorcycle_left",
)


@dataclass(frozen=True)
class DemoSeller:
    """A shop on one demo marketplace. `regions` and `batch_prefixes` are set only for authorised shops."""

    key: str  # stable name inside this module
    marketplace: str
    seller_id: str
    name: str
    home: tuple[str, ...]  # ship-from locations as the shop writes them
    regions: tuple[str, ...] = ()
    batch_prefixes: tuple[str, ...] = ()
    distributor: str | None = None
    # Where an authorised shop ships from when it sells outside its contract (diversion by region).
    elsewhere: tuple[str, ...] = ()

    @property
    def authorised(self) -> bool:
        return bool(self.regions)


_OFFICIAL = "Lumina Cosmetics Ltd.（品牌直营）"
_SOUTH = "华南美妆供应链有限公司"
_EAST = "华东丽人贸易有限公司"
_WEST = "西南美妆分销有限公司"

AUTHORISED: tuple[DemoSeller, ...] = (
    DemoSeller("official", "demo-shop", "lumina-official", "露米娜官方旗舰店", ("上海",),
               regions=("CN-SH",), batch_prefixes=("LMA",), distributor=_OFFICIAL),
    DemoSeller("south", "demo-shop", "huanan-beauty", "华南美妆专营店", ("广东 广州", "广东 深圳"),
               regions=("CN-GD", "CN-GX", "CN-HI"), batch_prefixes=("GDS",), distributor=_SOUTH,
               elsewhere=("湖南 长沙", "福建 厦门")),
    DemoSeller("east", "demo-shop", "jzh-beauty", "江浙沪美妆集合店", ("浙江 杭州", "江苏 苏州", "上海"),
               regions=("CN-ZJ", "CN-JS", "CN-SH"), batch_prefixes=("HDL",), distributor=_EAST,
               elsewhere=("安徽 合肥", "江西 南昌")),
    DemoSeller("official", "demo-js", "883120", "露米娜官方旗舰店", ("上海",),
               regions=("CN-SH",), batch_prefixes=("LMA",), distributor=_OFFICIAL),
    DemoSeller("south", "demo-js", "661045", "华南美妆专营店", ("广东 深圳", "广东 佛山"),
               regions=("CN-GD", "CN-GX", "CN-HI"), batch_prefixes=("GDS",), distributor=_SOUTH,
               elsewhere=("湖南 长沙", "河南 郑州")),
    DemoSeller("west", "demo-js", "557201", "蓉城美妆专卖", ("四川 成都", "重庆"),
               regions=("CN-SC", "CN-CQ"), batch_prefixes=("XNM",), distributor=_WEST,
               elsewhere=("陕西 西安", "湖北 武汉")),
)

# Shops with no contract. Several sell both diverted genuine goods and fakes, as such shops do. The held-out
# market (surfaces.py) has shops of the same kinds under other names.
_UNAUTHORISED_BASE: tuple[tuple[str, str, str, str, str], ...] = (
    # key, demo-shop id, demo-js id, name, location
    ("putian", "putian-youpin", "310877", "莆田优品美妆", "福建 莆田"),
    ("yiwu", "yiwu-pifa", "412650", "义乌美妆批发城", "浙江 义乌"),
    ("baiyun", "gz-baiyun", "298314", "广州白云美妆仓", "广东 广州"),
    ("linyi", "linyi-zhekou", "505129", "临沂美妆折扣店", "山东 临沂"),
    ("wuhan", "wuhan-xiaomei", "617733", "武汉小美美妆铺", "湖北 武汉"),
    ("hongkong", "hk-daigou", "720456", "香港免税代购", "香港"),
    ("usa", "us-beauty-outlet", "830901", "US Beauty Outlet", "Los Angeles, United States"),
)


def shops_on_both(rows: tuple[tuple[str, str, str, str, str], ...]) -> tuple[DemoSeller, ...]:
    """Unauthorised shops from (key, demo-shop id, demo-js id, name, location) rows, one per marketplace."""
    return tuple(
        DemoSeller(key, market, sid, name, (loc,))
        for key, shop_id, js_id, name, loc in rows
        for market, sid in (("demo-shop", shop_id), ("demo-js", js_id))
    )


UNAUTHORISED = shops_on_both(_UNAUTHORISED_BASE)
# Who sells what among the unauthorised (keys; repeated keys weigh the draw).
DIVERTERS = ("hongkong", "hongkong", "usa", "wuhan", "linyi", "baiyun", "yiwu")
COUNTERFEITERS = ("putian", "putian", "yiwu", "baiyun", "linyi", "usa")

# Shops selling things a search for the brand also returns.
OTHER_SHOPS: tuple[tuple[str, str, str, str, str], ...] = (
    ("lighting", "zhongshan-light", "140233", "中山照明之家", "广东 中山"),
    ("gadgets", "sz-shuma", "150871", "深圳数码配件小铺", "广东 深圳"),
    ("sport", "qz-yundong", "163402", "泉州悦动运动专营", "福建 泉州"),
    ("mall", "suzhou-meizhuang", "174519", "苏州美妆集合馆", "江苏 苏州"),
)
OTHERS = shops_on_both(OTHER_SHOPS)


def seller(marketplace: str, key: str, pool: tuple[DemoSeller, ...]) -> DemoSeller:
    return next(s for s in pool if s.marketplace == marketplace and s.key == key)


# --- listing text ----------------------------------------------------------------------------------------
# Placeholders: {zh} brand in Chinese, {en} brand in English, {name} short Chinese product name, {kind} the
# product word, {en_name} short English name, {size}.

GENUINE_TITLES = (
    "{zh} {name} {size} 官方正品",
    "{en}{zh}{name}{size} 专柜同步 正品保障",
    "【官方授权】{zh}{kind} {size} {name}",
    "{en} {en_name} {size} {zh}{kind}",
    "{zh}{name} {size} 新品上市 顺丰包邮",
)
GENUINE_DESCRIPTIONS = (
    "{zh}品牌授权经销，{full}。批号：{batch}，支持专柜验货，假一赔十。",
    "官方授权店铺，全新正品{full}，批号{batch}。七天无理由退换。",
    "{full}，品牌直供。生产批号 {batch}，可扫码查询防伪。",
)
DIVERSION_TITLES = (
    "{zh}{name}{size} 清仓特价 正品",
    "{en}{zh}{kind} 尾货处理 保真",
    "{zh}{kind} {size} 内部渠道 员工价",
    "{zh} {name} 正品 已刮码 介意慎拍",
    "{zh}{name} {size} 正品小样 特价",
    "{en} {en_name} {size} 正品折扣",
)
DIVERSION_DESCRIPTIONS = (
    "正品保真，代理商清仓，数量有限。批号：{batch}。",
    "专柜撤柜尾货，{full}，保质期内。批号 {batch}。",
    "内部员工渠道货源，{full}，假一罚十。批号{batch}。",
    "{full}，正品，包装批号已刮，介意勿拍，不支持专柜验货。",
)
DIVERSION_ABROAD = {
    "hongkong": ("香港{kind} {zh}{name} {size} 免税店代购", "香港专柜购入，{full}，直邮内地。批号：{batch}。"),
    "usa": ("{en} {en_name} {size} - authentic, US stock", "Authentic {full_en}, bought from a US retailer. "
            "Lot {batch}. Ships worldwide."),
}
COUNTERFEIT_TITLES_TELL = (
    "{zh}{kind} 高仿 1:1 专柜品质",
    "{en}同款{kind} A货 原单",
    "{zh}{name} 原单尾单 特价包邮",
    "{en} {en_name} replica 1:1 {size}",
    "{zh}{kind}{size} 一比一复刻 专柜版",
)
COUNTERFEIT_TITLES_PLAIN = (
    "{zh}{name} {size} 正品 特价 包邮",
    "{en}{zh}{kind} {size} 限时秒杀",
    "{zh} {name} 买一送一",
    "{en} {en_name} {size} hot sale free shipping",
)
# Fakes that never name the brand ("L家" = brand L), recognisable by the brand's own photos alone.
COUNTERFEIT_TITLES_UNBRANDED = (
    "大牌平替 L家同款{name} {size}",
    "网红同款 {name}{size} 平价替代 专柜品质",
)
COUNTERFEIT_UNBRANDED_DESCRIPTION = "平替大牌，效果一样，工厂直发。"
COUNTERFEIT_DESCRIPTIONS = (
    "工厂直发，做工与专柜一致，细节可对比。",
    "高品质复刻，包装一比一，送礼自用都可以。",
    "正品保证，假一赔十，量大从优。批号：{batch}。",
    "{full}，超低价冲量，先到先得。",
    "same quality as counter, factory price, free gift.",
)
COUNTERFEIT_BOGUS_PREFIXES = ("LMX", "LM8", "GD0")

# Unrelated listings: title, description, price range (CNY, whole yuan), the kind of shop that sells it
# ("beauty": a cosmetics shop, sometimes an authorised one, since they stock other brands too).
UNRELATED: tuple[tuple[str, str, int, int, str], ...] = (
    ("Lumina LED 护眼台灯 学生宿舍 三档调光", "USB 充电，三档色温，护眼无频闪。", 69, 199, "lighting"),
    ("Lumina 手机壳 适用 iPhone 15 Pro 磨砂防摔", "磨砂手感，四角气囊防摔。", 19, 49, "gadgets"),
    ("LUMINA 瑜伽垫 加厚防滑 健身垫 183cm", "TPE 材质，双面防滑，送绑带。", 59, 129, "sport"),
    ("Lumina Smart Bulb E27 Wi-Fi 智能灯泡 1600万色", "App 控制，支持语音助手。", 39, 99, "lighting"),
    ("露米娜灯饰 水晶吊灯 客厅卧室 轻奢", "K9 水晶，三色变光，包安装。", 399, 1299, "lighting"),
    ("Lumina 化妆刷套装 12支 含收纳包", "人造纤维刷毛，柔软不掉毛。", 49, 139, "beauty"),
    # Other (fictional) brands' cosmetics in the same categories, at similar prices.
    ("雅丝 Yasi 赋活修护精华 50ml", "法国原装进口，修护肌底。", 560, 880, "beauty"),
    ("Aurelle 奥瑞尔 多效保湿面霜 50g", "紧致弹润，滋养修护。", 320, 560, "beauty"),
    ("Rouge Maison 丝绒子弹头口红 #12", "经典色号，哑光质地。", 150, 230, "beauty"),
    ("Lumina 车载香薰 出风口 持久留香", "固体香膏，三种香型可选。", 29, 69, "gadgets"),
)
