"""Contact details in scraped text and seller records, normalised so two shops giving the same one compare equal.

Shops that belong to one operator often give the same WeChat id, phone, QQ or e-mail in their listings ("加微信
lumina_8888 拿货价"), or the marketplace shows the same contact on their shop pages (Seller.contact). Each detail
is (kind, value): mainland mobile numbers without +86 or separators, e-mails lower-cased, WeChat and QQ ids as
written after their label. Sellers dodge the platforms' filters on 微信 with stand-ins, so a WeChat id is read
after any of 微信 / 威信 / 薇信 / V信 / vx / wx / WeChat / weixin, after 加V / +V / ➕V / 加微 / 加薇 ("add on V"), and
after a bare V / 微 / 薇 with a colon ("V: mei2688", "薇：mei2688"), and after 薇 standing alone before a space
("薇 mei2688"); otherwise V is a letter and 薇 part of a name (蔷薇 is a rose, 薇洛拉 a brand). A QQ number is
read after QQ, 扣扣, or a bare Q with a colon.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

MAX_TEXT = 20_000
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[\s-]?)?(1[3-9]\d(?:[\s-]?\d{4}){2})(?!\d)")
_EMAIL = re.compile(r"[a-z0-9._%+-]{1,64}@[a-z0-9.-]{1,190}\.[a-z]{2,24}")
_WECHAT = re.compile(
    r"(?:(?:微信|威信|薇信|v信|(?<![a-z])vx|(?<![a-z])wx|wechat|we\s+chat|weixin)\s*(?:号|id)?\s*[:：]?"
    r"|(?:加|\+|➕)\s*(?:v(?![a-z])|微|薇|威)\s*(?:号|id)?\s*[:：]?"
    r"|(?:(?<![a-z0-9])v|(?<![蔷紫])薇|(?<![a-z0-9])微)\s*(?:号|id)?\s*[:：]"
    r"|(?<![\u3400-\u9fff])薇\s+)"
    r"\s*([a-z][-_a-z0-9]{5,19})(?![-_a-z0-9])"
)
_QQ = re.compile(r"(?:(?<![a-z])qq|扣扣|(?<![a-z0-9])q\s*[:：])\s*(?:号)?\s*[:：]?\s*([1-9]\d{4,11})(?!\d)")
_WECHAT_HINTS = ("信", "v", "wx", "we", "微", "薇", "威")  # one of them is in every label _WECHAT knows
CONTACT_KINDS = ("phone", "email", "wechat", "qq", "licence")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text[:MAX_TEXT]).casefold()


def contacts_in_text(text: str) -> set[tuple[str, str]]:
    """Contact details written in a listing's title or description."""
    folded = _fold(text)
    found: set[tuple[str, str]] = set()
    for m in _MOBILE.finditer(folded):
        found.add(("phone", re.sub(r"\D", "", m.group(1))))
    # Each pattern below needs a fixed string, looked for first: most texts have none, and scanning costs more.
    if "@" in folded:
        for m in _EMAIL.finditer(folded):
            found.add(("email", m.group(0)))
    if any(label in folded for label in _WECHAT_HINTS):
        for m in _WECHAT.finditer(folded):
            found.add(("wechat", m.group(1)))
    if "q" in folded or "扣扣" in folded:
        for m in _QQ.finditer(folded):
            found.add(("qq", m.group(1)))
    return found


def contacts_of_seller(contact: Mapping[str, Any] | None) -> set[tuple[str, str]]:
    """Contact details a marketplace showed for a seller (Seller.contact: phone, email, licence, ...)."""
    found: set[tuple[str, str]] = set()
    for key, value in (contact or {}).items():
        if not isinstance(value, str) or not value.strip():
            continue
        kind = str(key).lower()
        if kind in ("phone", "mobile", "tel", "telephone"):
            digits = re.sub(r"\D", "", _fold(value))
            if digits.startswith("86") and len(digits) == 13:
                digits = digits[2:]
            if len(digits) >= 7:
                found.add(("phone", digits))
        elif kind in ("email", "e-mail", "mail"):
            found.add(("email", _fold(value).strip()))
        elif kind in ("licence", "license", "business_licence", "business_license", "uscc"):
            found.add(("licence", re.sub(r"[^0-9a-z]", "", _fold(value))))
        else:
            found |= contacts_in_text(value)
    return {(k, v) for k, v in found if v}
