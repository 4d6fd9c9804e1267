"""Brand workspaces (#14 items 1-2): two brands in one database, users with roles in one of them.

Every dashboard view (AppTest), every CLI command and every export, asked for the other brand's findings,
notices, evidence, test buys or sellers (by crafted ids, query parameters or session state), gets nothing; the
same views show those rows to the other brand's users (so the markers below would be seen if scoping failed).
Also: configuration files listing several brands, roles per brand, one listing judged per brand, crawls claiming
listings for their brand, the agency's view across brands, and the upgrade of a one-brand database.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, update
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from brandpatrol.cli import app
from core.agency import cross_brand_offenders
from core.config import ConfigError, load_brands, load_config, parse_brands
from core.db import Database
from core.models import (
    SUSPECT_VERDICTS,
    AuditLog,
    Brand,
    BrandListing,
    CrawlRun,
    Evidence,
    Finding,
    Listing,
    ListingSnapshot,
    Notice,
    NoticeStatus,
    Product,
    ReviewDecision,
    RunStatus,
    TestBuy,
    User,
    UserBrandRole,
    Verdict,
)
from core.scope import BrandScope, ScopeError, command_scope
from core.settings import get_settings
from crawler.items import ListingItem
from crawler.storage import ListingStore, close_run, open_run
from dashboard import accounts, auth, insights
from dashboard.data.detail import listing_detail, photo_readings
from dashboard.data.evidence import evidence_content
from dashboard.data.groups import Group, GroupKind, group_finding_ids
from dashboard.data.matched import matched_regions
from dashboard.data.neighbours import seller_listings
from dashboard.data.queue import QueueFilters, queue_counts, queue_page
from dashboard.data.reviews import review
from dashboard.data.runs import recent_runs
from dashboard.notices import store, testbuys
from tests.dashboard_support import World, all_rows
from tests.notices_support import CONFIG_YAML, set_signals, write_config
from tests.test_dashboard_app import APP, PASSWORD, nodes, queue_table, sign_in
from tests.test_migrations import dump, fill, revision_before

runner = CliRunner()

AURORA_TITLE = "AURORA-ONLY 极光 serum secret"
AURORA_SELLER = "Aurora Secret Shop"
AURORA_ORDER = "AUR-ORDER-77"
AURORA_RUN_ERROR = "aurora-only-run-error"
AURORA_EVIDENCE = b"<html><h1>AURORA-ONLY evidence page</h1></html>"
LUMINA_TITLE = "LUMINA-ONLY 露米娜精华 高仿"
SHARED_TITLE = "shared listing 露米娜 and 极光"
AURORA_MARKERS = (AURORA_TITLE, AURORA_SELLER, AURORA_ORDER, AURORA_RUN_ERROR)


def aurora_yaml() -> str:
    """Aurora's own configuration: Lumina's with another brand, rights holder and product."""
    return (CONFIG_YAML.replace("name: Lumina", "name: Aurora").replace("Lumina Cosmetics Ltd.", "Aurora Ltd.")
            .replace("{redact}", "true"))


@dataclass
class Two:
    world: World
    tmp: Path
    config: Path  # a file listing both brands
    lumina: int
    aurora: int
    lumina_finding: int
    aurora_finding: int
    shared_listing: int
    shared_lumina: int
    shared_aurora: int
    aurora_listing: int
    aurora_seller: int
    aurora_evidence: str
    aurora_test_buy: int
    aurora_notice: int
    lumina_notice: int

    @property
    def db(self) -> Database:
        return self.world.db

    def as_brand(self, brand_id: int) -> Database:
        return self.db.scoped(BrandScope.of([brand_id]))

    def cli(self, *args: str) -> object:
        return runner.invoke(app, [*args, "--db", self.db.url])


def _finding_for(world: World, brand_id: int, listing_id: int, score: float, title_reason: str) -> int:
    with world.db.session() as s:
        finding = Finding(brand_id=brand_id, listing_id=listing_id, verdict=Verdict.COUNTERFEIT, score=score,
                          reasons=[title_reason], rule_set_version="r1", created_at=datetime.now(UTC))
        s.add(finding)
        s.flush()
        return finding.id


@pytest.fixture
def two(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Two:
    world = World.create(tmp_path)  # brand Lumina, the install's first
    lumina_file = write_config(tmp_path)
    (tmp_path / "aurora.yaml").write_text(aurora_yaml(), encoding="utf-8")
    config = tmp_path / "agency.yaml"
    config.write_text(f"brands:\n  - {lumina_file.name}\n  - aurora.yaml\n", encoding="utf-8")
    now = datetime.now(UTC)
    with world.db.session() as s:
        aurora_brand = Brand(name="Aurora", names={"en": "Aurora"})
        s.add(aurora_brand)
        s.flush()
        s.add(Product(brand_id=aurora_brand.id, sku="AU-1", names={"en": "Aurora serum"}, prices=[]))
        lumina, aurora = s.scalar(select(Brand.id).where(Brand.name == "Lumina")), aurora_brand.id
    assert lumina is not None
    lumina_finding = world.add_finding(score=0.9, title=LUMINA_TITLE, seller="Lumina Fake Shop", created_at=now)
    aurora_finding = world.add_finding(score=0.95, title=AURORA_TITLE, seller=AURORA_SELLER, created_at=now,
                                       reasons=[f"the title says {AURORA_TITLE}"])
    shared_lumina = world.add_finding(score=0.8, title=SHARED_TITLE, seller="Both Brands Shop", created_at=now)
    shared_listing = world.listing_id(shared_lumina)
    aurora_listing = world.listing_id(aurora_finding)
    with world.db.session() as s:
        s.execute(update(Finding).where(Finding.id == aurora_finding).values(brand_id=aurora, product_id=None,
                                                                             matched_reference_id=None))
        aurora_seller = s.scalar(select(Listing.seller_id).where(Listing.id == aurora_listing))
        # Aurora's evidence, test buy and crawl run
        sha = hashlib.sha256(AURORA_EVIDENCE).hexdigest()
        s.add(Evidence(sha256=sha, kind="html", media_type="text/html", encoding="gzip", size=len(AURORA_EVIDENCE),
                       content=gzip.compress(AURORA_EVIDENCE)))
        s.flush()
        s.add(ListingSnapshot(listing_id=aurora_listing, title=AURORA_TITLE, html_sha256=sha))
        buy = TestBuy(brand_id=aurora, listing_id=aurora_listing, order_number=AURORA_ORDER, ordered_on=date.today(),
                      price_paid=Decimal("88"), currency="CNY", recorded_by="aurora-legal")
        s.add(buy)
        s.add(CrawlRun(brand_id=aurora, marketplace_id=world.market_ids["ebay"], status=RunStatus.FAILED,
                       errors={AURORA_RUN_ERROR: 3}))
        s.flush()
        buy_id = buy.id
    shared_aurora = _finding_for(world, aurora, shared_listing, 0.85, f"the title says {SHARED_TITLE}")
    for fid in (lumina_finding, aurora_finding):
        set_signals(world, fid, **{"text.counterfeit": "match"})
    review(world.db, [lumina_finding, aurora_finding], ReviewDecision.CONFIRMED, "ana")
    drafted = {}
    for name, fid in (("Lumina", lumina_finding), ("Aurora", aurora_finding)):
        result = runner.invoke(app, ["notice", "draft", "-m", "taobao", "-t", "alibaba_ipp", "-f", str(fid),
                                     "-c", str(config), "--brand", name, "--db", world.db.url, "--actor", "lee"])
        assert result.exit_code == 0, result.output
        drafted[name] = int(result.output.split("notice(s) ")[1].split()[0])
    monkeypatch.setenv("BRANDPATROL_DB", world.db.url)
    monkeypatch.setenv("BRANDPATROL_CONFIG", str(config))
    get_settings.cache_clear()
    for username, role, brands in (("ana", "analyst", ["Lumina"]), ("lee", "legal", ["Lumina"]),
                                   ("aura", "analyst", ["Aurora"]), ("auralegal", "legal", ["Aurora"]),
                                   ("boss", "admin", [])):
        accounts.add_user(world.db, username, role, PASSWORD, actor="test", brands=brands)
    return Two(world, tmp_path, config, lumina, aurora, lumina_finding, aurora_finding, shared_listing,
               shared_lumina, shared_aurora, aurora_listing, int(aurora_seller or 0), sha, buy_id,
               drafted["Aurora"], drafted["Lumina"])


# --- the dashboard, page by page -----------------------------------------------------------------------------


def signed_in(username: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception, at.exception
    return sign_in(at, username)


def rendered(at: AppTest) -> str:
    """Everything the page sent: every element's message, and every table's cells."""
    parts = []
    for node in nodes(at):
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
        if node.type in ("arrow_data_frame", "dataframe", "table"):
            parts.append(node.value.to_csv())
    return "\n".join(parts)


def visit(at: AppTest, page: str, **query: str) -> str:
    at.switch_page(f"views/{page}.py")
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, (page, at.exception)
    return rendered(at)


ANALYST_PAGES = ("queue", "detail", "sellers", "overview", "runs")
LEGAL_PAGES = ("notices", "testbuys", "detail", "overview")


def assert_no_aurora(rendered: str, where: str) -> None:
    for marker in AURORA_MARKERS:
        assert marker not in rendered, f"{marker!r} reached {where}"


def test_each_page_for_a_lumina_analyst_shows_nothing_of_aurora(two: Two) -> None:
    at = signed_in("ana")
    assert SHARED_TITLE in visit(at, "queue")  # the queue is not empty: Lumina's unreviewed finding is there
    assert set(queue_table(at)["Finding"]) == {two.shared_lumina}  # not Aurora's finding on the same listing
    for page in ANALYST_PAGES:
        assert_no_aurora(visit(at, page), page)
    # crafted ids in the URL: Aurora's finding, and Aurora's finding on the listing both brands saw
    for finding in (two.aurora_finding, two.shared_aurora):
        rendered = visit(at, "detail", finding=str(finding))
        assert_no_aurora(rendered, f"detail of {finding}")
        assert "Finding not found." in rendered  # the same answer as for an id that does not exist
    assert SHARED_TITLE in visit(at, "detail", finding=str(two.shared_lumina))  # its own finding on that listing
    # a crafted brand choice is ignored: the switcher offers only the user's brands
    at.session_state[auth.BRAND_KEY] = two.aurora
    assert_no_aurora(visit(at, "queue"), "queue with a crafted brand")
    assert auth.BRAND_KEY not in {s.key for s in at.selectbox}


def test_each_page_for_a_lumina_lawyer_shows_nothing_of_aurora(two: Two) -> None:
    at = signed_in("lee")
    for page in LEGAL_PAGES:
        assert_no_aurora(visit(at, page), page)
    assert_no_aurora(visit(at, "testbuys", finding=str(two.aurora_finding)), "test buys with Aurora's finding")
    assert LUMINA_TITLE in visit(at, "notices")  # Lumina's own notice is there


def test_the_same_pages_show_aurora_to_aurora_users(two: Two) -> None:
    """The control: every marker the tests above look for is on these pages for Aurora's own people."""
    at = signed_in("aura")
    assert SHARED_TITLE in visit(at, "queue") and str(two.shared_aurora) in rendered(at)
    assert AURORA_TITLE in visit(at, "detail", finding=str(two.aurora_finding))
    assert AURORA_SELLER in visit(at, "sellers")
    assert AURORA_RUN_ERROR in visit(at, "runs")
    legal = signed_in("auralegal")
    assert AURORA_ORDER in visit(legal, "testbuys", finding=str(two.aurora_finding))
    assert AURORA_TITLE in visit(legal, "notices")


