"""Money from scraped text: `Decimal` amounts with ISO 4217 currencies, ranges kept as low and high."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import pycountry
from price_parser import Price

# ISO 4217 codes from pycountry, so validation never depends on a network look-up.
CURRENCY_CODES = frozenset(c.alpha_3 for c in pycountry.currencies)

# Symbols and words that name one currency unambiguously.
_UNAMBIGUOUS = {
    "€": "EUR", "£": "GBP", "₹": "INR", "₩": "KRW", "₽": "RUB", "₺": "TRY", "₫": "VND", "₱": "PHP", "₪": "ILS",
    "元": "CNY", "人民币": "CNY", "RMB": "CNY", "US$": "USD", "C$": "CAD", "A$": "AUD", "HK$": "HKD",
    "NT$": "TWD", "S$": "SGD", "R$": "BRL", "RM": "MYR", "Rp": "IDR", "円": "JPY",
}
# Symbols several currencies share; the marketplace's configured currency decides, else the first listed.
_AMBIGUOUS = {"$": ("USD", "CAD", "AUD", "MXN", "HKD", "SGD", "TWD"), "¥": ("CNY", "JPY"), "￥": ("CNY", "JPY"),
              "kr": ("SEK", "NOK", "DKK", "ISK")}

MAX_PRICE_TEXT = 200
# Amounts from here up are no price anyone asks (and more than the database's money columns, Numeric(18, 4), hold).
MAX_AMOUNT = Decimal(10) ** 14

# Digits of other scripts (１２３, ١٢٣, 𝟗) read as 0-9, and the separators written with them: full-width ，．
# (Chinese and Japanese sites), Arabic ٫ (decimal) and ٬ (thousands).
_OTHER_DIGIT = re.compile(r"(?![0-9])\d")
_SEPARATORS = str.maketrans({"，": ",", "．": ".", "٫": ".", "٬": ","})
# 1e5, 2E+3: scientific notation is how no shop shows a price, so it is no price (not the 1 before the e).
_EXPONENT = re.compile(r"\d[eE][+-]?\d")


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str

    def __str__(self) -> str:
        return f"{self.currency} {self.amount:,.2f}"


@dataclass(frozen=True)
class PriceRange:
    """A listed price: one amount, or a range (variants) from low to high."""

    low: Decimal
    high: Decimal | None
    currency: str | None

    @property
    def is_range(self) -> bool:
        return self.high is not None and self.high != self.low


def currency_from_text(text: str, default: str | None = None) -> str | None:
    """The ISO 4217 code a price string names, using `default` to settle shared symbols like $ and ¥."""
    upper = text.upper()
    for code in re.findall(r"(?<![A-Z])([A-Z]{3})(?![A-Z])", upper):
        if code in CURRENCY_CODES:
            return code
    for symbol, code in sorted(_UNAMBIGUOUS.items(), key=lambda kv: -len(kv[0])):
        if symbol in text:
            return code
    for symbol, codes in _AMBIGUOUS.items():
        if symbol in text:
            return default if default in codes else codes[0]
    return default


def _amount(fragment: str, decimal_separator: str | None) -> Decimal | None:
    parsed = Price.fromstring(fragment, decimal_separator=decimal_separator)
    if parsed.amount is None:
        return None
    try:
        value = Decimal(parsed.amount)
    except InvalidOperation:
        return None
    if not value.is_finite() or value < 0 or value >= MAX_AMOUNT:
        return None
    return value


def _ascii_digits(text: str) -> str:
    """`text` with digits of any script as 0-9 and full-width or Arabic separators as ',' and '.'."""
    text = _OTHER_DIGIT.sub(lambda m: str(unicodedata.decimal(m.group(), "")), text)
    return text.translate(_SEPARATORS)


def parse_price(text: str | None, default_currency: str | None = None,
                decimal_separator: str | None = None) -> PriceRange | None:
    """Parse '¥ 1,299.00', '€ 97,39 – 128,72', 'IDR1,756,440.00', '1.299,00 €', '￥１，２９９．００'. None where no
    price is shown.

    A negative or non-numeric price ('Call for price', '-5'), one in scientific notation ('1e999') or one of
    MAX_AMOUNT or more is no price: None, never a guess.
    """
    if not text:
        return None
    text = _ascii_digits(text.strip()[:MAX_PRICE_TEXT])
    if _EXPONENT.search(text):
        return None
    if re.match(r"^\D{0,20}?[-−]\s*\d", text):  # a minus before the first digit, also after a symbol: '¥ -5'
        return None
    currency = currency_from_text(text, default_currency)
    parts = [p for p in re.split(r"\s*(?:–|—|~|～|\bto\b|\s-\s|(?<=\d)-(?=\s*\D{0,4}\d))\s*", text) if p.strip()]
    amounts = [a for a in (_amount(p, decimal_separator) for p in parts[:2]) if a is not None]
    if not amounts:
        return None
    low = min(amounts)
    high = max(amounts) if len(amounts) > 1 else None
    return PriceRange(low=low, high=high, currency=currency)


def convert(amount: Decimal, source: str, target: str, rates: dict[str, Decimal]) -> Decimal | None:
    """Convert with configured rates ('USD/CNY': 7.2); None when no rate links the two currencies."""
    if source == target:
        return amount
    if (rate := rates.get(f"{source}/{target}")) is not None:
        return amount * rate
    if (rate := rates.get(f"{target}/{source}")) is not None:
        return amount / rate
    return None


CENTS = Decimal("0.01")


def tidy(amount: Decimal | None) -> Decimal | None:
    """A stored amount for people: two decimals (99.0000 -> 99.00) unless it truly has more."""
    if amount is None:
        return None
    cents = amount.quantize(CENTS)
    return cents if cents == amount else amount.normalize()


def to_decimal(value: object) -> Decimal | None:
    """A stored amount (string, number or Decimal) as a finite Decimal; None when empty or not a number."""
    if value is None or value == "":
        return None
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        return None
    return result if result.is_finite() else None
