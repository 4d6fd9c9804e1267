"""Seller networks updated from what changed are the networks a full recomputation finds: random nights of new and
changed listings, renamed and purged sellers and reviews, applied one by one to a real SQLite database and compared,
network by network and link by link, with a full recomputation of a copy after each."""

from __future__ import annotations

import hashlib
import random
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import insert, select, update

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
    utcnow,
)
from matching.clusters import MAX_SHARERS, NEAR_PHOTO, NetworkSummary, update_clusters
from matching.context import MatchContext
from matching.network_index import HAS_DHASH, PARTS, PHOTO, NearPhotos, load_index
from matching.network_update import update_networks
from matching.references import Reference, reference

MARKETS = ("shop", "mall")
REFERENCES = [(0x0F0F_0F0F_0F0F_0F0F, 0x3333_3333_3333_3333), (0x1234_5678_9ABC_DEF0, 0x0FED_CBA9_8765_4321)]
# Pools small enough that shops share details now and then, large enough that most networks stay small; the
# hotlines, stock photos and catalogue titles gain holders night after night and cross MAX_SHARERS on the way.
TITLES = [f"露米娜 焕活精华液 款式{i:03d} 包邮 秒杀 工厂直发" for i in range(600)]
CATALOGUE = [f"露米娜官方 水润面霜 {w} 正品授权 专柜同款" for w in ("三十毫升", "五十克")]
NAMES = [f"{a}{b}{c}店" for a in "美丽香锦星" for b in "妆人雪秀辰" for c in "甲乙丙丁"]
PHONES = [f"1380013{i:04d}" for i in range(600)]
HOTLINE = "400-800-1234"
AUTHORISED = "露米娜官方旗舰店"  # lists the catalogue titles everyone copies; never renamed here


def _flip(value: int, rng: random.Random, bits: int) -> int:
    for bit in rng.sample(range(64), bits):
        value ^= 1 << bit
    return value


