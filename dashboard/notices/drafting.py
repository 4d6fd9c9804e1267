"""Drafting: confirmed findings of one marketplace -> one or more notice texts, with the checks a lawyer would make.

Pure functions (no database, no Streamlit). `draft` refuses (DraftError, every problem named) what must not be
filed: a ground the findings do not support (diversion as an IP infringement), a form without the rights-holder
details it requires, a counterfeit claim against goods a test buy found genuine. It warns about what a person must
weigh before filing, above all a notice that rests on price alone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from core.models import TestBuyResult
from core.regions import is_region_code
from dashboard.notices.model import (
    COUNTERFEIT_EVIDENCE,
    DIVERSION_EVIDENCE,
    GROUND_LABELS,
    GROUND_VERDICTS,
    PRICELESS_GROUNDS,
    Ground,
    ListingFacts,
    Party,
    TestBuyFacts,
)
from dashboard.notices.registry import (
    PARTY_FIELD_LABELS,
    VERO_BRAND_MAX,
    VERO_REASON_CODES,
    VERO_TEXT_MAX,
    TemplateSpec,
)
from dashboard.notices.render import render_file

CHINESE_TEMPLATES = frozenset({"alibaba_ipp", "jd", "pinduoduo", "distribution_policy"})

PRICE_ONLY_COUNTERFEIT = (
    "{subject} on price alone: a low price does not show that goods are fake. Make a test buy or find "
    "another sign (counterfeit wording, photos that are not the brand's) before filing. A wrong notice makes the "
    "sender liable to the seller, and a malicious one carries double damages under China's E-commerce Law, Art. 42."
)
PRICE_ONLY_DIVERSION = (
    "{subject} on price alone: enforcing a minimum resale price is resale price maintenance, unlawful "
    "to enforce in China (Anti-Monopoly Law) and the EU (Art. 101 TFEU). Rest the report on authorisation, region "
    "or batch-code evidence, never on the price. A malicious notice carries double damages under China's "
    "E-commerce Law, Art. 42."
)
UNLAWFUL_IMPORTATION_CAVEAT = (
    "Reason code 9037 asserts a trademark right against imported goods. Genuine goods lawfully put on the market "
    "may be resold in many countries (exhaustion); file 9037 only for countries where this importation is "
    "unlawful (e.g. materially different goods), otherwise use the distribution-policy report."
)
PINDUODUO_CHANNEL_NOTE = (
    "Pinduoduo does not accept IP complaints about goods bought from the rights holder's controlled channels; "
    "this report asks only for a review under the platform's own seller rules."
)

# Evidence names -> the sentence a diversion report gives for them (our wording, never the price).
_DIVERSION_STATEMENTS_ZH = {
    "unauthorised_seller": "店铺不在本平台的授权店铺名单内 / The shop is not among the authorised sellers on this "
    "platform",
    "out_of_region": "发货地 {ship_from} 不在该店铺的授权区域内 / Ships from {ship_from}, outside its authorised "
    "territory",
    "diversion_tells": "商品描述显示非授权渠道货源特征（如刮码、尾货）/ The listing text shows off-channel signs "
    "(batch code removed, clearance stock)",
}
_DIVERSION_STATEMENTS_EN = {
    "unauthorised_seller": "The seller is not an authorised seller of the brand on this marketplace",
    "out_of_region": "Ships from {ship_from}, outside the territory the seller's authorisation covers",
    "diversion_tells": "The listing text shows signs of off-channel stock (batch code removed, clearance stock)",
}


class DraftError(ValueError):
    """A draft that must not be made, with every problem and its fix."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True)
class DraftRequest:
    template: TemplateSpec
    ground: Ground
    marketplace: str
    party: Party
    listings: Sequence[ListingFacts]
    today: date
    test_buys: Mapping[int, Sequence[TestBuyFacts]] = field(default_factory=dict)  # by listing id
    countries: Sequence[str] = ()  # VeRO 9037: where importation is unlawful
    gone_listing_ids: frozenset[int] = frozenset()  # listings the last crawls no longer found


@dataclass(frozen=True)
class NoticeDraft:
    template: str
    ground: Ground
    marketplace: str
    part: int
    parts: int
    listings: tuple[ListingFacts, ...]
    body: str
    warnings: tuple[str, ...]
    context: dict[str, Any]


# ----------------------------------------------------------------------------------------------------
# Evidence


def _outcome(signals: Mapping[str, Any], name: str) -> str | None:
    entry = signals.get(name)
    return str(entry.get("outcome")) if isinstance(entry, Mapping) else None


