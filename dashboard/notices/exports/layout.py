"""One layout of a notice document, rendered by both the PDF and the DOCX writer.

The document: a cover block (status, ground, form, who drafted it), the internal checks to weigh before filing,
the notice text itself, then annexes: the listings, and the test-buy report with photos of what arrived.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from dashboard.notices.model import GROUND_LABELS, PRICELESS_GROUNDS
from dashboard.notices.registry import TEMPLATES
from dashboard.notices.store import NoticeDocument

INTERNAL_HEADING = "Before filing: internal checks (remove this section before sending)"


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 1


@dataclass(frozen=True)
class Paragraph:
    text: str
    emphasis: bool = False


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]
    alert: bool = False  # drawn as a boxed warning


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    widths: tuple[float, ...]  # relative


@dataclass(frozen=True)
class Photos:
    images: tuple[bytes, ...]
    caption: str = ""


Block = Heading | Paragraph | Bullets | Table | Photos


@dataclass(frozen=True)
class Layout:
    title: str
    blocks: list[Block] = field(default_factory=list)


def _date(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value is not None else ""


def listing_table(doc: NoticeDocument, *, redacted: bool) -> Table:
    show_price = doc.ground not in PRICELESS_GROUNDS
    header = ["#", "Item ID", "Seller", "Ships from"]
    widths = [0.4, 1.8, 2.4, 1.4]
    if show_price:
        header.append("Price")
        widths.append(1.5)
    header += ["Listing URL", "Gone"]
    widths += [4.2, 0.9]
    if doc.collective:
        header.append("Rights holder")
        widths.append(2.2)
    if not redacted:
        header += ["Seller location", "Seller contact"]
        widths += [1.9, 2.6]
    rows = []
    for n, listing in enumerate(doc.listings, start=1):
        seller = listing.seller_name or "not shown"
        if listing.seller_id and listing.seller_id != listing.seller_name:
            seller = f"{seller} ({listing.seller_id})"
        row = [str(n), listing.external_id, seller, listing.ship_from or ""]
        if show_price:
            row.append("" if listing.price is None else f"{listing.price:,.2f} {listing.currency or ''}".strip())
        row += [listing.url, "yes" if listing.listing_id in doc.gone else "no"]
        if doc.collective:
            row.append("; ".join(p.name for p in doc.parties_of(listing)))
        if not redacted:
            row += [
                listing.seller_location or "",
                "; ".join(f"{k}: {v}" for k, v in sorted(listing.seller_contact.items())),
            ]
        rows.append(tuple(row))
    return Table(header=tuple(header), rows=tuple(rows), widths=tuple(widths))


def purchase_blocks(doc: NoticeDocument, *, with_price: bool) -> list[Block]:
    blocks: list[Block] = []
    position = {f.listing_id: n for n, f in enumerate(doc.listings, start=1)}
    for listing in doc.listings:
        for buy in doc.test_buys.get(listing.listing_id, []):
            blocks.append(Heading(f"Test buy {buy.id}: listing {position[listing.listing_id]} "
                                  f"(item {listing.external_id})", level=3))
            lines = [
                f"Order number: {buy.order_number}",
                f"Ordered on: {buy.ordered_on.isoformat()}",
            ]
            if with_price:
                lines.append(f"Price paid: {buy.price_paid:,.2f} {buy.currency}")
            lines += [
                f"Code read from the unit: {buy.code_read or 'none'}",
                f"Code traced to distributor: {buy.distributor or 'not traced'}",
                f"Result of the examination: {buy.result.value}",
                f"Recorded by: {buy.recorded_by}",
            ]
            if buy.note:
                lines.append(f"Notes: {buy.note}")
            blocks.append(Bullets(tuple(lines)))
            if buy.photos:
                blocks.append(Photos(buy.photos, caption=f"What arrived (test buy {buy.id})"))
    return blocks


def notice_layout(doc: NoticeDocument, *, redacted: bool) -> Layout:
    spec = TEMPLATES.get(doc.template)
    cover = [
        f"Status: {doc.status.value}",
        f"Ground: {GROUND_LABELS[doc.ground]}",
        f"Form: {spec.label if spec else doc.template}",
        f"Marketplace: {doc.marketplace}",
        f"Drafted by {doc.created_by} on {_date(doc.created_at)}",
    ]
    if doc.parts > 1:
        cover.append(f"Request {doc.part} of {doc.parts} of one draft (the form's link limit)")
    if doc.collective:
        names = [p.name for p in doc.holders]
        cover.append(f"Collective complaint for {len(names)} rights holders: {'; '.join(names)}")
    if doc.filed_at:
        cover.append(f"Filed on {_date(doc.filed_at)}, reference {doc.reference or '—'}")
    if doc.closed_at:
        cover.append(f"Closed ({doc.status.value}) on {_date(doc.closed_at)}")
    if doc.listings:
        cover.append(f"Listings removed so far (by the crawls): {len(doc.gone)} of {len(doc.listings)}")
    blocks: list[Block] = [Bullets(tuple(cover))]
    if doc.warnings:
        blocks += [Heading(INTERNAL_HEADING, level=2), Bullets(tuple(doc.warnings), alert=True)]
    blocks += [Heading("Notice", level=2), *[Paragraph(p) for p in _paragraphs(doc.body)]]
    blocks += [Heading("Annex A: listings", level=2), listing_table(doc, redacted=redacted)]
    buys = purchase_blocks(doc, with_price=doc.ground not in PRICELESS_GROUNDS)
    if buys:
        blocks += [Heading("Annex B: test-buy report", level=2), *buys]
    return Layout(title=doc.title, blocks=blocks)


def _paragraphs(body: str) -> Sequence[str]:
    return [p for p in body.split("\n\n") if p.strip()]
