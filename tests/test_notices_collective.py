"""Collective complaints: one notice against one seller for several rights holders, on a real SQLite database,
drafted per marketplace form, exported (CSV read back, PDF parsed), and refused with nothing stored when a holder
has no registrations or no confirmed findings against the seller."""

from __future__ import annotations

import csv
import io
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from typer.testing import CliRunner

from brandpatrol.cli import app
from core.config import load_config
from core.db import Database
from core.models import (
    AuditLog,
    Brand,
    Finding,
    Listing,
    Notice,
    NoticeListing,
    Product,
    Review,
    ReviewDecision,
    Seller,
    Verdict,
)
from dashboard.notices import collective
from dashboard.notices.collective_store import candidates, draft_collective_notice
from dashboard.notices.drafting import DraftError
from dashboard.notices.exports import export_notice
from dashboard.notices.model import Party, TrademarkRef
from dashboard.notices.registry import template
from tests.dashboard_support import World, all_rows
from tests.notices_support import CONFIG_YAML, TODAY, facts, set_signals, write_config

runner = CliRunner()
AURORA_YAML = (CONFIG_YAML.replace("name: Lumina\n", "name: Aurora\n")
               .replace("露米娜化妆品有限公司 Lumina Cosmetics Ltd.", "Aurora Skincare GmbH")
               .replace("brand-protection@lumina.example", "legal@aurora.example")
               .replace('{number: "12345678", jurisdiction: CN, mark: 露米娜, classes: [3]}',
                        '{number: "77000123", jurisdiction: CN, mark: 奥罗拉, classes: [3, 5]}')
               .replace('{number: "018000001", jurisdiction: EU, mark: LUMINA, classes: [3]}',
                        '{number: "018999999", jurisdiction: EU, mark: AURORA, classes: [3]}')
               .replace("LM-100", "AU-7").replace("{redact}", "true"))
HOSTILE_TITLE = '=HYPERLINK("http://x","y") 奥罗拉 {{ 7*7 }} 高仿'


class Alliance:
    """Two brands in one database (Lumina, Aurora), one seller offering fakes of both, and their configurations."""

    def __init__(self, tmp_path: Path, db: Database | None = None):
        self.world = World.create(tmp_path, db)
        self.db = self.world.db
        self.lumina_cfg = write_config(tmp_path)
        self.aurora_cfg = tmp_path / "aurora.yaml"
        self.aurora_cfg.write_text(AURORA_YAML, encoding="utf-8")
        with self.db.session() as s:
            aurora = Brand(name="Aurora", names={"en": "Aurora"})
            product = Product(brand=aurora, sku="AU-7", names={"en": "Aurora Serum"}, prices=[])
            shop = Seller(marketplace_id=self.world.market_ids["taobao"], seller_key="putian-youpin",
                          name="莆田优品美妆", external_id="putian-youpin", country="CN", region="CN-FJ")
            other = Seller(marketplace_id=self.world.market_ids["taobao"], seller_key="other-shop",
                           name="别的店", external_id="other-shop")
            s.add_all([aurora, product, shop, other])
            s.flush()
            self.aurora_product, self.shop, self.other_shop = product.id, shop.id, other.id
        self.n = 0

    def finding(self, product_id: int, title: str, *, seller_id: int | None = None,
                decision: ReviewDecision | None = ReviewDecision.CONFIRMED, verdict: Verdict = Verdict.COUNTERFEIT,
                ) -> int:
        self.n += 1
        with self.db.session() as s:
            listing = Listing(marketplace_id=self.world.market_ids["taobao"], external_id=f"650{self.n}",
                              url=f"https://item.taobao.com/item.htm?id=650{self.n}", title=title,
                              seller_id=seller_id or self.shop, price=Decimal("99.00"), currency="CNY",
                              country="CN", region="CN-FJ")
            s.add(listing)
            s.flush()
            finding = Finding(listing_id=listing.id, product_id=product_id, verdict=verdict, score=0.9 - self.n / 100,
                              reasons=[f"counterfeit tell in the title of {self.n}"], rule_set_version="r1")
            s.add(finding)
            s.flush()
            if decision is not None:
                s.add(Review(finding_id=finding.id, reviewer="ana", decision=decision, note=""))
            fid = finding.id
        set_signals(self.world, fid, **{"text.counterfeit": "match"})
        return fid

    def holders(self) -> list[collective.RightsHolder]:
        return collective.rights_holders([load_config(self.lumina_cfg), load_config(self.aurora_cfg)])

    def stored(self) -> tuple[int, int, int]:
        return len(all_rows(self.db, Notice)), len(all_rows(self.db, AuditLog)), len(notice_links(self))