def evidence_basis(signals: Mapping[str, Any]) -> frozenset[str]:
    """What a finding rests on, from its stored signal results (Finding.signals, see matching.verdicts)."""
    found = set()
    if _outcome(signals, "price") == "match":
        found.add("price")
    if _outcome(signals, "text.counterfeit") == "match":
        found.add("counterfeit_tells")
    if _outcome(signals, "text.diversion") == "match":
        found.add("diversion_tells")
    if _outcome(signals, "image") == "match":
        found.add("brand_photo")
    elif _outcome(signals, "image") == "no_match" and _outcome(signals, "own_photo") != "match":
        # A seller's own photo of the brand's pack is not the brand's photo, but genuine resellers take them too.
        found.add("photo_not_brands")
    if _outcome(signals, "region") == "no_match":
        found.add("out_of_region")
    if _outcome(signals, "seller") == "no_match":
        found.add("unauthorised_seller")
    return frozenset(found)


def purchase_evidence(buys: Sequence[TestBuyFacts]) -> frozenset[str]:
    found = set()
    for buy in buys:
        if buy.result is TestBuyResult.COUNTERFEIT:
            found.add("test_buy_counterfeit")
        elif buy.result is TestBuyResult.GENUINE:
            found.add("test_buy_genuine")
        if buy.distributor:
            found.add("test_buy_traced")
    return frozenset(found)



def rests_on_price_alone(listing: ListingFacts, ground: Ground, buys: Sequence[TestBuyFacts] = ()) -> bool:
    """True when nothing but the price supports the ground (copyright rests on the photo, never on price)."""
    if ground is Ground.COUNTERFEIT:
        relevant = COUNTERFEIT_EVIDENCE
    elif ground in (Ground.DIVERSION, Ground.UNLAWFUL_IMPORTATION):
        relevant = DIVERSION_EVIDENCE
    else:
        return False
    return not ((listing.evidence | purchase_evidence(buys)) & relevant)


# ----------------------------------------------------------------------------------------------------
# Checks


def problems(request: DraftRequest) -> list[str]:
    """Everything that stops this draft, each with what to do; empty when it may be drafted."""
    spec, ground, party = request.template, request.ground, request.party
    found: list[str] = []
    if not request.listings:
        found.append("no confirmed findings were selected; confirm findings in the review queue first")
    if ground not in spec.grounds:
        allowed = ", ".join(g.value for g in spec.grounds)
        found.append(f"template '{spec.name}' does not carry the ground '{ground.value}' (it carries {allowed})")
    markets = sorted({f.marketplace for f in request.listings})
    if len(markets) > 1:
        found.append(f"one notice covers one marketplace; these findings are on {', '.join(markets)}")
    allowed_verdicts = GROUND_VERDICTS[ground]
    wrong = [f for f in request.listings if f.verdict not in allowed_verdicts]
    if wrong:
        ids = ids_of(wrong)
        if ground in (Ground.COUNTERFEIT, Ground.COPYRIGHT_IMAGE):
            found.append(
                f"findings {ids} are not counterfeit findings; channel diversion and price-floor findings are not "
                "IP infringements: draft them with the distribution_policy template (ground diversion)"
            )
        else:
            found.append(f"findings {ids} are counterfeit findings; use a counterfeit or copyright ground for them")
    missing = [f for f in spec.required if not getattr(party, f)]
    if missing:
        fields = ", ".join(f"brand.rights_holder.{PARTY_FIELD_LABELS.get(f, f)}" for f in missing)
        found.append(f"the {spec.label} form requires {fields}; add them to the brand configuration")
    if ground in (Ground.COUNTERFEIT, Ground.UNLAWFUL_IMPORTATION) and not party.trademarks:
        found.append(
            "a trademark notice needs the registration: add brand.rights_holder.trademarks with number, "
            "jurisdiction and classes to the brand configuration"
        )
    if ground is Ground.COPYRIGHT_IMAGE:
        no_photo = [f for f in request.listings if not f.reference_id]
        if no_photo:
            found.append(
                f"findings {ids_of(no_photo)} matched no reference photo of the brand; a copyright notice needs the "
                "photo the listing copies"
            )
    if ground is Ground.COUNTERFEIT:
        genuine = [
            f for f in request.listings
            if any(b.result is TestBuyResult.GENUINE for b in request.test_buys.get(f.listing_id, ()))
        ]
        if genuine:
            found.append(
                f"test buys found the goods of findings {ids_of(genuine)} genuine; a counterfeit notice against them "
                "would be a wrong notice: dismiss them or report them as diversion"
            )
    if ground is Ground.UNLAWFUL_IMPORTATION:
        bad = [c for c in request.countries if not (len(c) == 2 and is_region_code(c))]
        if not request.countries:
            found.append("reason code 9037 requires the countries where the importation is unlawful (countries[])")
        elif bad:
            found.append(f"{', '.join(bad)} are not ISO 3166 country codes; give countries such as US or DE")
    return found


