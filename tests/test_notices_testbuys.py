"""Test buys: codes traced to distributors through batch prefixes, photos stored only through safe decoding,
bad input refused with every problem named and nothing stored."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from core.batchcodes import normalise_code, trace_batch_code
from core.config import AuthorisedSeller
from core.models import AuditLog, TestBuy, TestBuyPhoto, TestBuyResult
from dashboard.notices import testbuys
from tests.dashboard_support import World, all_rows
from tests.images import jpeg, photo, png
from tests.notices_support import config


def seller(name: str, prefixes: list[str], distributor: str | None = None,
           regions: list[str] | None = None) -> AuthorisedSeller:
    return AuthorisedSeller(name=name, marketplace="taobao", batch_prefixes=prefixes, distributor=distributor,
                            regions=regions or [])


def test_a_code_resolves_to_the_distributor_it_was_shipped_to(tmp_path: Path) -> None:
    sellers = config(tmp_path).authorised_sellers
    south = trace_batch_code("gd24-0311", sellers)
    assert (south.code, south.prefix, south.distributor, south.regions) == (
        "GD240311", "GD24", "South China Beauty Trading", ("CN-GD",))
    assert south.describe() == ("Code GD240311 (prefix GD24) was shipped to South China Beauty Trading "
                                "(authorised for CN-GD).")
    # the longest prefix wins: GD26 is only under the official store's shorter GD
    assert trace_batch_code("ＧＤ２６ 0001", sellers).distributor == "Lumina China Direct"
    unknown = trace_batch_code("XN99", sellers)
    assert not unknown.found and unknown.describe() == "Code XN99 matches no configured batch prefix or range."
    assert trace_batch_code("  ", sellers).describe() == "No code was read from the unit."


def test_a_prefix_held_by_two_distributors_is_ambiguous_not_guessed() -> None:
    sellers = [seller("A shop", ["HD"], "East Ltd"), seller("B shop", ["HD"], "West Ltd"),
               seller("A shop 2", ["H"], "North Ltd")]
    trace = trace_batch_code("HD123", sellers)
    assert trace.ambiguous and trace.distributor is None and trace.sellers == ("East Ltd", "West Ltd")
    assert "correct batch_prefixes" in trace.describe()
    same = [seller("Shop on taobao", ["HD"], "East Ltd"), seller("Shop on jd", ["HD"], "East Ltd")]
    assert trace_batch_code("HD1", same).distributor == "East Ltd"  # one distributor, two shops: not ambiguous
    assert normalise_code("gd-24 03/11") == "GD240311"


def test_record_a_test_buy_with_photos_and_a_traced_code(tmp_path: Path) -> None:
    world = World.create(tmp_path)
    fid = world.add_finding(score=0.9)
    ref = testbuys.listing_of_finding(world.db, fid)
    assert ref is not None and ref.listing_id == world.listing_id(fid)
    # a phone photo with its GPS position in EXIF, and a PNG
    exif = Image.Exif()
    exif[0x8825] = {2: (31.0, 14.0, 0.0), 4: (121.0, 28.0, 0.0)}
    big = photo("astronaut").resize((2400, 2400))
    phone_photo = jpeg(big, exif=exif.tobytes())
    recorded = testbuys.record_test_buy(
        world.db,
        testbuys.TestBuyEntry(listing_id=ref.listing_id, order_number="  2026031288812  ", ordered_on=date(2026, 3, 12),
                              price_paid="129.50", currency="cny", result="genuine", code_read="gd25-1102",
                              note="unit sealed; code on the box matches the bottle",
                              photos=[phone_photo, png(photo("coffee"))]),
        actor="ana", authorised_sellers=config(tmp_path).authorised_sellers,
    )
    assert recorded.trace.distributor == "South China Beauty Trading" and recorded.photos == 2
    [buy] = all_rows(world.db, TestBuy)
    assert (buy.order_number, buy.ordered_on, str(buy.price_paid), buy.currency, buy.result, buy.code_read,
            buy.distributor, buy.recorded_by) == (
        "2026031288812", date(2026, 3, 12), "129.5000", "CNY", TestBuyResult.GENUINE, "GD251102",
        "South China Beauty Trading", "ana")
    stored = testbuys.photos_of(world.db, buy.id)
    assert len(stored) == 2
    first = Image.open(io.BytesIO(stored[0]))
    assert first.format == "JPEG" and max(first.size) == testbuys.PHOTO_SIDE  # bounded
    assert not first.getexif()  # the buyer's GPS position is gone
    [row] = all_rows(world.db, TestBuyPhoto)[:1]
    assert row.original_sha256 != row.sha256 and len(row.sha256) == 64
    [audit] = [a for a in all_rows(world.db, AuditLog) if a.action == "testbuy.record"]
    assert audit.detail["distributor"] == "South China Beauty Trading" and audit.detail["photos"] == 2

    testbuys.set_result(world.db, buy.id, TestBuyResult.COUNTERFEIT, actor="lee", note="lab: fake")
    [buy] = all_rows(world.db, TestBuy)
    assert buy.result is TestBuyResult.COUNTERFEIT and buy.note.endswith("lab: fake")
    assert all_rows(world.db, AuditLog)[-1].detail == {"from": "genuine", "to": "counterfeit", "note": "lab: fake"}
    [listed] = testbuys.recent(world.db)
    assert listed.photos == 2 and listed.marketplace == "taobao"


def test_bad_input_is_refused_whole_and_nothing_is_stored(tmp_path: Path) -> None:
    world = World.create(tmp_path)
    listing_id = world.listing_id(world.add_finding(score=0.9))
    oversized = png(Image.new("RGB", (1200, 1200)))
    entry = testbuys.TestBuyEntry(
        listing_id=listing_id, order_number="", ordered_on=datetime.now(UTC).date() + timedelta(days=10),
        price_paid="12,9x", currency="RMB", result="maybe",
        photos=[b"<html><script>alert(1)</script></html>", oversized, b"GIF89a-not-really"],
    )
    with pytest.raises(testbuys.TestBuyError) as refused:
        testbuys.record_test_buy(world.db, entry, actor="ana", max_pixels=1_000_000)
    problems = refused.value.problems
    assert "the order number is missing; copy it from the marketplace's order page" in problems
    assert any("is in the future" in p for p in problems)
    assert "'12,9x' is not a price paid; give an amount such as 129.00" in problems
    assert "'RMB' is not an ISO 4217 currency code; use one such as CNY, USD or EUR" in problems
    assert any(p.startswith("'maybe' is not a result") for p in problems)
    assert "photo 1 was not stored (not an image): body is text (HTML/JSON), not an image" in problems
    assert any(p.startswith("photo 2 was not stored (too large):") and "pixel" in p for p in problems)
    assert any(p.startswith("photo 3 was not stored (") for p in problems)
    assert all_rows(world.db, TestBuy) == [] and all_rows(world.db, TestBuyPhoto) == []
    assert not [a for a in all_rows(world.db, AuditLog) if a.action == "testbuy.record"]

    too_many = testbuys.TestBuyEntry(listing_id=listing_id, order_number="A", ordered_on=date(2026, 1, 1),
                                     price_paid="1", currency="CNY",
                                     photos=[png(photo("coffee"))] * (testbuys.MAX_PHOTOS + 1))
    with pytest.raises(testbuys.TestBuyError, match="more than 12"):
        testbuys.record_test_buy(world.db, too_many, actor="ana")
    with pytest.raises(testbuys.TestBuyError, match="there is no listing 999"):
        testbuys.record_test_buy(world.db, testbuys.TestBuyEntry(
            listing_id=999, order_number="A", ordered_on=date(2026, 1, 1), price_paid="1", currency="CNY"),
            actor="ana")


def test_a_chinese_reader_gets_the_refusals_and_the_trace_in_chinese(tmp_path: Path) -> None:
    world = World.create(tmp_path)
    listing_id = world.listing_id(world.add_finding(score=0.9))
    entry = testbuys.TestBuyEntry(listing_id=listing_id, order_number="", ordered_on=date(2026, 1, 1),
                                  price_paid="abc", currency="RMB", photos=[b"<html>not a photo</html>"])
    with pytest.raises(testbuys.TestBuyError) as refused:
        testbuys.record_test_buy(world.db, entry, actor="")
    english, chinese = refused.value.problems, refused.value.in_language("zh")
    assert english == refused.value.in_language("en") and len(chinese) == len(english) == 5
    assert chinese == [
        "请填写您的姓名（侧边栏，或 --actor），记录需要写明登记人",
        "缺少订单号；请从平台的订单页面复制",
        "“abc”不是实付金额；请填写金额，例如 129.00",
        "“RMB”不是 ISO 4217 币种代码；请使用 CNY、USD 或 EUR 等",
        "第 1 张照片未保存：不是图片（body is text (HTML/JSON), not an image）",
    ]
    # every status an uploaded photo can be refused with has words in both languages
    for status in ("too_large", "corrupt", "not_image", "unsupported_format", "blank"):
        assert testbuys.Problem("photo", {"n": 1, "reason": "r"}, {"why": f"image.{status}"}).text("zh")


@pytest.mark.parametrize(("code", "chinese"), [
    ("GD240211", "批号 GD240211 属于批号区间 GD240100..GD240399，发往 South China Beauty Trading（授权区域：CN-GD）。"),
    ("GD240211X3", "批号 GD240211X3 的前段 GD240211 属于批号区间 GD240100..GD240399，发往 South China Beauty Trading"
                   "（授权区域：CN-GD）。"),
    ("HD77", "批号 HD77（前缀 HD）发往 East Ltd。"),
    ("ZZ1", "批号 ZZ1 不匹配任何已配置的批号前缀或区间。"),
    ("", "未从商品上读取到批号。"),
    ("GD240350", "批号 GD240350 落在为多个经销商配置的批号区间内（South China Beauty Trading, Other Ltd："
                 "GD240100..GD240399, GD240300..GD240499）；请在配置中更正 batch_ranges。"),
    ("KK1", "批号 KK1 以 KK 开头，该前缀配置给了多个经销商（Other Ltd, East Ltd）；请在配置中更正 batch_prefixes。"),
])
def test_where_a_code_leads_reads_in_either_language(code: str, chinese: str) -> None:
    sellers = [
        AuthorisedSeller(name="华南美妆专营店", marketplace="taobao", distributor="South China Beauty Trading",
                         batch_ranges=["GD240100..GD240399"], regions=["CN-GD"]),
        AuthorisedSeller(name="Other shop", marketplace="taobao", distributor="Other Ltd",
                         batch_ranges=["GD240300..GD240499"], batch_prefixes=["KK"]),
        seller("East shop", ["HD", "KK"], "East Ltd"),
    ]
    trace = trace_batch_code(code, sellers)
    assert testbuys.trace_text(trace, "zh") == chinese
    assert testbuys.trace_text(trace, "en") == trace.describe()
