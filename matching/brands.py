"""Other brands a listing's title may name: whose product it is, before asking which of ours it is.

A competitor's pack in the same layout and colours as the brand's (same box shape, same product word) can sit
near the brand's reference photos, and a shape-alike photo must not make it the brand's. The title is the seller's
own statement of whose goods these are, so when it names another brand and not ours, the photo alone identifies
the product only when the artwork matches strongly (matching.artwork) or the brand's name is read on the pack.

Which names count as other brands is the brand's to say: `brand.other_brands` in its YAML lists its
competitors in any language. Left unset, DEFAULT_OTHER_BRANDS is used: widely sold cosmetics brands as Chinese and
international marketplaces write them (the demo brand sells skincare and make-up); `other_brands: []` turns the
check off. Detecting brand-like words generically (an unknown capitalised word before the product word) was
considered and left out: shop names, series names and bent spellings of the brand's own name look the same, and a
wrong guess here would hide a counterfeit. Names are found after the same folding as every title term (case,
width, spaces, traditional script; matching.terms); a name that folds to one of the brand's own is never counted.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from core.config import Brand
from matching.terms import fold_compact, fold_keep_spaces

DEFAULT_OTHER_BRANDS: tuple[str, ...] = (
    "雅诗兰黛", "Estee Lauder", "Estée Lauder", "兰蔻", "Lancome", "Lancôme", "资生堂", "Shiseido", "SK-II", "SK2",
    "欧莱雅", "L'Oreal", "L'Oréal", "Loreal", "迪奥", "Dior", "香奈儿", "Chanel", "娇韵诗", "Clarins", "海蓝之谜",
    "La Mer", "倩碧", "Clinique", "科颜氏", "Kiehl's", "玉兰油", "Olay", "珀莱雅", "Proya", "薇诺娜", "Winona",
    "百雀羚", "Pechoin", "自然堂", "Chando", "完美日记", "Perfect Diary", "花西子", "Florasis", "赫莲娜",
    "Helena Rubinstein", "娇兰", "Guerlain", "圣罗兰", "YSL", "阿玛尼", "Armani", "植村秀", "Shu Uemura", "悦诗风吟",
    "Innisfree", "雪花秀", "Sulwhasoo", "理肤泉", "La Roche-Posay", "薇姿", "Vichy", "雅漾", "Avene", "Avène",
    "修丽可", "SkinCeuticals", "芙丽芳丝", "Freeplus", "蜜丝佛陀", "Max Factor", "美宝莲", "Maybelline",
)


def other_brand_names(brand: Brand) -> tuple[str, ...]:
    """The configured other brands (the default list when unset), leaving out any that is one of ours."""
    configured = DEFAULT_OTHER_BRANDS if brand.other_brands is None else tuple(brand.other_brands)
    ours = {fold_compact(n) for n in (brand.name, *brand.names.values())}
    return tuple(dict.fromkeys(n for n in configured if n.strip() and fold_compact(n) not in ours))


def _unaccented(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def other_brands_named(title: str, names: Sequence[str]) -> list[str]:
    """The names in `names` the title contains, as configured ('兰蔻', 'Estee Lauder').

    A Latin-script name is found as a whole phrase standing alone ('La Mer', not 'la' and 'mer' anywhere; 'Estée'
    and 'Estee' alike); a CJK name anywhere, since CJK text has no spaces.
    """
    spaced = fold_keep_spaces(_unaccented(title))
    compact = fold_compact(title)
    found = []
    for name in names:
        phrase = fold_keep_spaces(_unaccented(name)).strip()
        if not phrase:
            continue
        if phrase.isascii():
            hit = re.search(rf"(?<![0-9a-z]){re.escape(phrase)}(?![0-9a-z])", spaced) is not None
        else:
            hit = fold_compact(name) in compact
        if hit:
            found.append(name)
    return found
