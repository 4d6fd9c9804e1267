"""run_matching with the past and the network: flood guard, repeat offenders, relistings, price drops and
seller networks, on a real SQLite database."""

from __future__ import annotations

import itertools
import json
import logging
import random
from dataclasses import astuple
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select, update

from core.catalogue import sync_catalogue
from core.config import BrandConfig
from core.db import Database
from core.models import (
    Brand,
    Finding,
    Listing,
    ListingSnapshot,
    MatchState,
    Review,
    ReviewDecision,
    Seller,
    SellerCluster,
    Verdict,
)
from matching.clusters import MAX_SHARERS, NEAR_PHOTO, PhotoHashes, find_links, network_of, title_key
from matching.references import hash_int
from matching.run import STATE_DISTRUSTED, brand_state_key, run_matching
from tests.images import photo
from tests.matching_kit import add_listing, brand_dict, genuine_photo, make_config

STRANGER = ("美妆小铺3", "x-3")


@pytest.fixture
def config(tmp_path: Path) -> BrandConfig:
    data = brand_dict()
    data["thresholds"].update({"reference_flood_listings": 4, "reference_flood_share": 0.5})
    return make_config(tmp_path, data)


@pytest.fixture
def db(tmp_path: Path, config: BrandConfig) -> Database:
    database = Database(f"sqlite:///{tmp_path}/t.db")
    assert sync_catalogue(database, config).ok
    return database


def _finding(db: Database, listing_id: int) -> Finding:
    with db.read() as session:
        return session.scalars(select(Finding).where(Finding.listing_id == listing_id)).one()


def _confirm(db: Database, listing_id: int) -> None:
    with db.session() as session:
        finding = session.scalars(select(Finding).where(Finding.listing_id == listing_id)).one()
        session.add(Review(finding_id=finding.id, reviewer="ana", decision=ReviewDecision.CONFIRMED))


