"""Notice drafting as pure functions: the elements each form requires, diversion wording, the price-only warning,
the 300-link split, refusals, and templates that treat every value as data."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from core.models import TestBuyResult, Verdict
from dashboard.notices.drafting import (
    DraftError,
    DraftRequest,
    draft,
    evidence_basis,
    problems,
    rests_on_price_alone,
)
from dashboard.notices.model import Ground, ListingFacts, Party, TestBuyFacts
from dashboard.notices.registry import TEMPLATES, template, templates_for
from dashboard.notices.render import environment
from tests.notices_support import GROUND_OF, SIGNALS, TODAY, facts, party

IP_WORDS = ("infring", "counterfeit", "trademark", "copyright", "intellectual property", "侵权", "假冒", "商标",
            "著作权", "知识产权", "盗")


@pytest.fixture
def holder(tmp_path: Path) -> Party:
    return party(tmp_path)


def request(holder: Party, name: str, listings: list[ListingFacts], ground: Ground | None = None,
            **kwargs: object) -> DraftRequest:
    return DraftRequest(template=template(name), ground=ground or GROUND_OF[name], marketplace="taobao",
                        party=holder, listings=listings, today=TODAY, **kwargs)  # type: ignore[arg-type]


def one_body(holder: Party, name: str, listing: ListingFacts, ground: Ground | None = None,
             **kwargs: object) -> str:
    [notice] = draft(request(holder, name, [listing], ground, **kwargs))
    return notice.body


def counterfeit_listing(**overrides: object) -> ListingFacts:
    return facts(1, evidence=frozenset({"price", "counterfeit_tells"}), **overrides)


# --- the elements each form asks for --------------------------------------------------------------------------


def test_dmca_notice_has_every_element_of_512_c_3_a(holder: Party) -> None:
    body = one_body(holder, "dmca", counterfeit_listing())
    # the six elements, in order, each with its statutory content
    positions = [body.index(f"({n})") for n in ("i", "ii", "iii", "iv", "v", "vi")]
    assert positions == sorted(positions)
    assert "/s/ 李伟 Li Wei, Legal Counsel, on behalf of 露米娜化妆品有限公司 Lumina Cosmetics Ltd." in body  # (i)
    assert "Lumina product photographs 2026" in body and "Product photograph LM-100-front" in body  # (ii)
    assert "https://item.taobao.com/item.htm?id=6500000001" in body  # (iii) locates the material
    assert "Address: 上海市浦东新区世纪大道88号" in body and "Phone: +86 21 5555 0100" in body  # (iv)
    assert "Email: brand-protection@lumina.example" in body
    assert "good faith belief that use of the material in the manner complained of is not authorized by the " \
           "copyright owner, its agent, or the law" in body.replace("\n", " ")  # (v)
    flat = body.replace("\n", " ")
    assert "information in this notification is accurate" in flat and "under penalty of perjury" in flat  # (vi)
    assert "authorized to act on behalf of the owner of an exclusive right" in flat


def test_dsa_article_16_notice_has_a_to_d(holder: Party) -> None:
    body = one_body(holder, "dsa_art16", counterfeit_listing())
    flat = body.replace("\n", " ")
    assert "(a) Explanation of the reasons why the information is illegal content" in body
    assert "Regulation (EU) 2017/1001" in flat and "EU registration no. 018000001" in body
    assert "(b) Exact electronic location" in body and "https://item.taobao.com/item.htm?id=6500000001" in body
    assert "(c) Name and email address of the notifier" in body
    assert "Name: 露米娜化妆品有限公司 Lumina Cosmetics Ltd." in body
    assert "Email: brand-protection@lumina.example" in body
    assert "(d) Statement of bona fide belief" in body and "accurate and complete" in flat


def test_alibaba_ipp_complaint_names_the_right_the_links_and_the_statement(holder: Party) -> None:
    buy = TestBuyFacts(id=7, listing_id=1, order_number="TB-2026-0042", ordered_on=date(2026, 2, 20),
                       price_paid=Decimal("99.00"), currency="CNY", result=TestBuyResult.COUNTERFEIT)
    body = one_body(holder, "alibaba_ipp", counterfeit_listing(), test_buys={1: [buy]})
    assert "阿里巴巴知识产权保护平台投诉 / Alibaba IPP complaint" in body
    assert "露米娜, CN registration no. 12345678, class 3" in body
    assert "假冒商品" in body and "https://item.taobao.com/item.htm?id=6500000001" in body
    assert "TB-2026-0042" in body and "试买报告 / Test-buy report" in body
    assert "签名 / Signature: /s/ 李伟 Li Wei" in body


@pytest.mark.parametrize(("ground", "code"), [(Ground.COUNTERFEIT, "1.1"), (Ground.COPYRIGHT_IMAGE, "4.2")])
def test_ebay_vero_uses_one_reason_code_per_notice(holder: Party, ground: Ground, code: str) -> None:
    body = one_body(holder, "ebay_vero", counterfeit_listing(), ground)
    assert f"Reason code {code}:" in body
    assert "Allegedly infringing item numbers (1)" in body and "Item ID: 6500000001" in body
    flat = body.replace("\n", " ")
    assert "good faith belief" in flat and "under penalty of perjury" in flat
    assert "Legal Counsel" in body  # name and title of the person submitting


def test_ebay_9037_is_for_diversion_with_countries_and_a_caveat(holder: Party) -> None:
    diverted = facts(1, verdict=Verdict.DIVERSION, evidence=frozenset({"unauthorised_seller"}))
    with pytest.raises(DraftError, match=r"countries where the importation is unlawful"):
        draft(request(holder, "ebay_vero", [diverted], Ground.UNLAWFUL_IMPORTATION))
    [notice] = draft(request(holder, "ebay_vero", [diverted], Ground.UNLAWFUL_IMPORTATION, countries=["US", "DE"]))
    assert "Reason code 9037: Item(s) is unlawful importation of product bearing trademark" in notice.body
    assert "Countries where importation of the items is unlawful: US, DE" in notice.body
    assert notice.context["reason_code"] == "9037" and notice.context["countries"] == ["US", "DE"]
    assert any("exhaustion" in w for w in notice.warnings)
    assert "99.00" not in notice.body  # diversion never argues from the price


def test_amazon_report_names_registration_nature_and_test_buy_orders(holder: Party) -> None:
    buy = TestBuyFacts(id=3, listing_id=1, order_number="114-1234567-7654321", ordered_on=date(2026, 2, 1),
                       price_paid=Decimal("19.99"), currency="USD", result=TestBuyResult.COUNTERFEIT)
    body = one_body(holder, "amazon_rav", counterfeit_listing(), test_buys={1: [buy]})
    flat = body.replace("\n", " ")
    assert "CN registration no. 12345678" in body and "Counterfeit product" in body
    assert "Test-buy order IDs: 114-1234567-7654321" in body
    assert "under penalty of perjury" in flat and "good faith belief" in flat


@pytest.mark.parametrize("name", ["jd", "pinduoduo"])
def test_chinese_platform_complaints(holder: Party, name: str) -> None:
    body = one_body(holder, name, counterfeit_listing())
    assert "CN registration no. 12345678" in body and "https://item.taobao.com/item.htm?id=6500000001" in body
    assert "依法承担责任" in body  # the complainant's liability statement the platforms ask for


def test_every_template_renders_for_its_grounds(holder: Party) -> None:
    for spec in TEMPLATES.values():
        for ground in spec.grounds:
            verdict = Verdict.COUNTERFEIT if ground in (Ground.COUNTERFEIT, Ground.COPYRIGHT_IMAGE) \
                else Verdict.DIVERSION
            listing = facts(1, verdict=verdict, evidence=frozenset({"counterfeit_tells", "unauthorised_seller"}))
            [notice] = draft(request(holder, spec.name, [listing], ground, countries=["US"]))
            assert listing.url in notice.body and holder.name in notice.body, (spec.name, ground)


# --- diversion is a contract matter ---------------------------------------------------------------------------


def test_diversion_gets_distribution_policy_wording_never_ip_wording(holder: Party) -> None:
    diverted = facts(1, verdict=Verdict.DIVERSION, evidence=frozenset({"out_of_region", "unauthorised_seller"}),
                     region="CN-HN")
    [notice] = draft(request(holder, "distribution_policy", [diverted]))
    lowered = notice.body.lower()
    assert not [w for w in IP_WORDS if w in lowered]
    assert "distribution agreements" in notice.body and "经销协议" in notice.body
    assert "Ships from CN-HN, outside its authorised territory" in notice.body
    assert "99.00" not in notice.body and "CNY" not in notice.body  # no price in a diversion report
    assert "Brand owner" in notice.body and "Rights holder" not in notice.body


@pytest.mark.parametrize("name", ["alibaba_ipp", "dsa_art16", "amazon_rav", "dmca"])
def test_diversion_findings_are_refused_on_ip_grounds(holder: Party, name: str) -> None:
    for verdict in (Verdict.DIVERSION, Verdict.PRICE_FLOOR_BREACH):
        with pytest.raises(DraftError, match="distribution_policy"):
            draft(request(holder, name, [facts(1, verdict=verdict)]))


def test_counterfeit_findings_are_refused_on_the_diversion_ground(holder: Party) -> None:
    with pytest.raises(DraftError, match="counterfeit findings"):
        draft(request(holder, "distribution_policy", [facts(1)]))


# --- the price-only warning -----------------------------------------------------------------------------------


def test_counterfeit_notice_resting_on_price_alone_is_warned(holder: Party) -> None:
    price_only = facts(1, evidence=frozenset({"price", "unauthorised_seller"}))  # cheap and unauthorised: not fake
    [notice] = draft(request(holder, "alibaba_ipp", [price_only, counterfeit_listing(listing_id=2, finding_id=102)]))
    [warning] = [w for w in notice.warnings if "price alone" in w]
    assert warning.startswith("Finding 101 rests on price alone")
    assert "E-commerce Law, Art. 42" in warning and "double damages" in warning
    assert rests_on_price_alone(price_only, Ground.COUNTERFEIT)
    bought = TestBuyFacts(id=1, listing_id=1, order_number="A1", ordered_on=TODAY, price_paid=Decimal("99"),
                          currency="CNY", result=TestBuyResult.COUNTERFEIT)
    assert not rests_on_price_alone(price_only, Ground.COUNTERFEIT, [bought])  # a test buy settles it
    [settled] = draft(request(holder, "alibaba_ipp", [price_only], test_buys={1: [bought]}))
    assert not [w for w in settled.warnings if "price alone" in w]


def test_diversion_resting_on_price_alone_warns_about_resale_price_maintenance(holder: Party) -> None:
    floor_breach = facts(1, verdict=Verdict.PRICE_FLOOR_BREACH, evidence=frozenset({"price"}))
    [notice] = draft(request(holder, "distribution_policy", [floor_breach]))
    [warning] = [w for w in notice.warnings if "price alone" in w]
    assert "resale price maintenance" in warning
    assert "China (Anti-Monopoly Law)" in warning and "the EU (Art. 101 TFEU)" in warning
    assert "Art. 42" in warning
    traced = TestBuyFacts(id=1, listing_id=1, order_number="A1", ordered_on=TODAY, price_paid=Decimal("99"),
                          currency="CNY", result=TestBuyResult.GENUINE, code_read="GD240311",
                          distributor="South China Beauty Trading")
    [with_code] = draft(request(holder, "distribution_policy", [floor_breach], test_buys={1: [traced]}))
    assert not [w for w in with_code.warnings if "price alone" in w]
    assert "traced to goods shipped to South China Beauty Trading" in with_code.body
    assert "99" not in with_code.body.split("Listings")[1].split("Request")[0]  # no price paid either


def test_evidence_basis_reads_the_stored_signals() -> None:
    assert evidence_basis(SIGNALS) == {"price", "counterfeit_tells", "diversion_tells", "brand_photo",
                                       "out_of_region", "unauthorised_seller"}
    assert evidence_basis({"image": {"outcome": "no_match"}, "seller": {"outcome": "unknown"}}) == {
        "photo_not_brands"}
    assert evidence_basis({}) == frozenset()
    assert evidence_basis({"price": "garbage"}) == frozenset()
    # The seller's own photo of the brand's pack is no evidence of a copy (genuine resellers shoot their own).
    assert evidence_basis({"image": {"outcome": "no_match"}, "own_photo": {"outcome": "match"}}) == frozenset()


# --- splitting -------------------------------------------------------------------------------------------------


def test_alibaba_drafts_over_300_links_are_split_into_requests(holder: Party) -> None:
    listings = [counterfeit_listing(listing_id=n, finding_id=n, url=f"https://item.taobao.com/item.htm?id={n}")
                for n in range(1, 651)]
    notices = draft(request(holder, "alibaba_ipp", listings))
    assert [len(n.listings) for n in notices] == [300, 300, 50]
    assert [(n.part, n.parts) for n in notices] == [(1, 3), (2, 3), (3, 3)]
    assert "第 2 部分，共 3 部分 / Request 2 of 3" in notices[1].body
    urls = [u for n in notices for u in re.findall(r"https://item\.taobao\.com/item\.htm\?id=\d+", n.body)]
    assert sorted(urls) == sorted(f.url for f in listings)  # every link once, none twice
    assert "四、侵权链接（300 条）" in notices[0].body
    single = draft(request(holder, "alibaba_ipp", listings[:300]))
    assert len(single) == 1 and "Request" not in single[0].body


def test_amazon_reports_split_at_50(holder: Party) -> None:
    listings = [counterfeit_listing(listing_id=n, finding_id=n) for n in range(1, 52)]
    assert [len(n.listings) for n in draft(request(holder, "amazon_rav", listings))] == [50, 1]


# --- refusals ---------------------------------------------------------------------------------------------------


def test_missing_rights_holder_details_are_named(holder: Party) -> None:
    bare = Party(name="Lumina Ltd.")
    found = problems(request(bare, "dmca", [counterfeit_listing()]))
    assert any("brand.rights_holder.signatory" in p and "brand.rights_holder.address" in p
               and "brand.rights_holder.phone" in p for p in found)
    found = problems(request(bare, "alibaba_ipp", [counterfeit_listing()]))
    assert any("brand.rights_holder.email" in p for p in found)
    assert any("trademarks" in p for p in found)


def test_other_refusals(holder: Party) -> None:
    no_photo = counterfeit_listing(reference_id=None)
    assert any("no reference photo" in p for p in problems(request(holder, "dmca", [no_photo])))
    assert any("does not carry the ground 'counterfeit'" in p
               for p in problems(request(holder, "dmca", [no_photo], Ground.COUNTERFEIT)))
    genuine = TestBuyFacts(id=1, listing_id=1, order_number="A1", ordered_on=TODAY, price_paid=Decimal("99"),
                           currency="CNY", result=TestBuyResult.GENUINE)
    found = problems(request(holder, "alibaba_ipp", [counterfeit_listing()], test_buys={1: [genuine]}))
    assert any("found the goods of findings 101 genuine" in p for p in found)
    mixed = [counterfeit_listing(), counterfeit_listing(listing_id=2, marketplace="jd")]
    assert any("one notice covers one marketplace" in p for p in problems(request(holder, "alibaba_ipp", mixed)))
    assert any("no confirmed findings" in p for p in problems(request(holder, "alibaba_ipp", [])))


def test_templates_for_a_marketplace_put_its_own_form_first() -> None:
    assert templates_for("taobao")[0].name == "alibaba_ipp"
    assert templates_for("ebay-us")[0].name == "ebay_vero"
    assert [t.name for t in templates_for("demo-shop", Ground.DIVERSION)] == ["distribution_policy"]
    with pytest.raises(ValueError, match="no notice template named 'nope'"):
        template("nope")


# --- values are data (fault row 48) -----------------------------------------------------------------------------


INJECTIONS = ("{{ 7*7 }}", "{% include 'dmca.txt.j2' %}", "{{ ''.__class__.__mro__ }}", "{# hidden #}",
              "{% for x in range(3) %}loop{% endfor %}")


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_notice_template_injection_is_rendered_literally(holder: Party, name: str) -> None:
    ground = GROUND_OF[name]
    verdict = Verdict.DIVERSION if ground is Ground.DIVERSION else Verdict.COUNTERFEIT
    listing = facts(1, verdict=verdict, evidence=frozenset({"counterfeit_tells", "unauthorised_seller"}),
                    seller_name=INJECTIONS[0], seller_id=INJECTIONS[1], title=" ".join(INJECTIONS[2:]),
                    external_id=INJECTIONS[0])
    evil_holder = replace(holder, agent="{% raw %}{{ 7*7 }}")
    [notice] = draft(request(evil_holder, name, [listing]))
    for text in INJECTIONS:
        assert text in notice.body, (name, text)
    assert "{% raw %}{{ 7*7 }}" in notice.body
    assert "49" not in notice.body and "loooop" not in notice.body and "<class" not in notice.body
    assert "(vi) Statement of accuracy" not in notice.body or name == "dmca"  # nothing was included


def test_html_variants_would_be_autoescaped() -> None:
    env = environment()
    assert env.autoescape("notice.html") is True and env.autoescape("notice.txt.j2") is False
    rendered = env.from_string("<p>{{ seller }}</p>").render(seller='<img src=x onerror=alert(1)>')
    assert rendered == "<p>&lt;img src=x onerror=alert(1)&gt;</p>"
