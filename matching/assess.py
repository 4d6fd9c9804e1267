"""One listing through every signal and the rules: a pure function of its facts and the brand's context."""

from __future__ import annotations

from dataclasses import dataclass

from matching.context import MatchContext
from matching.facts import ListingFacts
from matching.signals import (
    SignalResult,
    authorisation_for,
    counterfeit_tells_signal,
    diversion_tells_signal,
    image_signal,
    price_signal,
    region_signal,
    relevance_signal,
    seller_signal,
)
from matching.verdicts import Signals, VerdictResult, decide


@dataclass(frozen=True)
class Assessment:
    verdict: VerdictResult
    signals: Signals
    sku: str | None
    matched_reference_id: int | None  # ReferenceImage.id of the matching photo, when the image signal matched
    matched_image_id: int | None
    image_distance: int | None


def assess(facts: ListingFacts, ctx: MatchContext) -> Assessment:
    config = ctx.config
    threshold = config.thresholds.image_distance
    image_any = image_signal(facts.images, ctx.index, threshold)
    relevance = relevance_signal(facts.text, config.brand, config.products, image_any)
    sku = relevance.evidence.get("sku") if relevance.matched else None
    image = image_any
    if sku is not None and image_any.evidence.get("sku") != sku:
        # The nearest photo overall belongs to another product; report the one this listing is about.
        image = image_signal(facts.images, ctx.index, threshold, frozenset({sku}))
    seller = seller_signal(facts.marketplace, facts.seller_name, facts.seller_external_id,
                           config.authorised_sellers)
    price: SignalResult | None = None
    region: SignalResult | None = None
    if sku is not None:
        price = price_signal(facts.price, facts.currency, ctx.products[sku], config.exchange_rates,
                             config.thresholds.counterfeit_price_ratio, facts.price_high)
        auth = authorisation_for(facts.marketplace, facts.seller_name, facts.seller_external_id,
                                 config.authorised_sellers)
        region = region_signal(facts.country, facts.region, facts.location_source, auth, facts.location_text)
    signals = Signals(
        relevance=relevance,
        image=image,
        seller=seller,
        counterfeit_tells=counterfeit_tells_signal(facts.text),
        diversion_tells=diversion_tells_signal(facts.text),
        price=price,
        region=region,
    )
    verdict = decide(signals)
    matched = image.matched
    return Assessment(
        verdict=verdict,
        signals=signals,
        sku=sku,
        matched_reference_id=image.evidence.get("reference_db_id") if matched else None,
        matched_image_id=image.evidence.get("listing_image_id") if matched else None,
        image_distance=int(image.measure) if matched and image.measure is not None else None,
    )