class World:
    """A database and the random moves a night makes on it."""

    def __init__(self, db: Database, seed: int):
        self.db = db
        self.rng = random.Random(seed)
        rng = self.rng
        # Photos: a few bases; copies of a base are the same bytes, near ones a few bits off, far ones unrelated.
        self.bases = [(f"{rng.getrandbits(256):064x}", rng.getrandbits(64), rng.getrandbits(64)) for _ in range(800)]
        self.stock = [(f"{rng.getrandbits(256):064x}", rng.getrandbits(64), rng.getrandbits(64)) for _ in range(2)]
        self.twin: dict[int, int] = {}
        self.titles_of: dict[int, list[str]] = {}
        with db.session() as s:
            brand = Brand(name="Lumina", names={"en": "Lumina"})
            s.add_all([brand, Product(brand=brand, sku="LM-0", names={"zh": "露米娜"}, prices=[])])
            markets = [Marketplace(name=name) for name in MARKETS]
            s.add_all(markets)
            s.flush()
            self.markets = [m.id for m in markets]
            official = s.execute(insert(Seller).returning(Seller.id), [{
                "marketplace_id": self.markets[0], "seller_key": "official", "name": AUTHORISED,
                "contact": {}, "country": "CN"}]).scalar_one()
        self.official = int(official)
        self.sellers: list[int] = [self.official]
        self.listings: list[int] = []
        self.counter = 0

    def _name(self) -> str:
        return self.rng.choice(NAMES) if self.rng.random() < 0.1 else f"独立店{self.rng.randrange(10**9)}"

    def _contact(self) -> dict[str, str]:
        roll = self.rng.random()
        if roll < 0.25:
            return {"phone": self.rng.choice(PHONES)}
        return {}

    def _photo(self) -> tuple[str | None, str | None, str | None, ImageStatus]:
        rng = self.rng
        roll = rng.random()
        if roll < 0.04:
            return None, None, None, ImageStatus.FETCH_FAILED
        if roll < 0.12:  # the brand's own photo, re-encoded
            p, d = rng.choice(REFERENCES)
            return f"{rng.getrandbits(256):064x}", f"{_flip(p, rng, 2):016x}", f"{_flip(d, rng, 2):016x}", \
                ImageStatus.OK
        if roll < 0.13:  # a stock photo many shops show, byte for byte
            sha, p, d = rng.choice(self.stock)
            return sha, f"{p:016x}", f"{d:016x}", ImageStatus.OK
        if roll < 0.30:
            sha, p, d = rng.choice(self.bases)
            if rng.random() < 0.4:
                return sha, f"{p:016x}", f"{d:016x}", ImageStatus.OK
            bits = rng.randint(1, 6)  # near (up to NEAR_PHOTO) or just too far
            no_dhash = rng.random() < 0.1
            return (f"{rng.getrandbits(256):064x}", f"{_flip(p, rng, bits):016x}",
                    None if no_dhash else f"{_flip(d, rng, rng.randint(0, 5)):016x}", ImageStatus.OK)
        return f"{rng.getrandbits(256):064x}", f"{rng.getrandbits(64):016x}", f"{rng.getrandbits(64):016x}", \
            ImageStatus.OK

    def _text(self, seller: int) -> tuple[str, str]:
        rng = self.rng
        roll = rng.random()
        twin = self.twin.setdefault(seller, rng.choice(self.sellers))
        if roll < 0.25 and self.titles_of.get(twin):  # copies its twin shop's titles: two copied make a link
            title = rng.choice(self.titles_of[twin])
        elif roll < 0.45:
            title = rng.choice(TITLES)
        elif roll < 0.48:
            title = rng.choice(CATALOGUE)
        else:
            title = f"露米娜 面霜 {rng.randrange(10**9)}"
        self.titles_of.setdefault(seller, []).append(title)
        description = "正品" + (f"，加微信 lm_{rng.randrange(300):04d}" if rng.random() < 0.1 else "")
        return title, description

    def new_seller(self, s: Any) -> int:
        self.counter += 1
        market = self.rng.choice(self.markets)
        seller_id = s.execute(insert(Seller).returning(Seller.id), [{
            "marketplace_id": market, "seller_key": f"s{self.counter}", "external_id": f"s{self.counter}",
            "name": self._name(), "contact": self._contact(), "country": "CN"}]).scalar_one()
        self.sellers.append(seller_id)
        return int(seller_id)

    def night(self, new: int, changed: int, hotline: int = 2) -> list[int]:
        """New listings, changed listings, renamed and purged sellers, reviews; the listing ids matching examines."""
        rng = self.rng
        touched: list[int] = []
        with self.db.session() as s:
            for _ in range(new):
                seller = self.new_seller(s) if rng.random() < 0.45 else rng.choice(self.sellers)
                market = s.get(Seller, seller).marketplace_id
                title, description = self._text(seller)
                self.counter += 1
                listing = s.execute(insert(Listing).returning(Listing.id), [{
                    "marketplace_id": market, "external_id": f"L{self.counter}", "url": f"https://x/{self.counter}",
                    "title": title, "description": description, "seller_id": seller}]).scalar_one()
                self.listings.append(listing)
                touched.append(listing)
                for position in range(rng.randint(0, 3)):
                    self._add_image(s, listing, position)
            for listing in rng.sample(self.listings, min(changed, len(self.listings))):
                touched.append(listing)
                move = rng.random()
                if move < 0.3:
                    seller = s.scalar(select(Listing.seller_id).where(Listing.id == listing))
                    title, description = self._text(seller)
                    s.execute(update(Listing).where(Listing.id == listing).values(title=title,
                                                                                  description=description))
                elif move < 0.45:
                    s.execute(update(Listing).where(Listing.id == listing).values(seller_id=rng.choice(self.sellers)))
                elif move < 0.75:
                    image = s.scalars(select(ListingImage.id).where(ListingImage.listing_id == listing)).first()
                    if image is None:
                        self._add_image(s, listing, 9)
                    else:
                        sha, phash, dhash, status = self._photo()
                        s.execute(update(ListingImage).where(ListingImage.id == image)
                                  .values(sha256=sha, phash=phash, dhash=dhash, status=status))
                elif move < 0.85:
                    s.execute(update(ListingImage).where(ListingImage.listing_id == listing)
                              .values(status=ImageStatus.FETCH_FAILED))
                # else: only the price changed, as most nights
            later = utcnow() + timedelta(seconds=1)
            # The hotline and a stock photo gain holders night after night (and lose one now and then).
            for seller in rng.sample(self.sellers[1:], min(hotline, len(self.sellers) - 1)):
                s.execute(update(Seller).where(Seller.id == seller).values(contact={"tel": HOTLINE}, last_seen=later))
            for listing in rng.sample(self.listings, min(rng.randint(1, 3), len(self.listings))):
                touched.append(listing)
                sha, p, d = self.stock[0]
                s.execute(insert(ListingImage), [{"listing_id": listing, "position": 20, "sha256": sha,
                                                  "url": f"https://img/{listing}/stock/{rng.random()}",
                                                  "phash": f"{p:016x}", "dhash": f"{d:016x}", "status": "ok"}])
            for seller in rng.sample(self.sellers[1:], min(3, len(self.sellers) - 1)):
                if rng.random() < 0.5:
                    s.execute(update(Seller).where(Seller.id == seller).values(name=self._name(), last_seen=later))
                else:
                    s.execute(update(Seller).where(Seller.id == seller).values(contact=self._contact(),
                                                                                last_seen=later))
            if rng.random() < 0.3:
                seller = rng.choice(self.sellers[1:])
                s.execute(update(Seller).where(Seller.id == seller).values(contact={}, contact_purged_at=later))
            for listing in rng.sample(self.listings, min(2, len(self.listings))):
                finding = s.scalar(select(Finding.id).where(Finding.listing_id == listing)) or s.execute(
                    insert(Finding).returning(Finding.id), [{
                        "listing_id": listing, "verdict": Verdict.COUNTERFEIT, "score": 0.9, "reasons": [],
                        "signals": {}, "rule_set_version": "t"}]).scalar_one()
                s.execute(insert(Review), [{"finding_id": finding, "reviewer": "ana",
                                            "decision": rng.choice(list(ReviewDecision))}])
        return touched

    def _add_image(self, s: Any, listing: int, position: int) -> None:
        sha, phash, dhash, status = self._photo()
        s.execute(insert(ListingImage), [{"listing_id": listing, "position": position,
                                          "url": f"https://img/{listing}/{position}/{self.rng.random()}",
                                          "sha256": sha, "phash": phash, "dhash": dhash, "status": status}])