def test_roles_follow_the_brand_chosen_and_admins_see_all(two: Two) -> None:
    with two.db.session() as s:
        user = s.scalar(select(User).where(User.username == "aura"))
        assert user is not None
    accounts.grant_brand_role(two.db, "aura", "Lumina", "legal", actor="test")  # analyst for Aurora, legal Lumina
    at = signed_in("aura")
    switcher = at.selectbox(key=auth.BRAND_KEY)
    assert sorted(switcher.options) == ["Aurora", "Lumina"]  # only the user's brands
    switcher.set_value(two.lumina).run()
    assert not at.exception
    assert LUMINA_TITLE in visit(at, "notices") and AURORA_TITLE not in rendered(at)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("views/queue.py")  # legal on Lumina: no review queue
    boss = signed_in("boss")
    visit(boss, "queue")
    assert set(queue_table(boss)["Finding"]) == {two.shared_lumina, two.shared_aurora}  # all brands at once
    boss.selectbox(key=auth.BRAND_KEY).set_value(two.lumina).run()
    visit(boss, "queue")
    assert set(queue_table(boss)["Finding"]) == {two.shared_lumina}
    agency = visit(boss, "agency")
    assert "Both Brands Shop" in agency or AURORA_SELLER in agency or "No seller" in agency


# --- the data layer, asked by crafted ids --------------------------------------------------------------------


