"""Rules that turn a listing's signals into one verdict, a score in [0, 1] and reasons a person can reuse.

The rules, in order (RULE_SET_VERSION names this set; findings record it):
 0. Seller on the brand's allow-list (allow_list.sellers) -> ok, whatever else is said: the brand vouches for it.
 1. Not the brand's product (relevance not MATCH) -> unrelated; except that text naming the brand together with
    counterfeit tells ("Lumina 高仿") -> counterfeit even when no product can be identified.
 2. Counterfeit tells in the text -> counterfeit, whoever sells.
 3. Seller authorised on this marketplace:
      ships from outside its authorised regions, or shows a batch code shipped to another distributor
        -> diversion (串货 between territories);
      priced under the floor -> price_floor_breach (a known distributor: a contract matter, not a fake);
      otherwise -> ok.
 4. Seller not authorised here (or not shown): counterfeit or diversion, by weighing only the evidence that tells
    a copy from diverted genuine stock (an unauthorised seller and the brand's photo fit both):
      for a copy: a price at or under counterfeit_price_ratio of the suggested price (genuine stock does not sell
        that low), a batch code no distributor was given (copies print made-up codes), photos that are not the
        brand's;
      for diverted stock: a batch code that traces to a distributor, diversion words (清仓, 尾货, 已刮码, parallel
        import), a price only moderately under the floor;
    the heavier side wins, diversion on a tie (the lesser charge when the evidence cannot tell); the finding says
    what was weighed. So a fake priced near the floor with a made-up code is a counterfeit, and cleared stock
    with its distributor's code and 尾货 in the title is diversion even when far under the floor. A seller's own
    photo of the brand's pack (the own-photo signal) weighs for neither side: genuine resellers shoot them too.
The score combines the independent pieces of evidence for the verdict by noisy-OR, 1 - prod(1 - w): each piece
adds weight, none alone is certain, and every piece becomes one reason. A sudden price drop, a repeat offender,
a relisting after a takedown and a seller in a network of shops selling copies add weight to any suspect verdict;
the network also weighs for a copy in rule 4, as does the brand's name written only bent to dodge keyword filters
(spaced, dotted, digits, another script's letters, pinyin, homophones: matching.names), which also adds weight to
a counterfeit. None of them makes a listing that is not the brand's product suspect.
A trusted partner's report adds weight to any suspect verdict too (never to ok or unrelated: a partner's report
alone decides nothing). Unknowns add nothing, and are said.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from core.models import Verdict
from matching.signals import Outcome, SignalResult
from matching.signals import price as price_mod
from matching.signals import seller as seller_mod

# Stored with every finding (finding.rule_set_version, at most 40 characters).
RULE_SET_VERSION = "2026.6-photos-names-networks-own-photos"

# Evidence weights (how strongly one piece alone would make the verdict right).
W_COUNTERFEIT_TELLS = 0.7
W_BRAND_WITH_TELLS = 0.6
W_FAR_UNDER = 0.6
W_UNAUTHORISED_SUPPORT = 0.2
W_LOOKALIKE = 0.3
W_PHOTO_NOT_BRANDS = 0.15
W_OUT_OF_REGION = 0.7
W_UNKNOWN_SELLER = 0.5
W_KNOWN_NAME_WRONG_PLACE = 0.6  # an authorised shop's name, on the wrong marketplace or with another id
W_NO_SELLER_SHOWN = 0.2
W_UNDER_FLOOR = 0.4
W_BREACH = 0.7
W_BREACH_FAR = 0.8
W_BRANDS_PHOTO = 0.2
W_DIVERSION_TELLS = 0.4
W_BATCH_OTHER_DISTRIBUTOR = 0.6  # an authorised seller selling lots shipped to another distributor
W_BATCH_TRACED = 0.5  # an unauthorised seller's lot code names the distributor the goods came from
W_BATCH_UNTRACED = 0.3  # a lot code no distributor was given: copies print made-up codes
# Rule 4's scales: how strongly each piece tells a copy from diverted genuine stock.
W_SPLIT_FAR_UNDER = 0.6
W_SPLIT_MADE_UP_CODE = 0.5
W_SPLIT_PHOTO_NOT_BRANDS = 0.15
W_SPLIT_TRACED_CODE = 0.5
W_SPLIT_DIVERSION_TELLS = 0.4
W_SPLIT_UNDER_FLOOR = 0.3
W_SPLIT_CLONED_CODE = 0.5
W_CLONED_CODE = 0.6  # one serial on several sellers' packs: a copied code (matching/photos/signals.py)
W_PRICE_DROP = 0.3
W_REPEAT_OFFENDER = 0.3
W_RELISTING = 0.5
W_NETWORK = 0.5  # the seller's network includes shops confirmed or flagged selling copies
W_SPLIT_NETWORK = 0.5
W_EVASIVE_NAME = 0.3  # the brand's name only ever bent to slip past keyword filters (L.umina, Lum1na, 璐米娜)
W_SPLIT_EVASIVE_NAME = 0.4
W_PARTNER = 0.3  # a trusted partner brand reported the seller or a photo (never a verdict on its own)
W_OK_AUTHORISED = 0.8
W_OK_IN_REGION = 0.3
W_OK_PRICE = 0.3
W_ALLOWED = 0.95
W_UNRELATED = 0.9
W_UNRELATED_UNSURE = 0.3


@dataclass(frozen=True)
class Signals:
    """One listing's signal results. `price` and `region` are None when no product was identified."""

    relevance: SignalResult
    image: SignalResult
    seller: SignalResult
    counterfeit_tells: SignalResult
    diversion_tells: SignalResult
    price: SignalResult | None = None
    region: SignalResult | None = None
    batch_code: SignalResult | None = None
    price_history: SignalResult | None = None
    seller_history: SignalResult | None = None
    relisting: SignalResult | None = None
    allow_list: SignalResult | None = None  # present only when the seller is on the brand's allow-list
    own_photo: SignalResult | None = None  # the pack found in a photo by keypoints, when that check ran
    # What was read on the photos (matching/photos): shown with the finding; a cloned serial is weighed.
    photo_text: SignalResult | None = None
    photo_codes: SignalResult | None = None
    cloned_code: SignalResult | None = None  # present only when a serial is also on other sellers' packs
    network: SignalResult | None = None  # present only when the seller belongs to a network of shops
    partner: SignalResult | None = None  # present only when partner bank entries are accepted

    def all(self) -> list[SignalResult]:
        found = [self.allow_list, self.relevance, self.image, self.own_photo, self.price, self.price_history,
                 self.seller, self.region, self.batch_code, self.counterfeit_tells, self.diversion_tells,
                 self.seller_history, self.relisting, self.photo_text, self.photo_codes, self.cloned_code,
                 self.network, self.partner]
        return [s for s in found if s is not None]

    def as_dict(self) -> dict[str, dict[str, object]]:
        return {s.name: s.to_dict() for s in self.all()}