def _context(authorised: str = AUTHORISED) -> MatchContext:
    config = BrandConfig.model_validate({
        "brand": {"name": "Lumina", "names": {"en": "Lumina", "zh": "露米娜"}},
        "products": [{"sku": "LM-0", "names": {"zh": "露米娜精华液"},
                      "reference_images": [{"id": "LM-0-front", "path": "refs/LM-0.jpg"}]}],
        "authorised_sellers": [{"name": authorised, "marketplace": "shop"}],
    })
    refs: list[Reference] = []
    for p, d in REFERENCES:
        ref = reference(None, "LM-0-front", "LM-0", f"{p:016x}", f"{d:016x}", None)
        assert ref is not None
        refs.append(ref)
    return MatchContext.build(config, refs)


def _networks(path: Path) -> tuple[dict[str, tuple[Any, ...]], dict[int, str | None]]:
    """Every network by key (size, marketplaces, links, confirmed findings) and each seller's network key."""
    db = Database(f"sqlite:///{path}", migrate_schema=False)
    with db.read() as s:
        clusters = {c.key: (c.size, c.marketplaces, c.links, c.confirmed_findings)
                    for c in s.scalars(select(SellerCluster))}
        keys = {c.id: c.key for c in s.scalars(select(SellerCluster))}
        members = {sid: keys.get(cid) if cid is not None else None
                   for sid, cid in s.execute(select(Seller.id, Seller.cluster_id))}
    db.dispose()
    return clusters, members


def _index(path: Path) -> dict[str, list[bytes]]:
    """The stored network index, each part's rows as a sorted list (near components left out: between full
    computations they only grow, network_index)."""
    db = Database(f"sqlite:///{path}", migrate_schema=False)
    with db.read() as s:
        index = load_index(s)
    db.dispose()
    assert index is not None
    out: dict[str, list[bytes]] = {}
    for name in PARTS:
        rows = index.part(name).copy()
        if name == "photos":
            rows["near"] = 0
        out[name] = sorted(row.tobytes() for row in rows)
    return out


