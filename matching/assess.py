"""One listing through every signal and the rules: a pure function of its facts and the brand's context."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from matching.brands import other_brands_named
from matching.context import MatchContext
from matching.facts import ListingFacts
from matching.names import NameRules
from matching.photos.signals import PhotoEvidence, photo_evidence
from matching.signals import (
    SignalResult,
    allowed_seller,
    authorisation_for,
    batch_code_signal,
    counterfeit_tells_signal,
    diversion_tells_signal,
    image_signal,
    network_signal,
    price_history_signal,
    price_signal,
    region_signal,
    relevance_signal,
    relisting_signal,
    seller_history_signal,
    seller_signal,
)
from matching.signals.own_photo import own_photo_signal
from matching.signals.partner import partner_signal
from matching.signals.relevance import brand_terms, product_terms
from matching.signals.result import match
from matching.terms import FoldedText
from matching.verdicts import Signals, VerdictResult, decide

ALLOW_LIST = "allow_list"
# With no product named, a listing's photos are tried against every reference only when the brand has this few.
MAX_REFERENCES_FOR_ALL = 12


@dataclass(frozen=True)
class Assessment:
    verdict: VerdictResult
    signals: Signals
    sku: str | None
    matched_reference_id: int | None  # ReferenceImage.id of the matching photo, when the image signal matched
    matched_image_id: int | None
    image_distance: int | None

    @property
    def matched_reference(self) -> str | None:
        """ref_id of the reference the image signal matched, if any."""
        return self.signals.image.evidence.get("reference") if self.signals.image.matched else None


def _image(facts: ListingFacts, ctx: MatchContext, skus: frozenset[str] | None = None) -> SignalResult:
    thresholds = ctx.config.thresholds
    return image_signal(facts.images, ctx.index, thresholds.image_distance, skus,
                        confirm_distance=thresholds.image_confirm_distance, confirmer=ctx.confirmer,
                        allowed_sha256=ctx.allowed_sha256, distrusted=ctx.distrusted)


def _allow_list(facts: ListingFacts, ctx: MatchContext) -> SignalResult | None:
    entry = allowed_seller(facts.marketplace, facts.seller_name, facts.seller_external_id,
                           ctx.config.allow_list.sellers)
    if entry is None:
        return None
    who = facts.seller_name or facts.seller_external_id
    note = f": {entry.note}" if entry.note else ""
    return match(ALLOW_LIST, f"the brand marked seller {who} on {facts.marketplace} as fine{note}", 1.0,
                 seller_id=entry.seller_id, name=entry.name, note=entry.note)


def _own_photo(facts: ListingFacts, ctx: MatchContext, image: SignalResult, others: list[str],
               tells: SignalResult, brand_read: bool) -> SignalResult | None:
    """The keypoint search for the brand's packs, where it can change the answer (it costs ~20 ms a pair).

    Photos with no hash match: when the text points at the brand, a product, another brand or counterfeit tells,
    against the named products' references (all of them, when none is named and they are few). Photos with a
    hash match: only to learn how strongly they show the product (mirrors tried too), when neither the text nor
    a photo's print names the brand (a hash alone may be a look-alike in the brand's trade dress), or when the
    text names another of the brand's products than the photo (matching.signals.relevance).
    """
    folded = FoldedText.of(facts.text)
    words = brand_terms(ctx.config.brand)
    brand_named = any(folded.has_term(b) for b in words)
    ours = brand_named or brand_read
    named = {p.sku for p in ctx.config.products if any(folded.has_term(t) for t in product_terms(p, words))}
    matched_by: dict[str, dict[str, object]] = image.evidence.get("matched_by_sku", {}) if image.matched else {}
    matched = set(matched_by)
    if matched:
        if ours and not (brand_named and named and not named & matched):
            return None
        skus = matched
    elif brand_named or named or others or tells.matched:
        skus = named or set(ctx.index.skus)
        if not named and len(ctx.index.references) > MAX_REFERENCES_FOR_ALL:
            return None
    else:
        return None
    references = [r for r in ctx.index.references if r.sku in skus and r.ref_id not in ctx.distrusted]
    # Mirrors only for hash-matched photos: sellers flip copies of the brand's photos; no camera mirrors a box.
    return own_photo_signal(facts.images, references, ctx.artwork, allowed_sha256=ctx.allowed_sha256,
                            mirror=bool(matched))


def _read_on_photos(relevance: SignalResult, photos: PhotoEvidence) -> SignalResult:
    """Relevance with what the photos read: the product they name (or its GTIN) identifies the listing when the
    text and the photo hashes did not; the brand's name read on a photo counts as the brand named."""
    if relevance.matched:
        return relevance
    if photos.sku is not None:
        return match(relevance.name, f"the listing is the brand's {photos.sku}: {photos.identity}", 0.8,
                     **{**relevance.evidence, "sku": photos.sku, "basis": ["photo text"]})
    if photos.brand_read:
        terms = [*relevance.evidence.get("brand_terms", []), *(f"{b} (read on a photo)" for b in photos.brand_read)]
        return dataclasses.replace(relevance, evidence={**relevance.evidence, "brand_terms": terms})
    return relevance