def test_crafted_ids_of_the_other_brand_find_nothing(two: Two) -> None:
    lumina = two.as_brand(two.lumina)
    assert listing_detail(lumina, two.aurora_finding) is None
    assert listing_detail(lumina, two.shared_aurora) is None
    assert photo_readings(lumina, two.aurora_finding) == []
    assert evidence_content(lumina, two.aurora_evidence) is None
    assert evidence_content(two.as_brand(two.aurora), two.aurora_evidence) is not None  # the control
    ids = {r.finding_id for r in queue_page(lumina).rows}
    assert two.aurora_finding not in ids and two.shared_aurora not in ids and two.shared_lumina in ids
    assert sum(queue_counts(lumina).values()) == len(ids)
    assert store.load_notice(lumina, two.aurora_notice) is None
    assert two.aurora_notice not in {n.id for n in store.notices(lumina)}
    assert two.aurora_finding not in {r.finding_id for r in store.confirmed_findings(lumina, include_on_notice=True)}
    with pytest.raises(store.NoticeStateError):
        store.change_status(lumina, two.aurora_notice, NoticeStatus.FILED, actor="lee", on=date.today(),
                            reference="X-1", note=None)
    assert testbuys.listing_of_finding(lumina, two.aurora_finding) is None
    assert two.aurora_test_buy not in {b.id for b in testbuys.recent(lumina)}
    assert testbuys.photos_of(lumina, two.aurora_test_buy) == []
    with pytest.raises(testbuys.TestBuyError):
        testbuys.set_result(lumina, two.aurora_test_buy, "counterfeit", actor="lee")
    outcome = review(lumina, [two.aurora_finding], ReviewDecision.DISMISSED, "ana", override=True)
    assert outcome.reviewed == [] and outcome.missing == [two.aurora_finding]
    assert AURORA_RUN_ERROR not in json.dumps([r.error_detail for r in recent_runs(lumina)])
    assert two.aurora_seller not in {o.seller_id for o in insights.repeat_offenders(lumina)}
    assert insights.listings_per_week(lumina, two.aurora_seller) == []
    assert command_scope_for(two, "Lumina").single == two.lumina
    # The review desk's own reads (#17): groups decided at once, the seller's other listings, what matched, Overview.
    every = group_finding_ids(lumina, Group(GroupKind.FILTER, None, QueueFilters()))
    seller = group_finding_ids(lumina, Group(GroupKind.SELLER, two.aurora_seller))
    assert two.aurora_finding not in every and two.shared_aurora not in every and seller == []
    assert two.shared_aurora in group_finding_ids(two.as_brand(two.aurora), Group(GroupKind.FILTER))  # the control
    assert AURORA_TITLE not in {o.title for o in seller_listings(lumina, two.aurora_seller)}
    assert matched_regions(lumina, two.aurora_finding) == []
    with two.db.read() as s:
        lumina_suspects = len(s.scalars(select(Finding.id).where(
            Finding.brand_id == two.lumina, Finding.verdict.in_(sorted(SUSPECT_VERDICTS)))).all())
    assert sum(w.findings for w in insights.findings_per_week(lumina, date(2000, 1, 1))) == lumina_suspects
    # nothing of Aurora changed
    with two.db.read() as s:
        notice = s.get(Notice, two.aurora_notice)
        assert notice is not None and notice.status is NoticeStatus.DRAFTED
        buy = s.get(TestBuy, two.aurora_test_buy)
        assert buy is not None and buy.result.value == "pending"


