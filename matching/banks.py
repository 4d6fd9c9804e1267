"""Partner banks in the database: what this brand shares (export), whom it trusts, what it took (import, accept).

The file format, keys, signing and every check of a file are core/banks.py; this module decides what goes into a
file and what a verified file changes here. What is shared: sellers with findings confirmed (the latest review
decides, core/reviews.py) as counterfeit or diversion, and the pHash/dHash of the listing photos of findings
confirmed counterfeit. Left out: the brand's own authorised and allow-listed sellers (a contract matter between
the brand and its distributors), photos that are the brand's own reference photos or its published official
photos (everyone shows those; sharing one would mark genuine listings), and every piece of seller personal data:
no contact details and no location as written, whatever privacy.redact_exports says; the ISO country a seller
ships from names no one and is kept. Reasons are counts by verdict and the names of the signals that matched,
never the finding's sentences, which quote scraped text.

A verified file changes things in one transaction: the partner's last sequence number, an import record, its
entries (new ones into QUARANTINE, known ones updated in place, revoked ones withdrawn) and an audit row. Only
entries an admin accepts (`accept_entries`) reach matching (matching/context.py, matching/signals/partner.py).
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import banks
from core.banks import BankError, BankPayload, PhotoEntry, SellerEntry, TrustedKey
from core.config import BrandConfig
from core.db import Database
from core.models import (
    AuditLog,
    BankEntry,
    BankEntryStatus,
    BankExport,
    BankImport,
    Brand,
    Finding,
    ImageStatus,
    Listing,
    ListingImage,
    Marketplace,
    Partner,
    Seller,
    Verdict,
)
from core.reviews import confirmed_finding_ids
from core.text import clean_line
from matching.context import CatalogueNotSynced, load_context
from matching.index import as_hashes
from matching.references import hash_int
from matching.signals.seller import allowed_seller, authorisation_for

SHARED_SELLER_VERDICTS = (Verdict.COUNTERFEIT, Verdict.DIVERSION)
UNINFORMATIVE_SIGNALS = frozenset({"relevance", "seller", "photo.text", "photo.codes"})
DEFAULT_VALID_DAYS = 30
NAME_MAX = 100


# --- this brand's own row ---------------------------------------------------------------------------------------

def brand_row(session: Session, config: BrandConfig) -> Brand:
    """The install's brand (its banks are keyed by it, so several brands in one install keep theirs apart)."""
    brand = session.scalar(select(Brand).where(Brand.name == config.brand.name))
    if brand is None:  # the catalogue sync fills in the rest; it finds the brand by the same name
        brand = Brand(name=config.brand.name, names=dict(config.brand.names))
        session.add(brand)
        session.flush()
    return brand


def _audit(session: Session, brand: Brand, actor: str, action: str, object_type: str, object_id: object,
           detail: dict[str, Any]) -> None:
    session.add(AuditLog(brand_id=brand.id, actor=actor, action=action, object_type=object_type,
                         object_id=str(object_id)[:60], detail=detail))


# --- export -----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ExportResult:
    path: Path
    sequence: int
    sellers: int
    photos: int
    revocations: int
    fingerprint: str
    expires_at: str


def _reasons(verdicts: Counter[str], signals: Counter[str]) -> list[str]:
    out = [f"{n} confirmed {verdict}" for verdict, n in sorted(verdicts.items())]
    if signals:
        out.append("signals: " + ", ".join(sorted(signals)))
    return out


def _matched_signals(stored: Any) -> set[str]:
    if not isinstance(stored, dict):
        return set()
    return {name for name, result in stored.items()
            if isinstance(result, dict) and result.get("outcome") == "match" and name not in UNINFORMATIVE_SIGNALS}


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _seller_entries(session: Session, brand: Brand, config: BrandConfig) -> list[SellerEntry]:
    rows = session.execute(
        select(Finding.verdict, Finding.signals, Marketplace.name, Seller.seller_key, Seller.name,
               Seller.external_id, Seller.country, Listing.country)
        .join(Listing, Listing.id == Finding.listing_id)
        .join(Marketplace, Marketplace.id == Listing.marketplace_id)
        .join(Seller, Seller.id == Listing.seller_id)
        .where(Finding.id.in_(confirmed_finding_ids()), Finding.verdict.in_(SHARED_SELLER_VERDICTS),
               Finding.brand_id == brand.id)  # only this brand's reviewers' confirmations are its to share
        .order_by(Finding.id))
    grouped: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        verdict, signals, market, key, name, external_id = (row[0], row[1], str(row[2]), str(row[3]),
                                                            _text(row[4]), _text(row[5]))
        seller_country, listing_country = _text(row[6]), _text(row[7])
        if (authorisation_for(market, name, external_id, config.authorised_sellers) is not None
                or allowed_seller(market, name, external_id, config.allow_list.sellers) is not None):
            continue
        group = grouped.setdefault((market, key), {"verdicts": Counter(), "signals": Counter(), "country": None})
        group["verdicts"][Verdict(str(verdict)).value] += 1
        group["signals"].update(_matched_signals(signals))
        group["country"] = group["country"] or seller_country or listing_country
    return [SellerEntry(id=banks.seller_entry_id(market, key), marketplace=market, seller_id=key,
                        confirmed=sum(g["verdicts"].values()), reasons=_reasons(g["verdicts"], g["signals"]),
                        country=g["country"])
            for (market, key), g in sorted(grouped.items())]


