"""Seller networks at scale: matching.clusters.update_clusters over a million listings in SQLite, and the
incremental update (matching.network_update) after a night of 10,000 new listings.

The database is made at run time through the project's models (core.db.Database migrates it; rows go in with
core SQL executemany, as in bench_queue): 200,000 sellers on 2 marketplaces, a million listings with titles and
descriptions, 1-4 photos each (3% failed to fetch) whose pHash and dHash are seeded uniform random 64-bit values,
and 5,000 confirmed findings. On top of that noise, what a real crawl holds (about 2.9 million hashed photos in all):
  - the brand's own photos (20 references): 15% of listings show one, re-encoded (a few bits off) or byte for
    byte; everybody does, so they must link nobody;
  - stock photos (a "7 days return" badge) shown by 25-80 sellers each, a platform hotline in 100 sellers'
    contact, catalogue titles copied by hundreds of shops: common property, linking nobody;
  - shops re-using their own photo and WeChat id across their listings (no link to anybody else);
  - resellers copying single popular titles (2-6 shops each; one copied title is no link);
  - 500 planted networks of 2-12 shops, each pair of neighbours tied by one of: the same photo, a re-encoded copy
    (1-3 bits off), the same phone in the shop's contact, the same WeChat id in listing text, the same shop name
    on the other marketplace, two copied titles.

Timed: `update_clusters` (everything: reading, brand-photo exclusion, links, components, writing the networks and
the network index) once on the fresh database and once more with nothing changed. Baseline in the same run: reading
the same rows the recomputation reads (sellers with contact, listings with title and description, photo hashes,
marketplaces, confirmed findings) into Python tuples, median of 3 rounds; the ratio says how much the
clustering costs beyond reading its input. The planted networks found whole are counted as a sanity check.
Then a night (benchmarks/clusters_night.py: 10,000 new listings, 30% from new shops, some showing stored photos
again or giving a stored shop's phone) is written and the networks updated from it (`update_networks`, timed), then
recomputed in full from the same database (timed: the baseline), and the two are compared network by network and
link by link; `incremental_speedup` is the full time over the incremental one.

`python -m benchmarks.bench_clusters [LISTINGS]` prints one JSON object (sellers scale with listings, 1 per 5);
`python -m benchmarks clusters` runs it at a million (some 10 minutes of generating and filling first).
"""

from __future__ import annotations

import itertools
import json
import random
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, insert, select

from core.config import BrandConfig
from core.db import Database
from core.models import (
    Brand,
    Finding,
    ImageStatus,
    Listing,
    ListingImage,
    Marketplace,
    Product,
    Review,
    ReviewDecision,
    Seller,
    SellerCluster,
    Verdict,
)
from matching.clusters import NetworkSummary, update_clusters
from matching.context import MatchContext
from matching.network_update import update_networks
from matching.past import confirmed_listing_ids
from matching.references import Reference, reference

LISTINGS = 1_000_000
LISTINGS_PER_SELLER = 5
MARKETPLACES = ("taobao", "pinduoduo")
REFERENCES = 20
NETWORKS = 500
STOCK_PHOTOS = 40
CONFIRMED = 5_000
NEW_LISTINGS = 10_000  # a night's crawl on top, for the incremental update
BASELINE_ROUNDS = 3
INSERT_CHUNK = 20_000

_NAME_CHARS = list("美妆丽人优品香雪兰芳华锦秀花语星辰佳源盛鑫荣恒泰润颜悦诗雅琳菲蔓晴露云霞珍宝晶莹彩虹明月清风朝阳"
                   "海棠牡丹玫瑰百合紫薇青竹松柏金银玉石")
_NAME_ENDS = ("店", "小铺", "专营店", "美妆店", "优选", "精品店", "工作室", "百货")
_BRAND = ("露米娜", "Lumina", "LUMINA", "露米娜官方")
_GOODS = ("焕活精华液", "水润面霜", "丝绒口红", "眼霜", "粉底液", "面膜", "防晒霜", "卸妆油", "爽肤水", "乳液",
          "气垫", "唇釉", "洁面乳", "精华水", "身体乳", "护手霜")
