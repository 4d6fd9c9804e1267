from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from core.db import Database
from core.models import Brand
from core.money import convert, parse_price
from core.regions import is_region_code, locate
from core.text import clean_line, fold_for_match


@pytest.mark.parametrize(
    ("text", "default", "low", "high", "currency"),
    [
        ("¥ 1,299.00", "CNY", "1299.00", None, "CNY"),
        ("¥ 1,299", "JPY", "1299", None, "JPY"),
        ("€ 97,39 – 128,72", None, "97.39", "128.72", "EUR"),
        ("IDR1,756,440.00", None, "1756440.00", None, "IDR"),
        ("1.299,00 €", None, "1299.00", None, "EUR"),
        ("EUR 3,500.00", None, "3500.00", None, "EUR"),
        ("£4.45", None, "4.45", None, "GBP"),
        ("US $12.50 to US $20.00", None, "12.50", "20.00", "USD"),
        ("₹1,299", None, "1299", None, "INR"),
    ],
)
def test_parse_price(text: str, default: str | None, low: str, high: str | None, currency: str) -> None:
    parsed = parse_price(text, default)
    assert parsed is not None
    assert parsed.low == Decimal(low)
    assert parsed.high == (Decimal(high) if high else None)
    assert parsed.currency == currency


@pytest.mark.parametrize("text", ["Call for price", "-5", "", None, "−5.00"])
def test_no_price_is_none(text: str | None) -> None:
    assert parse_price(text, "USD") is None


def test_convert_uses_configured_rates_only() -> None:
    rates = {"USD/CNY": Decimal("7.2")}
    assert convert(Decimal("10"), "USD", "CNY", rates) == Decimal("72.0")
    assert convert(Decimal("72"), "CNY", "USD", rates) == Decimal("10")
    assert convert(Decimal("10"), "EUR", "CNY", rates) is None


@pytest.mark.parametrize(
    ("text", "country", "subdivision"),
    [
        ("广东 深圳", "CN", "CN-GD"),
        ("发货地：浙江 义乌", "CN", "CN-ZJ"),
        ("福建莆田", "CN", "CN-FJ"),
        ("Located in Shenzhen, China", "CN", "CN-GD"),
        ("Item location: Rancho Cucamonga, California, United States", "US", "US-CA"),
        ("Located in: Paris, France", "FR", None),
        ("Located in Japan", "JP", None),
        ("Located in United Kingdom", "GB", None),
        ("香港", "HK", None),
        ("Somewhere nice", None, None),
    ],
)
def test_locate(text: str, country: str | None, subdivision: str | None) -> None:
    location = locate(text)
    assert location is not None
    assert location.country == country
    if subdivision is not None or country is None:
        assert location.subdivision == subdivision


def test_region_codes() -> None:
    assert is_region_code("CN") and is_region_code("CN-GD") and is_region_code("US-CA")
    assert not is_region_code("XX") and not is_region_code("CN-ZZ")


def test_hostile_strings_normalized() -> None:
    hostile = "A\u0301" + "\x00b\u200b\u202e c" + "x" * 50_000
    cleaned = clean_line(hostile, 1000)
    assert cleaned.startswith("\u00c1b c")  # NFC composed, NUL and invisible marks gone
    assert len(cleaned) == 1000
    assert "\x00" not in cleaned


def test_lone_surrogates_are_dropped_so_the_text_can_be_stored(db: Database) -> None:
    cleaned = clean_line("Lumina\ud800 serum\udfff\uffff 50ml")
    assert cleaned == "Lumina serum 50ml"
    cleaned.encode("utf-8")  # what SQLite and PostgreSQL need; a lone surrogate raises here
    with db.session() as session:
        session.add(Brand(name=cleaned))
        assert session.scalars(select(Brand.name)).one() == cleaned


def test_fold_for_match_width_case_space() -> None:
    assert fold_for_match("ＬＵＭＩＮＡ  Serum") == fold_for_match("lumina serum")
