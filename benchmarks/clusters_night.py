"""A night's crawl on top of benchmarks/bench_clusters.py's world: new listings, from new shops (30%) and shops
already stored, written as the crawler writes them, for the incremental update of the seller networks to join.

Like the world's listings: titles and descriptions of the same kind (5% catalogue titles, 1% copied from a stored
listing), 1-4 photos with uniform random hashes (3% failed to fetch), 15% showing the brand's own photo
re-encoded; and, so the night does join and merge networks, 1% of the photos are stored photos shown again byte
for byte (stock photos, a shop's own, planted networks' shared ones) and 1% of the new shops give a phone number a
stored shop gives.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select

from benchmarks.bench_clusters import _BRAND, _GOODS, _NAME_CHARS, _NAME_ENDS, _TEXT, _WORDS, World, _flip, _sha
from core.db import Database
from core.models import ImageStatus, Listing, ListingImage, Marketplace, Seller


def add_night(db: Database, world: World, count: int, seed: int = 41) -> list[int]:
    """Write `count` new listings; their ids, as matching would examine them."""
    rng = random.Random(seed)
    with db.session() as s:
        market_ids = [s.scalar(select(Marketplace.id).where(Marketplace.name == name)) for name in ("taobao",
                                                                                                     "pinduoduo")]
        first_seller = int(s.scalar(select(func.max(Seller.id))) or 0) + 1
        first_listing = int(s.scalar(select(func.max(Listing.id))) or 0) + 1
        new_sellers: list[dict[str, Any]] = []
        for k in range(int(count * 0.3 / 2)):
            contact: dict[str, str] = {}
            roll = rng.random()
            if roll < 0.01:
                donor = rng.choice([c for c in world.contacts[:2000] if "phone" in c] or [{"phone": "13800000000"}])
                contact = {"phone": donor["phone"]}
            elif roll < 0.25:
                contact = {"phone": f"1{rng.randint(3, 9)}{rng.randrange(10**9):09d}"}
            new_sellers.append({
                "id": first_seller + k, "marketplace_id": rng.choice(market_ids), "seller_key": f"n{k}",
                "external_id": f"n{k}", "name": "".join(rng.choices(_NAME_CHARS, k=4)) + rng.choice(_NAME_ENDS),
                "country": "CN", "contact": contact})
        s.execute(insert(Seller), new_sellers)
        seller_market = {int(r["id"]): int(r["marketplace_id"]) for r in new_sellers}
        listings: list[dict[str, Any]] = []
        photos: list[tuple[int, int, str | None, int | None, int | None]] = []
        for k in range(count):
            listing_id = first_listing + k
            if rng.random() < 0.3:
                seller = rng.choice(new_sellers)["id"]
                market = seller_market[int(seller)]
            else:
                stored = rng.randrange(len(world.names))
                seller, market = stored + 1, market_ids[world.markets[stored]]
            roll = rng.random()
            if roll < 0.05:
                title = f"露米娜官方 {rng.choice(_GOODS)} 正品授权 专柜同款 {rng.choice(('30ml', '50g'))}"
            elif roll < 0.06:
                title = rng.choice(world.titles)
            else:
                title = " ".join([rng.choice(_BRAND), rng.choice(_GOODS), *rng.sample(_WORDS, rng.randint(3, 6))])
            listings.append({
                "id": listing_id, "marketplace_id": market, "external_id": f"N{k}", "url": f"https://item.example/n{k}",
                "title": title, "description": "，".join(rng.sample(_TEXT, rng.randint(3, 8))),
                "seller_id": seller, "price": Decimal(rng.randrange(30, 700)), "currency": "CNY", "country": "CN"})
            for position in range(rng.randint(1, 4)):
                roll = rng.random()
                if roll < 0.03:
                    sha, p, d = None, None, None
                elif roll < 0.04:
                    k_old = rng.randrange(len(world.photo_sha))
                    sha, p, d = world.photo_sha[k_old], world.photo_phash[k_old], world.photo_dhash[k_old]
                else:
                    sha, p, d = _sha(rng), rng.getrandbits(64), rng.getrandbits(64)
                photos.append((listing_id, position, sha, p, d))
            if rng.random() < 0.15:
                p, d = rng.choice(world.references)
                photos.append((listing_id, 9, _sha(rng), _flip(p, rng, 0, 6), _flip(d, rng, 0, 6)))
        s.execute(insert(Listing), listings)
        s.execute(insert(ListingImage), [
            {"listing_id": listing, "position": position, "url": f"https://img.example/n{listing}-{position}.jpg",
             "sha256": sha, "phash": None if p is None else f"{p:016x}", "dhash": None if d is None else f"{d:016x}",
             "status": ImageStatus.OK if p is not None else ImageStatus.FETCH_FAILED}
            for listing, position, sha, p, d in photos])
    return [int(row["id"]) for row in listings]
