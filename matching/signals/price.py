"""Price signal: is the listing priced under the product's floor, and how far under the suggested price?

The price is compared in the currency of one of the product's price points: the listing's own currency when the
product has a price in it, else converted with the configured exchange rates (core.money.convert). No rate, no
comparison: UNKNOWN, never "too cheap". A listed range (variants) is judged by its lowest price, the one shoppers
see first.
  MATCH  under the floor; evidence["band"] is "far_under" at or under counterfeit_ratio x suggested (a price
         genuine stock cannot be sold at: counterfeit risk), else "under_floor" (diversion or floor breach).
  NO_MATCH at or above the floor ("at_or_above_floor").
The measure is the ratio of the price to the suggested price.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from core.config import PricePoint, Product
from core.money import convert
from matching.signals.result import SignalResult, match, no_match, unknown
from matching.wording import money, percent

NAME = "price"
FAR_UNDER = "far_under"
UNDER_FLOOR = "under_floor"
AT_OR_ABOVE_FLOOR = "at_or_above_floor"


def _compare_in(price: Decimal, currency: str, product: Product,
                rates: Mapping[str, Decimal]) -> tuple[PricePoint, Decimal] | None:
    own = product.price_in(currency)
    if own is not None:
        return own, price
    for point in product.prices:
        converted = convert(price, currency, point.currency, dict(rates))
        if converted is not None:
            return point, converted
    return None


def price_signal(price: Decimal | None, currency: str | None, product: Product, rates: Mapping[str, Decimal],
                 counterfeit_ratio: Decimal, price_high: Decimal | None = None) -> SignalResult:
    if price is None:
        return unknown(NAME, "the listing shows no price")
    if not currency:
        return unknown(NAME, f"the price {price} is shown without a currency, so it cannot be compared",
                       price=str(price))
    if not product.prices:
        return unknown(NAME, f"no suggested price is configured for {product.sku}", price=str(price),
                       currency=currency)
    compared = _compare_in(price, currency, product, rates)
    if compared is None:
        priced_in = ", ".join(p.currency for p in product.prices)
        return unknown(
            NAME,
            f"the price {money(price, currency)} is in {currency}, {product.sku} is priced in {priced_in}, and no "
            f"exchange rate between them is configured (add e.g. '{currency}/{product.prices[0].currency}' under "
            "exchange_rates)",
            price=str(price), currency=currency,
        )
    point, amount = compared
    ratio = amount / point.suggested
    shown = money(price, currency)
    if point.currency != currency:
        shown += f" (≈ {money(amount.quantize(Decimal('0.01')), point.currency)} at the configured rate)"
    if price_high is not None and price_high != price:
        shown += f", the lowest of a range up to {money(price_high, currency)},"
    suggested, floor = money(point.suggested, point.currency), money(point.floor, point.currency)
    evidence = {
        "price": str(price),
        "currency": currency,
        "compared_amount": str(amount.quantize(Decimal("0.01"))),
        "compared_currency": point.currency,
        "suggested": str(point.suggested),
        "floor": str(point.floor),
        "ratio_to_suggested": round(float(ratio), 4),
        "ratio_to_floor": round(float(amount / point.floor), 4),
        "counterfeit_ratio": str(counterfeit_ratio),
    }
    if amount <= point.suggested * counterfeit_ratio:
        reason = (
            f"price {shown} is {percent(ratio)} of the suggested {suggested}, at or under the "
            f"{percent(counterfeit_ratio)} of suggested that the brand treats as a counterfeit risk (floor {floor})"
        )
        return match(NAME, reason, float(ratio), band=FAR_UNDER, **evidence)
    if amount < point.floor:
        reason = f"price {shown} is {percent(ratio)} of the suggested {suggested}, under the floor {floor}"
        return match(NAME, reason, float(ratio), band=UNDER_FLOOR, **evidence)
    reason = f"price {shown} is {percent(ratio)} of the suggested {suggested}, at or above the floor {floor}"
    return no_match(NAME, reason, float(ratio), band=AT_OR_ABOVE_FLOOR, **evidence)