def _copy(source: Path, target: Path) -> None:
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def _plain(summary: NetworkSummary) -> tuple[int, int, int]:
    return summary.clusters, summary.largest, summary.sellers_in_networks


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_incremental_networks_are_the_full_recomputation(tmp_path: Path, seed: int) -> None:
    path = tmp_path / "a.db"
    db = Database(f"sqlite:///{path}")
    world, ctx = World(db, seed), _context()
    world.night(new=1500, changed=0, hotline=16)
    update_clusters(db, ctx)
    hotline_before = _hotline(db)
    compared = changed_networks = 0
    for night in range(8):
        # The first night's new listings are a run of ids long enough to be read as a range (network_reads).
        ids = world.night(new=80 if night == 0 else world.rng.randint(15, 40), changed=world.rng.randint(3, 10))
        before = _networks(path)
        summary = update_networks(db, ctx, ids)
        assert summary.incremental, f"night {night} fell back to a full recomputation"
        _copy(path, tmp_path / "full.db")
        full_db = Database(f"sqlite:///{tmp_path / 'full.db'}")
        full = update_clusters(full_db, ctx)
        full_db.dispose()
        assert _networks(path) == _networks(tmp_path / "full.db"), f"night {night}"
        assert _index(path) == _index(tmp_path / "full.db"), f"night {night}: the index is not what was read"
        assert _plain(summary) == _plain(full)
        compared += 1
        changed_networks += _networks(path) != before
    assert compared == 8 and changed_networks >= 4  # the nights did move networks
    # The hotline linked its holders at first and went past the line on the way: common property now.
    assert hotline_before <= MAX_SHARERS < _hotline(db)
    db.dispose()


def _hotline(db: Database) -> int:
    with db.read() as s:
        return sum(1 for c in s.scalars(select(Seller.contact)) if c.get("tel") == HOTLINE)


def test_without_an_index_or_under_another_catalogue_the_networks_are_recomputed(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'a.db'}")
    world, ctx = World(db, 7), _context()
    ids = world.night(new=60, changed=0)
    assert not update_networks(db, ctx, ids).incremental  # no index yet: made now
    assert update_networks(db, ctx, world.night(new=10, changed=3)).incremental
    assert not update_networks(db, _context(authorised="丽人优品店"), world.night(new=5, changed=0)).incremental
    assert not update_networks(db, ctx, None).incremental  # asked for


class Shops:
    """Hand-placed sellers, listings and photos, for the cases a random night rarely makes."""

    def __init__(self, db: Database):
        self.db = db
        self.world = World(db, 0)
        self.listing_of: dict[str, int] = {}
        self.seller_of: dict[str, int] = {}
        self.image_of: dict[str, int] = {}

    def shop(self, name: str, phash: int | None = None, contact: dict[str, str] | None = None) -> None:
        """A seller with one listing and, when given, one photo with that pHash (the dHash is the same for all)."""
        with self.db.session() as s:
            seller = s.execute(insert(Seller).returning(Seller.id), [{
                "marketplace_id": self.world.markets[0], "seller_key": name,
                "name": "独立店" + name.translate(NUMERALS), "contact": contact or {}, "country": "CN"}]).scalar_one()
            listing = s.execute(insert(Listing).returning(Listing.id), [{
                "marketplace_id": self.world.markets[0], "external_id": name, "url": f"https://x/{name}",
                "title": f"listing {name}", "description": "", "seller_id": seller}]).scalar_one()
            self.seller_of[name], self.listing_of[name] = seller, listing
            if phash is not None:
                self.image_of[name] = s.execute(insert(ListingImage).returning(ListingImage.id), [{
                    "listing_id": listing, "url": f"https://img/{name}",
                    "sha256": hashlib.sha256(name.encode()).hexdigest(), "phash": f"{phash:016x}",
                    "dhash": f"{DHASH:016x}", "status": "ok"}]).scalar_one()

    def second(self, name: str, phash: int) -> None:
        """Another listing of the shop `name` (its seller), with one photo."""
        with self.db.session() as s:
            listing = s.execute(insert(Listing).returning(Listing.id), [{
                "marketplace_id": self.world.markets[0], "external_id": f"{name}-2", "url": f"https://x/{name}-2",
                "title": f"listing {name}", "description": "", "seller_id": self.seller_of[name]}]).scalar_one()
            s.execute(insert(ListingImage), [{
                "listing_id": listing, "url": f"https://img/{name}-2", "status": "ok",
                "sha256": hashlib.sha256(f"{name}-2".encode()).hexdigest(), "phash": f"{phash:016x}",
                "dhash": f"{DHASH:016x}"}])

    def rehash(self, name: str, phash: int) -> int:
        with self.db.session() as s:
            s.execute(update(ListingImage).where(ListingImage.id == self.image_of[name])
                      .values(phash=f"{phash:016x}", sha256=hashlib.sha256(f"{phash}".encode()).hexdigest()))
        return self.listing_of[name]

    def networks(self) -> set[frozenset[str]]:
        names = {seller: name for name, seller in self.seller_of.items()}
        with self.db.read() as s:
            members: dict[int, set[str]] = {}
            query = select(Seller.id, Seller.cluster_id).where(Seller.cluster_id.is_not(None))
            for seller, cluster in s.execute(query):
                members.setdefault(cluster, set()).add(names.get(seller, "?"))
        return {frozenset(m) for m in members.values()}


