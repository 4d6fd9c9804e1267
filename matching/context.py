"""What matching knows about the brand, loaded once per run: the config, product ids, and reference photos."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config import BrandConfig, Product
from core.images import HASH_VERSION
from core.models import BankEntry, BankEntryStatus, Brand, ImageStatus, Partner, ReferenceImage
from core.models import Product as ProductRow
from matching.artwork import ArtworkMatcher
from matching.brands import other_brand_names
from matching.confirm import Confirmer
from matching.references import Reference, ReferenceIndex, reference
from matching.signals.partner import PartnerBank, PartnerReport


class CatalogueNotSynced(RuntimeError):
    """The database lacks part of the configured catalogue; the fix is to sync it."""


@dataclass(frozen=True)
class MatchContext:
    config: BrandConfig
    products: dict[str, Product]
    product_ids: dict[str, int]
    index: ReferenceIndex
    # Changes whenever anything matching reads from the catalogue changes, so findings are recomputed.
    fingerprint: str
    confirmer: Confirmer = field(default_factory=Confirmer, compare=False)
    allowed_sha256: frozenset[str] = frozenset()
    # ref_ids of references the flood guard stopped trusting in this run (matching.flood).
    distrusted: frozenset[str] = frozenset()
    artwork: ArtworkMatcher = field(default_factory=ArtworkMatcher, compare=False)  # own photos (matching.artwork)
    other_brands: tuple[str, ...] = ()  # names that make a title another brand's (matching.brands)
    # Entries of trusted partners' banks that an admin accepted (matching/banks.py).
    partner_bank: PartnerBank = field(default_factory=PartnerBank, compare=False)
    brand_id: int | None = None  # the brand's row: its findings are this brand's (core/scope.py)

    @classmethod
    def build(cls, config: BrandConfig, references: list[Reference],
              product_ids: dict[str, int] | None = None) -> MatchContext:
        """A context from plain values (tests, or callers without a database)."""
        inputs = {
            "config": config.model_dump(
                mode="json",
                include={"brand", "products", "authorised_sellers", "thresholds", "exchange_rates", "allow_list"},
            ),
            "hash_version": HASH_VERSION,
            "issued_codes": config.issued_codes.sha256,  # the codes file's content, not only its path
            "references": sorted([r.sku, r.ref_id, [(v.label, v.mirrored, v.phash, v.dhash) for v in r.views]]
                                 for r in references),
        }
        fingerprint = hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()
        return cls(
            config=config,
            products={p.sku: p for p in config.products},
            product_ids=dict(product_ids or {}),
            index=ReferenceIndex(references),
            fingerprint=fingerprint,
            confirmer=Confirmer(config.thresholds.image_confirm_inliers),
            allowed_sha256=frozenset(config.allow_list.images),
            other_brands=other_brand_names(config.brand),
        )

    def distrusting(self, ref_ids: Collection[str]) -> MatchContext:
        """The same context with these references no longer trusted (the confirmer's cache is kept)."""
        return dataclasses.replace(self, distrusted=self.distrusted | frozenset(ref_ids))


def load_context(session: Session, config: BrandConfig) -> MatchContext:
    """The brand's catalogue as synced by core.catalogue.sync_catalogue; only what the config still names."""
    fix = "run the catalogue sync first (core.catalogue.sync_catalogue, or the CLI's catalogue sync command)"
    brand = session.scalar(select(Brand).where(Brand.name == config.brand.name))
    if brand is None:
        raise CatalogueNotSynced(f"brand '{config.brand.name}' is not in the database; {fix}")
    rows = {p.sku: p for p in session.scalars(select(ProductRow).where(ProductRow.brand_id == brand.id))}
    missing = [p.sku for p in config.products if p.sku not in rows]
    if missing:
        raise CatalogueNotSynced(f"products {', '.join(missing)} are not in the database; {fix}")
    wanted = {(p.sku, r.id): r for p in config.products for r in p.reference_images}
    sku_of = {rows[p.sku].id: p.sku for p in config.products}
    references = []
    stored = session.scalars(
        select(ReferenceImage)
        .where(ReferenceImage.product_id.in_(sku_of), ReferenceImage.status == ImageStatus.OK)
        .order_by(ReferenceImage.id)
    )
    for row in stored:
        sku = sku_of[row.product_id]
        configured = wanted.get((sku, row.ref_id))
        if configured is None:
            continue  # dropped from the config: kept for old findings, no longer matched
        ref = reference(row.id, row.ref_id, sku, row.phash, row.dhash, row.phash_mirror, row.thumbnail,
                        official_use_ok=configured.official_use_ok)
        if ref is not None:
            references.append(ref)
    ctx = MatchContext.build(config, references, {sku: rows[sku].id for sku in sku_of.values()})
    ctx = dataclasses.replace(ctx, brand_id=brand.id)
    bank = _partner_bank(session, brand.id)
    if not len(bank):
        return ctx
    fingerprint = hashlib.sha256(f"{ctx.fingerprint}\npartners {bank.digest()}".encode()).hexdigest()
    return dataclasses.replace(ctx, partner_bank=bank, fingerprint=fingerprint)


def _partner_bank(session: Session, brand_id: int) -> PartnerBank:
    rows = session.execute(
        select(Partner.name, BankEntry.entry_id, BankEntry.kind, BankEntry.confirmed, BankEntry.marketplace,
               BankEntry.seller_id, BankEntry.phash, BankEntry.dhash)
        .join(Partner, Partner.id == BankEntry.partner_id)
        .where(Partner.brand_id == brand_id, BankEntry.status == BankEntryStatus.ACCEPTED)
        .order_by(BankEntry.id))
    return PartnerBank(tuple(PartnerReport(*row) for row in rows))