@dataclass(frozen=True)
class VerdictResult:
    verdict: Verdict
    score: float
    reasons: tuple[str, ...]
    sku: str | None = None
    weights: Mapping[str, float] = field(default_factory=dict)  # reason -> weight, for the curious


class _Case:
    """Evidence for one verdict: weighted reasons, then context sentences that carry no weight."""

    def __init__(self) -> None:
        self.weighted: list[tuple[float, str]] = []
        self.context: list[str] = []

    def add(self, weight: float, reason: str) -> None:
        self.weighted.append((weight, reason))

    def note(self, sentence: str) -> None:
        self.context.append(sentence)

    def score(self) -> float:
        """The weights combined by noisy-OR, 1 - prod(1 - w)."""
        remaining = 1.0
        for weight, _ in self.weighted:
            remaining *= 1.0 - weight
        return round(1.0 - remaining, 4)

    def result(self, verdict: Verdict, sku: str | None) -> VerdictResult:
        ordered = sorted(self.weighted, key=lambda wr: -wr[0])
        reasons = tuple(dict.fromkeys([r for _, r in ordered] + self.context))
        return VerdictResult(verdict, self.score(), reasons, sku, {r: w for w, r in ordered})


def _band(price: SignalResult | None) -> str | None:
    if price is None or price.unknown:
        return None
    return str(price.evidence.get("band"))