def command_scope_for(two: Two, name: str | None) -> BrandScope:
    with two.db.read() as s:
        return command_scope(s, name)


def test_a_database_of_several_brands_needs_a_brand_chosen(two: Two) -> None:
    with pytest.raises(ScopeError, match="brands Lumina, Aurora; say which with --brand"):
        command_scope_for(two, None)
    with pytest.raises(ScopeError, match="no brand named 'Nope'"):
        command_scope_for(two, "Nope")
    result = two.cli("findings", "--all")
    assert result.exit_code != 0 and "say which with --brand" in str(result.exception)  # type: ignore[attr-defined]


# --- the command line and its exports ------------------------------------------------------------------------


def test_cli_commands_and_exports_of_one_brand_hold_nothing_of_the_other(two: Two) -> None:
    found = two.cli("findings", "--all", "--brand", "Lumina")
    assert found.exit_code == 0, found.output  # type: ignore[attr-defined]
    ids = {row["finding_id"] for row in json.loads(found.output)}  # type: ignore[attr-defined]
    assert two.lumina_finding in ids and not ids & {two.aurora_finding, two.shared_aurora}
    csv_out = two.tmp / "lumina.csv"
    exported = two.cli("export", "-o", str(csv_out), "--brand", "Lumina")
    assert exported.exit_code == 0, exported.output  # type: ignore[attr-defined]
    text = csv_out.read_text(encoding="utf-8-sig")
    assert LUMINA_TITLE in text and AURORA_TITLE not in text
    # the other brand's notice by id: refused, no file written
    notice_file = two.tmp / "aurora.pdf"
    refused = two.cli("export", "--notice", str(two.aurora_notice), "-o", str(notice_file), "--brand", "Lumina",
                      "-c", str(two.config))
    assert refused.exit_code != 0 and not notice_file.exists()  # type: ignore[attr-defined]
    listed = two.cli("notice", "list", "--json", "--brand", "Lumina")
    assert {n["id"] for n in json.loads(listed.output)} == {two.lumina_notice}  # type: ignore[attr-defined]
    for command in (["notice", "file", str(two.aurora_notice), "--reference", "X"],
                    ["notice", "close", str(two.aurora_notice), "--outcome", "removed"]):
        moved = two.cli(*command, "--brand", "Lumina")
        assert moved.exit_code != 0, command  # type: ignore[attr-defined]
    drafted = two.cli("notice", "draft", "-m", "taobao", "-t", "alibaba_ipp", "-f", str(two.aurora_finding),
                      "-c", str(two.config), "--brand", "Lumina")
    assert drafted.exit_code != 0 and "do not exist" in str(drafted.exception)  # type: ignore[attr-defined]
    labels = two.tmp / "labels.csv"
    labels.write_text("marketplace,external_id,label\ntaobao,L2,counterfeit\n", encoding="utf-8")
    report = two.cli("evaluate", "--labels", str(labels), "--json", "--brand", "Lumina", "-c", str(two.config))
    assert report.exit_code == 0, report.output  # type: ignore[attr-defined]
    assert json.loads(report.output)["flagged"] == 0  # type: ignore[attr-defined]  # L2 is Aurora's finding
    with two.db.read() as s:
        assert s.get(Notice, two.aurora_notice).status is NoticeStatus.DRAFTED  # type: ignore[union-attr]


