"""Relevance signal: is this listing one of the brand's products at all, and which?

The brand's word alone is weak: other goods share it ("Lumina LED 台灯"), and product words alone are weak too:
面霜 or "serum" name every brand's cream and serum. So a product is identified when
  - a listing photo matches one of its reference photos (see the image signal; counterfeiters often copy the
    brand's photos, and some leave the brand's name out of the title to slip past filters), or
  - the text names the brand and one of the product's names, keywords or its SKU.
Names are found however sellers bend them (matching.names: spacing, punctuation, digit and look-alike letter
swaps, pinyin, near spellings), and the reason says how ('Lumina as "L.umina" (spacing and punctuation removed)').
The brand named only as what an accessory fits ("适用 Lumina", "compatible with Lumina") is no claim to be its
product: it does not count, and the reason says so.
MATCH names the best product in evidence["sku"]: photo and text together first, then photo, then text (longest
term found). NO_MATCH when neither holds and the photos could be checked; UNKNOWN when the text points at the
brand or a product but no photo could be compared to settle it. The measure is 1.0 when text and photo agree,
0.8 on one of them alone, 0.0 for NO_MATCH.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.config import Brand, Product
from matching.names import DEFAULT_RULES, Folded, NameHit, NameRules, NameSet
from matching.signals.result import SignalResult, match, no_match, unknown
from matching.terms import FoldedText
from matching.wording import quoted

MAX_HITS_KEPT = 12

NAME = "relevance"


def brand_terms(brand: Brand) -> list[str]:
    terms = [brand.name, *brand.names.values()]
    return list(dict.fromkeys(t for t in terms if t.strip()))


def product_terms(product: Product, brand_words: Sequence[str]) -> list[str]:
    """Names, keywords and SKU of a product, without any that is just the brand's own name."""
    brand_folded = {FoldedText.of(b).compact for b in brand_words}
    terms = [*product.names.values(), *product.keywords, product.sku]
    return list(dict.fromkeys(t for t in terms if t.strip() and FoldedText.of(t).compact not in brand_folded))


def _top(terms: Sequence[str], n: int = 2) -> list[str]:
    """The most specific (longest) terms found, enough to quote."""
    return sorted(terms, key=len, reverse=True)[:n]


@dataclass(frozen=True)
class _Found:
    """Which of some names a text names, and how: the plainest hit of each, for the reason."""

    names: list[str]
    hits: dict[str, NameHit]
    accessory: list[NameHit]  # names found only as what an accessory fits

    @classmethod
    def of(cls, text: FoldedText, skeleton: Folded, names: Sequence[str], rules: NameRules) -> _Found:
        hits: dict[str, NameHit] = {}
        accessory: dict[str, NameHit] = {}
        for hit in NameSet.of(names, rules).find(skeleton):
            if hit.accessory:
                accessory.setdefault(hit.name, hit)
            elif hit.name not in hits or (hits[hit.name].bent and not hit.bent):
                hits[hit.name] = hit
        # Words of a several-word name written apart ("Lumina 焕活 serum") still name it, plainly.
        found = [n for n in names if n in hits or (n not in accessory and len(n.split()) > 1 and text.has_term(n))]
        return cls(found, hits, [h for n, h in accessory.items() if n not in found])

    def said(self, names: Sequence[str]) -> str:
        """'Lumina', Lumière as "L.umiere" (spacing and punctuation removed)."""
        return ", ".join(self.hits[n].describe() if n in self.hits else quoted([n]) for n in names)

    def bent(self) -> list[dict[str, Any]]:
        return [h.to_dict() for h in self.hits.values() if h.bent][:MAX_HITS_KEPT]

    def only_evasive(self) -> list[str]:
        """The names, as bent, when every one found is bent to slip past filters (none written plainly)."""
        hits = [self.hits.get(n) for n in self.names]
        return [h.describe() for h in hits if h is not None] if hits and all(h and h.evasive for h in hits) else []


@dataclass(frozen=True)
class _Candidate:
    sku: str
    terms: tuple[str, ...]
    distance: int | None  # nearest photo distance to this product's references
    photo_match: bool

    @property
    def rank(self) -> tuple[int, int, int, int]:
        longest = max((len(t) for t in self.terms), default=0)
        return (int(self.photo_match and bool(self.terms)), int(self.photo_match), longest,
                -(self.distance if self.distance is not None else 65))