def _unknowns(case: _Case, *signals: SignalResult | None) -> None:
    for s in signals:
        if s is not None and s.unknown and s.evidence.get("applicable", True):
            case.note(f"not known: {s.reason}")


def _own_photo_of_pack(signals: Signals) -> bool:
    """A photo shows the brand's pack, and it is not the brand's photo: the seller's own shot. Genuine resellers
    take these as counterfeiters do, so it weighs for neither; in particular it is not a copied brand photo."""
    own = signals.own_photo
    return own is not None and own.matched and not signals.image.matched


def _foreign_batch(signals: Signals) -> bool:
    batch = signals.batch_code
    return batch is not None and batch.matched and not batch.evidence.get("own", False)


def decide(signals: Signals) -> VerdictResult:
    rel, tells = signals.relevance, signals.counterfeit_tells
    if signals.allow_list is not None and signals.allow_list.matched:
        return _allowed(signals)
    if rel.outcome is not Outcome.MATCH:
        return _not_a_product(signals)
    sku = str(rel.evidence.get("sku"))
    if tells.matched:
        return _counterfeit(signals, sku)
    if signals.seller.matched:
        return _authorised(signals, sku)
    copy, diverted = _weigh_copy_or_diverted(signals)
    if copy.score() > diverted.score():
        return _counterfeit(signals, sku, weighed=_weighed("counterfeit", "diversion", copy, diverted))
    return _diversion(signals, sku, weighed=_weighed("diversion", "counterfeit", diverted, copy))


def _weigh_copy_or_diverted(signals: Signals) -> tuple[_Case, _Case]:
    """Rule 4's two scales: the evidence that the goods are a copy, and that they are diverted genuine stock."""
    copy, diverted = _Case(), _Case()
    price, batch, image = signals.price, signals.batch_code, signals.image
    band = _band(price)
    if price is not None and band == price_mod.FAR_UNDER:
        copy.add(W_SPLIT_FAR_UNDER, "a price genuine stock does not sell at")
    elif price is not None and band == price_mod.UNDER_FLOOR:
        diverted.add(W_SPLIT_UNDER_FLOOR, "a price only moderately under the floor")
    if batch is not None and batch.unmatched:
        copy.add(W_SPLIT_MADE_UP_CODE, "a batch code no distributor was given")
    elif batch is not None and batch.matched:
        diverted.add(W_SPLIT_TRACED_CODE, "a batch code that traces to a distributor")
    if image.unmatched and not _own_photo_of_pack(signals):
        copy.add(W_SPLIT_PHOTO_NOT_BRANDS, "photos that are not the brand's")
    if signals.cloned_code is not None and signals.cloned_code.matched:
        copy.add(W_SPLIT_CLONED_CODE, "a serial copied onto other sellers' packs")
    if signals.diversion_tells.matched:
        diverted.add(W_SPLIT_DIVERSION_TELLS, "words of cleared or diverted stock")
    if signals.network is not None and signals.network.matched:
        copy.add(W_SPLIT_NETWORK, "a seller tied to shops selling copies")
    if _evasive_name(signals):
        copy.add(W_SPLIT_EVASIVE_NAME, "the brand's name bent to slip past filters")
    return copy, diverted


def _evasive_name(signals: Signals) -> list[str]:
    return list(signals.relevance.evidence.get("brand_evasive") or []) if signals.relevance.matched else []


def _weighed(chosen: str, other: str, won: _Case, lost: _Case) -> str:
    """One sentence on why a listing of an unauthorised seller is this verdict and not the other."""
    if not won.weighted and not lost.weighted:
        return (f"{chosen} rather than {other}: nothing here tells a copy from diverted stock, so the lesser "
                "charge; a test buy would settle it")

    def pieces(case: _Case) -> str:
        return "; ".join(reason for _, reason in case.weighted)

    against = f"{pieces(lost)} (weight {lost.score():.2f})" if lost.weighted else f"nothing for {other}"
    return f"{chosen} rather than {other}: {pieces(won)} (weight {won.score():.2f}) against {against}"