def test_bank_export_shares_only_the_brand_s_own_confirmations(two: Two) -> None:
    keys = {name: two.tmp / f"{name}.pem" for name in ("Lumina", "Aurora")}
    for key in keys.values():
        made = runner.invoke(app, ["bank", "keygen", "--key-file", str(key)])
        assert made.exit_code == 0, made.output
    out = two.tmp / "lumina.bank"
    result = two.cli("bank", "export", "-o", str(out), "--no-photos", "--brand", "Lumina", "-c", str(two.config),
                     "--key-file", str(keys["Lumina"]))
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    entries = json.loads(out.read_text(encoding="utf-8"))["payload"]["entries"]
    assert [e["seller_id"] for e in entries] == ["Lumina Fake Shop-1"]  # Aurora's confirmed seller is not shared
    # one brand's key does not sign another brand's file
    again = two.cli("bank", "export", "-o", str(two.tmp / "a.bank"), "--no-photos", "--brand", "Aurora",
                    "-c", str(two.config), "--key-file", str(keys["Lumina"]))
    assert again.exit_code == 2 and "already signs the bank files of brand 'Lumina'" in again.output  # type: ignore[attr-defined]


def _accounts_state(db: Database) -> tuple[object, ...]:
    with db.read() as s:
        return (s.execute(select(UserBrandRole.user_id, UserBrandRole.brand_id, UserBrandRole.role)
                          .order_by(UserBrandRole.user_id, UserBrandRole.brand_id)).all(),
                len(all_rows(db, User)), len(all_rows(db, AuditLog)))


