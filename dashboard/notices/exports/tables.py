"""A notice's listings as a bulk form (CSV / XLSX) in the layout its marketplace's form or API expects.

Written through core/export.py, so a title or seller beginning with =, +, -, @ ... is a text cell, never a
formula; prices stay numbers. Seller contact details are left out unless redaction is switched off.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from decimal import Decimal

from core.export import Cell, write_csv, write_xlsx
from dashboard.notices.model import PRICELESS_GROUNDS, Ground, ListingFacts
from dashboard.notices.registry import TEMPLATES, VERO_TEXT_MAX
from dashboard.notices.store import NoticeDocument

Row = list[Cell]


def _seller(listing: ListingFacts) -> str:
    return listing.seller_name or ""


def _orders(doc: NoticeDocument, listing: ListingFacts) -> str:
    return "; ".join(b.order_number for b in doc.test_buys.get(listing.listing_id, []))


def _price(doc: NoticeDocument, listing: ListingFacts) -> Decimal | None:
    return None if doc.ground in PRICELESS_GROUNDS else listing.price


def _registrations(doc: NoticeDocument, listing: ListingFacts) -> str:
    """The registrations a listing is claimed under (on a collective notice, its own rights holder's)."""
    if doc.ground is Ground.COPYRIGHT_IMAGE or doc.ground is Ground.DIVERSION:
        return ""
    return "; ".join(f"{t.jurisdiction} {t.number}" for p in doc.parties_of(listing) for t in p.trademarks)


def _reasons(doc: NoticeDocument, listing: ListingFacts) -> str:
    if doc.ground in PRICELESS_GROUNDS:
        return ""  # the report's own statements carry it; finding reasons may cite prices
    return "; ".join(r for r in listing.reasons if not r.startswith("not known"))


def _china(doc: NoticeDocument) -> tuple[list[str], list[Row]]:
    kind = {
        Ground.COUNTERFEIT: "假冒商品（商标）/ Counterfeit (trademark)",
        Ground.COPYRIGHT_IMAGE: "盗用图片（著作权）/ Image theft (copyright)",
    }.get(doc.ground, doc.ground.value)
    header = ["序号 No.", "商品链接 Listing URL", "商品ID Item ID", "标题 Title", "店铺 Seller", "店铺ID Seller ID",
              "价格 Price", "币种 Currency", "投诉类型 Type", "权利 Registration", "试买订单 Test-buy orders",
              "理由 Reasons"]
    rows: list[Row] = [
        [n, f.url, f.external_id, f.title, _seller(f), f.seller_id, _price(doc, f), f.currency, kind,
         _registrations(doc, f), _orders(doc, f), _reasons(doc, f)]
        for n, f in enumerate(doc.listings, start=1)
    ]
    return header, rows


def _ebay(doc: NoticeDocument) -> tuple[list[str], list[Row]]:
    # Field names of the VeRO API's ReportItemDetails, so the sheet maps straight onto createVeroReport.
    header = ["itemId", "veroReasonCodeId", "messageToSeller", "detailedMessage", "countries", "brand", "url",
              "title", "seller"]
    message = str(doc.context.get("explanation") or "")[:VERO_TEXT_MAX]
    rows: list[Row] = [
        [f.external_id, doc.context.get("reason_code"), message, _reasons(doc, f)[:VERO_TEXT_MAX] or message,
         ";".join(doc.context.get("countries") or []), doc.context.get("brand"), f.url, f.title, _seller(f)]
        for f in doc.listings
    ]
    return header, rows


def _amazon(doc: NoticeDocument) -> tuple[list[str], list[Row]]:
    ip_type = "Copyright" if doc.ground is Ground.COPYRIGHT_IMAGE else "Trademark"
    nature = "Image on the detail page" if doc.ground is Ground.COPYRIGHT_IMAGE else "Counterfeit product"
    header = ["ASIN or URL", "Listing URL", "Seller", "Seller ID", "IP type", "Registration number",
              "Nature of infringement", "Test-buy order IDs", "Title", "Price", "Currency"]
    rows: list[Row] = [
        [f.external_id, f.url, _seller(f), f.seller_id, ip_type, _registrations(doc, f), nature, _orders(doc, f),
         f.title, _price(doc, f), f.currency]
        for f in doc.listings
    ]
    return header, rows


def _generic(doc: NoticeDocument) -> tuple[list[str], list[Row]]:
    header = ["No.", "Marketplace", "Item ID", "URL", "Title", "Seller", "Seller ID", "Price", "Currency",
              "Ships from", "Verdict", "Ground", "Reasons", "Test-buy orders", "Removed"]
    rows: list[Row] = [
        [n, f.marketplace, f.external_id, f.url, f.title, _seller(f), f.seller_id, _price(doc, f), f.currency,
         f.ship_from, f.verdict.value, doc.ground.value, _reasons(doc, f), _orders(doc, f),
         "yes" if f.listing_id in doc.gone else "no"]
        for n, f in enumerate(doc.listings, start=1)
    ]
    return header, rows


LAYOUTS: dict[str, Callable[[NoticeDocument], tuple[list[str], list[Row]]]] = {
    "alibaba": _china,
    "china": _china,
    "ebay": _ebay,
    "amazon": _amazon,
    "generic": _generic,
}


def bulk_form(doc: NoticeDocument, *, redacted: bool) -> tuple[list[str], list[Row]]:
    spec = TEMPLATES.get(doc.template)
    header, rows = LAYOUTS[spec.bulk if spec else "generic"](doc)
    if doc.collective:  # whose complaint each row is, with its registrations (the generic and eBay layouts have none)
        header = [*header, "Rights holder", "Rights holder's registrations"]
        rows = [[*row, "; ".join(p.name for p in doc.parties_of(f)), _registrations(doc, f)]
                for row, f in zip(rows, doc.listings, strict=True)]
    if not redacted:
        header = [*header, "Seller location (as written)", "Seller contact"]
        rows = [
            [*row, f.seller_location, "; ".join(f"{k}: {v}" for k, v in sorted(f.seller_contact.items()))]
            for row, f in zip(rows, doc.listings, strict=True)
        ]
    return header, rows


def notice_csv(doc: NoticeDocument, *, redacted: bool) -> bytes:
    header, rows = bulk_form(doc, redacted=redacted)
    buffer = io.StringIO(newline="")
    write_csv(rows, header, buffer)
    return buffer.getvalue().encode("utf-8-sig")  # the BOM makes Excel read the Chinese text as UTF-8


def notice_xlsx(doc: NoticeDocument, *, redacted: bool) -> bytes:
    header, rows = bulk_form(doc, redacted=redacted)
    buffer = io.BytesIO()
    write_xlsx(rows, header, buffer, sheet=f"notice {doc.id}")
    return buffer.getvalue()