def _photo_entries(session: Session, brand: Brand, config: BrandConfig) -> list[PhotoEntry]:
    rows = session.execute(
        select(ListingImage.phash, ListingImage.dhash, ListingImage.sha256, Finding.id)
        .join(Finding, Finding.listing_id == ListingImage.listing_id)
        .where(Finding.id.in_(confirmed_finding_ids()), Finding.verdict == Verdict.COUNTERFEIT,
               Finding.brand_id == brand.id,
               ListingImage.status == ImageStatus.OK, ListingImage.phash.is_not(None),
               ListingImage.dhash.is_not(None))
        .order_by(ListingImage.id)).all()
    official = set(config.allow_list.images)
    usable = [r for r in rows if hash_int(r[0]) is not None and hash_int(r[1]) is not None and r[2] not in official]
    try:
        index = load_context(session, config).index
    except CatalogueNotSynced as exc:
        raise BankError(f"{exc} (the brand's own photos must be known so they are never shared as fakes)") from None
    own = index.matches_any(as_hashes([hash_int(r[0]) or 0 for r in usable]),
                            as_hashes([hash_int(r[1]) or 0 for r in usable]), config.thresholds.image_distance)
    findings: dict[tuple[str, str], set[int]] = defaultdict(set)
    for (phash, dhash, _, finding_id), is_own in zip(usable, own, strict=True):
        if not is_own and phash and dhash:
            findings[(phash, dhash)].add(finding_id)
    return [PhotoEntry(id=banks.photo_entry_id(phash, dhash), phash=phash, dhash=dhash, confirmed=len(ids),
                       reasons=[f"{len(ids)} confirmed counterfeit"])
            for (phash, dhash), ids in sorted(findings.items())]


def export_bank(db: Database, config: BrandConfig, key_file: Path, out: Path, *, actor: str,
                valid_days: int = DEFAULT_VALID_DAYS, sellers: bool = True, photos: bool = True,
                withhold: Sequence[str] = (), now: datetime | None = None) -> ExportResult:
    """Write this brand's signed bank file to `out`: the entries it shares now, and revocations of every entry
    an earlier export shared that it no longer shares (no longer confirmed, or withheld)."""
    if not 1 <= valid_days <= banks.MAX_VALIDITY.days:
        raise BankError(f"--valid-days {valid_days} is out of range; give 1 to {banks.MAX_VALIDITY.days}")
    if not out.parent.is_dir():
        raise BankError(f"folder {out.parent} for the bank file does not exist; create it first")
    key = banks.load_signing_key(key_file)
    fingerprint = banks.fingerprint(key.public_key())
    issued = (now or datetime.now(UTC)).replace(microsecond=0)
    with db.session() as session:
        brand = brand_row(session, config)
        other = session.scalar(select(Brand.name).join(BankExport, BankExport.brand_id == Brand.id)
                               .where(BankExport.fingerprint == fingerprint, Brand.id != brand.id).limit(1))
        if other is not None:
            raise BankError(f"key {fingerprint} already signs the bank files of brand '{other}'; each brand needs "
                            "its own key (`brandpatrol bank keygen --key-file ...`, then --key-file)")
        entries: list[SellerEntry | PhotoEntry] = []
        if sellers:
            entries.extend(_seller_entries(session, brand, config))
        if photos:
            entries.extend(_photo_entries(session, brand, config))
        withheld = set(withhold)
        entries = [e for e in entries if e.id not in withheld]
        current = {e.id for e in entries}
        earlier = session.scalars(select(BankExport).where(BankExport.brand_id == brand.id))
        shared_before = {str(i) for export in earlier for i in [*export.entry_ids, *export.revocations]}
        sequence = (session.scalar(select(func.max(BankExport.sequence))
                                   .where(BankExport.brand_id == brand.id)) or 0) + 1
        payload = BankPayload(
            issuer=banks.Issuer(name=config.brand.name, key=fingerprint), sequence=sequence,
            issued_at=banks.stamp(issued), expires_at=banks.stamp(issued + timedelta(days=valid_days)),
            entries=entries, revocations=sorted(shared_before - current))
        data = banks.sign_bank_file(payload, key)
        digest = hashlib.sha256(data).hexdigest()
        session.add(BankExport(brand_id=brand.id, sequence=sequence, fingerprint=fingerprint, issued_at=issued,
                               expires_at=payload.expires, file_sha256=digest, entry_ids=sorted(current),
                               revocations=payload.revocations, created_by=actor))
        _audit(session, brand, actor, "bank.export", "bank_export", sequence,
               {"entries": len(entries), "revocations": len(payload.revocations), "sha256": digest})
        session.flush()
        banks.write_atomically(out, data)  # last: a file that failed to write leaves no record of an export
    return ExportResult(out, sequence, sum(isinstance(e, SellerEntry) for e in entries),
                        sum(isinstance(e, PhotoEntry) for e in entries), len(payload.revocations), fingerprint,
                        payload.expires_at)