def warnings_for(request: DraftRequest, listings: Sequence[ListingFacts]) -> list[str]:
    """What the person filing must weigh; the draft is still made."""
    spec, ground = request.template, request.ground
    found: list[str] = []
    price_only = [f for f in listings if rests_on_price_alone(f, ground, request.test_buys.get(f.listing_id, ()))]
    if price_only:
        template = PRICE_ONLY_COUNTERFEIT if ground is Ground.COUNTERFEIT else PRICE_ONLY_DIVERSION
        subject = rest_on(price_only)
        found.append(template.format(subject=subject))
    if ground is Ground.UNLAWFUL_IMPORTATION:
        found.append(UNLAWFUL_IMPORTATION_CAVEAT)
    if ground is Ground.DIVERSION and request.marketplace.lower().startswith(("pinduoduo", "pdd", "yangkeduo")):
        found.append(PINDUODUO_CHANNEL_NOTE)
    if not spec.fits_marketplace(request.marketplace):
        found.append(
            f"Template '{spec.name}' is written for {', '.join(spec.marketplaces)}; check that "
            f"{request.marketplace} accepts this form."
        )
    gone = [f for f in listings if f.listing_id in request.gone_listing_ids]
    if gone:
        found.append(f"Gone at the last crawls (check they are still up): findings {ids_of(gone)}.")
    return found


def rest_on(listings: Sequence[ListingFacts]) -> str:
    """'Finding 7 rests' / 'Findings 7, 9 rest': the subject of the price-only warnings."""
    return f"Finding {ids_of(listings)} rests" if len(listings) == 1 else f"Findings {ids_of(listings)} rest"


def ids_of(listings: Sequence[ListingFacts]) -> str:
    return ", ".join(str(f.finding_id if f.finding_id is not None else f"listing {f.listing_id}") for f in listings)


# ----------------------------------------------------------------------------------------------------
# Rendering


def money_text(listing: ListingFacts) -> str:
    if listing.price is None:
        return ""
    return f"{listing.price:,.2f} {listing.currency or ''}".strip()


def listing_statements(listing: ListingFacts, ground: Ground, zh: bool) -> list[str]:
    if ground is Ground.COPYRIGHT_IMAGE:
        distance = f" (perceptual-hash distance {listing.image_distance} of 64 bits)" if (
            listing.image_distance is not None) else ""
        english = f"Shows the rights holder's photograph {listing.reference_id}{distance}"
        return [f"使用了权利人的商品图片 {listing.reference_id} / {english}" if zh else english]
    if ground in (Ground.DIVERSION, Ground.UNLAWFUL_IMPORTATION):
        table = _DIVERSION_STATEMENTS_ZH if zh else _DIVERSION_STATEMENTS_EN
        ship_from = listing.ship_from or "?"
        return [table[name].format(ship_from=ship_from) for name in table if name in listing.evidence]
    # Counterfeit: the reasons the reviewer confirmed, without the signals' "not known" notes.
    return [r for r in listing.reasons if not r.startswith("not known")]


def buy_line(buy: TestBuyFacts, ground: Ground) -> str:
    if ground in PRICELESS_GROUNDS:
        code = f", code read {buy.code_read}" if buy.code_read else ""
        traced = f", traced to goods shipped to {buy.distributor}" if buy.distributor else ""
        return f"order {buy.order_number} on {buy.ordered_on.isoformat()}{code}{traced}"  # no price: see module doc
    return buy.summary()


def party_lines(party: Party, ground: Ground) -> list[tuple[str, str, str]]:
    # A diversion report claims no right, so it names the brand owner, not a "rights holder".
    first = ("品牌方", "Brand owner") if ground is Ground.DIVERSION else ("权利人", "Rights holder")
    lines = [(*first, party.name)]
    if party.agent:
        lines.append(("代理人", "Filed by authorised agent", party.agent))
    if party.signatory:
        title = f", {party.signatory_title}" if party.signatory_title else ""
        lines.append(("联系人", "Contact person", party.signatory + title))
    for zh, en, value in (
        ("地址", "Address", party.address),
        ("电话", "Phone", party.phone),
        ("邮箱", "Email", party.email),
        ("网站", "Website", party.website),
    ):
        if value:
            lines.append((zh, en, value))
    return lines


def rights_lines(party: Party, ground: Ground, listings: Sequence[ListingFacts]) -> list[str]:
    if ground is Ground.DIVERSION:
        return []
    if ground is Ground.COPYRIGHT_IMAGE:
        lines = []
        for work in party.works:
            parts = [work.title]
            if work.description:
                parts.append(work.description)
            if work.registration:
                parts.append(f"registration no. {work.registration}")
            if work.url:
                parts.append(work.url)
            lines.append(" — ".join(parts))
        for ref in dict.fromkeys(f.reference_id for f in listings if f.reference_id):
            lines.append(f"Product photograph {ref} by {party.name} (a copy is in the evidence bundle)")
        return lines
    return [
        t.describe() + (f" ({t.registry_url})" if t.registry_url else "") for t in party.trademarks
    ]