@pytest.fixture
def shops(tmp_path: Path) -> Shops:
    return Shops(Database(f"sqlite:///{tmp_path / 'a.db'}"))


DHASH = 0x5555_0000_FFFF_AAAA
NUMERALS = str.maketrans("0123456789", "〇一二三四五六七八九")  # shop names differ after digits are folded away
BASE = 0x0123_4567_89AB_CDEF


def _bits(*positions: int) -> int:
    return sum(1 << p for p in positions)


def _agree(tmp_path: Path, shops: Shops, ctx: MatchContext, listing_ids: list[int]) -> set[frozenset[str]]:
    summary = update_networks(shops.db, ctx, listing_ids)
    assert summary.incremental
    _copy(tmp_path / "a.db", tmp_path / "full.db")
    full_db = Database(f"sqlite:///{tmp_path / 'full.db'}")
    update_clusters(full_db, ctx)
    full_db.dispose()
    assert _networks(tmp_path / "a.db") == _networks(tmp_path / "full.db")
    return shops.networks()


def test_a_photo_that_becomes_the_earliest_of_a_group_unties_its_old_network(tmp_path: Path, shops: Shops) -> None:
    # E's photo comes first; A's photo is the centre of a group with B's and D's (3 bits off, on different bits:
    # B and D are 6 bits apart, no group of their own). Then E's photo is re-shot 2 bits from A's: E's is now the
    # earliest of A's group, which links nobody any more; E's own group holds only A's. B and D were in A's
    # network by A's group alone: only their old network brings them into the update.
    db, ctx = shops.db, _context()
    shops.shop("E", BASE ^ _bits(40, 41, 42, 43, 44, 45, 46, 47, 48))
    shops.shop("A", BASE)
    shops.shop("B", BASE ^ _bits(1, 2, 3))
    shops.shop("D", BASE ^ _bits(10, 11, 12))
    update_clusters(db, ctx)
    assert shops.networks() == {frozenset("ABD")}
    assert _agree(tmp_path, shops, ctx, [shops.rehash("E", BASE ^ _bits(20, 21))]) == {frozenset("AE")}