# --- trust ------------------------------------------------------------------------------------------------------

def trust_partner(db: Database, config: BrandConfig, name: str, public_key_file: Path, *, actor: str,
                  replace: bool = False) -> Partner:
    """Record a partner's public key under a name of this brand's choosing (the name its reports carry)."""
    clean = clean_line(name, NAME_MAX)
    if not clean:
        raise BankError("give the partner a name, e.g. `brandpatrol bank trust Aurora aurora.pub`")
    public = banks.read_public_key(public_key_file)
    fingerprint, raw = banks.fingerprint(public), banks.raw_public(public).hex()
    with db.session() as session:
        brand = brand_row(session, config)
        same_key = session.scalar(select(Partner).where(Partner.brand_id == brand.id,
                                                        Partner.fingerprint == fingerprint))
        if same_key is not None:
            raise BankError(f"key {fingerprint} is already trusted as partner '{same_key.name}'")
        partner = session.scalar(select(Partner).where(Partner.brand_id == brand.id, Partner.name == clean))
        if partner is not None and not replace:
            raise BankError(f"partner '{clean}' is already trusted with key {partner.fingerprint}; if they made a "
                            "new key, pass --replace (their last sequence number is kept)")
        if partner is None:
            partner = Partner(brand_id=brand.id, name=clean, last_sequence=0, trusted_by=actor)
            session.add(partner)
        partner.fingerprint, partner.public_key, partner.trusted_at = fingerprint, raw, datetime.now(UTC)
        session.flush()
        _audit(session, brand, actor, "bank.trust", "partner", partner.id, {"name": clean, "fingerprint": fingerprint,
                                                                     "replaced": replace})
    return partner


# --- import -----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ImportResult:
    partner: str
    sequence: int
    entries: int
    added: int  # new entries, in quarantine
    updated: int
    revoked: int
    quarantined: int  # entries of this partner waiting for an admin now


def _entry_values(entry: SellerEntry | PhotoEntry) -> dict[str, Any]:
    values: dict[str, Any] = {"kind": entry.kind, "confirmed": entry.confirmed,
                              "reasons": [clean_line(r, 200) for r in entry.reasons]}
    if isinstance(entry, SellerEntry):
        values.update(marketplace=entry.marketplace, seller_id=entry.seller_id, country=entry.country)
    else:
        values.update(phash=entry.phash, dhash=entry.dhash)
    return values