def _allowed(signals: Signals) -> VerdictResult:
    case = _Case()
    assert signals.allow_list is not None
    case.add(W_ALLOWED, signals.allow_list.reason)
    sku = signals.relevance.evidence.get("sku") if signals.relevance.matched else None
    for s in (signals.relevance, signals.price, signals.counterfeit_tells, signals.diversion_tells):
        if s is not None and s.matched:
            case.note(f"said but not held against it: {s.reason}")
    return case.result(Verdict.OK, str(sku) if sku else None)


def _not_a_product(signals: Signals) -> VerdictResult:
    rel, tells = signals.relevance, signals.counterfeit_tells
    case = _Case()
    if tells.matched and rel.evidence.get("brand_terms"):
        case.add(W_BRAND_WITH_TELLS, f"{tells.reason}, next to the brand's name")
        case.note(rel.reason)
        _history(case, signals)
        return case.result(Verdict.COUNTERFEIT, None)
    case.add(W_UNRELATED if rel.unmatched else W_UNRELATED_UNSURE, rel.reason)
    return case.result(Verdict.UNRELATED, None)


def _seller_support(case: _Case, seller: SignalResult) -> None:
    status = seller.evidence.get("status")
    if status == seller_mod.LOOKALIKE:
        case.add(W_LOOKALIKE, seller.reason)
    elif seller.unmatched:
        case.add(W_UNAUTHORISED_SUPPORT, seller.reason)


def _history(case: _Case, signals: Signals, *, price_drop: bool = True) -> None:
    """Weight from the past, for any suspect verdict."""
    if price_drop and signals.price_history is not None and signals.price_history.matched:
        case.add(W_PRICE_DROP, signals.price_history.reason)
    if signals.seller_history is not None and signals.seller_history.matched:
        case.add(W_REPEAT_OFFENDER, signals.seller_history.reason)
    if signals.relisting is not None and signals.relisting.matched:
        case.add(W_RELISTING, signals.relisting.reason)
    if signals.network is not None and signals.network.matched:
        case.add(W_NETWORK, signals.network.reason)
    if signals.partner is not None and signals.partner.matched:
        case.add(W_PARTNER, signals.partner.reason)


def _photo_is_official(image: SignalResult) -> bool:
    return bool(image.evidence.get("official_use_ok"))


def _counterfeit(signals: Signals, sku: str, *, weighed: str | None = None) -> VerdictResult:
    case = _Case()
    tells, price, image, batch = signals.counterfeit_tells, signals.price, signals.image, signals.batch_code
    if tells.matched:
        case.add(W_COUNTERFEIT_TELLS, tells.reason)
    if price is not None and _band(price) == price_mod.FAR_UNDER:
        case.add(W_FAR_UNDER, price.reason)
    elif price is not None and _band(price) == price_mod.UNDER_FLOOR:
        case.add(W_UNDER_FLOOR, price.reason)
    elif price is not None and not price.unknown:
        case.note(price.reason)
    if not signals.seller.matched:
        _seller_support(case, signals.seller)
    else:
        case.note(signals.seller.reason)
    if batch is not None and batch.unmatched:
        case.add(W_BATCH_UNTRACED, f"{batch.reason}: copies print made-up codes")
    elif batch is not None and batch.matched:
        case.note(f"{batch.reason}; copies also quote real codes")
    if _own_photo_of_pack(signals):
        assert signals.own_photo is not None
        case.note(signals.own_photo.reason)
    elif image.unmatched:
        case.add(W_PHOTO_NOT_BRANDS, f"{image.reason}, so the goods shown may not be the brand's")
    elif image.matched:
        case.note(f"{image.reason}: the brand's own photo, which copies also use")
    if signals.cloned_code is not None and signals.cloned_code.matched:
        case.add(W_CLONED_CODE, signals.cloned_code.reason)
    evasive = _evasive_name(signals)
    if evasive:
        case.add(W_EVASIVE_NAME, f"the text writes the brand's name only bent ({', '.join(evasive)}), as sellers "
                 "of copies do to slip past keyword filters")
    _history(case, signals)
    if weighed:
        case.note(weighed)
    case.note(signals.relevance.reason)
    _unknowns(case, price, signals.seller)
    return case.result(Verdict.COUNTERFEIT, sku)