def test_a_photo_taken_away_lets_another_group_form_among_shops_it_never_touched(tmp_path: Path, shops: Shops) -> None:
    # H's photo comes first and A's is 3 bits from it (H and A linked). F and G show one photo (the same hashes,
    # other bytes) 3 bits from A's but 6 from H's: A's comes earlier in their group, so they link nobody. A's photo
    # is taken away: H and A part, and F and G now form a network, though neither F nor G changed nor was in a
    # network; they are near the photo taken away.
    db, ctx = shops.db, _context()
    shops.shop("H", BASE)
    shops.shop("A", BASE ^ _bits(1, 2, 3))
    shops.shop("F", BASE ^ _bits(1, 2, 3, 10, 11, 12))
    shops.shop("G", BASE ^ _bits(1, 2, 3, 10, 11, 12))
    update_clusters(db, ctx)
    assert shops.networks() == {frozenset("HA")}
    with db.session() as s:
        s.execute(update(ListingImage).where(ListingImage.id == shops.image_of["A"])
                  .values(status=ImageStatus.FETCH_FAILED))
    assert _agree(tmp_path, shops, ctx, [shops.listing_of["A"]]) == {frozenset("FG")}


@pytest.mark.parametrize("direction", ["up", "down"])
def test_a_contact_crossing_the_common_property_line_unties_or_ties_its_holders(tmp_path: Path, shops: Shops,
                                                                                direction: str) -> None:
    db, ctx = shops.db, _context()
    holders = MAX_SHARERS if direction == "up" else MAX_SHARERS + 1
    for k in range(holders):
        shops.shop(f"p{k}", contact={"phone": "13800138000"})
    update_clusters(db, ctx)
    assert len(shops.networks()) == (1 if direction == "up" else 0)
    if direction == "up":  # a new shop gives the number too: 21 holders, common property
        shops.shop("new", contact={"mobile": "+86 138 0013 8000"})
        changed = [shops.listing_of["new"]]
    else:  # one holder drops it: 20 holders, who are a network now
        with db.session() as s:
            s.execute(update(Seller).where(Seller.id == shops.seller_of["p0"])
                      .values(contact={}, last_seen=utcnow() + timedelta(seconds=1)))
        changed = []
    networks = _agree(tmp_path, shops, ctx, changed)
    assert networks == (set() if direction == "up" else {frozenset(f"p{k}" for k in range(1, holders))})


def test_a_shop_re_shooting_its_own_photo_can_untie_a_group_it_is_alone_around(tmp_path: Path, shops: Shops) -> None:
    # S's first photo (the earliest of all) is unrelated; its second is the centre of a group with Y's (3 bits
    # off): S and Y are a network. S re-shoots its first photo 2 bits from its second (5 from Y's): around it is
    # only S, yet it is now the earliest of the group, which links nobody any more.
    db, ctx = shops.db, _context()
    shops.shop("S", BASE ^ _bits(40, 41, 42, 43, 44, 45, 46, 47, 48))
    shops.second("S", BASE)
    shops.shop("Y", BASE ^ _bits(1, 2, 3))
    update_clusters(db, ctx)
    assert shops.networks() == {frozenset("SY")}
    assert _agree(tmp_path, shops, ctx, [shops.rehash("S", BASE ^ _bits(20, 21))]) == set()


def test_near_photos_are_every_pair_a_scan_finds() -> None:
    rng = random.Random(5)
    base = [rng.getrandbits(64) for _ in range(30)]

    def rows(count: int) -> np.ndarray:
        out = np.zeros(count, dtype=PHOTO)
        for k in range(count):
            p = _flip(rng.choice(base), rng, rng.randint(0, 6))
            d = _flip(rng.choice(base[:3]), rng, rng.randint(0, 6))
            has_d = rng.random() > 0.1
            out[k] = (k, k, k, p, d if has_d else 0, 0, 0, HAS_DHASH if has_d else 0, k)
        return out

    stored, query = rows(3000), rows(200)
    scan = set()
    for i, q in enumerate(query):
        for j, s in enumerate(stored):
            near_p = int(q["phash"] ^ s["phash"]).bit_count() <= NEAR_PHOTO
            both = q["flags"] & s["flags"] & HAS_DHASH
            if near_p and (not both or int(q["dhash"] ^ s["dhash"]).bit_count() <= NEAR_PHOTO):
                scan.add((i, j))
    found_q, found_s = NearPhotos(stored, NEAR_PHOTO).pairs(query)
    assert set(zip(found_q.tolist(), found_s.tolist(), strict=True)) == scan and len(scan) > 100
    assert NearPhotos(stored, NEAR_PHOTO).within(query).tolist() == sorted({j for _, j in scan})