def test_users_hold_roles_per_brand_and_an_unknown_brand_changes_nothing(two: Two) -> None:
    before = _accounts_state(two.db)
    added = runner.invoke(app, ["user", "add", "newbie", "--role", "analyst", "--brand", "Nope", "--password-stdin",
                                "--db", two.db.url], input=PASSWORD + "\n")
    assert added.exit_code == 2 and "no brand named 'Nope'" in added.output
    granted = two.cli("user", "grant", "ana", "--brand", "Nope", "--role", "legal")
    assert granted.exit_code == 2 and "no brand named 'Nope'" in granted.output  # type: ignore[attr-defined]
    needs = runner.invoke(app, ["user", "add", "newbie", "--role", "analyst", "--password-stdin",
                                "--db", two.db.url], input=PASSWORD + "\n")
    assert needs.exit_code == 2 and "say which the analyst works on with --brand" in needs.output
    assert _accounts_state(two.db) == before
    ok = two.cli("user", "grant", "ana", "--brand", "Aurora", "--role", "legal")
    assert ok.exit_code == 0, ok.output  # type: ignore[attr-defined]
    listed = json.loads(two.cli("user", "list", "--json").output)  # type: ignore[attr-defined]
    assert {u["username"]: u.get("brands") for u in listed}["ana"] == {"Lumina": "analyst", "Aurora": "legal"}


# --- the agency's view across brands -------------------------------------------------------------------------


def test_sellers_offending_several_brands_come_worst_first_with_evidence_per_brand(two: Two) -> None:
    # The shared listing's seller also sells Aurora's fake: one seller, two brands, Aurora's confirmed.
    with two.db.session() as s:
        both = s.scalar(select(Listing.seller_id).where(Listing.id == two.shared_listing))
        s.execute(update(Listing).where(Listing.id == two.aurora_listing).values(seller_id=both))
    offenders = cross_brand_offenders(two.db)
    assert [o.seller_id for o in offenders] == [both]
    [offender] = offenders
    assert offender.brands == 2 and offender.confirmed == 1 and offender.suspect_findings == 3
    aurora, lumina = offender.per_brand  # the brand with a confirmed finding first
    assert (aurora.brand, aurora.suspect_findings, aurora.confirmed) == ("Aurora", 2, 1)
    assert {e.finding_id for e in aurora.evidence} == {two.aurora_finding, two.shared_aurora}
    assert (lumina.brand, [e.finding_id for e in lumina.evidence]) == ("Lumina", [two.shared_lumina])
    # one brand's scope sees no cross-brand offender; the CLI says the same
    assert cross_brand_offenders(two.as_brand(two.lumina)) == []
    shown = json.loads(two.cli("offenders", "--json").output)  # type: ignore[attr-defined]
    assert [b["brand"] for b in shown[0]["per_brand"]] == ["Aurora", "Lumina"]
    assert json.loads(two.cli("offenders", "--json", "--brand", "Lumina").output) == []  # type: ignore[attr-defined]


