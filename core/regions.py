"""A gazetteer: seller locations as written ("广东 深圳", "Located in Shenzhen, China") to ISO 3166 codes."""

from __future__ import annotations

import gettext
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import pycountry

# Commerce hubs sellers name instead of their province; city -> ISO 3166-2:CN subdivision.
_CN_CITIES = {
    "深圳": "GD", "广州": "GD", "东莞": "GD", "佛山": "GD", "汕头": "GD", "揭阳": "GD", "潮州": "GD", "中山": "GD",
    "珠海": "GD", "惠州": "GD", "杭州": "ZJ", "义乌": "ZJ", "宁波": "ZJ", "温州": "ZJ", "金华": "ZJ", "台州": "ZJ",
    "绍兴": "ZJ", "嘉兴": "ZJ", "湖州": "ZJ", "莆田": "FJ", "泉州": "FJ", "厦门": "FJ", "福州": "FJ", "晋江": "FJ",
    "石狮": "FJ", "苏州": "JS", "南京": "JS", "无锡": "JS", "常州": "JS", "南通": "JS", "徐州": "JS", "青岛": "SD",
    "济南": "SD", "临沂": "SD", "烟台": "SD", "成都": "SC", "武汉": "HB", "长沙": "HN", "郑州": "HA", "合肥": "AH",
    "南昌": "JX", "西安": "SN", "沈阳": "LN", "大连": "LN", "哈尔滨": "HL", "长春": "JL", "石家庄": "HE",
    "保定": "HE", "太原": "SX", "昆明": "YN", "贵阳": "GZ", "南宁": "GX", "海口": "HI", "三亚": "HI",
    "兰州": "GS", "西宁": "QH", "银川": "NX", "乌鲁木齐": "XJ", "拉萨": "XZ", "呼和浩特": "NM",
    "shenzhen": "GD", "guangzhou": "GD", "dongguan": "GD", "foshan": "GD", "shantou": "GD", "hangzhou": "ZJ",
    "yiwu": "ZJ", "ningbo": "ZJ", "wenzhou": "ZJ", "jinhua": "ZJ", "putian": "FJ", "quanzhou": "FJ",
    "xiamen": "FJ", "fuzhou": "FJ", "jinjiang": "FJ", "suzhou": "JS", "nanjing": "JS", "wuxi": "JS",
    "qingdao": "SD", "jinan": "SD", "chengdu": "SC", "wuhan": "HB", "changsha": "HN", "zhengzhou": "HA",
    "hefei": "AH", "xi'an": "SN", "xian": "SN", "shenyang": "LN", "dalian": "LN", "kunming": "YN",
}
# Names people write that ISO's English short names do not cover.
_COUNTRY_ALIASES = {
    "uk": "GB", "great britain": "GB", "england": "GB", "scotland": "GB", "wales": "GB", "usa": "US", "us": "US",
    "u.s.": "US", "u.s.a.": "US", "united states of america": "US", "america": "US", "south korea": "KR",
    "korea": "KR", "republic of korea": "KR", "north korea": "KP", "taiwan": "TW", "hong kong": "HK",
    "macau": "MO", "macao": "MO", "russia": "RU", "vietnam": "VN", "turkey": "TR", "türkiye": "TR",
    "uae": "AE", "mainland china": "CN", "prc": "CN", "iran": "IR", "syria": "SY", "laos": "LA",
    "czech republic": "CZ", "holland": "NL", "the netherlands": "NL", "bolivia": "BO", "venezuela": "VE",
    "tanzania": "TZ", "moldova": "MD", "palestine": "PS", "brunei": "BN",
    "中国": "CN", "中国大陆": "CN", "大陆": "CN", "内地": "CN", "香港": "HK", "澳门": "MO", "台湾": "TW",
    "美国": "US", "日本": "JP", "韩国": "KR", "英国": "GB", "德国": "DE", "法国": "FR", "意大利": "IT",
    "西班牙": "ES", "澳大利亚": "AU", "加拿大": "CA", "新加坡": "SG", "马来西亚": "MY", "泰国": "TH", "越南": "VN",
    "印度": "IN", "俄罗斯": "RU", "海外": "",
}
_PREFIXES = re.compile(
    r"^\s*(located in|item location|ships from|shipped from|location|from|发货地|所在地|产地|发货)\s*[:：]?\s*",
    re.IGNORECASE,
)
MAX_LOCATION_TEXT = 300