def _vero_explanation(party: Party, ground: Ground, countries: Sequence[str]) -> str:
    mark = next((t.mark for t in party.trademarks if t.mark), None) or party.name
    if ground is Ground.COPYRIGHT_IMAGE:
        text = f"The listings use copyrighted product photographs of {party.name} without authorisation."
    elif ground is Ground.UNLAWFUL_IMPORTATION:
        text = (f"The items bear the trademark {mark} of {party.name} and are imported into {', '.join(countries)} "
                "without its consent, where such importation is unlawful.")
    else:
        text = (f"The items are counterfeit products bearing the trademark {mark} of {party.name}; they were not "
                "made by or with the authorisation of the rights owner.")
    return text[:VERO_TEXT_MAX]


def _render(
    request: DraftRequest, listings: Sequence[ListingFacts], part: int, parts: int
) -> tuple[str, dict[str, Any]]:
    spec, ground, party = request.template, request.ground, request.party
    zh = spec.name in CHINESE_TEMPLATES
    rows = []
    orders: list[str] = []
    for n, listing in enumerate(listings, start=1):
        buys = list(request.test_buys.get(listing.listing_id, ()))
        orders += [b.order_number for b in buys]
        seller = listing.seller_name or "not shown"
        if listing.seller_id and listing.seller_id != listing.seller_name:
            seller = f"{seller} ({listing.seller_id})"
        rows.append(
            {
                "n": n,
                "url": listing.url,
                "external_id": listing.external_id,
                "title": listing.title,
                "seller": seller,
                # A diversion report never states the price: it must not read as resale-price enforcement.
                "price": "" if ground in PRICELESS_GROUNDS else money_text(listing),
                "ship_from": listing.ship_from or "",
                "statements": listing_statements(listing, ground, zh),
                "test_buys": [buy_line(b, ground) for b in buys],
            }
        )
    countries = [c.upper() for c in request.countries]
    reason_code = VERO_REASON_CODES.get(ground, "")
    explanation = _vero_explanation(party, ground, countries)
    context: dict[str, Any] = {
        "party": party.to_dict(),
        "template": spec.name,
        "ground": ground.value,
        "marketplace": request.marketplace,
        "drafted_on": request.today.isoformat(),
        "countries": countries,
        "reason_code": reason_code if spec.name == "ebay_vero" else "",
        "explanation": explanation if spec.name == "ebay_vero" else "",
        "brand": (next((t.mark for t in party.trademarks if t.mark), None) or party.name)[:VERO_BRAND_MAX],
        "rights": rights_lines(party, ground, listings),
    }
    body = render_file(
        spec.file,
        {
            "zh": zh,
            "party": party,
            "party_lines": party_lines(party, ground),
            "rights_lines": context["rights"],
            "ground": ground.value,
            "ground_label": GROUND_LABELS[ground],
            "marketplace": request.marketplace,
            "today": request.today.isoformat(),
            "part": part,
            "parts": parts,
            "max_links": spec.max_links,
            "rows": rows,
            "has_test_buys": bool(orders),
            "test_buy_orders": orders,
            "countries": countries,
            "reason_code": reason_code,
            "reason_text": _VERO_REASON_TEXT.get(ground, ""),
            "explanation": explanation,
        },
    )
    return body, context


_VERO_REASON_TEXT = {
    Ground.COUNTERFEIT: "Item(s) is a counterfeit product which infringes a trademark",
    Ground.COPYRIGHT_IMAGE: "Listing(s) contains unlawful copy of copyrighted image",
    Ground.UNLAWFUL_IMPORTATION: "Item(s) is unlawful importation of product bearing trademark",
}


def draft(request: DraftRequest) -> list[NoticeDraft]:
    """The notice texts for one marketplace, split into requests of at most the form's link limit."""
    found = problems(request)
    if found:
        raise DraftError(found)
    listings = list(request.listings)
    size = request.template.max_links or len(listings)
    parts = max(1, math.ceil(len(listings) / size))
    drafts = []
    for index in range(parts):
        chunk = listings[index * size : (index + 1) * size]
        body, context = _render(request, chunk, index + 1, parts)
        drafts.append(
            NoticeDraft(
                template=request.template.name,
                ground=request.ground,
                marketplace=request.marketplace,
                part=index + 1,
                parts=parts,
                listings=tuple(chunk),
                body=body,
                warnings=tuple(warnings_for(request, chunk)),
                context=context,
            )
        )
    return drafts