def test_repeat_offender_records_count_across_brands(two: Two) -> None:
    from matching.past import record_for, seller_records

    with two.db.session() as s:
        both = s.scalar(select(Listing.seller_id).where(Listing.id == two.shared_listing))
        lumina_listing = s.scalar(select(Finding.listing_id).where(Finding.id == two.lumina_finding))
        s.execute(update(Listing).where(Listing.id.in_([two.aurora_listing, lumina_listing])).values(seller_id=both))
    with two.db.read() as s:
        record = record_for(seller_records(s, [both]), both, two.shared_listing)  # type: ignore[list-item]
    assert record is not None and (record.confirmed_findings, record.brands) == (2, 2)


# --- configuration, matching and crawling per brand ----------------------------------------------------------


def test_a_file_may_list_several_brands_but_not_one_twice(tmp_path: Path) -> None:
    write_config(tmp_path)
    (tmp_path / "aurora.yaml").write_text(aurora_yaml(), encoding="utf-8")
    listing = tmp_path / "agency.yaml"
    listing.write_text("brands:\n  - brandpatrol.yaml\n  - aurora.yaml\n", encoding="utf-8")
    assert [c.brand.name for c in load_brands(listing)] == ["Lumina", "Aurora"]
    assert load_config(listing, "Aurora").brand.rights_holder is not None
    with pytest.raises(ConfigError, match="lists brands Lumina, Aurora; say which with --brand"):
        load_config(listing)
    twice = "brands:\n  - brandpatrol.yaml\n  - aurora.yaml\n  - brandpatrol.yaml\n"
    with pytest.raises(ConfigError, match=r"brands.2 \(line 4\): brand 'Lumina' is named twice \(also brands.0\)"):
        parse_brands(twice, tmp_path / "agency.yaml")
    inline = "brands:\n" + "".join("  - " + line.replace("\n", "\n    ") + "\n"
                                   for line in [aurora_yaml().rstrip()])
    with pytest.raises(ConfigError, match=r"brands\.1 .*named twice"):
        parse_brands(inline + "  - aurora.yaml\n", tmp_path / "agency.yaml")


