"""Signals from what was read on a listing's photos, under the one contract (matching/signals/result.py).

  photo.text    MATCH: the words printed on a photo name the brand and one of its products (evidence["sku"]);
                NO_MATCH: photos were read and name no product of the brand; UNKNOWN: no photo was read.
  photo.codes   MATCH: a code on the pack is the brand's (a GTIN of one of its products, or a serial shaped like
                the brand's issued ones); NO_MATCH: codes were read, none of them the brand's; UNKNOWN: none read.
  photo.cloned_code  MATCH only: a serial on this pack is also on other sellers' listings, in other photos. Each
                unit carries its own serial, so one serial on several sellers' goods was copied.
What they feed (PhotoEvidence, typed, used by matching/assess.py): the product the photos identify; counterfeit
stamps read on a photo (the tell lists of matching/signals/text.py); the lot code printed on the pack, or the issued
serial, traced to its distributor exactly as a code in the text is (matching/signals/batch.py).
Names are found through the same normalisation as titles (`names_in`, the one seam to change when matching names
gains bent-name reading).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.codes import IssuedCodes, gtin14
from core.config import AuthorisedSeller, Brand, BrandConfig, Product
from matching.names import find_names
from matching.photos.codes import gtin_of, serial_tokens
from matching.photos.reading import CodeRead, PhotoRead, Sighting, TextLine
from matching.signals import batch as batch_mod
from matching.signals.relevance import brand_terms, product_terms
from matching.signals.result import SignalResult, match, no_match, unknown
from matching.signals.seller import authorisation_for
from matching.signals.text import COUNTERFEIT, find_tells
from matching.terms import FoldedText
from matching.wording import quoted

PHOTO_TEXT = "photo.text"
PHOTO_CODES = "photo.codes"
CLONED_CODE = "photo.cloned_code"
MAX_LINES_SHOWN = 30


def names_in(text: str, brand: Brand, products: Sequence[Product]) -> tuple[list[str], dict[str, list[str]]]:
    """(brand names found, SKU -> product names found) in `text`, read as titles are: relevance's brand_terms and
    product_terms found however bent (matching.names), OCR's misreadings of letters and digits included; a name
    after 适用 / compatible with names an accessory for the goods, not the goods, and is left out."""
    brand_words = brand_terms(brand)

    def found(terms: Sequence[str]) -> list[str]:
        named = {hit.name for hit in find_names(text, list(terms)) if not hit.accessory}
        return [t for t in terms if t in named]

    found_brand = found(brand_words)
    by_sku = {p.sku: found(product_terms(p, brand_words)) for p in products}
    return found_brand, {sku: terms for sku, terms in by_sku.items() if terms}


def _photo_no(photo: PhotoRead) -> str:
    return f"photo {photo.position + 1}"


def _lines_with(photo: PhotoRead, terms: Sequence[str]) -> list[TextLine]:
    """The lines a term was read on (a term split over two lines is shown by both)."""
    hits = [line for line in photo.lines if any(FoldedText.of(line.text).has_term(t) for t in terms)]
    return hits or list(photo.lines[:2])


def _said(lines: Sequence[TextLine]) -> str:
    return ", ".join(f"'{line.text}' ({line.confidence:.2f})" for line in lines[:4])


def _photo_json(photo: PhotoRead, matched: Sequence[TextLine] = ()) -> dict[str, Any]:
    return {"position": photo.position, "sha256": photo.sha256, "image_id": photo.image_id,
            "lines": [line.to_json() for line in photo.lines[:MAX_LINES_SHOWN]],
            "matched": [line.to_json() for line in matched], "codes": [c.to_json() for c in photo.codes]}


@dataclass(frozen=True)
class PhotoEvidence:
    """What the photos say, typed for the rules; the three SignalResults are what findings show."""

    text: SignalResult
    codes: SignalResult
    cloned: SignalResult | None = None
    sku: str | None = None  # the product the photos identify (names read, or a GTIN)
    identity: str | None = None  # the sentence saying how
    brand_read: tuple[str, ...] = ()
    tells: SignalResult | None = None  # counterfeit stamps read on a photo, as a text.counterfeit MATCH
    batch: SignalResult | None = None  # a lot code or serial on the pack, as a batch_code result

    def signals(self) -> list[SignalResult]:
        return [s for s in (self.text, self.codes, self.cloned) if s is not None]


def _not_read_reason(photos: Sequence[PhotoRead], unavailable: str | None) -> str:
    if not photos:
        return "the listing has no photo to read"
    if unavailable:
        return f"no photo was read: {unavailable}"
    notes = sorted({p.note or p.status for p in photos if not p.read})
    return f"no photo could be read ({'; '.join(notes)[:200]})"


def _text_signal(read: Sequence[PhotoRead], config: BrandConfig) -> tuple[SignalResult, str | None, str | None,
                                                                           tuple[str, ...]]:
    """(photo.text, sku, identity sentence, brand names read)."""
    brand_seen: list[str] = []
    best: tuple[int, str, PhotoRead, list[str], list[str]] | None = None
    for photo in read:
        brand_found, products = names_in(photo.text, config.brand, config.products)
        brand_seen += brand_found
        for sku, terms in products.items():
            score = max(len(t) for t in terms) + (100 if brand_found else 0)
            if brand_found and (best is None or score > best[0]):
                best = (score, sku, photo, brand_found, terms)
    brand_seen = list(dict.fromkeys(brand_seen))
    photos_json = [_photo_json(p) for p in read if p.lines or p.codes]
    if best is not None:
        _, sku, photo, brand_found, terms = best
        lines = _lines_with(photo, [*brand_found, *terms])
        sentence = (f"{_photo_no(photo)} reads the brand ({quoted(brand_found)}) and {sku} ({quoted(terms[:2])}): "
                    f"{_said(lines)}")
        evidence = {"sku": sku, "brand_terms": brand_found, "product_terms": terms, "photo": _photo_json(photo, lines),
                    "photos": photos_json}
        return match(PHOTO_TEXT, sentence, min(line.confidence for line in lines), **evidence), sku, sentence, \
            tuple(brand_seen)
    if brand_seen:
        reason = f"the photos read the brand ({quoted(brand_seen)}) but none of its products"
    elif any(p.lines for p in read):
        reason = f"the words read on {len(read)} photo(s) name neither the brand nor its products"
    else:
        reason = f"no words were read on {len(read)} photo(s)"
    return no_match(PHOTO_TEXT, reason, 0.0, brand_terms=brand_seen, photos=photos_json), None, None, tuple(brand_seen)


def _tells(read: Sequence[PhotoRead]) -> SignalResult | None:
    for photo in read:
        tells = find_tells(photo.text, COUNTERFEIT)
        if tells:
            lines = [line for line in photo.lines if find_tells(line.text, COUNTERFEIT)]
            return match(COUNTERFEIT, f"{_photo_no(photo)} reads {quoted(tells)}, words sellers use for copies: "
                         f"{_said(lines)}", float(len(tells)), tells=tells, source="photo",
                         photo=_photo_json(photo, lines))
    return None


_OCR_DIGITS = str.maketrans({"O": "0", "o": "0", "D": "0", "I": "1", "l": "1", "|": "1", "S": "5", "B": "8", "Z": "2"})
_AFTER_FIRST_DIGIT = re.compile(r"(?<=[0-9])[0-9OoDIl|SBZ]+")


def ocr_digits(text: str) -> str:
    """Letters OCR confuses with digits read as digits once a code's digits began: 'GD24O2l1' is 'GD240211'. The
    letters before the first digit (the prefix) are left alone."""
    return _AFTER_FIRST_DIGIT.sub(lambda m: m.group(0).translate(_OCR_DIGITS), text)


def _printed_batch(read: Sequence[PhotoRead], marketplace: str, seller_name: str | None, seller_id: str | None,
                   authorised: Sequence[AuthorisedSeller]) -> SignalResult | None:
    """The lot code printed on a pack, traced as codes in text are; a traced one first, then an untraced one."""
    results = []
    for photo in read:
        if not photo.lines:
            continue
        result = batch_mod.batch_code_signal(ocr_digits(photo.text), marketplace, seller_name, seller_id, authorised)
        if not result.unknown:
            lines = [line for line in photo.lines if any(c in _norm(line.text) for c in result.evidence["codes"])]
            results.append(dataclasses.replace(
                result, reason=f"printed on the pack in {_photo_no(photo)}: {result.reason}",
                evidence={**result.evidence, "source": "photo", "photo": _photo_json(photo, lines)}))
    return next((r for r in results if r.matched), results[0] if results else None)


def _norm(text: str) -> str:
    from core.batchcodes import normalise_code

    return normalise_code(text)


@dataclass(frozen=True)
class _Serial:
    code: str
    photo: PhotoRead
    read: CodeRead


def _serials(read: Sequence[PhotoRead], issued: IssuedCodes) -> tuple[list[_Serial], list[_Serial]]:
    """(issued serials, serials shaped like the brand's that were never issued)."""
    found, made_up = [], []
    for photo in read:
        for code in photo.codes:
            for token in serial_tokens(code):
                if issued.get(token) is not None:
                    found.append(_Serial(token, photo, code))
                elif issued.shaped_like_ours(token):
                    made_up.append(_Serial(token, photo, code))
    return found, made_up


def _serial_batch(found: list[_Serial], made_up: list[_Serial], issued: IssuedCodes, marketplace: str,
                  seller_name: str | None, seller_id: str | None,
                  authorised: Sequence[AuthorisedSeller]) -> SignalResult | None:
    auth = authorisation_for(marketplace, seller_name, seller_id, authorised)
    own_distributor = (auth.distributor or auth.name) if auth is not None else None
    if found:
        foreign = [s for s in found if issued.codes[s.code].distributor != own_distributor]
        serial = (foreign or found)[0]
        distributor = issued.codes[serial.code].distributor
        where = f"the {serial.read.format} code in {_photo_no(serial.photo)}"
        if foreign:
            reason = f"serial {serial.code} on {where} was issued to {distributor}"
            if own_distributor is not None:
                reason += f", not to the seller's own distributor {own_distributor}"
        else:
            reason = f"serial {serial.code} on {where} was issued to {distributor}, the seller's own distributor"
        return match(batch_mod.NAME, reason, 1.0, codes=[s.code for s in found], code=serial.code,
                     distributor=distributor, own=not foreign, source="photo code",
                     photo=_photo_json(serial.photo))
    if made_up:
        serial = made_up[0]
        return no_match(batch_mod.NAME, f"serial {serial.code} on the {serial.read.format} code in "
                        f"{_photo_no(serial.photo)} was never issued by the brand (its code file lists "
                        f"{len(issued)} codes)", 0.0, codes=[s.code for s in made_up], unknown_codes=[serial.code],
                        source="photo code", photo=_photo_json(serial.photo))
    return None


def _cloned(serials: list[_Serial], sightings: Mapping[str, Sequence[Sighting]], marketplace: str,
            seller_name: str | None, own_photos: set[str]) -> SignalResult | None:
    for serial in serials:
        others = [s for s in sightings.get(serial.code, ())
                  if s.sha256 not in own_photos and (s.marketplace, s.seller) != (marketplace, seller_name)]
        sellers = sorted({f"{s.seller or 'an unnamed seller'} on {s.marketplace}" for s in others})
        if sellers:
            return match(CLONED_CODE, f"serial {serial.code} on {_photo_no(serial.photo)} is also on the packs of "
                         f"{len(sellers)} other seller(s) ({', '.join(sellers[:3])}); each unit carries its own "
                         "serial, so this one was copied", float(len(sellers)), code=serial.code,
                         sellers=sellers[:20], listings=[s.external_id for s in others[:20]])
    return None


def _codes_signal(read: Sequence[PhotoRead], config: BrandConfig, found: list[_Serial],
                  made_up: list[_Serial]) -> tuple[SignalResult, str | None, str | None]:
    """(photo.codes, sku a GTIN identifies, the sentence)."""
    gtins = {gtin14(g): p.sku for p in config.products for g in p.gtins}
    all_codes = [(photo, code) for photo in read for code in photo.codes]
    if not all_codes:
        return unknown(PHOTO_CODES, "no barcode, QR code or DataMatrix was read on the photos", codes=[]), None, None
    shown = [{"position": p.position, "format": c.format, "text": c.text[:100]} for p, c in all_codes[:20]]
    for photo, code in all_codes:
        gtin = gtin_of(code)
        if gtin is not None and gtin in gtins:
            sku = gtins[gtin]
            sentence = f"the {code.format} barcode in {_photo_no(photo)} is {code.text}, the GTIN of {sku}"
            return match(PHOTO_CODES, sentence, 1.0, sku=sku, gtin=code.text, codes=shown), sku, sentence
    if found or made_up:
        serial = (found or made_up)[0]
        state = "issued by the brand" if found else "shaped like the brand's serials but never issued"
        return match(PHOTO_CODES, f"the {serial.read.format} code in {_photo_no(serial.photo)} carries serial "
                     f"{serial.code}, {state}", 1.0, serial=serial.code, issued=bool(found), codes=shown), None, None
    return no_match(PHOTO_CODES, f"{len(all_codes)} code(s) read on the photos, none of them the brand's "
                    "(no GTIN of its products, no serial shaped like its issued ones)", 0.0, codes=shown), None, None


def photo_evidence(photos: Sequence[PhotoRead], sightings: Mapping[str, Sequence[Sighting]], config: BrandConfig,
                   marketplace: str, seller_name: str | None, seller_id: str | None,
                   unavailable: str | None = None) -> PhotoEvidence:
    read = [p for p in photos if p.read]
    if not read:
        reason = _not_read_reason(photos, unavailable)
        return PhotoEvidence(unknown(PHOTO_TEXT, reason), unknown(PHOTO_CODES, reason))
    text, sku, identity, brand_read = _text_signal(read, config)
    issued = config.issued_codes
    found, made_up = _serials(read, issued)
    codes, gtin_sku, gtin_sentence = _codes_signal(read, config, found, made_up)
    batch = _printed_batch(read, marketplace, seller_name, seller_id, config.authorised_sellers)
    if batch is None or not batch.matched:
        batch = _serial_batch(found, made_up, issued, marketplace, seller_name, seller_id,
                              config.authorised_sellers) or batch
    cloned = _cloned(found + made_up, sightings, marketplace, seller_name, {p.sha256 for p in photos})
    if cloned is not None and batch is not None and batch.matched and batch.evidence.get("code") == \
            cloned.evidence["code"]:
        # An issued serial copied onto other sellers' packs traces the code, not these goods.
        batch = no_match(batch_mod.NAME, f"{batch.reason}, but it is on other sellers' packs too: a copied code",
                         0.0, **{**batch.evidence, "unknown_codes": [cloned.evidence["code"]]})
    return PhotoEvidence(text=text, codes=codes, cloned=cloned, sku=sku or gtin_sku,
                         identity=identity or gtin_sentence, brand_read=brand_read, tells=_tells(read), batch=batch)


def serial_candidates(photos: Sequence[PhotoRead], issued: IssuedCodes) -> set[str]:
    """The serial tokens on these photos worth a look-up for clones (issued, or shaped like the brand's)."""
    found, made_up = _serials([p for p in photos if p.read], issued)
    return {s.code for s in found + made_up}