@dataclass(frozen=True)
class Location:
    """A place as written and as ISO 3166 codes (country alpha-2; subdivision such as CN-GD or US-CA)."""

    text: str
    country: str | None
    subdivision: str | None

    @property
    def code(self) -> str | None:
        """The most precise code known."""
        return self.subdivision or self.country


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().lower()


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for c in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            value = getattr(c, attr, None)
            if value:
                names[_fold(value)] = c.alpha_2
    names.update({_fold(k): v for k, v in _COUNTRY_ALIASES.items()})
    return names


@lru_cache(maxsize=1)
def _cn_province_names() -> dict[str, str]:
    """Chinese and pinyin names of China's provinces, short and long ('广东', '广东省', 'guangdong')."""
    zh = gettext.translation("iso3166-2", pycountry.LOCALES_DIR, languages=["zh_CN"], fallback=True)
    names: dict[str, str] = {}
    for sub in pycountry.subdivisions.get(country_code="CN") or []:
        short = sub.code.split("-")[1]
        pinyin = re.sub(r"\s+(Sheng|Shi|Zizhiqu|SAR|Huizu|Zhuangzu|Uygur)\b.*$", "", sub.name)
        names[_fold(pinyin)] = short
        local = zh.gettext(sub.name)
        if local != sub.name:
            names[local] = short
            stripped = re.sub(r"(省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)$", "", local)
            names[stripped] = short
    names.update({"inner mongolia": "NM", "tibet": "XZ", "shaanxi": "SN", "内蒙古": "NM", "西藏": "XZ"})
    return names


@lru_cache(maxsize=4096)
def is_region_code(code: str) -> bool:
    if re.fullmatch(r"[A-Z]{2}", code):
        return pycountry.countries.get(alpha_2=code) is not None
    return pycountry.subdivisions.get(code=code) is not None


# What people write for a subdivision whose ISO 3166-2 name they never use.
_SUBDIVISION_ALIASES = {"PH": {"metro manila": "PH-00", "ncr": "PH-00", "manila": "PH-00"}}


def subdivision_in(country: str, name: str | None) -> str | None:
    """The ISO 3166-2 code of a place named within a known country ("Laguna" in PH: PH-LAG), else None."""
    if not name:
        return None
    alias = _SUBDIVISION_ALIASES.get(country, {}).get(_fold(name).strip())
    return alias or _subdivision_by_name(country, name.strip())


def _subdivision_by_name(country: str, name: str) -> str | None:
    folded = _fold(name)
    for sub in pycountry.subdivisions.get(country_code=country) or []:
        if _fold(sub.name) == folded:
            return str(sub.code)
    return None


@lru_cache(maxsize=1)
def _china_patterns() -> tuple[re.Pattern[str], dict[str, str]]:
    """One alternation of every province and city name, longest first, so a place is found in one scan."""
    names = {name: "CN-" + code for name, code in _cn_province_names().items()}
    names.update({city: "CN-" + code for city, code in _CN_CITIES.items() if city not in names})
    parts = [rf"\b{re.escape(n)}\b" if n.isascii() else re.escape(n) for n in sorted(names, key=len, reverse=True)]
    return re.compile("|".join(parts)), names


def _china(text: str) -> str | None:
    """ISO 3166-2:CN code for a Chinese place written in Chinese or pinyin, else None.

    Provinces win over cities: "广东 深圳" and "深圳, Guangdong" both give CN-GD from the province.
    """
    pattern, names = _china_patterns()
    matches = [m.group(0) for m in pattern.finditer(_fold(text))]
    provinces = _cn_province_names()
    for name in matches:
        if name in provinces:
            return "CN-" + provinces[name]
    return names[matches[0]] if matches else None


def locate(text: str | None) -> Location | None:
    """Read a seller location; unknown parts stay None (never guessed)."""
    if not text:
        return None
    written = unicodedata.normalize("NFC", text).strip()[:MAX_LOCATION_TEXT]
    body = _PREFIXES.sub("", written)
    if not body:
        return None
    countries = _country_names()
    parts = [p.strip() for p in re.split(r"[,，/|、]", body) if p.strip()]
    country: str | None = None
    for part in reversed(parts):
        code = countries.get(_fold(part))
        if code is not None:
            country = code or None
            break
    if country is None:
        for name, code in _COUNTRY_ALIASES.items():
            if not name.isascii() and name in body and code:
                country = code
                break
    china = _china(body) if country in (None, "CN") else None
    if china:
        return Location(written, "CN", china)
    subdivision = None
    if country:
        for part in parts[:-1]:
            subdivision = _subdivision_by_name(country, part)
            if subdivision:
                break
    return Location(written, country, subdivision)
