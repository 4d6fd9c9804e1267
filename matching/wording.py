"""How reasons write money, shares and lists: short, exact, the same everywhere a lawyer might quote them."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

# Symbols only where one currency owns them; everything else is written with its ISO code.
_SYMBOLS = {"CNY": "¥", "USD": "US$", "EUR": "€", "GBP": "£", "JPY": "JP¥", "HKD": "HK$", "KRW": "₩"}


def money(amount: Decimal, currency: str) -> str:
    """'¥136', '¥136.50', 'US$19.99', '1,299 SEK'."""
    whole = amount == amount.to_integral_value()
    number = f"{amount:,.0f}" if whole else f"{amount.quantize(Decimal('0.01'), ROUND_HALF_UP):,}"
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{number}" if symbol else f"{number} {currency}"


def percent(ratio: Decimal) -> str:
    """A share as a whole percentage ('20%'), with one decimal under 1% so nothing reads as '0%'."""
    value = ratio * 100
    places = Decimal("0.1") if value < 1 else Decimal("1")
    return f"{value.quantize(places, ROUND_HALF_UP)}%"


def quoted(items: Iterable[str]) -> str:
    return ", ".join(f"'{item}'" for item in items)