def test_a_listing_two_brands_crawled_is_stored_once_and_judged_by_each(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/c.db")
    item = ListingItem(marketplace="shop", external_id="777", url="http://shop.example/777", title="露米娜 极光 礼盒")
    for brand in ("Lumina", "Aurora"):
        run = open_run(db, "shop", brand=brand)
        ListingStore(db, "shop", run).write_batch([item])
        close_run(db, run, RunStatus.OK, pages=1, items=1, drops={}, errors={}, stats={}, gone_after_runs=1)
    with db.read() as s:
        listings = s.scalars(select(Listing)).all()
        claims = s.execute(select(Brand.name).join(BrandListing, BrandListing.brand_id == Brand.id)).scalars().all()
    assert len(listings) == 1 and sorted(claims) == ["Aurora", "Lumina"]
    assert not listings[0].gone and listings[0].missed_runs == 0
    # A complete crawl of Aurora that no longer sees a listing only Lumina's crawls look for says nothing of it.
    lumina_only = ListingItem(marketplace="shop", external_id="888", url="http://shop.example/888", title="露米娜")
    run = open_run(db, "shop", brand="Lumina")
    ListingStore(db, "shop", run).write_batch([item, lumina_only])
    close_run(db, run, RunStatus.OK, pages=1, items=2, drops={}, errors={}, stats={}, gone_after_runs=1)
    run = open_run(db, "shop", brand="Aurora")
    ListingStore(db, "shop", run).write_batch([item])
    close_run(db, run, RunStatus.OK, pages=1, items=1, drops={}, errors={}, stats={}, gone_after_runs=1)
    with db.read() as s:
        kept = s.scalar(select(Listing).where(Listing.external_id == "888"))
    assert kept is not None and not kept.gone and kept.missed_runs == 0
    db.dispose()


def test_matching_judges_a_shared_listing_once_per_brand(tmp_path: Path) -> None:
    from core.catalogue import sync_catalogue
    from matching.run import run_matching
    from tests.matching_kit import add_listing, brand_dict, make_config

    lumina = make_config(tmp_path / "lumina")
    other = brand_dict()
    other["brand"] = {**other["brand"], "name": "Aurora", "names": {"en": "Aurora", "zh": "极光"}}
    for product in other["products"]:
        product["sku"] = "AU-" + product["sku"]
        product["names"] = {"en": "Aurora " + product["names"].get("en", ""), "zh": "极光精华"}
        product["keywords"] = ["极光"]
    aurora = make_config(tmp_path / "aurora", other)
    db = Database(f"sqlite:///{tmp_path}/m.db")
    for config in (lumina, aurora):
        sync_catalogue(db, config)
    shared = add_listing(db, "shop", "s1", "露米娜焕活精华液 高仿 1:1", price="99")
    lumina_summary = run_matching(db, lumina, clusters=False)
    aurora_summary = run_matching(db, aurora, clusters=False)
    assert lumina_summary.examined == aurora_summary.examined == 1
    with db.read() as s:
        judged = {name: verdict for name, verdict in s.execute(
            select(Brand.name, Finding.verdict).join(Brand, Brand.id == Finding.brand_id)
            .where(Finding.listing_id == shared))}
        claims = s.scalar(select(BrandListing.listing_id).where(BrandListing.listing_id == shared))
    assert judged["Lumina"] is Verdict.COUNTERFEIT and judged["Aurora"] in (Verdict.UNRELATED, Verdict.OK)
    assert claims == shared
    # each brand remembers what it judged: nothing changed, nothing examined again
    assert run_matching(db, lumina, clusters=False).examined == 0
    assert run_matching(db, aurora, clusters=False).examined == 0
    db.dispose()


# --- upgrading a one-brand database -------------------------------------------------------------------------


def test_upgrade_assigns_every_row_to_the_install_s_brand_and_downgrade_returns(tmp_path: Path) -> None:
    from alembic import command

    from core.db import alembic_config, make_engine
    from tests.test_migrations import ROWS

    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    cfg = alembic_config(engine)
    command.upgrade(cfg, revision_before("0009"))
    rows = {**ROWS, "match_state": [{"key": "matching.rule_set_version", "value": "2026.3",
                                     "updated_at": datetime(2026, 11, 30, tzinfo=UTC)}]}
    fill(engine, rows)
    before = dump(engine)
    command.upgrade(cfg, "0009")
    after = dump(engine)
    for table, table_rows in before.items():  # nothing lost or changed; new columns aside
        if table in ("alembic_version", "match_state"):
            continue
        assert [{k: r[k] for k in old} for r, old in zip(after[table], table_rows, strict=True)] == table_rows
    for table in ("finding", "notice", "audit_log", "crawl_run"):
        assert {r["brand_id"] for r in after[table]} == {1}, table
    assert {(r["brand_id"], r["listing_id"], r["matched_version"]) for r in after["brand_listing"]} == {
        (1, 1, 2), (1, 2, 2)}
    assert [r["key"] for r in after["match_state"]] == ["matching.rule_set_version@1"]
    assert {"uq_finding_brand_listing"} <= {u["name"] for u in inspect(engine).get_unique_constraints("finding")}
    command.downgrade(cfg, revision_before("0009"))
    assert dump(engine) == before
    engine.dispose()


def test_the_scheduler_s_jobs_run_for_each_brand_with_its_own_alerts(two: Two) -> None:
    from brandpatrol.scheduler import weekly_digest
    from core.models import AlertRecord

    result = weekly_digest(str(two.config), two.db.url)
    assert set(result) == {"Lumina", "Aurora"}
    with two.db.read() as s:
        sent = {r.brand_id: r.body for r in s.scalars(select(AlertRecord).where(AlertRecord.kind == "digest"))}
    assert set(sent) == {two.lumina, two.aurora}
    assert "for Lumina" in sent[two.lumina] and "for Aurora" in sent[two.aurora]
    # each digest counts its own brand's notices: one drafted, none filed, in each
    assert all("notices: 0 filed, 0 removed, 0 still open" in body for body in sent.values())
    assert "waiting for review: 1" in sent[two.lumina] and "waiting for review: 1" in sent[two.aurora]