_WORDS = ("正品", "特价", "包邮", "秒杀", "清仓", "新款", "限时", "专柜", "同款", "现货", "热卖", "小样", "大促",
          "旗舰", "保湿", "补水", "美白", "修护", "抗皱", "紧致", "提亮", "滋润", "控油", "敏感肌", "学生",
          "女士", "礼盒", "套装", "中样", "试用装", "替换装", "国货", "进口", "免税", "代购", "直邮", "官方",
          "授权", "清爽", "持久", "哑光", "不脱色", "遮瑕", "隔离", "温和", "深层", "净透", "柔肤", "焕亮",
          "30ml", "50g", "100ml", "2支装", "3件套", "买一送一", "第二件半价", "618", "双11", "年货节")
_TEXT = ("本店所有商品均为正品", "支持专柜验货", "假一赔十", "七天无理由退换", "下单后48小时内发货", "顺丰包邮",
         "偏远地区不包邮", "拍下请备注颜色", "保质期至2027年", "生产日期见包装", "敏感肌请先试用", "如有问题请联系客服",
         "量大从优", "欢迎批发", "实物拍摄", "颜色以实物为准", "不支持货到付款", "拆封不退", "赠品随机", "限购两件")


@dataclass
class World:
    """The rows to insert, built in memory first so planted links can be placed before anything is written."""

    names: list[str]
    markets: list[int]  # marketplace index per seller
    contacts: list[dict[str, str]]
    seller_of: np.ndarray  # seller index per listing
    titles: list[str]
    descriptions: list[str]
    photo_listing: list[int]
    photo_sha: list[str | None]
    photo_phash: list[int | None]
    photo_dhash: list[int | None]
    references: list[tuple[int, int]]
    authorised: list[int]  # seller indexes with a contract
    planted: list[list[int]] = field(default_factory=list)  # seller indexes of each planted network
    planted_links: list[tuple[int, int, str]] = field(default_factory=list)


def _flip(value: int, rng: random.Random, lo: int, hi: int) -> int:
    for bit in rng.sample(range(64), rng.randint(lo, hi)):
        value ^= 1 << bit
    return value


def _sha(rng: random.Random) -> str:
    return f"{rng.getrandbits(256):064x}"


