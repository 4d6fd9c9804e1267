"""What a notice is made of, as plain values: the grounds, the parties, the listings and the test buys.

Everything here round-trips through JSON (Notice.context, NoticeListing.snapshot), so an exported notice says what
was drafted even after the configuration or the listing changed. Money stays Decimal (strings in JSON).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from core.config import RightsHolder
from core.models import TestBuyResult, Verdict
from core.money import to_decimal
from core.text import NAME_MAX, TITLE_MAX, clean_line, clean_text


class Ground(enum.StrEnum):
    """What a notice asserts. Only the first two are intellectual-property grounds."""

    COUNTERFEIT = "counterfeit"  # trademark: the goods themselves are counterfeit
    COPYRIGHT_IMAGE = "copyright_image"  # copyright: the listing copies the brand's own photographs
    DIVERSION = "diversion"  # distribution contract and the platform's own rules: not an IP infringement
    UNLAWFUL_IMPORTATION = "unlawful_importation"  # eBay VeRO 9037: grey-market goods, by destination country


GROUND_LABELS: dict[Ground, str] = {
    Ground.COUNTERFEIT: "Counterfeit goods (trademark)",
    Ground.COPYRIGHT_IMAGE: "Copied product photos (copyright)",
    Ground.DIVERSION: "Channel diversion (distribution contract / platform policy, not IP)",
    Ground.UNLAWFUL_IMPORTATION: "Unlawful importation (eBay VeRO 9037)",
}

# The verdicts each ground may rest on. Diversion is never drafted as an IP infringement: genuine goods resold
# off-channel are, in most places, lawful to resell (first sale / exhaustion); the remedy is the contract.
GROUND_VERDICTS: dict[Ground, frozenset[Verdict]] = {
    Ground.COUNTERFEIT: frozenset({Verdict.COUNTERFEIT}),
    Ground.COPYRIGHT_IMAGE: frozenset({Verdict.COUNTERFEIT}),
    Ground.DIVERSION: frozenset({Verdict.DIVERSION, Verdict.PRICE_FLOOR_BREACH}),
    Ground.UNLAWFUL_IMPORTATION: frozenset({Verdict.DIVERSION}),
}
IP_GROUNDS = frozenset({Ground.COUNTERFEIT, Ground.COPYRIGHT_IMAGE, Ground.UNLAWFUL_IMPORTATION})
# Grounds whose notices never state a price: a diversion complaint that cites prices reads as enforcing a minimum
# resale price, which is unlawful in China and the EU.
PRICELESS_GROUNDS = frozenset({Ground.DIVERSION, Ground.UNLAWFUL_IMPORTATION})

# Evidence a finding can rest on besides its price (see drafting.evidence_basis).
COUNTERFEIT_EVIDENCE = frozenset({"counterfeit_tells", "photo_not_brands", "test_buy_counterfeit"})
DIVERSION_EVIDENCE = frozenset(
    {"out_of_region", "unauthorised_seller", "diversion_tells", "test_buy_traced", "test_buy_genuine"}
)


def _opt(value: Any, limit: int = NAME_MAX) -> str | None:
    text = clean_line(value, limit) if value is not None else ""
    return text or None


@dataclass(frozen=True)
class TrademarkRef:
    number: str
    jurisdiction: str
    mark: str | None = None
    classes: tuple[int, ...] = ()
    registry_url: str | None = None

    def describe(self) -> str:
        mark = f"{self.mark}, " if self.mark else ""
        classes = f", class {', '.join(str(c) for c in self.classes)}" if self.classes else ""
        return f"{mark}{self.jurisdiction} registration no. {self.number}{classes}"


@dataclass(frozen=True)
class WorkRef:
    title: str
    description: str | None = None
    registration: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Party:
    """The rights holder (and the agent filing for it), as the notice states them."""

    name: str
    email: str | None = None
    address: str | None = None
    phone: str | None = None
    website: str | None = None
    signatory: str | None = None
    signatory_title: str | None = None
    agent: str | None = None
    trademarks: tuple[TrademarkRef, ...] = ()
    works: tuple[WorkRef, ...] = ()

    @classmethod
    def from_config(cls, holder: RightsHolder) -> Party:
        return cls(
            name=clean_line(holder.name, NAME_MAX),
            email=_opt(holder.email),
            address=_opt(holder.address, 500),
            phone=_opt(holder.phone),
            website=_opt(holder.website, 500),
            signatory=_opt(holder.signatory),
            signatory_title=_opt(holder.signatory_title),
            agent=_opt(holder.agent),
            trademarks=tuple(
                TrademarkRef(
                    number=t.number,
                    jurisdiction=t.jurisdiction,
                    mark=t.mark,
                    classes=tuple(t.classes),
                    registry_url=t.registry_url,
                )
                for t in holder.trademarks
            ),
            works=tuple(
                WorkRef(title=w.title, description=w.description, registration=w.registration, url=w.url)
                for w in holder.copyright_works
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "email": self.email,
            "address": self.address,
            "phone": self.phone,
            "website": self.website,
            "signatory": self.signatory,
            "signatory_title": self.signatory_title,
            "agent": self.agent,
            "trademarks": [
                {"number": t.number, "jurisdiction": t.jurisdiction, "mark": t.mark, "classes": list(t.classes),
                 "registry_url": t.registry_url}
                for t in self.trademarks
            ],
            "works": [
                {"title": w.title, "description": w.description, "registration": w.registration, "url": w.url}
                for w in self.works
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Party:
        return cls(
            name=str(data.get("name") or ""),
            email=data.get("email"),
            address=data.get("address"),
            phone=data.get("phone"),
            website=data.get("website"),
            signatory=data.get("signatory"),
            signatory_title=data.get("signatory_title"),
            agent=data.get("agent"),
            trademarks=tuple(
                TrademarkRef(
                    number=str(t.get("number", "")),
                    jurisdiction=str(t.get("jurisdiction", "")),
                    mark=t.get("mark"),
                    classes=tuple(int(c) for c in t.get("classes") or []),
                    registry_url=t.get("registry_url"),
                )
                for t in data.get("trademarks") or []
            ),
            works=tuple(
                WorkRef(title=str(w.get("title", "")), description=w.get("description"),
                        registration=w.get("registration"), url=w.get("url"))
                for w in data.get("works") or []
            ),
        )

    @property
    def signer(self) -> str:
        return self.signatory or self.name


@dataclass(frozen=True)
class ListingFacts:
    """One listing of a notice. Scraped fields (title, seller, URL, location, contact) are data, never markup."""

    listing_id: int
    finding_id: int | None
    marketplace: str
    external_id: str
    url: str
    title: str
    verdict: Verdict
    score: float
    seller_name: str | None = None
    seller_id: str | None = None
    seller_location: str | None = None  # as written: personal data, redacted in exports by default
    seller_contact: dict[str, str] = field(default_factory=dict)  # personal data, likewise
    price: Decimal | None = None
    currency: str | None = None
    country: str | None = None  # ISO 3166 ship-from, derived
    region: str | None = None
    reasons: tuple[str, ...] = ()
    evidence: frozenset[str] = frozenset()  # non-price evidence names, see model.*_EVIDENCE
    reference_id: str | None = None  # ref_id of the matched reference photo
    image_distance: int | None = None
    product_sku: str | None = None
    product_name: str | None = None

    @property
    def ship_from(self) -> str | None:
        return self.region or self.country

    def to_snapshot(self) -> dict[str, Any]:
        return {
            "listing_id": self.listing_id,
            "finding_id": self.finding_id,
            "marketplace": self.marketplace,
            "external_id": self.external_id,
            "url": self.url,
            "title": self.title,
            "verdict": self.verdict.value,
            "score": self.score,
            "seller_name": self.seller_name,
            "seller_id": self.seller_id,
            "price": None if self.price is None else str(self.price),
            "currency": self.currency,
            "country": self.country,
            "region": self.region,
            "reasons": list(self.reasons),
            "evidence": sorted(self.evidence),
            "reference_id": self.reference_id,
            "image_distance": self.image_distance,
            "product_sku": self.product_sku,
            "product_name": self.product_name,
        }

    @classmethod
    def from_snapshot(cls, data: dict[str, Any], *, seller_location: str | None = None,
                      seller_contact: dict[str, str] | None = None) -> ListingFacts:
        """Facts as drafted; the personal fields come live from the database (they may have been purged)."""
        return cls(
            listing_id=int(data["listing_id"]),
            finding_id=data.get("finding_id"),
            marketplace=str(data.get("marketplace", "")),
            external_id=str(data.get("external_id", "")),
            url=str(data.get("url", "")),
            title=str(data.get("title", "")),
            verdict=Verdict(data.get("verdict", Verdict.COUNTERFEIT.value)),
            score=float(data.get("score") or 0.0),
            seller_name=data.get("seller_name"),
            seller_id=data.get("seller_id"),
            seller_location=seller_location,
            seller_contact=dict(seller_contact or {}),
            price=to_decimal(data.get("price")),
            currency=data.get("currency"),
            country=data.get("country"),
            region=data.get("region"),
            reasons=tuple(str(r) for r in data.get("reasons") or []),
            evidence=frozenset(str(e) for e in data.get("evidence") or []),
            reference_id=data.get("reference_id"),
            image_distance=data.get("image_distance"),
            product_sku=data.get("product_sku"),
            product_name=data.get("product_name"),
        )


@dataclass(frozen=True)
class TestBuyFacts:
    """A test buy as a notice's report shows it."""

    __test__ = False  # not a pytest test class, despite the name

    id: int
    listing_id: int
    order_number: str
    ordered_on: date
    price_paid: Decimal
    currency: str
    result: TestBuyResult
    code_read: str | None = None
    distributor: str | None = None
    note: str | None = None
    recorded_by: str = ""
    photos: tuple[bytes, ...] = ()  # stored JPEG bytes (already decoded and re-encoded safely)
    photo_sha256: tuple[str, ...] = ()

    def summary(self) -> str:
        code = f"; code read {self.code_read}" if self.code_read else ""
        traced = f", shipped to {self.distributor}" if self.distributor else ""
        return (
            f"Order {self.order_number} on {self.ordered_on.isoformat()}, paid {self.price_paid:,.2f} "
            f"{self.currency}; result: {self.result.value}{code}{traced}"
        )


def clean_title(value: Any) -> str:
    return clean_line(value, TITLE_MAX)


def clean_note(value: Any, limit: int = 4000) -> str | None:
    text = clean_text(value, limit)
    return text or None