def relevance_signal(text: str, brand: Brand, products: Sequence[Product], image: SignalResult,
                     rules: NameRules = DEFAULT_RULES) -> SignalResult:
    """`image` is the image signal over all of the brand's references; its evidence gives distances per SKU.
    `rules`: how loosely names match (the brand's thresholds name_fuzzy_ratio and name_fuzzy_min_length)."""
    folded = FoldedText.of(text)
    skeleton = Folded.of(text)
    brand_words = brand_terms(brand)
    brands = _Found.of(folded, skeleton, brand_words, rules)
    brand_found = brands.names
    threshold = int(image.evidence.get("threshold", 0))
    nearest: dict[str, int] = dict(image.evidence.get("nearest_by_sku", {}))
    # Products with a matching photo (within the threshold, or borderline and confirmed by keypoints).
    matched: dict[str, Any] = dict(image.evidence.get("matched_by_sku", {}))
    terms_of = {p.sku: product_terms(p, brand_words) for p in products}
    words = _Found.of(folded, skeleton, list(dict.fromkeys(t for ts in terms_of.values() for t in ts)), rules)
    named = {sku: tuple(t for t in ts if t in words.names) for sku, ts in terms_of.items()}
    candidates = []
    for sku, terms in named.items():
        photo = sku in matched
        distance = int(matched[sku]["distance"]) if photo else nearest.get(sku)
        if photo or (terms and brand_found):
            candidates.append(_Candidate(sku, terms, distance, photo))
    named_products = {sku: list(terms) for sku, terms in named.items() if terms}
    evidence = {
        "brand_terms": brand_found,
        "product_terms": named_products,
        "image_outcome": image.outcome.value,
        "bent_names": brands.bent() + words.bent(),
        # The brand's name written only in forms that dodge keyword filters: weighs for a copy (matching.verdicts).
        "brand_evasive": brands.only_evasive(),
        "accessory_for": [h.to_dict() for h in brands.accessory],
    }
    if candidates:
        best = max(candidates, key=lambda c: c.rank)
        basis = [b for b, on in (("text", bool(best.terms and brand_found)), ("photo", best.photo_match)) if on]
        said = []
        if "text" in basis:
            said.append(f"the text names the brand ({brands.said(brand_found)}) and {best.sku} "
                        f"({words.said(_top(best.terms))})")
        if "photo" in basis:
            said.append(f"a photo matches {best.sku}'s reference photos at distance {best.distance}")
        measure = 1.0 if len(basis) == 2 else 0.8
        return match(NAME, f"the listing is the brand's {best.sku}: {' and '.join(said)}", measure,
                     sku=best.sku, basis=basis, image_distance=best.distance, **evidence)
    if brand_found:
        text_part = f"the text names the brand ({brands.said(brand_found)}) but none of its products"
    elif brands.accessory:
        fits = ", ".join(f"'{h.accessory} {h.written}'" for h in brands.accessory)
        text_part = (f"the text names the brand only as what an accessory fits ({fits}), not as the goods sold"
                     + (f", beside product words ({quoted(_all_terms(named_products))})" if named_products else ""))
    elif named_products:
        text_part = (f"the text uses product words ({quoted(_all_terms(named_products))}) but not the brand's name, "
                     "and such words name other brands' goods too")
    else:
        text_part = "the text names neither the brand nor its products"
    if image.unknown:
        if brand_found or named_products:
            return unknown(NAME, f"{text_part}, and no photo could be compared to settle it", None, **evidence)
        return no_match(NAME, f"{text_part}; no photo could be compared", 0.0, **evidence)
    photo_part = (
        f"no photo matches a reference photo (nearest distance {image.evidence.get('distance')}, "
        f"threshold {threshold})"
    )
    return no_match(NAME, f"not the brand's product: {text_part}, and {photo_part}", 0.0, **evidence)


def _all_terms(named: dict[str, list[str]]) -> list[str]:
    return sorted({t for terms in named.values() for t in terms})