def notice_links(alliance: Alliance) -> list[str]:
    """The rights holder of each listing of the notices, in order."""
    with alliance.db.read() as s:
        links = s.scalars(select(NoticeListing).order_by(NoticeListing.notice_id, NoticeListing.position))
        return [link.snapshot["rights_holder"] for link in links]


@pytest.fixture
def alliance(tmp_path: Path) -> Alliance:
    return Alliance(tmp_path)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_alliance(request: pytest.FixtureRequest, tmp_path: Path) -> Alliance:
    """The alliance in SQLite, and in PostgreSQL (Debian's server on 127.0.0.1) for teams."""
    if request.param == "sqlite":
        return Alliance(tmp_path)
    return Alliance(tmp_path, Database(request.getfixturevalue("postgres_url")))


def test_one_notice_against_one_seller_names_each_holder_with_its_marks_and_listings(any_alliance: Alliance) -> None:
    alliance = any_alliance
    lumina = [alliance.finding(alliance.world.product_id, f"露米娜焕活精华液 高仿 {i}") for i in range(2)]
    aurora = alliance.finding(alliance.aurora_product, HOSTILE_TITLE)
    alliance.finding(alliance.aurora_product, "奥罗拉 别家店", seller_id=alliance.other_shop)  # another seller
    alliance.finding(alliance.aurora_product, "奥罗拉 未确认", decision=None)  # never reviewed
    alliance.finding(alliance.aurora_product, "奥罗拉 撤销", decision=ReviewDecision.DISMISSED)

    # Only a seller with draftable findings of every brand is a candidate (the other shop sells Aurora fakes only).
    [candidate] = candidates(alliance.db, ["Lumina", "aurora"], marketplace="taobao")
    assert (candidate.seller.describe(), candidate.findings) == ("莆田优品美妆 (putian-youpin)",
                                                                 {"Lumina": 2, "aurora": 1})
    notice_id = draft_collective_notice(alliance.db, marketplace="taobao", seller="putian-youpin",
                                        holders=alliance.holders(), template=template("alibaba_ipp"), actor="lee",
                                        today=TODAY)
    [notice] = all_rows(alliance.db, Notice)
    body = notice.body
    assert notice.id == notice_id and notice.template == "alibaba_ipp" and notice.ground == "counterfeit"
    assert "联合投诉 / Collective complaint — Alibaba IPP" in body
    assert "被投诉店铺 / Seller complained of: 莆田优品美妆 (putian-youpin)" in body
    lumina_at, aurora_at = body.index("露米娜化妆品有限公司"), body.index("Aurora Skincare GmbH")
    # Each holder's section holds its own registrations and its own listings, in the order given.
    assert lumina_at < body.index("CN registration no. 12345678") < body.index("id=6501") < aurora_at
    assert aurora_at < body.index("奥罗拉, CN registration no. 77000123, class 3, 5") < body.index("id=6503")
    assert HOSTILE_TITLE in body and "49" not in body  # scraped text is printed, never evaluated
    for other in ("6504", "6505", "6506"):  # another seller's, unreviewed and dismissed findings stay out
        assert f"id={other}" not in body
    assert body.count("签名 / Signature") == 2 and "On behalf of: Aurora Skincare GmbH" in body
    holders = notice.context["collective"]["holders"]
    assert [(h["brand"], h["finding_ids"]) for h in holders] == [("Lumina", lumina), ("Aurora", [aurora])]
    assert notice_links(alliance) == ["Lumina", "Lumina", "Aurora"]
    [audit] = [a for a in all_rows(alliance.db, AuditLog) if a.action == "notice.draft"]
    assert audit.actor == "lee" and audit.detail["collective"] is True
    assert audit.detail["brands"] == ["Lumina", "Aurora"] and audit.detail["seller"] == "putian-youpin"

    # Exported: each row says whose complaint it is, with that holder's registrations; formulas neutralised.
    exported = export_notice(alliance.db, notice_id, "csv", redacted=True)
    rows = list(csv.DictReader(io.StringIO(exported.data.decode("utf-8-sig"))))
    assert [(r["Rights holder"], r["权利 Registration"]) for r in rows] == [
        ("露米娜化妆品有限公司 Lumina Cosmetics Ltd.", "CN 12345678; EU 018000001")] * 2 + [
        ("Aurora Skincare GmbH", "CN 77000123; EU 018999999")]
    assert rows[2]["标题 Title"] == "'" + HOSTILE_TITLE
    pdf = export_notice(alliance.db, notice_id, "pdf", redacted=True).data
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "AuroraSkincareGmbH" in text.replace(" ", "") and "77000123" in text
    assert "Collective complaint for 2 rights holders" in text
    bundle = zipfile.ZipFile(io.BytesIO(export_notice(alliance.db, notice_id, "zip", redacted=True).data))
    assert len({n.split("/")[1] for n in bundle.namelist() if n.startswith("listings/")}) == 3
    assert "Aurora Skincare GmbH" in bundle.read("listings.csv").decode("utf-8-sig")
    assert candidates(alliance.db, ["Lumina", "Aurora"]) == []  # all on the open notice now