def test_flooding_reference_is_reported_and_not_trusted(db: Database, config: BrandConfig,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    # Five listings of unrelated goods all carry a photo that matches LM-200's reference (say a stock picture
    # slipped into the catalogue); one branded listing uses it too.
    stock = genuine_photo("LM-200")
    ids = [add_listing(db, "shop", f"f{i}", f"猫抓板 宠物玩具 款式{i}", price="39", images=(stock,)) for i in range(5)]
    branded = add_listing(db, "shop", "b1", "露米娜水润面霜 清仓", price="330", images=(stock,))
    with caplog.at_level(logging.WARNING, logger="matching.flood"):
        summary = run_matching(db, config, clusters=False)
    assert [f["reference"] for f in summary.flooded_references] == ["LM-200-front"]
    flood = summary.flooded_references[0]
    assert (flood["listings"], flood["unbranded"]) == (6, 5)
    assert "matched 6 listings in this run, 5 of them (83%) not naming the brand" in flood["reason"]
    assert "LM-200-front" in caplog.text and "no longer trusted" in caplog.text
    assert summary.reexamined_after_flood == 6 and summary.distrusted_references == ["LM-200-front"]
    for listing_id in ids:
        finding = _finding(db, listing_id)
        assert finding.verdict is Verdict.UNRELATED and finding.matched_reference_id is None
    kept = _finding(db, branded)
    assert kept.verdict is Verdict.DIVERSION  # the text still names the brand and product
    assert "distrusted" in json.dumps(kept.signals["image"], ensure_ascii=False)
    with db.read() as session:
        state = session.get(MatchState, brand_state_key(STATE_DISTRUSTED, session.scalar(select(Brand.id))))
        assert state is not None and json.loads(state.value) == ["LM-200-front"]
    # The next incremental run keeps distrusting it; a full run counts afresh (and floods again here).
    new = add_listing(db, "shop", "f9", "猫抓板 新款", price="29", images=(stock,))
    again = run_matching(db, config, clusters=False)
    assert again.examined == 1 and again.distrusted_references == ["LM-200-front"] and not again.flooded_references
    assert _finding(db, new).verdict is Verdict.UNRELATED


def test_repeat_offender_and_relisting_after_a_takedown(db: Database, config: BrandConfig) -> None:
    own_photo = photo("rocket")  # the shop's own photo of its goods, not the brand's
    first = add_listing(db, "shop", "1", "露米娜焕活精华液 特价", price="150", images=(own_photo,))
    second = add_listing(db, "shop", "2", "露米娜水润面霜 特价", price="100")
    run_matching(db, config, clusters=False)
    _confirm(db, first)
    _confirm(db, second)
    with db.session() as session:
        session.execute(update(Listing).where(Listing.id == first)
                        .values(gone=True, gone_at=datetime(2026, 4, 2, tzinfo=UTC),
                                first_seen=datetime(2026, 3, 1, tzinfo=UTC)))
    # The same photo comes back from another shop; the same shop lists the serum again.
    back = add_listing(db, "mall", "77", "Lumina serum 30ml", price="600", seller=("New Shop", "n-1"),
                       images=(own_photo,))
    relisted = add_listing(db, "shop", "3", "露米娜焕活精华液 新到", price="560")
    run_matching(db, config, clusters=False)
    photo_back = _finding(db, back)
    assert photo_back.signals["relisting"]["outcome"] == "match"
    assert any("photo 1 is the very photo (same bytes) of listing 1 on shop (gone since 2026-04-02)" in r
               for r in photo_back.reasons)
    again = _finding(db, relisted)
    reasons = "\n".join(again.reasons)
    assert "seller 美妆小铺3 is a repeat offender: reviewers confirmed 2 findings on its other listings" in reasons
    assert "the seller had listing 1 on shop (gone since 2026-04-02) taken down and sells LM-100 again" in reasons


def test_brand_photo_shared_with_a_takedown_is_no_relisting(db: Database, config: BrandConfig) -> None:
    first = add_listing(db, "shop", "1", "露米娜焕活精华液 特价", price="150", images=(genuine_photo(),))
    run_matching(db, config, clusters=False)
    _confirm(db, first)
    with db.session() as session:
        session.execute(update(Listing).where(Listing.id == first).values(gone=True))
    honest = add_listing(db, "shop", "5", "露米娜焕活精华液", price="680", seller=("露米娜官方旗舰店", "official"),
                         location="上海", images=(genuine_photo(),))
    run_matching(db, config, clusters=False)
    finding = _finding(db, honest)
    assert finding.signals["relisting"]["outcome"] == "no_match" and finding.verdict is Verdict.OK


def test_sudden_price_drop_from_snapshots(db: Database, config: BrandConfig) -> None:
    listing_id = add_listing(db, "shop", "1", "露米娜水润面霜", price="300", seller=("华南美妆专营店", "south"),
                             location="广东 深圳", images=(genuine_photo("LM-200"),))
    start = datetime(2026, 5, 1, tzinfo=UTC)
    with db.session() as session:
        for day, price in enumerate(("480", "470", "480", "300")):
            session.add(ListingSnapshot(listing_id=listing_id, title="露米娜水润面霜", price=Decimal(price),
                                        currency="CNY", captured_at=start + timedelta(days=day)))
    run_matching(db, config, clusters=False)
    finding = _finding(db, listing_id)
    assert finding.verdict is Verdict.PRICE_FLOOR_BREACH
    assert "the price dropped 38% to ¥300 from ¥480, its median over 3 earlier crawls since 2026-05-01" in \
        finding.reasons


def test_sellers_sharing_contacts_photos_or_titles_form_networks(db: Database, config: BrandConfig) -> None:
    own = photo("rocket")
    a = add_listing(db, "shop", "1", "露米娜精华液 特价 工厂直发", price="150", seller=("甲店", "a"),
                    description="加微信 lumina_8888 拿货价")
    add_listing(db, "mall", "2", "露米娜面霜 特价", price="100", seller=("乙店", "b"),
                description="联系 VX：lumina_8888")
    add_listing(db, "shop", "3", "露米娜口红 限时", price="50", seller=("丙店", "c"), images=(own,))
    add_listing(db, "mall", "4", "Lumina lipstick sale", price="50", seller=("丁店", "d"), images=(own,))
    for seller, external in (("戊店", "e"), ("己店", "f")):
        for title in ("露米娜 焕活精华液 三十毫升 包邮 秒杀款", "露米娜 水润面霜 五十克 包邮 秒杀款"):
            add_listing(db, "shop", f"{external}-{title_key(title)[:6]}", title, price="90", seller=(seller, external))
    add_listing(db, "shop", "9", "露米娜 焕活精华液 三十毫升 包邮 秒杀款", price="90", seller=("庚店", "g"))
    alone = add_listing(db, "shop", "10", "露米娜精华液", price="680", seller=("辛店", "h"))
    summary = run_matching(db, config)
    assert summary.seller_networks == 3 and summary.largest_network == 2
    with db.read() as session:
        sellers = {s.external_id: s for s in session.scalars(select(Seller))}
        assert sellers["a"].cluster_id == sellers["b"].cluster_id is not None
        assert sellers["c"].cluster_id == sellers["d"].cluster_id is not None
        assert sellers["e"].cluster_id == sellers["f"].cluster_id is not None
        assert sellers["g"].cluster_id is None  # one copied title is not a network
        network = network_of(session, sellers["a"].id)
        assert network is not None
        assert network["sentence"] == ("this seller belongs to a network of 2 shops on mall, shop, linked by "
                                       "shared contact details")
        assert network["links"][0]["detail"] == "the same wechat lumina_8888"
        photo_network = network_of(session, sellers["c"].id)
        assert photo_network is not None and "shared photos" in photo_network["sentence"]
        listing = session.get(Listing, alone)
        assert listing is not None and listing.seller_id is not None
        assert network_of(session, listing.seller_id) is None
    assert a


def _photo_rule(photos: list[tuple[int, str | None, int, int | None]], brand: set[int],
                seller_of: dict[int, int]) -> list[tuple[int, int, str, str]]:
    """The photo links as the rule reads, one photo at a time: its group found by comparing it with every photo."""
    own = [p for i, p in enumerate(photos) if i not in brand and p[0] in seller_of]
    out: list[tuple[int, int, str, str]] = []
    by_sha: dict[str, set[int]] = {}
    for listing, sha, _, _ in own:
        if sha:
            by_sha.setdefault(sha, set()).add(seller_of[listing])
    for sha, sharers in by_sha.items():
        if 2 <= len(sharers) <= MAX_SHARERS:
            ordered = sorted(sharers)
            out += [(a, b, "photo", f"the same photo (SHA-256 {sha[:12]}…)") for a, b in itertools.pairwise(ordered)]
    for k, (_, _, phash, dhash) in enumerate(own):
        near = [j for j, (_, _, p, d) in enumerate(own) if (p ^ phash).bit_count() <= NEAR_PHOTO
                and (dhash is None or ((d or 0) ^ dhash).bit_count() <= NEAR_PHOTO)]
        sharers = sorted({seller_of[own[j][0]] for j in near})
        if 2 <= len(sharers) <= MAX_SHARERS and min(near) == k:
            out += [(a, b, "photo", f"near-identical photos (within {NEAR_PHOTO} bits)")
                    for a, b in itertools.pairwise(sharers)]
    return out


def _flip(value: int, rng: random.Random, most: int) -> int:
    for bit in rng.sample(range(64), rng.randint(0, most)):
        value ^= 1 << bit
    return value


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_photo_links_follow_the_rule_photo_by_photo(seed: int) -> None:
    # Families of near copies (some chained: each a few bits from the last, so not all near one another), exact
    # repeats, photos without a dHash or with a dHash of 0, a family shared by more than MAX_SHARERS shops, brand
    # photos, and listings without a seller.
    rng = random.Random(seed)
    photos: list[tuple[int, str | None, int, int | None]] = []
    for family in range(60):
        phash, dhash = rng.getrandbits(64), rng.getrandbits(64) if family % 9 else 0
        for _ in range(rng.randint(1, 30 if family == 7 else 6)):
            if rng.random() < 0.5:
                phash, dhash = _flip(phash, rng, 3), _flip(dhash, rng, 3)
            sha = None if rng.random() < 0.1 else f"{rng.getrandbits(16):064x}"
            listing = rng.randrange(80) if family != 7 else rng.randrange(80, 120)
            photos.append((listing, sha, phash, None if rng.random() < 0.15 else dhash))
    photos += [(rng.randrange(120), None, rng.getrandbits(64), rng.getrandbits(64)) for _ in range(100)]
    rng.shuffle(photos)
    seller_of = {listing: listing // 2 if listing < 80 else listing for listing in range(120) if listing % 17}
    brand = set(rng.sample(range(len(photos)), 25))
    rows = [(lid, sha, f"{p:016x}", None if d is None else f"{d:016X}") for lid, sha, p, d in photos]
    links = find_links({}, [(lid, sid, "", "") for lid, sid in seller_of.items()], PhotoHashes.from_rows(rows),
                       np.array([i in brand for i in range(len(photos))]))
    expected = _photo_rule(photos, brand, seller_of)
    assert [astuple(link) for link in links] == expected
    assert sum("near-identical" in detail for *_, detail in expected) >= 10


def test_photo_hashes_are_read_as_hash_int_reads_them() -> None:
    rows = [(1, "a", "00000000000000ff", "FFFFFFFFFFFFFFFF"), (2, None, "8000000000000001", None),
            (3, "b", "0x00000000000001", "0000000000000001"), (4, "c", "short", "0000000000000002"),
            (5, "d", "000000000000000g", "zz"), (6, "e", "00000000 0000001", "00000000000000a1")]
    photos = PhotoHashes.from_rows(rows)
    usable = [r for r in rows if hash_int(r[2]) is not None]
    assert photos.listing.tolist() == [r[0] for r in usable]
    assert photos.sha256 == [r[1] for r in usable]
    assert photos.phash.tolist() == [hash_int(r[2]) for r in usable]
    assert photos.dhash.tolist() == [hash_int(r[3]) or 0 for r in usable]
    assert photos.has_dhash.tolist() == [hash_int(r[3]) is not None for r in usable]
    fast = PhotoHashes.from_rows([(1, "a", "00000000000000ff", "FFFFFFFFFFFFFFFF"), (2, None, "8000000000000001",
                                                                                   "0123456789abcdef")])
    assert fast.phash.tolist() == [255, 2**63 + 1] and fast.dhash.tolist() == [2**64 - 1, 0x0123456789ABCDEF]
    assert len(PhotoHashes.from_rows([]).phash) == 0


def _networks(db: Database) -> dict[int, tuple[int, int, object]]:
    with db.read() as session:
        return {c.id: (c.size, len(c.links), c.updated_at) for c in session.scalars(select(SellerCluster))}


def test_networks_are_rewritten_only_where_they_changed(db: Database, config: BrandConfig) -> None:
    own = photo("rocket")
    add_listing(db, "shop", "1", "露米娜精华液 特价", seller=("甲店", "a"), description="加微信 lumina_8888 拿货价")
    second = add_listing(db, "mall", "2", "露米娜面霜 特价", seller=("乙店", "b"), description="联系 VX：lumina_8888")
    add_listing(db, "shop", "3", "露米娜口红 限时", seller=("丙店", "c"), images=(own,))
    add_listing(db, "mall", "4", "Lumina lipstick sale", seller=("丁店", "d"), images=(own,))
    assert run_matching(db, config).seller_networks == 2
    before = _networks(db)
    with db.read() as session:
        members = {s.external_id: s.cluster_id for s in session.scalars(select(Seller))}
    run_matching(db, config)
    assert _networks(db) == before  # nothing changed: nothing written, not even the time
    # The WeChat id goes from one listing (that network is gone), a third shop shows the photo (that one grows).
    # As the crawler stores a change: the content version moves, so matching and the networks look again.
    with db.session() as session:
        session.execute(update(Listing).where(Listing.id == second)
                        .values(description="包邮", content_version=Listing.content_version + 1))
    add_listing(db, "shop", "5", "露米娜口红", seller=("戊店", "e"), images=(own,))
    assert run_matching(db, config).seller_networks == 1
    after = _networks(db)
    photo_network = members["c"]
    assert photo_network is not None and list(after) == [photo_network]
    assert after[photo_network][0] == 3 and after[photo_network][2] != before[photo_network][2]
    with db.read() as session:
        assert {s.external_id: s.cluster_id for s in session.scalars(select(Seller))} == {
            "a": None, "b": None, "c": photo_network, "d": photo_network, "e": photo_network}


def test_a_run_updates_the_networks_from_what_it_examined_unless_one_was_skipped(db: Database,
                                                                                 config: BrandConfig) -> None:
    own = photo("rocket")
    add_listing(db, "shop", "1", "露米娜口红 限时", seller=("丙店", "c"), images=(own,))
    assert not run_matching(db, config).networks_incremental  # the first: in full, and the index made
    add_listing(db, "mall", "2", "Lumina lipstick sale", seller=("丁店", "d"), images=(own,))
    summary = run_matching(db, config)
    assert summary.networks_incremental and summary.seller_networks == 1
    # A run that skips the networks (or stops before them) leaves its listings out: the next one is full.
    add_listing(db, "shop", "3", "露米娜口红", seller=("戊店", "e"), images=(own,))
    assert run_matching(db, config, clusters=False).examined == 1
    add_listing(db, "shop", "4", "露米娜精华液", seller=("己店", "f"))
    summary = run_matching(db, config)
    assert not summary.networks_incremental and summary.largest_network == 3
    assert run_matching(db, config).networks_incremental
    assert not run_matching(db, config, full=True).networks_incremental