def _standalone(signals: Signals) -> Signals:
    """The signals with what the verdict would be without the network, kept in the network's evidence: only
    findings that stand on their own evidence taint a network (matching.network_facts), or two shops tied to
    each other would keep each other flagged after the evidence that started it is gone."""
    network = signals.network
    assert network is not None
    alone = decide(dataclasses.replace(signals, network=None))
    without = {"verdict": alone.verdict.value, "score": alone.score}
    network = dataclasses.replace(network, evidence={**network.evidence, "without_network": without})
    return dataclasses.replace(signals, network=network)


def assess(facts: ListingFacts, ctx: MatchContext) -> Assessment:
    config = ctx.config
    thresholds = config.thresholds
    image_any = _image(facts, ctx)
    photos = photo_evidence(facts.readings, facts.code_sightings, config, facts.marketplace, facts.seller_name,
                            facts.seller_external_id, facts.photos_unavailable)
    tells = counterfeit_tells_signal(facts.text)
    if not tells.matched and photos.tells is not None:
        tells = photos.tells  # a stamp printed on the pack or the photo, read by OCR
    rules = NameRules(thresholds.name_fuzzy_ratio, thresholds.name_fuzzy_min_length)
    others = other_brands_named(facts.title, ctx.other_brands)
    brand_read = bool(photos.brand_read)
    own_photo = _own_photo(facts, ctx, image_any, others, tells, brand_read)
    relevance = _read_on_photos(
        relevance_signal(facts.text, config.brand, config.products, image_any, rules, own_photo=own_photo,
                         other_brands=others, brand_read_in_photo=brand_read),
        photos,
    )
    sku = relevance.evidence.get("sku") if relevance.matched else None
    image = image_any
    if sku is not None and image_any.evidence.get("sku") != sku:
        # The nearest photo overall belongs to another product; report the one this listing is about.
        image = _image(facts, ctx, frozenset({sku}))
    seller = seller_signal(facts.marketplace, facts.seller_name, facts.seller_external_id,
                           config.authorised_sellers)
    price: SignalResult | None = None
    region: SignalResult | None = None
    price_history: SignalResult | None = None
    if sku is not None:
        price = price_signal(facts.price, facts.currency, ctx.products[sku], config.exchange_rates,
                             thresholds.counterfeit_price_ratio, facts.price_high)
        auth = authorisation_for(facts.marketplace, facts.seller_name, facts.seller_external_id,
                                 config.authorised_sellers)
        region = region_signal(facts.country, facts.region, facts.location_source, auth, facts.location_text)
        price_history = price_history_signal(facts.price, facts.currency, facts.earlier_prices,
                                             thresholds.price_drop_ratio)
    batch = batch_code_signal(facts.text, facts.marketplace, facts.seller_name, facts.seller_external_id,
                              config.authorised_sellers)
    if batch.unknown and photos.batch is not None:
        batch = photos.batch  # a lot code or serial on the pack, traced as one in the text
    signals = Signals(
        relevance=relevance,
        image=image,
        seller=seller,
        counterfeit_tells=tells,
        diversion_tells=diversion_tells_signal(facts.text),
        price=price,
        region=region,
        batch_code=batch,
        price_history=price_history,
        seller_history=seller_history_signal(facts.seller_name, facts.seller_record,
                                             thresholds.repeat_offender_findings),
        relisting=relisting_signal(facts.taken_down, sku),
        allow_list=_allow_list(facts, ctx),
        own_photo=own_photo,
        photo_text=photos.text,
        photo_codes=photos.codes,
        cloned_code=photos.cloned,
        network=network_signal(facts.network) if facts.network is not None else None,
        partner=partner_signal(ctx.partner_bank, facts.marketplace, facts.seller_name, facts.seller_external_id,
                               facts.images, thresholds.image_distance),
    )
    verdict = decide(signals)
    if signals.network is not None and signals.network.matched:
        signals = _standalone(signals)
    matched = image.matched
    return Assessment(
        verdict=verdict,
        signals=signals,
        sku=sku,
        matched_reference_id=image.evidence.get("reference_db_id") if matched else None,
        matched_image_id=image.evidence.get("listing_image_id") if matched else None,
        image_distance=int(image.measure) if matched and image.measure is not None else None,
    )
