"""Networks act: a shop tied to copy shops (shared own photos, a shared WeChat id) is flagged with the network named
in its reasons; an unlinked shop is not; contact labels sellers use to dodge filters are read."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from core.catalogue import sync_catalogue
from core.config import BrandConfig
from core.db import Database
from core.models import SUSPECT_VERDICTS, Finding, Review, ReviewDecision, Verdict
from matching.contacts import contacts_in_text
from matching.network_facts import stands_alone
from matching.run import run_matching
from tests.images import photo
from tests.matching_kit import add_listing, genuine_photo, make_config

# --- contact labels ------------------------------------------------------------------------------------------

WECHAT_WRITTEN = [
    "V: mei2688 拿货价", "v：mei2688", "加V mei2688", "加v:mei2688", "+V mei2688", "➕V mei2688",
    "薇: mei2688", "薇 mei2688", "联系 薇 mei2688", "加薇 mei2688", "加微 mei2688", "微信 mei2688",
    "微信号：mei2688", "威信 mei2688",
    "WeChat: mei2688", "we chat id mei2688", "vx mei2688", "VX：mei2688", "wx: mei2688", "Ｖ：ｍｅｉ２６８８",
]
NOT_CONTACTS = [
    "蔷薇: rosewater 精华",  # a rose, not a label
    "TV: samsung55",  # a word ending in v
    "Lumina vitamin cream 50ml",
    "紫薇 mei2688",  # 薇 in a name; standing alone, or with a colon or 加, it stands for 微信
    "薇洛拉 VELORA 精华液",
    "V mei2688",  # a bare V without a colon
    "Vmei2688",
]


@pytest.mark.parametrize("text", WECHAT_WRITTEN)
def test_wechat_ids_are_read_after_every_label(text: str) -> None:
    assert contacts_in_text(text) == {("wechat", "mei2688")}


@pytest.mark.parametrize("text", ["QQ 12345678", "qq号:12345678", "扣扣 12345678", "Q: 12345678", "Q：12345678"])
def test_qq_numbers_are_read(text: str) -> None:
    assert contacts_in_text(text) == {("qq", "12345678")}


@pytest.mark.parametrize("text", NOT_CONTACTS)
def test_ordinary_words_are_no_contacts(text: str) -> None:
    assert contacts_in_text(text) == set()


# --- network flagging on a real database ---------------------------------------------------------------------

@pytest.fixture
def config(tmp_path: Path) -> BrandConfig:
    return make_config(tmp_path)


@pytest.fixture
def db(tmp_path: Path, config: BrandConfig) -> Database:
    database = Database(f"sqlite:///{tmp_path}/t.db")
    assert sync_catalogue(database, config).ok
    return database


A = ("臻品美妆", "shop-a")
B = ("美美小店", "shop-b")
C = ("好物分享铺", "shop-c")
D = ("独立小店", "shop-d")
# The brand's serum at its suggested price, in the shop's own photo: on its own, not enough to queue.
PLAIN_TITLE = "露米娜 焕活精华液 30ml 现货"


def _finding(db: Database, listing_id: int) -> Finding:
    with db.read() as session:
        return session.scalars(select(Finding).where(Finding.listing_id == listing_id)).one()


def _review(db: Database, listing_id: int, decision: ReviewDecision) -> None:
    with db.session() as session:
        finding = session.scalars(select(Finding).where(Finding.listing_id == listing_id)).one()
        session.add(Review(finding_id=finding.id, reviewer="ana", decision=decision))


def _flagged(db: Database, config: BrandConfig, finding: Finding) -> bool:
    return finding.verdict in SUSPECT_VERDICTS and finding.score >= config.thresholds.min_score


def _world(db: Database) -> dict[str, int]:
    own = photo("rocket")  # shop A's own photo of its goods: not one of the brand's
    return {
        # A sells copies: it says so, in its own photo.
        "a": add_listing(db, "shop", "a1", "露米娜 焕活精华液 高仿 1:1", price="150", seller=A, images=(own,),
                         description="拿货加V: mei2688"),
        # B shows A's own photo; C gives A's WeChat id in its description (seller notes); D is tied to nobody.
        "b": add_listing(db, "shop", "b1", PLAIN_TITLE, price="680", seller=B, images=(own,)),
        "c": add_listing(db, "mall", "c1", PLAIN_TITLE, price="680", seller=C, images=(photo("coins"),),
                         description="正品保证\n薇：mei2688"),
        "d": add_listing(db, "shop", "d1", PLAIN_TITLE, price="680", seller=D, images=(photo("moon"),)),
        # B also sells goods that are not the brand's, in the shared photo: the network does not make them suspect.
        "b_other": add_listing(db, "shop", "b2", "儿童 火箭 模型 玩具", price="39", seller=B, images=(own,)),
    }


def test_a_shop_tied_to_a_copy_shop_is_flagged_with_the_network_named(db: Database, config: BrandConfig) -> None:
    ids = _world(db)
    summary = run_matching(db, config)
    assert summary.seller_networks == 1 and summary.largest_network == 3
    assert summary.reexamined_for_networks >= 2
    a = _finding(db, ids["a"])
    assert a.verdict is Verdict.COUNTERFEIT and _flagged(db, config, a)
    ties = {"b": "(shares the same photo (SHA-256 ", "c": "(shares the same wechat mei2688 with 臻品美妆)"}
    for key, tie in ties.items():
        finding = _finding(db, ids[key])
        assert finding.verdict is Verdict.COUNTERFEIT and _flagged(db, config, finding), finding.reasons
        network = finding.signals["network"]
        assert network["outcome"] == "match"
        reason = next(r for r in finding.reasons if r.startswith("the seller belongs to a network of 3 shops"))
        assert reason.endswith("that sells copies: 臻品美妆 on shop (1 flagged counterfeit finding)")
        assert tie in reason
        assert network["evidence"]["without_network"]["score"] < config.thresholds.min_score
    d = _finding(db, ids["d"])
    assert "network" not in d.signals and not _flagged(db, config, d)
    # The same words from the unlinked shop: a suspect, but not one worth a reviewer's time.
    assert d.verdict in SUSPECT_VERDICTS and d.score < config.thresholds.min_score
    other = _finding(db, ids["b_other"])
    assert other.verdict is Verdict.UNRELATED and other.signals["network"]["outcome"] == "match"
    # Settled in one run: the next finds nothing to judge again and rewrites nothing.
    again = run_matching(db, config)
    assert (again.examined, again.updated, again.reexamined_for_networks) == (0, 0, 0)


def test_a_confirmed_copy_shop_is_named_as_confirmed(db: Database, config: BrandConfig) -> None:
    ids = _world(db)
    run_matching(db, config)
    _review(db, ids["a"], ReviewDecision.CONFIRMED)
    run_matching(db, config)  # nothing changed in the listings: the network facts did
    b = _finding(db, ids["b"])
    assert any("臻品美妆 on shop (1 confirmed counterfeit finding)" in r for r in b.reasons), b.reasons


def test_a_dismissed_shop_taints_nobody_and_findings_on_the_network_alone_taint_nobody(
        db: Database, config: BrandConfig) -> None:
    ids = _world(db)
    run_matching(db, config)
    assert _finding(db, ids["b"]).signals["network"]["outcome"] == "match"
    _review(db, ids["a"], ReviewDecision.DISMISSED)
    run_matching(db, config)
    # B and C were flagged only through A; with A dismissed, neither keeps the other flagged.
    for key in ("b", "c"):
        finding = _finding(db, ids[key])
        assert finding.signals["network"]["outcome"] == "no_match", finding.reasons
        assert not _flagged(db, config, finding)


def test_network_signal_without_counterfeit_shops_adds_nothing(db: Database, config: BrandConfig) -> None:
    own = photo("rocket")
    b = add_listing(db, "shop", "b1", PLAIN_TITLE, price="680", seller=B, images=(own,))
    add_listing(db, "shop", "e1", "露米娜 水润面霜 50g", price="480", seller=("另一家", "shop-e"), images=(own,))
    run_matching(db, config)
    finding = _finding(db, b)
    assert finding.signals["network"]["outcome"] == "no_match"
    assert "none of them found selling copies" in finding.signals["network"]["reason"]
    assert not _flagged(db, config, finding)


def test_the_brands_own_photo_ties_nobody(db: Database, config: BrandConfig) -> None:
    add_listing(db, "shop", "a1", "露米娜 焕活精华液 高仿", price="150", seller=A, images=(genuine_photo(),))
    b = add_listing(db, "shop", "b1", PLAIN_TITLE, price="680", seller=B, images=(genuine_photo(),))
    run_matching(db, config)
    assert "network" not in _finding(db, b).signals


def test_stands_alone_reads_the_verdict_without_the_network() -> None:
    assert stands_alone(0.9, {}, 0.5)
    assert not stands_alone(0.3, {}, 0.5)
    flagged_by_network = {"network": {"evidence": {"without_network": {"verdict": "counterfeit", "score": 0.32}}}}
    assert not stands_alone(0.8, flagged_by_network, 0.5)
    on_its_own = {"network": {"evidence": {"without_network": {"verdict": "counterfeit", "score": 0.7}}}}
    assert stands_alone(0.9, on_its_own, 0.5)
    diverted = {"network": {"evidence": {"without_network": {"verdict": "diversion", "score": 0.7}}}}
    assert not stands_alone(0.9, diverted, 0.5)


def test_the_same_shop_name_alone_is_no_operator_tie(db: Database, config: BrandConfig) -> None:
    # A business runs its shop under one name on two marketplaces; a copy on one does not taint the other's
    # goods (the network exists in matching.clusters, but only own photos and contacts tie an operator's shops).
    add_listing(db, "shop", "a1", "露米娜 焕活精华液 高仿", price="150", seller=A, images=(photo("rocket"),))
    twin = add_listing(db, "mall", "a2", PLAIN_TITLE, price="680", seller=(A[0], "a-on-mall"), images=(photo("moon"),))
    summary = run_matching(db, config)
    assert summary.seller_networks == 1
    assert "network" not in _finding(db, twin).signals
