from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from core.config import ConfigError, load_config, parse_config

EXAMPLE = Path(__file__).resolve().parent.parent / "brandpatrol.example.yaml"

MINIMAL = """\
brand:
  name: Acme
products:
  - sku: A-1
    names: {en: Acme Widget, zh: 艾克米小部件}
    prices:
      - {currency: cny, suggested: 100, floor: 80}
authorised_sellers:
  - name: Acme Official
    marketplace: shop
    regions: [cn-gd, CN]
marketplaces:
  - name: shop
    start_urls: ["https://shop.example/search?q=acme"]
"""


def test_minimal_config_normalises_codes() -> None:
    config = parse_config(MINIMAL)
    product = config.products[0]
    assert product.prices[0].currency == "CNY"
    assert product.price_in("CNY") is not None
    assert product.price_in("CNY").floor == Decimal("80")  # type: ignore[union-attr]
    assert config.authorised_sellers[0].regions == ["CN-GD", "CN"]
    assert config.schedule.cron == "0 2 * * *"


def test_error_names_field_line_and_fix() -> None:
    bad = MINIMAL.replace("floor: 80", "floor: 180")
    with pytest.raises(ConfigError) as caught:
        parse_config(bad, "brand.yaml")
    message = str(caught.value)
    assert "products.0.prices.0" in message
    assert "line 7" in message
    assert "floor 180 is above suggested 100" in message


def test_unknown_key_and_bad_region_are_reported_together() -> None:
    bad = MINIMAL.replace("regions: [cn-gd, CN]", "regions: [XX-ZZ]").replace("brand:\n", "brand:\n  colour: red\n")
    with pytest.raises(ConfigError) as caught:
        parse_config(bad, "brand.yaml")
    problems = caught.value.problems
    assert any("brand.colour" in p and "remove 'colour'" in p and "line 2" in p for p in problems)
    assert any("XX-ZZ" in p and "ISO 3166" in p for p in problems)


def test_yaml_syntax_error_gives_line() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config("brand:\n  name: [unclosed\nproducts: []\n", "b.yaml")
    assert "YAML syntax error at line" in str(caught.value)


def test_seller_on_unknown_marketplace() -> None:
    bad = MINIMAL.replace("marketplace: shop", "marketplace: ebay")
    with pytest.raises(ConfigError) as caught:
        parse_config(bad)
    assert "names marketplace 'ebay'" in str(caught.value)


def test_missing_file_and_not_utf8(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.yaml")
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("brand: {name: Caf\xe9}".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(latin)


def test_annotated_example_is_valid() -> None:
    config = load_config(EXAMPLE)
    assert config.products and config.marketplaces


def test_cron_weekdays_follow_crontab() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from core.config import cron_trigger

    zone = ZoneInfo("Asia/Shanghai")
    sunday = datetime(2026, 11, 22, 12, 0, tzinfo=zone)
    monday = cron_trigger("0 9 * * 1", "Asia/Shanghai").get_next_fire_time(None, sunday)
    assert monday is not None and monday.weekday() == 0  # 1 is Monday, as in crontab
    for expression in ("0 9 * * 0", "0 9 * * 7"):
        fire = cron_trigger(expression, "Asia/Shanghai").get_next_fire_time(None, sunday)
        assert fire is not None and fire.weekday() == 6  # 0 and 7 are Sunday
    weekdays = cron_trigger("0 9 * * 1-5", "Asia/Shanghai").get_next_fire_time(None, sunday)
    assert weekdays is not None and weekdays.weekday() == 0


def test_gtins_are_checked_with_their_line() -> None:
    good = MINIMAL.replace("    prices:\n", "    gtins: ['6901234567892']\n    prices:\n")
    config = parse_config(good)
    assert config.products[0].gtins == ["6901234567892"] and parse_config(MINIMAL).products[0].gtins == []
    for gtin, says in (("6901234567893", "its check digit is 3"), ("69012345678", "it has 11 digits"),
                       ("69012345678a2", "digits only")):
        with pytest.raises(ConfigError) as caught:
            parse_config(good.replace("6901234567892", gtin), "brand.yaml")
        assert any("products.0.gtins" in p and f"'{gtin}' is not a GTIN" in p and says in p and "line 6" in p
                   for p in caught.value.problems), caught.value.problems
    twice = good.replace("['6901234567892']", "['6901234567892', '6901234567892']")
    with pytest.raises(ConfigError, match="a GTIN is listed twice"):
        parse_config(twice)


def test_item_pages_default_to_two_stages_and_a_bad_choice_or_budget_is_refused_with_its_line() -> None:
    market = parse_config(MINIMAL).marketplaces[0]
    assert (market.item_pages_mode, market.item_page_budget) == ("relevant", 500)
    cards_only = parse_config(MINIMAL + "    item_pages: all\n    item_page_budget: 0\n").marketplaces[0]
    assert (cards_only.item_pages_mode, cards_only.item_page_budget) == ("all", 0)
    with pytest.raises(ConfigError) as caught:
        parse_config(MINIMAL + "    item_pages: some\n")
    assert "item_pages" in str(caught.value) and "line 15" in str(caught.value) and "'all' or 'relevant'" in str(
        caught.value)
    with pytest.raises(ConfigError) as caught:
        parse_config(MINIMAL + "    item_page_budget: -5\n")
    assert "item_page_budget" in str(caught.value) and "line 15" in str(caught.value)