def build(n_listings: int, seed: int = 23) -> World:
    """The crawl: sellers, listings and photos with the noise and the planted networks described above."""
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    n_sellers = max(n_listings // LISTINGS_PER_SELLER, 50)
    names = ["".join(rng.choices(_NAME_CHARS, k=4)) + rng.choice(_NAME_ENDS) for _ in range(n_sellers)]
    markets = [rng.randrange(len(MARKETPLACES)) for _ in range(n_sellers)]
    contacts: list[dict[str, str]] = []
    for _ in range(n_sellers):
        roll = rng.random()
        if roll < 0.25:
            contacts.append({"phone": f"1{rng.randint(3, 9)}{rng.randrange(10**9):09d}",
                             "licence": f"91{rng.randrange(10**16):016d}"})
        elif roll < 0.30:
            contacts.append({"email": f"shop{rng.randrange(10**9)}@example.cn"})
        else:
            contacts.append({})
    for i in rng.sample(range(n_sellers), min(100, n_sellers // 2)):
        contacts[i] = {**contacts[i], "tel": "400-800-1234"}  # the platform's hotline: common property
    # A few big shops and a long tail; some sellers have no listing left.
    weights = nrng.lognormal(0.0, 1.2, n_sellers)
    seller_of = nrng.choice(n_sellers, size=n_listings, p=weights / weights.sum())
    listings_of: dict[int, list[int]] = defaultdict(list)
    for i, s in enumerate(seller_of.tolist()):
        listings_of[s].append(i)

    def title() -> str:
        words = rng.sample(_WORDS, rng.randint(3, 6))
        return " ".join([rng.choice(_BRAND), rng.choice(_GOODS), *words])

    def description() -> str:
        return "，".join(rng.sample(_TEXT, rng.randint(3, 8))) + f"。货号 LM{rng.randrange(10**5):05d}"

    titles = [title() for _ in range(n_listings)]
    descriptions = [description() for _ in range(n_listings)]
    # Authorised shops list the catalogue titles; hundreds of resellers copy them.
    authorised = rng.sample(range(n_sellers), 3)
    catalogue = [f"露米娜官方 {g} 正品授权 专柜同款 {w}" for g in _GOODS for w in ("30ml", "50g")]
    for s in authorised:
        for i in listings_of[s][:10]:
            titles[i] = rng.choice(catalogue)
    for i in rng.sample(range(n_listings), n_listings // 20):
        titles[i] = rng.choice(catalogue)
    # Popular reseller titles, each copied by 2-6 shops (one copied title links nobody).
    for _ in range(n_listings // 100):
        popular = title() + " " + rng.choice(_GOODS)
        for i in rng.sample(range(n_listings), rng.randint(2, 6)):
            titles[i] = popular
    # Shops that put their own WeChat id in their listings.
    for s in rng.sample(range(n_sellers), n_sellers // 30):
        wechat = f"lm_{rng.randrange(10**8):08d}"
        for i in listings_of[s]:
            if rng.random() < 0.3:
                descriptions[i] += f"。加微信 {wechat} 拿货价"

    # Photos: uniform random hashes; 3% failed to fetch (no hashes).
    photo_listing: list[int] = []
    photo_sha: list[str | None] = []
    photo_phash: list[int | None] = []
    photo_dhash: list[int | None] = []

    def add_photo(listing: int, sha: str | None, phash: int | None, dhash: int | None) -> None:
        photo_listing.append(listing)
        photo_sha.append(sha)
        photo_phash.append(phash)
        photo_dhash.append(dhash)

    counts = nrng.integers(1, 5, size=n_listings).tolist()
    for i, count in enumerate(counts):
        for _ in range(count):
            if rng.random() < 0.03:
                add_photo(i, None, None, None)
            else:
                add_photo(i, _sha(rng), rng.getrandbits(64), rng.getrandbits(64))
    references = [(rng.getrandbits(64), rng.getrandbits(64)) for _ in range(REFERENCES)]
    official = [_sha(rng) for _ in references]
    for i in rng.sample(range(n_listings), int(n_listings * 0.15)):
        r = rng.randrange(REFERENCES)
        if rng.random() < 0.3:
            add_photo(i, official[r], *references[r])
        else:
            add_photo(i, _sha(rng), _flip(references[r][0], rng, 0, 6), _flip(references[r][1], rng, 0, 6))
    for _ in range(STOCK_PHOTOS):
        stock = (_sha(rng), rng.getrandbits(64), rng.getrandbits(64))
        for s in rng.sample(range(n_sellers), min(rng.randint(25, 80), n_sellers)):
            for i in listings_of[s][:3]:
                add_photo(i, *stock)
    for s in rng.sample(range(n_sellers), int(n_sellers * 0.3)):
        own = (_sha(rng), rng.getrandbits(64), rng.getrandbits(64))
        for i in listings_of[s]:
            add_photo(i, *own)

    world = World(names, markets, contacts, seller_of, titles, descriptions, photo_listing, photo_sha, photo_phash,
                  photo_dhash, references, authorised)
    _plant_networks(world, listings_of, rng)
    return world


def _plant_networks(world: World, listings_of: dict[int, list[int]], rng: random.Random) -> None:
    """Networks of 2-12 shops, neighbours tied by one link each, of a kind drawn at random."""
    candidates = [s for s, ids in listings_of.items() if len(ids) >= 2 and s not in world.authorised]
    rng.shuffle(candidates)
    copied_into: set[int] = set()  # listings whose title a planted link copied (not overwritten again)
    kinds = ("same photo", "re-encoded photo", "shop contact", "wechat in text", "shop name", "two titles")
    for _ in range(NETWORKS):
        size = min(2 + int(rng.expovariate(0.6)), 12)
        if len(candidates) < size:
            break
        members = [candidates.pop() for _ in range(size)]
        world.planted.append(members)
        for a, b in itertools.pairwise(members):
            kind = rng.choice(kinds)
            world.planted_links.append((a, b, kind))
            la, lb = rng.choice(listings_of[a]), rng.choice(listings_of[b])
            if kind == "same photo":
                shared = (_sha(rng), rng.getrandbits(64), rng.getrandbits(64))
                for listing in (la, lb):
                    world.photo_listing.append(listing)
                    world.photo_sha.append(shared[0])
                    world.photo_phash.append(shared[1])
                    world.photo_dhash.append(shared[2])
            elif kind == "re-encoded photo":
                p, d = rng.getrandbits(64), rng.getrandbits(64)
                for listing, (pp, dd) in ((la, (p, d)), (lb, (_flip(p, rng, 1, 3), _flip(d, rng, 1, 3)))):
                    world.photo_listing.append(listing)
                    world.photo_sha.append(_sha(rng))
                    world.photo_phash.append(pp)
                    world.photo_dhash.append(dd)
            elif kind == "shop contact":
                phone = f"13{rng.randrange(10**9):09d}"
                world.contacts[a] = {**world.contacts[a], "phone": phone}
                world.contacts[b] = {**world.contacts[b], "mobile": f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}"}
            elif kind == "wechat in text":
                wechat = f"vx{rng.randrange(10**8):08d}"
                world.descriptions[la] += f"。加微信 {wechat} 拿货价"
                world.descriptions[lb] += f"。联系VX：{wechat}"
            elif kind == "shop name":
                world.names[b] = world.names[a]
                world.markets[b] = 1 - world.markets[a]
            else:
                free_a, free_b = ([i for i in listings_of[s] if i not in copied_into] for s in (a, b))
                if len(free_a) < 2 or len(free_b) < 2:
                    world.names[b] = world.names[a]  # no two titles left to copy: the same name instead
                    world.planted_links[-1] = (a, b, "shop name")
                    continue
                ids_a, ids_b = rng.sample(free_a, 2), rng.sample(free_b, 2)
                copied_into.update(ids_a + ids_b)
                for ia, ib in zip(ids_a, ids_b, strict=True):
                    copied = f"{world.titles[ia]} {rng.choice(_GOODS)}{rng.choice(_GOODS)}"
                    world.titles[ia] = world.titles[ib] = copied


def config_and_context(world: World) -> tuple[BrandConfig, MatchContext]:
    config = BrandConfig.model_validate({
        "brand": {"name": "Lumina", "names": {"en": "Lumina", "zh": "露米娜"}},
        "products": [{"sku": f"LM-{i}", "names": {"zh": f"露米娜{g}"},
                      "reference_images": [{"id": f"LM-{i}-front", "path": f"refs/LM-{i}.jpg"}]}
                     for i, g in enumerate(_GOODS)],
        "authorised_sellers": [{"name": world.names[s], "marketplace": MARKETPLACES[world.markets[s]],
                                "seller_id": f"s{s}"} for s in world.authorised],
    })
    refs: list[Reference] = []
    for k, (p, d) in enumerate(world.references):
        ref = reference(None, f"LM-{k % len(_GOODS)}-front", f"LM-{k % len(_GOODS)}", f"{p:016x}", f"{d:016x}",
                        None)
        assert ref is not None
        refs.append(ref)
    return config, MatchContext.build(config, refs)


def _chunks(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [rows[i:i + INSERT_CHUNK] for i in range(0, len(rows), INSERT_CHUNK)]


def fill(db: Database, world: World, seed: int = 23) -> None:
    rng = random.Random(seed)
    with db.session() as s:
        brand = Brand(name="Lumina", names={"en": "Lumina"})
        product = Product(brand=brand, sku="LM-0", names={"zh": "露米娜"}, prices=[])
        markets = [Marketplace(name=name) for name in MARKETPLACES]
        s.add_all([brand, product, *markets])
        s.flush()
        product_id, market_ids = product.id, [m.id for m in markets]
    with db.session() as s:
        s.execute(insert(Seller), [
            {"id": i + 1, "marketplace_id": market_ids[m], "seller_key": f"s{i}", "external_id": f"s{i}",
             "name": name, "country": "CN", "contact": contact}
            for i, (name, m, contact) in enumerate(zip(world.names, world.markets, world.contacts, strict=True))])
        listing_rows = [
            {"id": i + 1, "marketplace_id": market_ids[world.markets[s]], "external_id": f"L{i}",
             "url": f"https://item.example/{i}", "title": t, "description": d, "seller_id": s + 1,
             "price": Decimal(rng.randrange(30, 700)), "currency": "CNY", "country": "CN"}
            for i, (s, t, d) in enumerate(zip(world.seller_of.tolist(), world.titles, world.descriptions,
                                             strict=True))]
        for chunk in _chunks(listing_rows):
            s.execute(insert(Listing), chunk)
        position: dict[int, int] = defaultdict(int)
        photo_rows = []
        for k, (listing, sha, p, d) in enumerate(zip(world.photo_listing, world.photo_sha, world.photo_phash,
                                                     world.photo_dhash, strict=True)):
            position[listing] += 1
            photo_rows.append({
                "listing_id": listing + 1, "position": position[listing] - 1, "url": f"https://img.example/{k}.jpg",
                "sha256": sha, "phash": None if p is None else f"{p:016x}", "dhash": None if d is None else f"{d:016x}",
                "status": ImageStatus.OK if p is not None else ImageStatus.FETCH_FAILED})
        for chunk in _chunks(photo_rows):
            s.execute(insert(ListingImage), chunk)
        confirmed = rng.sample(range(len(world.titles)), min(CONFIRMED, len(world.titles)))
        s.execute(insert(Finding), [
            {"id": n + 1, "listing_id": i + 1, "product_id": product_id, "verdict": Verdict.COUNTERFEIT,
             "score": 0.9, "reasons": [], "signals": {}, "rule_set_version": "bench"}
            for n, i in enumerate(confirmed)])
        s.execute(insert(Review), [{"finding_id": n + 1, "reviewer": "bench", "decision": ReviewDecision.CONFIRMED}
                                   for n in range(len(confirmed))])


def read_everything(db: Database) -> int:
    """The baseline: the rows the recomputation reads, as plain tuples, nothing done with them."""
    with db.read() as session:
        sellers = session.execute(select(Seller.id, Seller.name, Seller.contact)).all()
        listings = session.execute(select(Listing.id, Listing.seller_id, Listing.title, Listing.description)).all()
        photos = session.execute(
            select(ListingImage.listing_id, ListingImage.sha256, ListingImage.phash, ListingImage.dhash)
            .where(ListingImage.status == ImageStatus.OK)).all()
        markets = session.execute(select(Seller.id, Marketplace.name, Seller.name, Seller.external_id)
                                  .join(Marketplace, Marketplace.id == Seller.marketplace_id)).all()
        confirmed = confirmed_listing_ids(session)
    return len(sellers) + len(listings) + len(photos) + len(markets) + len(confirmed)


def _timed(function: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    out = function()
    return out, time.perf_counter() - started


def planted_found(db: Database, world: World) -> int:
    """Planted networks whose shops all ended up in one stored network."""
    with db.read() as session:
        cluster_of = dict(session.execute(select(Seller.id, Seller.cluster_id)).all())
    return sum(1 for members in world.planted
               if cluster_of.get(members[0] + 1) is not None
               and len({cluster_of.get(m + 1) for m in members}) == 1)


def networks_stored(db: Database) -> tuple[dict[str, tuple[Any, ...]], dict[int, str]]:
    """Every network by key, and each networked seller's network key: what two computations must agree on."""
    with db.read() as session:
        clusters = {c.key: (c.id, c.size, c.marketplaces, c.links, c.confirmed_findings)
                    for c in session.scalars(select(SellerCluster))}
        key_of = {row[0]: key for key, row in clusters.items()}
        members = {sid: key_of[cid] for sid, cid in session.execute(
            select(Seller.id, Seller.cluster_id).where(Seller.cluster_id.is_not(None)))}
    return {key: row[1:] for key, row in clusters.items()}, members


def _plain(summary: NetworkSummary) -> tuple[int, int, int]:
    return summary.clusters, summary.largest, summary.sellers_in_networks


def main(n: int = LISTINGS) -> dict[str, Any]:
    started = time.perf_counter()
    world = build(n)
    _, ctx = config_and_context(world)
    build_seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'clusters.db'}")
        _, fill_seconds = _timed(lambda: fill(db, world))
        read_times = []
        rows = 0
        for _ in range(BASELINE_ROUNDS):
            rows, seconds = _timed(lambda: read_everything(db))
            read_times.append(seconds)
        read_seconds = statistics.median(read_times)
        summary, first_seconds = _timed(lambda: update_clusters(db, ctx))
        again, again_seconds = _timed(lambda: update_clusters(db, ctx))
        assert again == summary, (again, summary)
        found = planted_found(db, world)
        with db.read() as session:
            stored = session.scalar(select(func.count()).select_from(SellerCluster))
        from benchmarks.clusters_night import add_night  # it imports this module's world
        new_ids = add_night(db, world, NEW_LISTINGS)
        joined, incremental_seconds = _timed(lambda: update_networks(db, ctx, new_ids))
        assert joined.incremental
        incremental_networks = networks_stored(db)
        full, full_seconds = _timed(lambda: update_clusters(db, ctx))
        assert networks_stored(db) == incremental_networks and _plain(full) == _plain(joined), "not the same"
        db.dispose()
    photos = sum(p is not None for p in world.photo_phash)
    result: dict[str, Any] = {
        "listings": n,
        "sellers": len(world.names),
        "photos_hashed": photos,
        "build_s": round(build_seconds, 1),
        "fill_s": round(fill_seconds, 1),
        "networks": summary.clusters,
        "largest_network": summary.largest,
        "sellers_in_networks": summary.sellers_in_networks,
        "stored_networks": stored,
        "planted_networks": len(world.planted),
        "planted_networks_found_whole": found,
        "planted_links": dict(Counter(kind for _, _, kind in world.planted_links)),
        "recompute_fresh_s": round(first_seconds, 2),
        "recompute_unchanged_s": round(again_seconds, 2),
        "listings_per_s": round(n / again_seconds),
        "baseline_read_rows_s": round(read_seconds, 2),
        "baseline_rows": rows,
        "ratio_to_reading": round(again_seconds / read_seconds, 2),
        "extrapolated_1m_listings_s": round(again_seconds * 1_000_000 / n, 1),
        "new_listings": len(new_ids),
        "incremental_s": round(incremental_seconds, 2),
        "full_after_night_s": round(full_seconds, 2),
        "incremental_speedup": round(full_seconds / incremental_seconds, 1),
        "networks_after_night": full.clusters,
        "incremental_same_as_full": True,
    }
    print(f"seller networks over {n:,} listings ({len(world.names):,} sellers, {photos:,} photos): recomputed in "
          f"{first_seconds:.1f} s fresh, {again_seconds:.1f} s unchanged ({n / again_seconds:,.0f} listings/s); "
          f"reading the same rows {read_seconds:.1f} s, ratio {again_seconds / read_seconds:.1f}x; "
          f"{summary.clusters} networks, {found}/{len(world.planted)} planted ones found whole; "
          f"{len(new_ids):,} new listings joined in {incremental_seconds:.2f} s against {full_seconds:.1f} s "
          f"recomputing all ({full_seconds / incremental_seconds:.1f}x), the same networks")
    return result


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else LISTINGS), indent=2, ensure_ascii=False))
