"""Relevance signal: is this listing one of the brand's products at all, and which?

The brand's word alone is weak: other goods share it ("Lumina LED 台灯"), and product words alone are weak too:
面霜 or "serum" name every brand's cream and serum. So a product is identified when
  - a listing photo matches one of its reference photos (see the image signal; counterfeiters often copy the
    brand's photos, and some leave the brand's name out of the title to slip past filters), or
  - a listing photo is the seller's own shot of its pack (the own-photo signal: the artwork found by keypoints), or
  - the text names the brand and one of the product's names, keywords or its SKU.
Names are found however sellers bend them (matching.names: spacing, punctuation, digit and look-alike letter
swaps, pinyin, near spellings), and the reason says how ('Lumina as "L.umina" (spacing and punctuation removed)').
The brand named only as what an accessory fits ("适用 Lumina", "compatible with Lumina") is no claim to be its
product: it does not count, and the reason says so.
Whose product first: when the title names another brand (matching.brands) and not ours, a photo that resembles
one of our packs is not enough; it takes a STRONG artwork match or the brand's name read on the photo
(`brand_read_in_photo`, set by photo reading) to call the listing ours. Without the brand's name in the text or on
the photo, a weak artwork match, a borderline hash match that keypoints confirmed, and any hash match the artwork
check found weak are shape-alikes too (a look-alike pack in the brand's trade dress hashes near its photos), and
need the same strong match (copies of the brand's photos match strongly, cropped, tilted or watermarked).
Which product: MATCH names the best product in evidence["sku"]: photo and text together first, then a strong
artwork match, then the text's product (brand and product named: the title wins over a photo that only weakly
resembles another product, so price checks use the product the title sells), then a photo alone, then the
longest term found. NO_MATCH when none holds and the photos could be checked, or when the title names another
brand; UNKNOWN when the text points at the brand or a product but no photo could be compared to settle it. The
measure is 1.0 when text and photo agree, 0.8 on one of them alone, 0.0 for NO_MATCH.
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
    photo_match: bool  # one of its reference photos, by hash
    own_photo: bool = False  # the seller's own shot of its pack, by keypoints
    strong: bool = False  # the artwork matches strongly (matching.artwork)
    claimed: bool = False  # the text names the brand and this product

    @property
    def pictured(self) -> bool:
        return self.photo_match or self.own_photo

    @property
    def rank(self) -> tuple[int, int, int, int, int, int]:
        longest = max((len(t) for t in self.terms), default=0)
        return (int(self.pictured and bool(self.terms)), int(self.strong), int(self.claimed), int(self.pictured),
                longest, -(self.distance if self.distance is not None else 65))


def relevance_signal(text: str, brand: Brand, products: Sequence[Product], image: SignalResult,
                     rules: NameRules = DEFAULT_RULES, *, own_photo: SignalResult | None = None,
                     other_brands: Sequence[str] = (), brand_read_in_photo: bool = False) -> SignalResult:
    """`image` is the image signal over all of the brand's references; its evidence gives distances per SKU.
    `rules`: how loosely names match (the brand's thresholds name_fuzzy_ratio and name_fuzzy_min_length).

    `own_photo` is the own-photo signal, when it ran; `other_brands` the other brands the title names
    (matching.brands); `brand_read_in_photo` whether photo reading found the brand's name on a listing photo.
    """
    folded = FoldedText.of(text)
    skeleton = Folded.of(text)
    brand_words = brand_terms(brand)
    brands = _Found.of(folded, skeleton, brand_words, rules)
    brand_found = brands.names
    threshold = int(image.evidence.get("threshold", 0))
    nearest: dict[str, int] = dict(image.evidence.get("nearest_by_sku", {}))
    # Products with a matching photo (within the threshold, or borderline and confirmed by keypoints).
    matched: dict[str, Any] = dict(image.evidence.get("matched_by_sku", {}))
    shots: dict[str, Any] = dict(own_photo.evidence.get("matched_by_sku", {})) if own_photo is not None else {}
    strong = {sku for sku, found in shots.items() if found.get("strong")}
    checked = set(own_photo.evidence.get("checked_skus", ())) if own_photo is not None and not own_photo.unknown \
        else set()
    ours_said = bool(brand_found) or brand_read_in_photo
    # Another brand's name in the title, ours neither there nor read on the pack: only a strong artwork match counts.
    others = list(other_brands) if not ours_said else []
    terms_of = {p.sku: product_terms(p, brand_words) for p in products}
    words = _Found.of(folded, skeleton, list(dict.fromkeys(t for ts in terms_of.values() for t in ts)), rules)
    named = {sku: tuple(t for t in ts if t in words.names) for sku, ts in terms_of.items()}
    candidates = []
    set_aside = []
    for sku, terms in named.items():
        photo = sku in matched
        # A weak artwork match alone is a shape-alike; it helps pick the product when the brand is named or read.
        shot = sku in shots and (sku in strong or ours_said)
        # So is a photo tied to us by its hash alone, when the artwork check ran and found it weak (look-alike packs
        # in the brand's trade dress hash near its photos; copies of those photos match strongly), or when the hash
        # was only borderline and keypoints confirmed it.
        borderline = bool(matched[sku].get("confirmed_by_keypoints")) if photo else False
        unproven = photo and not ours_said and (borderline or sku in checked)
        if (photo or shot) and sku not in strong and (others or unproven):
            set_aside.append(sku)
            continue
        distance = int(matched[sku]["distance"]) if photo else nearest.get(sku)
        claimed = bool(terms and brand_found)
        if photo or shot or claimed:
            candidates.append(_Candidate(sku, terms, distance, photo, shot, sku in strong, claimed))
    named_products = {sku: list(terms) for sku, terms in named.items() if terms}
    evidence: dict[str, Any] = {
        "brand_terms": brand_found,
        "product_terms": named_products,
        "image_outcome": image.outcome.value,
        "other_brands": list(other_brands),
        "brand_read_in_photo": brand_read_in_photo,
        "bent_names": brands.bent() + words.bent(),
        # The brand's name written only in forms that dodge keyword filters: weighs for a copy (matching.verdicts).
        "brand_evasive": brands.only_evasive(),
        "accessory_for": [h.to_dict() for h in brands.accessory],
    }
    if candidates:
        best = max(candidates, key=lambda c: c.rank)
        claim = (f"the text names the brand ({brands.said(brand_found)}) and {best.sku} "
                 f"({words.said(_top(best.terms))})")
        return _identified(best, claim, brand_found, shots, others, evidence)
    if others or set_aside:
        resembled = ", ".join(sorted(set_aside))
        likeness = (f"a photo resembles {resembled} only weakly, which is not enough to call it the brand's: "
                    "that takes the brand's name in the text or read on the pack, or a strong artwork match"
                    if set_aside else "no photo shows the brand's pack")
        whose = f"the title names another brand ({quoted(others)}), and " if others else ""
        return no_match(NAME, f"not the brand's product: {whose}{likeness}", 0.0, set_aside=sorted(set_aside),
                        **evidence)
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


def _identified(best: _Candidate, claim: str, brand_found: list[str], shots: dict[str, Any], others: list[str],
                evidence: dict[str, Any]) -> SignalResult:
    own = best.own_photo and not best.photo_match  # a copy of the brand's photo also shows the pack
    basis = [b for b, on in (("text", best.claimed), ("photo", best.photo_match), ("own photo", own)) if on]
    said = []
    if best.claimed:
        said.append(claim)
    if best.photo_match:
        said.append(f"a photo matches {best.sku}'s reference photos at distance {best.distance}")
    if own:
        shot = shots[best.sku]
        strength = "strongly" if best.strong else "weakly"
        said.append(f"photo {int(shot['photo_position']) + 1} shows {best.sku}'s pack in the seller's own shot "
                    f"({shot['inliers']} keypoints agree, {strength})")
    reason = f"the listing is the brand's {best.sku}: {' and '.join(said)}"
    if others:
        reason += f", though the title names another brand ({quoted(others)}): the artwork matches strongly"
    elif evidence["brand_read_in_photo"] and not brand_found:
        reason += "; the brand's name is read on the photo"
    measure = 1.0 if best.claimed and best.pictured else 0.8
    return match(NAME, reason, measure, sku=best.sku, basis=basis, image_distance=best.distance,
                 own_photo_strong=best.strong, **evidence)


def _all_terms(named: dict[str, list[str]]) -> list[str]:
    return sorted({t for terms in named.values() for t in terms})
