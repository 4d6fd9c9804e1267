"""Two-stage crawling on a loopback marketplace (issue #18): search cards become listings, matching judges them,
and only the brand's flagged or undecided listings get their item page, within the nightly budget, most suspicious
first; an unchanged card of a captured listing is not fetched again; bad cards are counted and skipped."""

from __future__ import annotations

import gzip
import hashlib
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select
from typer.testing import CliRunner

from brandpatrol import jobs, scheduler, takedown
from brandpatrol.cli import app
from core.config import load_config
from core.models import (
    SEEN_FROM_CARD,
    SEEN_FROM_PAGE,
    CrawlRun,
    Evidence,
    Finding,
    Listing,
    ListingSnapshot,
    ReviewDecision,
    RunStatus,
)
from core.settings import Settings
from crawler.item_stage import item_stage_plan
from dashboard.data.reviews import review
from dashboard.notices import store
from dashboard.notices.drafting import DraftError
from dashboard.notices.model import Ground, Party
from dashboard.notices.registry import template
from tests.crawl_kit import configured_shop
from tests.images import jpeg, photo
from tests.loopback import LoopbackServer, Route, reply

pytestmark = pytest.mark.timeout(300)
PHOTO = jpeg(photo())

# Cards show id, title, price and a link; item pages add the seller, where it ships from and a description.
CARD_SELECTORS = {
    "item": "li.card", "link": "a::attr(href)", "external_id": "::attr(data-id)", "title": ".title::text",
    "price": ".price::text", "seller": ".seller::text", "location": ".loc::text", "description": ".desc::text",
    "image": "img::attr(src)",
}
# Suggested price 100 USD, floor 80 (tests/crawl_kit.write_config).
MARKET = [
    ("fake1", "Acme Widget replica 1:1 high copy", "$19.00"),  # counterfeit tells and far under: most suspicious
    ("fake2", "Acme Widget", "$60.00"),  # under the floor, no tells: suspect, less so
    ("genuine", "Acme Widget original boxed", "$99.00"),  # the brand's, undecided: no seller or location yet
    ("hose", "Garden hose 20 m", "$12.00"),  # not the brand's: never fetched
    ("lamp", "Desk lamp LED", "$30.00"),
]


def card(external_id: str | None, title: str, price: str, link: bool = True) -> str:
    ident = f" data-id='{external_id}'" if external_id else ""
    href = f"<a href='/item/{external_id}'>open</a>" if external_id else "<a href='/help'>open</a>"
    href = href if link else ""
    photo = f"<img src='/img/{external_id}.jpg'>" if external_id else ""
    return (f"<li class=card{ident}>{href}<span class=title>{title}</span><span class=price>{price}</span>{photo}"
            "</li>")


def search(cards: list[str]) -> bytes:
    return f"<html><body><ul>{''.join(cards)}</ul></body></html>".encode()


def item(title: str, price: str) -> bytes:
    return (f"<html><body><h1 class=title>{title}</h1><span class=price>{price}</span><span class=seller>shop-9"
            f"</span><span class=loc>Shenzhen, China</span><p class=desc>In stock.</p></body></html>").encode()


def routes(market: list[tuple[str, str, str]], extra_cards: list[str] | None = None) -> dict[str, Route]:
    table: dict[str, Route] = {"/search": reply(search([card(*c) for c in market] + (extra_cards or [])))}
    for external_id, title, price in market:
        table[f"/item/{external_id}"] = reply(item(title, price))
        table[f"/img/{external_id}.jpg"] = reply(PHOTO, "image/jpeg")
    return table


def photo_hits(server: LoopbackServer) -> int:
    return sum(n for path, n in server.hits.items() if path.startswith("/img/"))


def night(settings: Settings, config: Path) -> list[jobs.CrawlResult]:
    results, _matched = jobs.crawl_and_match_night(settings, config)
    return results


def item_hits(server: LoopbackServer) -> dict[str, int]:
    return {path.removeprefix("/item/"): n for path, n in server.hits.items() if path.startswith("/item/")}


def stored(settings: Settings) -> dict[str, Listing]:
    with jobs.open_database(settings).read() as session:
        return {x.external_id: x for x in session.scalars(select(Listing))}


def verdicts(settings: Settings) -> dict[str, str]:
    with jobs.open_database(settings).read() as session:
        return {external_id: verdict.value for external_id, verdict in session.execute(
            select(Listing.external_id, Finding.verdict).join(Finding, Finding.listing_id == Listing.id))}