def test_each_marketplace_form_gets_its_own_statements() -> None:
    lumina = collective.RightsHolder("Lumina", _party("Lumina Ltd", "111"))
    aurora = collective.RightsHolder("Aurora", _party("Aurora GmbH", "222"))
    claims = [collective.HolderClaim(lumina, (facts(1),)), collective.HolderClaim(aurora, (facts(2),))]
    seller = collective.SellerRef("莆田优品美妆", "putian-youpin")
    for name, marker in (("dsa_art16", "bona fide belief"), ("amazon_rav", "under penalty of perjury"),
                         ("jd", "各投诉方保证"), ("ebay_vero", "under penalty of perjury")):
        drafted = collective.draft(collective.CollectiveRequest(
            template=template(name), marketplace="taobao", seller=seller, claims=claims, today=TODAY))
        assert marker in drafted.body, name
        assert drafted.holder_of == {1: "Lumina", 2: "Aurora"}
    assert drafted.context["reason_code"] == "1.1" and "Lumina Ltd, Aurora GmbH" in drafted.context["explanation"]
    # A price alone is no evidence of a fake: the draft warns, as single-brand notices do.
    assert any("on price alone" in w for w in drafted.warnings)
    unregistered = collective.RightsHolder("Aurora", Party(name="Aurora GmbH", email="legal@example.com"))
    with pytest.raises(DraftError, match=r"'Aurora GmbH' \(brand 'Aurora'\) has no trademark registrations; add"):
        collective.draft(collective.CollectiveRequest(
            template=template("dsa_art16"), marketplace="taobao", seller=seller, today=TODAY,
            claims=[claims[0], collective.HolderClaim(unregistered, (facts(2),))]))
    with pytest.raises(DraftError, match="does not carry counterfeit"):
        collective.draft(collective.CollectiveRequest(template=template("distribution_policy"), marketplace="taobao",
                                                      seller=seller, claims=claims, today=TODAY))


def _party(name: str, number: str) -> Party:
    return Party(name=name, email="legal@example.com", address="1 Street", phone="+1 555", signatory="A. Person",
                 signatory_title="Counsel", trademarks=(TrademarkRef(number=number, jurisdiction="US"),))


