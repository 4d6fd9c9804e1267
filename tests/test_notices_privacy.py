"""Seller personal data: removed after the retention period (except where an open notice needs it), audited;
left out of exports unless the configuration says otherwise."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update
from typer.testing import CliRunner

from brandpatrol.cli import app
from core.models import AuditLog, Listing, ReviewDecision, Seller
from core.privacy import REDACTED, purge_seller_contacts, redact
from dashboard.data.reviews import review
from dashboard.notices import store
from dashboard.notices.model import Ground
from dashboard.notices.registry import template
from tests.dashboard_support import World, all_rows
from tests.notices_support import party, set_signals, write_config

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def age_sellers(world: World, days: int) -> None:
    with world.db.session() as s:
        s.execute(update(Seller).values(last_seen=NOW - timedelta(days=days),
                                        contact={"phone": "+86 138 0000 0000", "email": "shop@example.cn"}))


def test_purge_removes_stale_contact_details_but_keeps_those_on_open_notices(tmp_path: Path) -> None:
    world = World.create(tmp_path)
    stale = world.add_finding(score=0.9, seller="Old shop")
    held = world.add_finding(score=0.8, seller="Shop under a filed notice")
    fresh = world.add_finding(score=0.7, seller="Fresh shop")
    age_sellers(world, 400)
    with world.db.session() as s:  # the fresh shop was seen yesterday
        s.execute(update(Seller).where(Seller.name == "Fresh shop").values(last_seen=NOW - timedelta(days=1)))
    set_signals(world, held, **{"text.counterfeit": "match"})
    review(world.db, [held], ReviewDecision.CONFIRMED, "ana")
    [nid] = store.draft_notices(world.db, [held], template=template("alibaba_ipp"), ground=Ground.COUNTERFEIT,
                                party=party(tmp_path), actor="lee")

    result = purge_seller_contacts(world.db, 365, actor="dpo", now=NOW)
    assert (result.sellers, result.listings, result.held) == (1, 1, 1)
    sellers = {s.name: s for s in all_rows(world.db, Seller)}
    assert sellers["Old shop"].contact == {} and sellers["Old shop"].location_text is None
    assert sellers["Old shop"].contact_purged_at is not None
    assert sellers["Old shop"].region == "CN-GD" and sellers["Old shop"].external_id  # codes and ids stay
    assert sellers["Shop under a filed notice"].contact["phone"] == "+86 138 0000 0000"
    assert sellers["Fresh shop"].location_text == "广东 深圳"
    listings = {li.id: li for li in all_rows(world.db, Listing)}
    assert listings[world.listing_id(stale)].location_text is None
    assert listings[world.listing_id(fresh)].location_text == "广东 深圳"
    [audit] = [a for a in all_rows(world.db, AuditLog) if a.action == "privacy.purge"]
    assert audit.actor == "dpo" and audit.detail["sellers"] == 1 and audit.detail["held"] == 1

    assert purge_seller_contacts(world.db, 365, actor="dpo", now=NOW).sellers == 0  # nothing left to remove

    # once the notice is closed, the hold ends
    store.change_status(world.db, nid, "filed", actor="lee", reference="R1")
    store.change_status(world.db, nid, "removed", actor="lee")
    assert purge_seller_contacts(world.db, 365, actor="dpo", now=NOW).sellers == 1
    doc = store.load_notice(world.db, nid)
    assert doc is not None and doc.listings[0].seller_location is None and doc.listings[0].seller_contact == {}


def test_redact() -> None:
    assert redact("福建省莆田市某路1号", True) == REDACTED
    assert redact("福建省莆田市某路1号", False) == "福建省莆田市某路1号"
    assert redact(None, True) is None and redact("", True) == ""


def test_privacy_purge_from_the_cli(tmp_path: Path) -> None:
    world = World.create(tmp_path)
    world.add_finding(score=0.9)
    with world.db.session() as s:
        s.execute(update(Seller).values(last_seen=datetime.now(UTC) - timedelta(days=31)))
    cfg = write_config(tmp_path)  # seller_contact_retention_days: 30
    result = CliRunner().invoke(app, ["privacy", "purge", "-c", str(cfg), "--db", world.db.url, "--actor", "dpo"])
    assert result.exit_code == 0, result.output
    assert "removed contact details of 1 sellers and 1 listings" in result.output
    assert all(s.location_text is None for s in all_rows(world.db, Seller))
    missing = CliRunner().invoke(app, ["privacy", "purge", "--db", world.db.url])
    assert missing.exit_code != 0 and "pass --config FILE" in str(missing.exception)


def test_findings_export_leaves_out_the_written_location_when_the_config_says_so(tmp_path: Path) -> None:
    world = World.create(tmp_path)
    fid = world.add_finding(score=0.9)
    review(world.db, [fid], ReviewDecision.CONFIRMED, "ana")
    out = tmp_path / "confirmed.csv"
    for redacted, expected in ((True, REDACTED), (False, "广东 深圳")):
        cfg = write_config(tmp_path, redact=redacted)
        result = CliRunner().invoke(app, ["export", "-o", str(out), "--db", world.db.url, "-c", str(cfg)])
        assert result.exit_code == 0, result.output
        [row] = list(csv.DictReader(out.open(encoding="utf-8-sig")))
        assert row["ship_from"] == expected and row["region"] == "CN-GD" and row["seller"] == "Shop A"
