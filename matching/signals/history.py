"""Signals from the listing's and the seller's past: a sudden price drop, a repeat offender, a relisting.

price.history  the price against the listing's own earlier crawls (same currency): MATCH when it is at least
               price_drop_ratio under their median (the last five crawls before today), NO_MATCH when not, UNKNOWN
               with no earlier price. A genuine shop rarely halves its price overnight; a clearance of diverted
               stock, or a switch to copies, does.
seller.history MATCH when reviewers confirmed at least `min_findings` findings on the seller's other listings.
relisting      MATCH when the listing brings back one that was taken down (gone after a confirmed finding or a
               filed notice): the same photo (identical bytes or a near-identical hash), or the same seller
               selling the same product again.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from matching.facts import PriceSeen, SellerRecord, TakenDown
from matching.signals.result import SignalResult, match, no_match, unknown
from matching.wording import money, percent

PRICE_HISTORY = "price.history"
SELLER_HISTORY = "seller.history"
RELISTING = "relisting"
RECENT_CRAWLS = 5


def _day(when: datetime) -> str:
    return when.date().isoformat()


def price_history_signal(price: Decimal | None, currency: str | None, earlier: Sequence[PriceSeen],
                         drop_ratio: Decimal) -> SignalResult:
    if price is None or not currency:
        return unknown(PRICE_HISTORY, "the listing shows no price with a currency to compare with its past")
    same = [p for p in earlier if p.currency == currency]
    if not same:
        why = "no earlier crawl saw a price" if not earlier else f"no earlier crawl saw a price in {currency}"
        return unknown(PRICE_HISTORY, f"{why}, so a drop cannot be measured", earlier_crawls=len(earlier))
    recent = same[-RECENT_CRAWLS:]
    before = Decimal(statistics.median([p.price for p in recent]))
    evidence = {"earlier_price": str(before), "currency": currency, "earlier_crawls": len(recent),
                "since": recent[0].captured_at.isoformat(), "drop_ratio": str(drop_ratio)}
    if before <= 0:
        return unknown(PRICE_HISTORY, "the earlier price was zero, so a drop cannot be measured", **evidence)
    drop = 1 - price / before
    evidence["drop"] = round(float(drop), 4)
    span = (f"its median over {len(recent)} earlier crawls since {_day(recent[0].captured_at)}" if len(recent) > 1
            else f"its price on {_day(recent[0].captured_at)}")
    if drop >= drop_ratio:
        return match(PRICE_HISTORY, f"the price dropped {percent(drop)} to {money(price, currency)} from "
                     f"{money(before, currency)}, {span}", float(drop), **evidence)
    if drop > 0:
        said = f"the price {money(price, currency)} is {percent(drop)} under {money(before, currency)}, {span}"
    elif drop < 0:
        said = f"the price {money(price, currency)} is {percent(-drop)} over {money(before, currency)}, {span}"
    else:
        said = f"the price {money(price, currency)} is unchanged from {span}"
    return no_match(PRICE_HISTORY, said, float(drop), **evidence)


def seller_history_signal(seller_name: str | None, record: SellerRecord | None, min_findings: int) -> SignalResult:
    if not seller_name or record is None:
        return unknown(SELLER_HISTORY, "the seller's history was not looked up", applicable=False)
    count = record.confirmed_findings
    evidence: dict[str, object] = {"confirmed_findings": count, "examples": list(record.examples),
                                   "min_findings": min_findings}
    if record.brands > 1:
        evidence["brands"] = record.brands
    if count >= min_findings:
        shown = f" (listings {', '.join(record.examples)})" if record.examples else ""
        across = f" for {record.brands} brands" if record.brands > 1 else ""
        return match(SELLER_HISTORY, f"seller {seller_name} is a repeat offender: reviewers confirmed {count} "
                     f"findings on its other listings{across}{shown}", float(count), **evidence)
    if count:
        said = f"reviewers confirmed {count} finding{'s' if count > 1 else ''} on seller {seller_name}'s other listings"
    else:
        said = f"no finding on seller {seller_name}'s other listings was confirmed"
    return no_match(SELLER_HISTORY, said, float(count), **evidence)


def _relisting_sentence(t: TakenDown) -> str:
    when = f" (gone since {_day(t.gone_at)})" if t.gone_at else ""
    old = f"listing {t.external_id} on {t.marketplace}{when}"
    if t.link == "same seller":
        product = f" {t.sku}" if t.sku else " the same product"
        return f"the seller had {old} taken down and sells{product} again"
    photo = f"photo {t.photo_position + 1}" if t.photo_position is not None else "a photo"
    if t.distance:
        return f"{photo} is near-identical (distance {t.distance}) to a photo of {old}, which was taken down"
    return f"{photo} is the very photo (same bytes) of {old}, which was taken down"


def relisting_signal(taken_down: Sequence[TakenDown], sku: str | None) -> SignalResult:
    """`sku` is the product this listing was identified as: a same-seller relisting must be of that product."""
    relevant = [t for t in taken_down if t.link != "same seller" or (sku is not None and t.sku in (sku, None))]
    if not relevant:
        return no_match(RELISTING, "the listing brings back no listing that was taken down", 0.0, relisted_from=[])
    ordered = sorted(relevant, key=lambda t: (t.link == "same seller", t.distance or 0))
    evidence = [{"marketplace": t.marketplace, "external_id": t.external_id, "link": t.link,
                 "gone_at": t.gone_at.isoformat() if t.gone_at else None, "distance": t.distance} for t in ordered]
    return match(RELISTING, f"a relisting: {_relisting_sentence(ordered[0])}", float(len(ordered)),
                 relisted_from=evidence)