def _authorised(signals: Signals, sku: str) -> VerdictResult:
    seller, region, price, batch = signals.seller, signals.region, signals.price, signals.batch_code
    band = _band(price)
    case = _Case()
    out_of_region = region is not None and region.unmatched
    if out_of_region or _foreign_batch(signals):
        if out_of_region:
            assert region is not None
            case.add(W_OUT_OF_REGION, region.reason)
        if _foreign_batch(signals):
            assert batch is not None
            case.add(W_BATCH_OTHER_DISTRIBUTOR, batch.reason)
        case.note(seller.reason)
        if price is not None and band in (price_mod.UNDER_FLOOR, price_mod.FAR_UNDER):
            case.add(W_UNDER_FLOOR, price.reason)
        _diversion_tells(case, signals)
        _history(case, signals)
        _unknowns(case, price)
        return case.result(Verdict.DIVERSION, sku)
    if price is not None and band in (price_mod.UNDER_FLOOR, price_mod.FAR_UNDER):
        case.add(W_BREACH_FAR if band == price_mod.FAR_UNDER else W_BREACH, price.reason)
        case.note(seller.reason)
        _diversion_tells(case, signals)
        _history(case, signals)
        _unknowns(case, region)
        return case.result(Verdict.PRICE_FLOOR_BREACH, sku)
    case.add(W_OK_AUTHORISED, seller.reason)
    if region is not None and region.matched:
        case.add(W_OK_IN_REGION, region.reason)
    if price is not None and price.unmatched:
        case.add(W_OK_PRICE, price.reason)
    if batch is not None and batch.matched:
        case.note(batch.reason)
    if signals.price_history is not None and signals.price_history.matched:
        case.note(f"{signals.price_history.reason}, still at or above the floor")
    _unknowns(case, region, price)
    return case.result(Verdict.OK, sku)


def _diversion_tells(case: _Case, signals: Signals) -> None:
    if signals.diversion_tells.matched:
        case.add(W_DIVERSION_TELLS, signals.diversion_tells.reason)


def _diversion(signals: Signals, sku: str, *, weighed: str | None = None) -> VerdictResult:
    seller, price, image, batch = signals.seller, signals.price, signals.image, signals.batch_code
    case = _Case()
    status = seller.evidence.get("status")
    if seller.unknown:
        case.add(W_NO_SELLER_SHOWN, seller.reason)
    elif status in (seller_mod.AUTHORISED_ELSEWHERE, seller_mod.LOOKALIKE):
        case.add(W_KNOWN_NAME_WRONG_PLACE, seller.reason)
    else:
        case.add(W_UNKNOWN_SELLER, seller.reason)
    if batch is not None and batch.matched:
        case.add(W_BATCH_TRACED, f"{batch.reason}: the stock leaked from that distributor's channel")
    elif batch is not None and batch.unmatched:
        case.note(f"{batch.reason}; the goods may be copies rather than diverted stock")
    if price is not None and _band(price) in (price_mod.UNDER_FLOOR, price_mod.FAR_UNDER):
        case.add(W_UNDER_FLOOR, price.reason)
    elif price is not None and not price.unknown:
        case.note(price.reason)
    if image.matched and not _photo_is_official(image):
        case.add(W_BRANDS_PHOTO, f"{image.reason}: the brand's own photo")
    elif image.matched:
        case.note(image.reason)
    elif _own_photo_of_pack(signals):
        assert signals.own_photo is not None
        case.note(signals.own_photo.reason)
    elif image.unmatched:
        case.note(f"{image.reason}; the goods may be copies rather than diverted stock")
    _diversion_tells(case, signals)
    _history(case, signals)
    if weighed:
        case.note(weighed)
    case.note(signals.relevance.reason)
    _unknowns(case, price)
    return case.result(Verdict.DIVERSION, sku)
