"""The evidence bundle: one ZIP with the notice, each listing's captured pages and photos, the test buys, and a
manifest of SHA-256 sums (JSON, and `sha256sum -c` text) that lets anyone check nothing was altered.

Captured HTML is stored gzip'd; the bundle holds it decompressed, so each capture's file hash equals the address
it was stored under. File names are built from our own ids only, never from scraped text. Sizes are bounded: a
capture larger than the per-file cap, or one that would take the bundle past its total cap, is left out and the
manifest says so.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO

from sqlalchemy import select

from core.db import Database
from core.images import sniff_media_type
from core.models import Finding, ListingImage, ListingSnapshot, ReferenceImage, as_utc
from dashboard.data.evidence import EVIDENCE_MAX_BYTES, EvidenceContent, evidence_content
from dashboard.notices.model import PRICELESS_GROUNDS, TestBuyFacts
from dashboard.notices.store import NoticeDocument

MAX_TOTAL_BYTES = 256 * 1024 * 1024
FetchEvidence = Callable[[str], EvidenceContent | None]
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True)
class Capture:
    sha256: str
    kind: str  # html | screenshot
    captured_at: datetime


@dataclass(frozen=True)
class ListingMedia:
    thumbnail: bytes | None = None  # the stored thumbnail of the listing's (matched) photo
    reference_id: str | None = None
    reference_thumbnail: bytes | None = None
    captures: tuple[Capture, ...] = ()


@dataclass
class Manifest:
    notice_id: int
    files: list[dict[str, Any]] = field(default_factory=list)
    omitted: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0



def load_media(db: Database, doc: NoticeDocument) -> dict[int, ListingMedia]:
    """Per listing: its photo and the matched reference photo (stored bytes only), and the captures of the newest
    snapshot taken no later than the drafting (else the newest one), which is what the notice rests on."""
    out: dict[int, ListingMedia] = {}
    with db.read() as session:
        for listing in doc.listings:
            finding = session.get(Finding, listing.finding_id) if listing.finding_id is not None else None
            thumb = None
            if finding is not None and finding.matched_image_id is not None:
                thumb = session.scalar(select(ListingImage.thumbnail).where(
                    ListingImage.id == finding.matched_image_id, ListingImage.listing_id == listing.listing_id))
            if thumb is None:
                thumb = session.scalar(
                    select(ListingImage.thumbnail)
                    .where(ListingImage.listing_id == listing.listing_id, ListingImage.thumbnail.is_not(None))
                    .order_by(ListingImage.position, ListingImage.id).limit(1))
            reference = (session.get(ReferenceImage, finding.matched_reference_id)
                         if finding is not None and finding.matched_reference_id is not None else None)
            snapshots = list(session.scalars(
                select(ListingSnapshot)
                .where(ListingSnapshot.listing_id == listing.listing_id,
                       (ListingSnapshot.html_sha256.is_not(None)) | (ListingSnapshot.screenshot_sha256.is_not(None)))
                .order_by(ListingSnapshot.captured_at.desc(), ListingSnapshot.id.desc()).limit(50)))
            chosen = next((s for s in snapshots if as_utc(s.captured_at) <= doc.created_at), None) or (
                snapshots[0] if snapshots else None)
            captures: list[Capture] = []
            if chosen is not None:
                for sha, kind in ((chosen.html_sha256, "html"), (chosen.screenshot_sha256, "screenshot")):
                    if sha:
                        captures.append(Capture(sha, kind, as_utc(chosen.captured_at)))
            out[listing.listing_id] = ListingMedia(
                thumbnail=thumb,
                reference_id=reference.ref_id if reference is not None else None,
                reference_thumbnail=reference.thumbnail if reference is not None else None,
                captures=tuple(captures),
            )
    return out


_SUFFIXES = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp"}


def _image_suffix(data: bytes) -> str:
    return _SUFFIXES.get(sniff_media_type(data) or "", ".bin")


class _Writer:
    def __init__(self, archive: zipfile.ZipFile, manifest: Manifest, max_total: int):
        self.archive, self.manifest, self.max_total = archive, manifest, max_total

    def add(self, path: str, data: bytes, **meta: Any) -> bool:
        if self.manifest.total + len(data) > self.max_total:
            self.manifest.omitted.append({"path": path, "bytes": len(data),
                                          "reason": f"the bundle would pass its {self.max_total}-byte cap"})
            return False
        self.archive.writestr(path, data)
        self.manifest.total += len(data)
        self.manifest.files.append({"path": path, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
                                    **meta})
        return True


def write_bundle(
    doc: NoticeDocument,
    media: dict[int, ListingMedia],
    fetch: FetchEvidence,
    out: BinaryIO,
    *,
    notice_pdf: bytes,
    listings_csv: bytes,
    redacted: bool,
    max_total_bytes: int = MAX_TOTAL_BYTES,
    now: datetime | None = None,
) -> Manifest:
    """Write the bundle to `out` and return its manifest."""
    manifest = Manifest(notice_id=doc.id)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        put = _Writer(archive, manifest, max_total_bytes)
        put.add("README.txt", _readme(doc).encode("utf-8"), kind="readme")
        put.add("notice.txt", doc.body.encode("utf-8"), kind="notice-text")
        put.add("notice.pdf", notice_pdf, kind="notice-pdf")
        put.add("listings.csv", listings_csv, kind="bulk-form")
        if doc.warnings:
            put.add("internal-checks.txt", ("\n\n".join(doc.warnings) + "\n").encode("utf-8"), kind="warnings")
        for n, listing in enumerate(doc.listings, start=1):
            folder = f"listings/{n:03d}-listing-{listing.listing_id}"
            item = media.get(listing.listing_id, ListingMedia())
            facts = listing.to_snapshot()
            if not redacted:
                facts["seller_location"] = listing.seller_location
                facts["seller_contact"] = listing.seller_contact
            facts["removed"] = listing.listing_id in doc.gone
            put.add(f"{folder}/listing.json",
                    json.dumps(facts, ensure_ascii=False, indent=2).encode("utf-8"), kind="listing",
                    listing_id=listing.listing_id)
            if item.thumbnail:
                put.add(f"{folder}/listing-photo{_image_suffix(item.thumbnail)}", item.thumbnail,
                        kind="listing-photo", listing_id=listing.listing_id)
            if item.reference_thumbnail:
                ref = _SAFE.sub("_", item.reference_id or "reference")[:64]
                put.add(f"{folder}/reference-{ref}{_image_suffix(item.reference_thumbnail)}",
                        item.reference_thumbnail, kind="reference-photo", listing_id=listing.listing_id,
                        reference_id=item.reference_id)
            for capture in item.captures:
                _add_capture(put, fetch, folder, capture, listing.listing_id)
        for listing in doc.listings:
            for buy in doc.test_buys.get(listing.listing_id, []):
                folder = f"test-buys/test-buy-{buy.id}"
                put.add(f"{folder}/report.txt", _buy_report(buy, doc).encode("utf-8"), kind="test-buy-report",
                        listing_id=listing.listing_id, test_buy_id=buy.id)
                for i, photo in enumerate(buy.photos, start=1):
                    put.add(f"{folder}/photo-{i}{_image_suffix(photo)}", photo, kind="test-buy-photo",
                            test_buy_id=buy.id)
        generated = (now or datetime.now(UTC)).isoformat()
        body = {
            "notice_id": doc.id,
            "generated_at": generated,
            "generator": "BrandPatrol",
            "algorithm": "SHA-256",
            "redacted": redacted,
            "files": manifest.files,
            "omitted": manifest.omitted,
        }
        manifest_json = json.dumps(body, ensure_ascii=False, indent=2).encode("utf-8")
        archive.writestr("manifest.json", manifest_json)
        lines = [f"{f['sha256']}  {f['path']}" for f in manifest.files]
        lines.append(f"{hashlib.sha256(manifest_json).hexdigest()}  manifest.json")
        archive.writestr("manifest.txt", "\n".join(lines) + "\n")
    return manifest


def _add_capture(put: _Writer, fetch: FetchEvidence, folder: str, capture: Capture, listing_id: int) -> None:
    content = fetch(capture.sha256)
    suffix = ".html" if capture.kind == "html" else _image_suffix(content.data) if content is not None else ".bin"
    path = f"{folder}/evidence/{capture.kind}-{capture.sha256[:16]}{suffix}"
    if content is None:
        put.manifest.omitted.append({"path": path, "reason": "the capture is no longer in the database"})
        return
    if content.truncated:
        put.manifest.omitted.append({"path": path, "reason": f"larger than the {EVIDENCE_MAX_BYTES}-byte cap"})
        return
    put.add(path, content.data, kind=f"evidence-{capture.kind}", listing_id=listing_id,
            evidence_sha256=capture.sha256, captured_at=capture.captured_at.isoformat(), verified=content.verified)


def _readme(doc: NoticeDocument) -> str:
    return (
        f"Evidence bundle of BrandPatrol notice {doc.id} ({doc.marketplace}, {doc.template}, {doc.ground.value}).\n"
        "\n"
        "notice.txt / notice.pdf  the notice as drafted\n"
        "listings.csv             the listings in the marketplace's bulk-form layout\n"
        "listings/NNN-listing-ID/ each listing: listing.json, its photo, the brand's reference photo it matched,\n"
        "                         and the captured page (HTML, screenshot) the notice rests on\n"
        "test-buys/               test-buy reports and photos of what arrived\n"
        "manifest.json            SHA-256 and size of every file; a capture's hash equals its evidence address\n"
        "manifest.txt             the same sums; check them with `sha256sum -c manifest.txt`\n"
        "\n"
        "Captured HTML is saved page source, kept as evidence: do not open it in a browser you browse with.\n"
    )


def _buy_report(buy: TestBuyFacts, doc: NoticeDocument) -> str:
    lines = [
        f"Test buy {buy.id}",
        f"Listing id: {buy.listing_id}",
        f"Order number: {buy.order_number}",
        f"Ordered on: {buy.ordered_on.isoformat()}",
    ]
    if doc.ground not in PRICELESS_GROUNDS:
        lines.append(f"Price paid: {buy.price_paid:,.2f} {buy.currency}")
    lines += [
        f"Code read from the unit: {buy.code_read or 'none'}",
        f"Traced to distributor: {buy.distributor or 'not traced'}",
        f"Result: {buy.result.value}",
        f"Recorded by: {buy.recorded_by}",
    ]
    if buy.note:
        lines.append(f"Notes: {buy.note}")
    lines += [f"Photo {i}: SHA-256 {sha}" for i, sha in enumerate(buy.photo_sha256, start=1)]
    return "\n".join(lines) + "\n"


def bundle_bytes(db: Database, doc: NoticeDocument, *, notice_pdf: bytes, listings_csv: bytes, redacted: bool,
                 max_total_bytes: int = MAX_TOTAL_BYTES) -> bytes:
    buffer = io.BytesIO()
    write_bundle(doc, load_media(db, doc), lambda sha: evidence_content(db, sha), buffer, notice_pdf=notice_pdf,
                 listings_csv=listings_csv, redacted=redacted, max_total_bytes=max_total_bytes)
    return buffer.getvalue()

