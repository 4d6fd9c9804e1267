"""Relevance signal: is this listing one of the brand's products at all, and which?

The brand's word alone is weak: other goods share it ("Lumina LED 台灯"), and product words alone are weak too:
面霜 or "serum" name every brand's cream and serum. So a product is identified when
  - a listing photo matches one of its reference photos (see the image signal; counterfeiters often copy the
    brand's photos, and some leave the brand's name out of the title to slip past filters), or
  - the text names the brand and one of the product's names, keywords or its SKU.
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
from matching.signals.result import SignalResult, match, no_match, unknown
from matching.terms import FoldedText
from matching.wording import quoted

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


def relevance_signal(text: str, brand: Brand, products: Sequence[Product], image: SignalResult) -> SignalResult:
    """`image` is the image signal over all of the brand's references; its evidence gives distances per SKU."""
    folded = FoldedText.of(text)
    brand_words = brand_terms(brand)
    brand_found = [b for b in brand_words if folded.has_term(b)]
    threshold = int(image.evidence.get("threshold", 0))
    nearest: dict[str, int] = dict(image.evidence.get("nearest_by_sku", {}))
    # Products with a matching photo (within the threshold, or borderline and confirmed by keypoints).
    matched: dict[str, Any] = dict(image.evidence.get("matched_by_sku", {}))
    named = {p.sku: tuple(t for t in product_terms(p, brand_words) if folded.has_term(t)) for p in products}
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
    }
    if candidates:
        best = max(candidates, key=lambda c: c.rank)
        basis = [b for b, on in (("text", bool(best.terms and brand_found)), ("photo", best.photo_match)) if on]
        said = []
        if "text" in basis:
            said.append(f"the text names the brand ({quoted(brand_found)}) and {best.sku} ({quoted(_top(best.terms))})")
        if "photo" in basis:
            said.append(f"a photo matches {best.sku}'s reference photos at distance {best.distance}")
        measure = 1.0 if len(basis) == 2 else 0.8
        return match(NAME, f"the listing is the brand's {best.sku}: {' and '.join(said)}", measure,
                     sku=best.sku, basis=basis, image_distance=best.distance, **evidence)
    if brand_found:
        text_part = f"the text names the brand ({quoted(brand_found)}) but none of its products"
    elif named_products:
        words = quoted(sorted({t for terms in named_products.values() for t in terms}))
        text_part = (
            f"the text uses product words ({words}) but not the brand's name, and such words name other "
            "brands' goods too"
        )
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