def shop(tmp_path: Path, table: dict[str, Route], **market: Any) -> Any:
    return configured_shop(tmp_path, table, marketplace={"selectors": CARD_SELECTORS, **market})


def test_cards_become_listings_and_only_the_brands_flagged_or_undecided_get_item_pages(tmp_path: Path) -> None:
    with shop(tmp_path, routes(MARKET)) as (server, config, settings):
        results = night(settings, config)
        assert [r.status for r in results] == [RunStatus.OK, RunStatus.OK]
        # One search page, then item pages of the brand's listings only: never the hose or the lamp.
        assert item_hits(server) == {"fake1": 1, "fake2": 1, "genuine": 1}
        assert photo_hits(server) == len(MARKET)  # each card's photo, once
        listings = stored(settings)
        assert set(listings) == {x[0] for x in MARKET}
        assert listings["hose"].seen_from == SEEN_FROM_CARD and listings["hose"].card_only
        assert listings["hose"].price == Decimal("12.00") and listings["hose"].card_sha256
        fetched = listings["fake1"]
        assert fetched.seen_from == SEEN_FROM_PAGE and not fetched.card_only
        assert fetched.page_card_sha256 == fetched.card_sha256 and fetched.description == "In stock."
        assert verdicts(settings)["fake1"] == "counterfeit" and verdicts(settings)["hose"] == "unrelated"
        assert "item pages: 3 fetched of 3 wanted" in results[1].summary()

        # The second night shows the same cards, but one fake changed its price: only it is fetched again.
        changed = [(i, t, "$17.00" if i == "fake2" else p) for i, t, p in MARKET]
        server.routes.update(routes(changed))
        night(settings, config)
        assert item_hits(server) == {"fake1": 1, "fake2": 2, "genuine": 1}
        assert photo_hits(server) == len(MARKET) + 1  # only the changed card's photo is fetched again
        again = stored(settings)
        assert again["fake2"].price == Decimal("17.00")
        # The unchanged card left the captured listing as its item page showed it: its evidence stands.
        assert again["fake1"].description == "In stock." and again["fake1"].item_page_at == fetched.item_page_at
        with jobs.open_database(settings).read() as session:
            last = session.scalars(select(CrawlRun).order_by(CrawlRun.id.desc())).first()
            assert last is not None and last.stats["brandpatrol/item_pages/unchanged_card"] == 2


def test_budget_takes_the_most_suspicious_first_and_zero_means_cards_only(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "zero").mkdir()
    with shop(tmp_path / "one", routes(MARKET), item_page_budget=1) as (server, config, settings):
        jobs.crawl_all(settings, config)
        jobs.match(settings, config)
        db = jobs.open_database(settings)
        # Suspects by score (the lowest price with counterfeit tells first), then the undecided; never the others.
        ranked = [t.external_id for t in item_stage_plan(db, "shop", 10).targets]
        assert ranked == ["fake1", "fake2", "genuine"]
        assert item_stage_plan(db, "shop", 2).over_budget == 1
        results = jobs.item_page_stages(settings, config)
        assert item_hits(server) == {"fake1": 1}
        assert "1 fetched of 3 wanted (budget 1), 2 left for later" in results[0].summary()
        # The next night takes the next most suspicious, not the one it has (its card did not change).
        assert [t.external_id for t in item_stage_plan(db, "shop", 1).targets] == ["fake2"]

    with shop(tmp_path / "zero", routes(MARKET), item_page_budget=0) as (server, config, settings):
        results = night(settings, config)
        assert len(results) == 1 and item_hits(server) == {}  # no second stage at all
        assert "cards only" in results[0].summary()
        assert results[0].stats["brandpatrol/item_pages/budget"] == 0
        assert all(x.card_only for x in stored(settings).values())


def test_bad_cards_are_counted_and_skipped_and_an_unparseable_price_stays_unknown(tmp_path: Path) -> None:
    bad = [card(None, "Acme Widget no id", "$10.00"), card("nolink", "Acme Widget no link", "$10.00", link=False),
           card("odd", "Acme Widget price on request", "call us")]
    with shop(tmp_path, routes(MARKET[3:], bad), item_page_budget=0) as (_server, config, settings):
        result = jobs.crawl_one(settings, config, "shop")
        assert result.status == RunStatus.OK
        assert result.stats["brandpatrol/cards/skipped"] == 2 and result.stats["brandpatrol/cards/kept"] == 3
        listings = stored(settings)
        assert set(listings) == {"hose", "lamp", "odd"}  # never a listing stored half
        assert listings["odd"].price is None and listings["odd"].currency is None  # unknown, never 0