def import_bank(db: Database, config: BrandConfig, data: bytes, *, actor: str, max_bytes: int,
                now: datetime | None = None) -> ImportResult:
    """Verify a partner's bank file (core.banks.verify_bank_file) and take it in; a refused file changes nothing."""
    now = now or datetime.now(UTC)
    with db.session() as session:
        brand = brand_row(session, config)
        partners = {p.fingerprint: p for p in session.scalars(select(Partner).where(Partner.brand_id == brand.id))}
        trusted = {fp: TrustedKey(p.name, bytes.fromhex(p.public_key), p.last_sequence) for fp, p in partners.items()}
        key, payload = banks.verify_bank_file(data, trusted, now=now, max_bytes=max_bytes)
        partner = partners[payload.issuer.key]
        partner.last_sequence = payload.sequence
        record = BankImport(partner_id=partner.id, sequence=payload.sequence,
                            issuer_name=clean_line(payload.issuer.name, 200), issued_at=payload.issued,
                            expires_at=payload.expires, file_sha256=hashlib.sha256(data).hexdigest(),
                            entries=len(payload.entries), imported_by=actor, imported_at=now)
        session.add(record)
        session.flush()
        known = {e.entry_id: e for e in session.scalars(select(BankEntry).where(BankEntry.partner_id == partner.id))}
        added = updated = revoked = 0
        for entry in payload.entries:
            row = known.get(entry.id)
            if row is None:
                session.add(BankEntry(partner_id=partner.id, entry_id=entry.id, import_id=record.id,
                                      status=BankEntryStatus.QUARANTINED, **_entry_values(entry)))
                added += 1
                continue
            for column, value in _entry_values(entry).items():
                setattr(row, column, value)
            row.import_id = record.id
            if row.status is BankEntryStatus.REVOKED:  # shared again after a revocation: an admin looks again
                row.status, row.revoked_at, row.accepted_by, row.accepted_at = (
                    BankEntryStatus.QUARANTINED, None, None, None)
                added += 1
            else:
                updated += 1
        for entry_id in payload.revocations:
            row = known.get(entry_id)
            if row is not None and row.status is not BankEntryStatus.REVOKED:
                row.status, row.revoked_at, row.import_id = BankEntryStatus.REVOKED, now, record.id
                revoked += 1
        record.added, record.revoked = added, revoked
        session.flush()
        quarantined = session.scalar(select(func.count()).select_from(BankEntry).where(
            BankEntry.partner_id == partner.id, BankEntry.status == BankEntryStatus.QUARANTINED)) or 0
        _audit(session, brand, actor, "bank.import", "bank_import", record.id,
               {"partner": key.name, "sequence": payload.sequence, "added": added, "updated": updated,
                "revoked": revoked})
    return ImportResult(key.name, payload.sequence, len(payload.entries), added, updated, revoked, quarantined)


# --- quarantine -------------------------------------------------------------------------------------------------

def accept_entries(db: Database, config: BrandConfig, entry_ids: Sequence[str] = (), *, accept_all: bool = False,
                   partner: str | None = None, actor: str) -> int:
    """Take quarantined entries into use: these entry ids (of any partner, or of `partner`), or all of them."""
    if bool(entry_ids) == accept_all:
        raise BankError("name the entries to accept (ids from `brandpatrol bank list`) or pass --all")
    with db.session() as session:
        brand = brand_row(session, config)
        query = (select(BankEntry).join(Partner, Partner.id == BankEntry.partner_id)
                 .where(Partner.brand_id == brand.id, BankEntry.status == BankEntryStatus.QUARANTINED))
        if partner is not None:
            if session.scalar(select(Partner.id).where(Partner.brand_id == brand.id, Partner.name == partner)) is None:
                raise BankError(f"no trusted partner named '{partner}'; see `brandpatrol bank list`")
            query = query.where(Partner.name == partner)
        if entry_ids:
            query = query.where(BankEntry.entry_id.in_(sorted(set(entry_ids))))
        rows = list(session.scalars(query))
        missing = sorted(set(entry_ids) - {r.entry_id for r in rows})
        if missing:
            raise BankError(f"no quarantined entry {', '.join(missing[:10])}; `brandpatrol bank list` shows the "
                            "entries waiting (nothing was accepted)")
        now = datetime.now(UTC)
        for row in rows:
            row.status, row.accepted_by, row.accepted_at = BankEntryStatus.ACCEPTED, actor, now
        _audit(session, brand, actor, "bank.accept", "bank_entry",
               "*" if accept_all else ",".join(sorted(set(entry_ids))), {"accepted": len(rows), "partner": partner})
    return len(rows)


@dataclass(frozen=True)
class BankListing:
    partners: list[dict[str, Any]] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)


def list_bank(db: Database, config: BrandConfig, *, status: str | None = None) -> BankListing:
    """The trusted partners and their entries (of one status, when given), for people to look through."""
    with db.read() as session:
        brand = session.scalar(select(Brand).where(Brand.name == config.brand.name))
        if brand is None:
            return BankListing()
        partners = list(session.scalars(select(Partner).where(Partner.brand_id == brand.id).order_by(Partner.name)))
        query = (select(BankEntry, Partner.name).join(Partner, Partner.id == BankEntry.partner_id)
                 .where(Partner.brand_id == brand.id).order_by(Partner.name, BankEntry.id))
        if status:
            query = query.where(BankEntry.status == BankEntryStatus(status))
        entries = [{"partner": name, "id": e.entry_id, "status": e.status.value, "kind": e.kind,
                    "marketplace": e.marketplace, "seller_id": e.seller_id, "phash": e.phash, "dhash": e.dhash,
                    "confirmed": e.confirmed, "reasons": e.reasons} for e, name in session.execute(query)]
    return BankListing(
        [{"name": p.name, "fingerprint": p.fingerprint, "last_sequence": p.last_sequence} for p in partners],
        entries)
