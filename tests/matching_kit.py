"""A small brand world for the matching and catalogue tests (helpers only; this module holds no tests).

Brand Lumina/露米娜 with three products whose reference photos are scikit-image sample photos, two
marketplaces, authorised sellers with regions, and helpers that write listings the way the crawler does.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps

from core.config import BrandConfig
from core.db import Database
from core.images import ImageRejected, hash_image
from core.models import ImageStatus, Listing, ListingImage, Marketplace, Seller
from core.regions import locate
from matching.context import MatchContext
from matching.facts import ImageFacts, ListingFacts
from matching.references import Reference, reference
from tests.images import jpeg, photo

REFERENCE_PHOTOS = {"LM-100-front": "coffee", "LM-200-front": "chelsea", "LM-300-front": "astronaut"}
UNRELATED_PHOTO = "camera"


def brand_dict() -> dict[str, Any]:
    return {
        "brand": {"name": "Lumina", "names": {"en": "Lumina", "zh": "露米娜"}},
        "products": [
            {
                "sku": "LM-100",
                "names": {"en": "Lumina Radiance Serum 30ml", "zh": "露米娜焕活精华液"},
                "keywords": ["精华液", "Lumina serum", "serum"],
                "prices": [{"currency": "CNY", "suggested": "680", "floor": "580"}],
                "reference_images": [{"id": "LM-100-front", "path": "refs/LM-100-front.jpg"}],
            },
            {
                "sku": "LM-200",
                "names": {"en": "Lumina Hydra Cream 50g", "zh": "露米娜水润面霜"},
                "keywords": ["面霜", "cream"],
                "prices": [{"currency": "CNY", "suggested": "480", "floor": "400"}],
                "reference_images": [{"id": "LM-200-front", "path": "refs/LM-200-front.jpg"}],
            },
            {
                "sku": "LM-300",
                "names": {"en": "Lumina Velvet Lipstick", "zh": "露米娜丝绒口红"},
                "keywords": ["口红", "lipstick"],
                "prices": [{"currency": "USD", "suggested": "40", "floor": "34"}],
                "reference_images": [{"id": "LM-300-front", "path": "refs/LM-300-front.jpg"}],
            },
        ],
        "authorised_sellers": [
            {"name": "露米娜官方旗舰店", "marketplace": "shop", "seller_id": "official", "regions": ["CN-SH"],
             "distributor": "Lumina Cosmetics"},
            {"name": "华南美妆专营店", "marketplace": "shop", "seller_id": "south", "regions": ["CN-GD"],
             "distributor": "华南美妆供应链"},
            {"name": "全国美妆 集合店", "marketplace": "shop", "regions": ["CN"]},
            {"name": "Mall Beauty", "marketplace": "mall", "seller_id": "m-1", "regions": []},
        ],
        "marketplaces": [
            {"name": "shop", "base_url": "http://shop.example", "start_urls": ["http://shop.example/s"]},
            {"name": "mall", "base_url": "http://mall.example", "start_urls": ["http://mall.example/s"]},
        ],
        "thresholds": {"image_distance": 10, "counterfeit_price_ratio": "0.5", "min_score": 0.5},
    }


def write_reference_files(directory: Path) -> None:
    refs = directory / "refs"
    refs.mkdir(parents=True, exist_ok=True)
    for ref_id, source in REFERENCE_PHOTOS.items():
        (refs / f"{ref_id}.jpg").write_bytes(jpeg(photo(source), quality=95))


def make_config(directory: Path, data: dict[str, Any] | None = None, *, write_files: bool = True) -> BrandConfig:
    if write_files:
        write_reference_files(directory)
    return BrandConfig.model_validate({**(data or brand_dict()), "source_dir": directory})


def references_for(config: BrandConfig) -> list[Reference]:
    """References as load_context builds them, straight from the files (no database)."""
    out = []
    for product in config.products:
        for ref in product.reference_images:
            hashes = hash_image(config.resolve_path(ref.path).read_bytes(), thumbnail=True)
            made = reference(None, ref.id, product.sku, hashes.phash, hashes.dhash, hashes.phash_mirror,
                             hashes.thumbnail, official_use_ok=ref.official_use_ok)
            assert made is not None
            out.append(made)
    return out


def context_for(config: BrandConfig) -> MatchContext:
    return MatchContext.build(config, references_for(config))


def image_facts(image: Image.Image | None, image_id: int = 1, position: int = 0) -> ImageFacts:
    """Facts of one listing photo hashed as the crawler hashes it; None stands for a photo that failed."""
    if image is None:
        return ImageFacts(image_id, position, ImageStatus.FETCH_FAILED.value)
    try:
        hashes = hash_image(jpeg(image), thumbnail=True)
    except ImageRejected as exc:
        return ImageFacts(image_id, position, exc.status.value)
    return ImageFacts(image_id, position, ImageStatus.OK.value, hashes.phash, hashes.dhash, hashes.phash_mirror,
                      hashes.thumbnail, hashes.sha256)


def facts(title: str, *, price: str | None = "680", currency: str | None = "CNY", marketplace: str = "shop",
          seller: tuple[str | None, str | None] = ("美妆小铺3", "x-3"), location: str | None = "广东 深圳",
          images: tuple[Image.Image | None, ...] = (), description: str = "") -> ListingFacts:
    where = locate(location)
    return ListingFacts(
        marketplace=marketplace,
        external_id="1",
        title=title,
        description=description,
        price=Decimal(price) if price is not None else None,
        currency=currency,
        seller_name=seller[0],
        seller_external_id=seller[1],
        country=where.country if where else None,
        region=where.subdivision if where else None,
        location_source="listing" if where else None,
        location_text=location,
        images=tuple(image_facts(img, i + 1, i) for i, img in enumerate(images)),
    )


def genuine_photo(sku: str = "LM-100") -> Image.Image:
    return photo(REFERENCE_PHOTOS[f"{sku}-front"]).resize((400, 300))


def mirrored_photo(sku: str = "LM-100") -> Image.Image:
    return ImageOps.mirror(genuine_photo(sku))


def unrelated_photo() -> Image.Image:
    return photo(UNRELATED_PHOTO).convert("RGB")


def add_listing(db: Database, marketplace: str, external_id: str, title: str, *, price: str | None = "680",
                currency: str = "CNY", seller: tuple[str, str | None] = ("美妆小铺3", "x-3"),
                location: str | None = "广东 深圳", images: tuple[Image.Image, ...] = (),
                description: str | None = None) -> int:
    """Write a listing with its seller and hashed photos, as the crawler's storage does; return its id."""
    where = locate(location)
    with db.session() as session:
        market = session.query(Marketplace).filter_by(name=marketplace).one_or_none()
        if market is None:
            market = Marketplace(name=marketplace)
            session.add(market)
            session.flush()
        key = seller[1] or seller[0]
        row = session.query(Seller).filter_by(marketplace_id=market.id, seller_key=key).one_or_none()
        if row is None:
            row = Seller(marketplace_id=market.id, seller_key=key, name=seller[0], external_id=seller[1])
            session.add(row)
        listing = Listing(
            marketplace_id=market.id, external_id=external_id, url=f"http://{marketplace}.example/{external_id}",
            title=title, description=description, price=Decimal(price) if price is not None else None,
            currency=currency, seller=row,
            location_text=location, country=where.country if where else None,
            region=where.subdivision if where else None,
        )
        session.add(listing)
        for position, image in enumerate(images):
            try:
                hashes = hash_image(jpeg(image), thumbnail=True)
                listing.images.append(ListingImage(
                    position=position, url=f"http://img.example/{external_id}-{position}.jpg",
                    sha256=hashes.sha256, phash=hashes.phash, dhash=hashes.dhash,
                    phash_mirror=hashes.phash_mirror, thumbnail=hashes.thumbnail, status=ImageStatus.OK,
                ))
            except ImageRejected as exc:
                listing.images.append(ListingImage(
                    position=position, url=f"http://img.example/{external_id}-{position}.jpg", status=exc.status,
                ))
        session.flush()
        return listing.id
