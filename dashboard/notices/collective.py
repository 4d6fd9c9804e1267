"""Collective complaints: one notice against one seller on behalf of several rights holders (a 商家联盟 / brand
alliance complaint), each holder with its own trademark registrations and its own confirmed findings.

Pure functions (no database, no Streamlit), like drafting.py. A collective notice is filed on the marketplace's own
form (the templates of registry.py that carry the counterfeit ground); its text is collective.txt.j2, one section
per rights holder (who it is, its registrations, its listings and their evidence), then the form's statements and
one signature per holder. Only the counterfeit (trademark) ground is collective: channel diversion is each brand's
own distribution contract, and a copyright claim rests on each brand's own photographs (draft those per brand).

Rights holders come from brand configurations (`rights_holders`), the one place a brand becomes a party here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from core.config import BrandConfig
from core.models import TestBuyResult
from dashboard.notices.drafting import (
    PRICE_ONLY_COUNTERFEIT,
    DraftError,
    buy_line,
    ids_of,
    listing_statements,
    money_text,
    party_lines,
    rest_on,
    rests_on_price_alone,
    rights_lines,
)
from dashboard.notices.model import GROUND_VERDICTS, Ground, ListingFacts, Party, TestBuyFacts
from dashboard.notices.registry import PARTY_FIELD_LABELS, VERO_REASON_CODES, VERO_TEXT_MAX, TemplateSpec
from dashboard.notices.render import render_file

GROUND = Ground.COUNTERFEIT
TEMPLATE_FILE = "collective.txt.j2"
CHINESE_FORMS = frozenset({"alibaba_ipp", "jd", "pinduoduo"})
# The statement each form family closes with (see the templates of the single-brand notices).
STATEMENT_OF = {"alibaba_ipp": "zh", "jd": "zh", "pinduoduo": "zh", "amazon_rav": "perjury", "ebay_vero": "perjury",
                "dsa_art16": "dsa"}


@dataclass(frozen=True)
class RightsHolder:
    """A rights holder of a collective notice: the brand (as the database names it) and the party."""

    brand: str
    party: Party


@dataclass(frozen=True)
class HolderClaim:
    holder: RightsHolder
    listings: tuple[ListingFacts, ...]


@dataclass(frozen=True)
class SellerRef:
    name: str
    seller_id: str | None = None

    def describe(self) -> str:
        return f"{self.name} ({self.seller_id})" if self.seller_id and self.seller_id != self.name else self.name


@dataclass(frozen=True)
class CollectiveRequest:
    template: TemplateSpec
    marketplace: str
    seller: SellerRef
    claims: Sequence[HolderClaim]
    today: date
    test_buys: Mapping[int, Sequence[TestBuyFacts]] = field(default_factory=dict)  # by listing id
    gone_listing_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class CollectiveDraft:
    template: str
    marketplace: str
    listings: tuple[ListingFacts, ...]
    holder_of: dict[int, str]  # listing id -> brand
    body: str
    warnings: tuple[str, ...]
    context: dict[str, Any]


def rights_holders(configs: Sequence[BrandConfig]) -> list[RightsHolder]:
    """The rights holders of a collective notice from their brands' configurations, in the order given.

    Refuses (DraftError, every problem named) a brand without a rights holder or without trademark
    registrations, a brand given twice, and fewer than two brands.
    """
    problems: list[str] = []
    holders: list[RightsHolder] = []
    seen: set[str] = set()
    for config in configs:
        brand = config.brand.name
        if brand.casefold() in seen:
            problems.append(f"the brand {brand!r} is given twice; give each rights holder's configuration once")
            continue
        seen.add(brand.casefold())
        holder = config.brand.rights_holder
        if holder is None:
            problems.append(f"the brand {brand!r} has no brand.rights_holder in its configuration; add the rights "
                            "holder's name, contact details and trademarks under brand:")
            continue
        if not holder.trademarks:
            problems.append(f"the rights holder {holder.name!r} (brand {brand!r}) has no trademark registrations; "
                            "add brand.rights_holder.trademarks (number, jurisdiction, classes) to its "
                            "configuration, or leave this brand out of the collective notice")
            continue
        holders.append(RightsHolder(brand=brand, party=Party.from_config(holder)))
    if len(configs) < 2:
        problems.append("a collective notice is filed for two or more rights holders; for one brand, draft a "
                        "notice with `brandpatrol notice draft`")
    if problems:
        raise DraftError(problems)
    return holders


def problems(request: CollectiveRequest) -> list[str]:
    """Everything that stops this collective notice, each with what to do; empty when it may be drafted."""
    spec = request.template
    found: list[str] = []
    if GROUND not in spec.grounds:
        found.append(f"template '{spec.name}' does not carry counterfeit (trademark) complaints; a collective "
                     "notice asserts each holder's trademarks: pick the marketplace's IP form")
    for claim in request.claims:
        party, brand = claim.holder.party, claim.holder.brand
        who = f"the rights holder {party.name!r} (brand {brand!r})"
        if not claim.listings:
            found.append(f"{who} has no confirmed counterfeit findings against the seller "
                         f"{request.seller.describe()} on {request.marketplace} that no open notice covers; "
                         "confirm its findings in the review queue, or leave it out of the collective notice")
        if not party.trademarks:
            found.append(f"{who} has no trademark registrations; add brand.rights_holder.trademarks")
        missing = [f for f in spec.required if not getattr(party, f)]
        if missing:
            fields = ", ".join(f"brand.rights_holder.{PARTY_FIELD_LABELS.get(f, f)}" for f in missing)
            found.append(f"the {spec.label} form requires {fields} of {who}; add them to its configuration")
        wrong = [f for f in claim.listings if f.verdict not in GROUND_VERDICTS[GROUND]]
        if wrong:
            found.append(f"findings {ids_of(wrong)} of {who} are not counterfeit findings; channel diversion is not "
                         "a trademark infringement and is never part of a collective complaint")
        genuine = [f for f in claim.listings
                   if any(b.result is TestBuyResult.GENUINE for b in request.test_buys.get(f.listing_id, ()))]
        if genuine:
            found.append(f"test buys found the goods of findings {ids_of(genuine)} of {who} genuine; dismiss them "
                         "before filing")
    listings = _all_listings(request)
    elsewhere = [f for f in listings if f.marketplace != request.marketplace]
    if elsewhere:
        found.append(f"findings {ids_of(elsewhere)} are not on {request.marketplace}; one notice covers one "
                     "marketplace")
    if spec.max_links is not None and len(listings) > spec.max_links:
        found.append(f"the {spec.label} form takes {spec.max_links} listings per request and these holders have "
                     f"{len(listings)}; draft fewer findings per holder, or single-brand notices (they split)")
    return found


def _all_listings(request: CollectiveRequest) -> list[ListingFacts]:
    return list({f.listing_id: f for claim in request.claims for f in claim.listings}.values())


def warnings_for(request: CollectiveRequest) -> list[str]:
    listings = _all_listings(request)
    found: list[str] = []
    price_only = [f for f in listings if rests_on_price_alone(f, GROUND, request.test_buys.get(f.listing_id, ()))]
    if price_only:
        subject = rest_on(price_only)
        found.append(PRICE_ONLY_COUNTERFEIT.format(subject=subject))
    if not request.template.fits_marketplace(request.marketplace):
        found.append(f"Template '{request.template.name}' is written for {', '.join(request.template.marketplaces)}; "
                     f"check that {request.marketplace} accepts this form.")
    gone = [f for f in listings if f.listing_id in request.gone_listing_ids]
    if gone:
        found.append(f"Gone at the last crawls (check they are still up): findings {ids_of(gone)}.")
    return found


def _rows(claim: HolderClaim, request: CollectiveRequest, zh: bool, start: int) -> list[dict[str, Any]]:
    rows = []
    for n, listing in enumerate(claim.listings, start=start):
        buys = request.test_buys.get(listing.listing_id, ())
        rows.append({
            "n": n, "url": listing.url, "external_id": listing.external_id, "title": listing.title,
            "seller": request.seller.describe(), "price": money_text(listing), "ship_from": listing.ship_from or "",
            "statements": listing_statements(listing, GROUND, zh), "test_buys": [buy_line(b, GROUND) for b in buys],
        })
    return rows


def _vero_explanation(request: CollectiveRequest) -> str:
    names = ", ".join(c.holder.party.name for c in request.claims)
    return (f"The items are counterfeit products bearing the registered trademarks of {names}; they were not made "
            "by or with the authorisation of these rights owners.")[:VERO_TEXT_MAX]


def draft(request: CollectiveRequest) -> CollectiveDraft:
    """The collective notice's text, or DraftError with every problem."""
    found = problems(request)
    if found:
        raise DraftError(found)
    spec = request.template
    zh = spec.name in CHINESE_FORMS
    sections: list[dict[str, Any]] = []
    start = 1
    for claim in request.claims:
        party = claim.holder.party
        sections.append({
            "brand": claim.holder.brand, "party": party, "party_lines": party_lines(party, GROUND),
            "rights_lines": rights_lines(party, GROUND, claim.listings),
            "rows": _rows(claim, request, zh, start),
            "orders": [b.order_number for f in claim.listings for b in request.test_buys.get(f.listing_id, ())],
        })
        start += len(claim.listings)
    body = render_file(TEMPLATE_FILE, {
        "zh": zh, "form": spec.label, "template": spec.name, "statement": STATEMENT_OF.get(spec.name, "dsa"),
        "marketplace": request.marketplace, "today": request.today.isoformat(),
        "seller": request.seller.describe(), "holders": sections,
    })
    holders = [{"brand": c.holder.brand, "party": c.holder.party.to_dict(),
                "listing_ids": [f.listing_id for f in c.listings],
                "finding_ids": [f.finding_id for f in c.listings]} for c in request.claims]
    context: dict[str, Any] = {
        "template": spec.name, "ground": GROUND.value, "marketplace": request.marketplace,
        "drafted_on": request.today.isoformat(),
        # `party` is the first holder, for readers of a single party; `holders` says whose each listing is.
        "party": request.claims[0].holder.party.to_dict(),
        "collective": {"seller": request.seller.describe(), "holders": holders},
        "rights": [line for section in sections for line in section["rights_lines"]],
        # eBay's VeRO fields (tables.py): reason 1.1, one explanation for the whole report, no single brand.
        "reason_code": VERO_REASON_CODES[GROUND] if spec.name == "ebay_vero" else "",
        "explanation": _vero_explanation(request) if spec.name == "ebay_vero" else "",
        "brand": "",
    }
    listings = tuple(f for claim in request.claims for f in claim.listings)
    return CollectiveDraft(
        template=spec.name, marketplace=request.marketplace, listings=listings,
        holder_of={f.listing_id: c.holder.brand for c in request.claims for f in c.listings},
        body=body, warnings=tuple(warnings_for(request)), context=context,
    )