def test_a_holder_without_confirmed_findings_against_the_seller_stops_the_notice(alliance: Alliance) -> None:
    alliance.finding(alliance.world.product_id, "露米娜 高仿")
    alliance.finding(alliance.aurora_product, "奥罗拉 别家店", seller_id=alliance.other_shop)
    alliance.finding(alliance.aurora_product, "奥罗拉 未确认", decision=ReviewDecision.DISMISSED)
    alliance.finding(alliance.aurora_product, "奥罗拉 串货", verdict=Verdict.DIVERSION)
    before = alliance.stored()
    with pytest.raises(DraftError) as refused:
        draft_collective_notice(alliance.db, marketplace="taobao", seller="莆田优品美妆", holders=alliance.holders(),
                                template=template("alibaba_ipp"), actor="lee")
    assert refused.value.problems == [
        "the rights holder 'Aurora Skincare GmbH' (brand 'Aurora') has no confirmed counterfeit findings against "
        "the seller 莆田优品美妆 (putian-youpin) on taobao that no open notice covers; confirm its findings in the "
        "review queue, or leave it out of the collective notice"]
    assert alliance.stored() == before


def test_bad_holders_and_sellers_are_refused_from_the_cli_with_nothing_stored(alliance: Alliance,
                                                                              tmp_path: Path) -> None:
    alliance.finding(alliance.world.product_id, "露米娜 高仿")
    alliance.finding(alliance.aurora_product, "奥罗拉 高仿")
    bare = tmp_path / "bare.yaml"
    bare.write_text("\n".join(line for line in AURORA_YAML.splitlines()
                              if "trademarks:" not in line and "{number:" not in line) + "\n", encoding="utf-8")
    assert load_config(bare).brand.rights_holder.trademarks == []  # type: ignore[union-attr]
    before = alliance.stored()
    base = ["notice", "collective", "-m", "taobao", "-t", "alibaba_ipp", "--db", alliance.db.url, "--actor", "lee"]
    cases = {
        ("-s", "putian-youpin", "-H", str(alliance.lumina_cfg), "-H", str(bare)):
            "the rights holder 'Aurora Skincare GmbH' (brand 'Aurora') has no trademark registrations; add "
            "brand.rights_holder.trademarks (number, jurisdiction, classes) to its configuration, or leave this brand "
            "out of the collective notice",
        ("-s", "putian-youpin", "-H", str(alliance.lumina_cfg)): "a collective notice is filed for two or more",
        ("-s", "putian-youpin", "-H", str(alliance.lumina_cfg), "-H", str(alliance.lumina_cfg)):
            "the brand 'Lumina' is given twice",
        ("-s", "nobody", "-H", str(alliance.lumina_cfg), "-H", str(alliance.aurora_cfg)):
            "no seller 'nobody' on taobao",
    }
    for args, expected in cases.items():
        result = runner.invoke(app, [*base, *args])
        assert result.exit_code != 0 and expected in str(result.exception), (args, result.output, result.exception)
    assert alliance.stored() == before

    no_form = runner.invoke(app, [*base[:4], *base[6:], "-s", "putian-youpin", "-H", str(alliance.lumina_cfg), "-H",
                                  str(alliance.aurora_cfg)])
    assert no_form.exit_code != 0 and "give --template" in str(no_form.exception)
    listed = runner.invoke(app, [*base, "-H", str(alliance.lumina_cfg), "-H", str(alliance.aurora_cfg)])
    assert listed.exit_code == 0 and listed.output == "putian-youpin\t莆田优品美妆\tLumina 1, Aurora 1\n"
    ok = runner.invoke(app, [*base, "-s", "putian-youpin", "-H", str(alliance.lumina_cfg), "-H",
                             str(alliance.aurora_cfg)])
    assert ok.exit_code == 0, ok.output
    assert "drafted collective notice 1 for 2 rights holders from 2 confirmed findings" in ok.output
    again = runner.invoke(app, [*base, "-s", "putian-youpin", "-H", str(alliance.lumina_cfg), "-H",
                                str(alliance.aurora_cfg)])
    assert again.exit_code != 0 and "that no open notice covers" in str(again.exception)  # not twice
    none = runner.invoke(app, [*base, "-H", str(alliance.lumina_cfg), "-H", str(alliance.aurora_cfg)])
    assert none.exit_code == 0 and "no seller on taobao has confirmed counterfeit findings" in none.output