def test_item_pages_all_follows_every_card(tmp_path: Path) -> None:
    with shop(tmp_path, routes(MARKET), item_pages="all") as (server, config, settings):
        results = night(settings, config)
        assert len(results) == 1  # no second stage: every card was followed
        assert item_hits(server) == {x[0]: 1 for x in MARKET}
        assert all(not x.card_only and x.page_card_sha256 for x in stored(settings).values())


def test_a_notice_needs_the_item_page_and_drafting_fetches_it_on_demand(tmp_path: Path) -> None:
    with shop(tmp_path, routes(MARKET), item_page_budget=0) as (server, config, settings):
        data = yaml.safe_load(config.read_text(encoding="utf-8"))
        data["brand"]["rights_holder"] = {"name": "Acme Ltd.", "email": "legal@acme.example",
                                          "trademarks": [{"number": "1", "jurisdiction": "CN", "mark": "ACME",
                                                          "classes": [8]}]}
        config.write_text(yaml.safe_dump(data), encoding="utf-8")
        settings = settings.model_copy(update={"config": config})
        night(settings, config)  # cards only: nothing behind the findings but search cards
        db = jobs.open_database(settings)
        with db.read() as session:
            finding_id = session.scalars(select(Finding.id).join(Listing, Listing.id == Finding.listing_id)
                                         .where(Listing.external_id == "fake1")).one()
        review(db, [finding_id], ReviewDecision.CONFIRMED, "ana")
        assert [r.card_only for r in store.confirmed_findings(db)] == [True]  # the desk says so

        # The store alone refuses: the finding rests on a search card.
        with pytest.raises(DraftError) as refused:
            store.draft_notices(db, [finding_id], template=template("alibaba_ipp"), ground=Ground.COUNTERFEIT,
                                party=Party(name="Acme Ltd."), actor="lee")
        assert "rest on search cards only" in refused.value.problems[0] and item_hits(server) == {}

        # Drafting as legal staff do fetches the item page first (one request), then drafts on its evidence.
        summary = takedown.draft_notices(settings, marketplace="shop", template_name="alibaba_ipp", ground=None,
                                         finding_ids=[finding_id], actor="lee")
        assert len(summary.notice_ids) == 1 and item_hits(server) == {"fake1": 1}
        listing = stored(settings)["fake1"]
        assert not listing.card_only and listing.description == "In stock."
        assert [r.card_only for r in store.confirmed_findings(db, include_on_notice=True)] == [False]
        with db.read() as session:
            html = session.scalars(select(ListingSnapshot.html_sha256).where(
                ListingSnapshot.listing_id == listing.id, ListingSnapshot.html_sha256.is_not(None))).one()
            evidence = session.get(Evidence, html)
            assert evidence is not None
            assert hashlib.sha256(gzip.decompress(evidence.content)).hexdigest() == html


def test_the_command_line_runs_the_two_stages_in_turn(tmp_path: Path) -> None:
    with shop(tmp_path, routes(MARKET)) as (server, config, settings):
        common = ["--config", str(config), "--db", settings.db]
        first = CliRunner().invoke(app, ["crawl", *common])
        assert first.exit_code == 0, first.output
        assert "5 kept, 0 skipped" in first.output and "brandpatrol crawl --item-pages" in first.output
        assert item_hits(server) == {}
        assert CliRunner().invoke(app, ["match", *common]).exit_code == 0
        second = CliRunner().invoke(app, ["crawl", "--item-pages", *common])
        assert second.exit_code == 0, second.output
        assert "item pages: 3 fetched of 3 wanted (budget 500)" in second.output
        assert item_hits(server) == {"fake1": 1, "fake2": 1, "genuine": 1}


def test_the_nightly_job_fetches_the_item_pages_that_matter_and_judges_them_again(tmp_path: Path) -> None:
    with shop(tmp_path, routes(MARKET)) as (server, config, settings):
        [outcome] = scheduler.crawl_and_match(settings, config, load_config(config), threading.Event())
        assert outcome.status == "ok" and outcome.match_error is None
        assert item_hits(server) == {"fake1": 1, "fake2": 1, "genuine": 1}
        # Matching ran again over what the item pages showed: the genuine listing's finding knows its seller now.
        assert outcome.matched is not None and outcome.matched["examined"] == 3
        with jobs.open_database(settings).read() as session:
            genuine = session.scalars(select(Listing).where(Listing.external_id == "genuine")).one()
            finding = session.scalars(select(Finding).where(Finding.listing_id == genuine.id)).one()
            assert genuine.matched_version == genuine.content_version and finding.signals["seller"]
