"""Hostile and broken brand configurations (issue 16, items 8-11): each refused, or reported, with the field or
file, the line and the fix; none hangs a command, none ends a crawl with a bare exception."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

import core.config_yaml
from core.config import MAX_ALIAS_EXPANSION, ConfigError, parse_config
from tests.matching_kit import brand_dict, write_reference_files
from tests.test_config import MINIMAL

BRANDPATROL = [sys.executable, "-m", "brandpatrol.cli"]

# Nine levels of nine: 9^9 (387 million) strings once expanded, from 414 bytes.
BILLION_LAUGHS = "brand: &a {name: lol, names: {en: " + "lol" * 6 + "}}\n" + "".join(
    f"{name}: &{name} [{', '.join([f'*{below}'] * 9)}]\n" for below, name in zip("abcdefgh", "bcdefghi", strict=True)
) + "products: [*i]\n"


def refusal(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "brand.yaml")
    return str(caught.value)


class TooMuchWork(Exception):
    pass


def test_billion_laughs_of_414_bytes_is_refused_before_any_expansion(monkeypatch: pytest.MonkeyPatch) -> None:
    assert len(BILLION_LAUGHS.encode()) == 414
    # The work is bounded by counting the nodes the line index visits (it walks aliases as a tree, as validation
    # does): without the bound this stops at the limit instead of taking minutes and gigabytes.
    visited = 0
    walk = core.config_yaml._line_index

    def counting(node: Any, prefix: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
        nonlocal visited
        visited += 1
        if visited > 10 * MAX_ALIAS_EXPANSION:
            raise TooMuchWork(f"the line index visited {visited} nodes")
        walk(node, prefix, out)

    monkeypatch.setattr(core.config_yaml, "_line_index", counting)
    message = refusal(BILLION_LAUGHS)
    assert visited == 0
    assert "line 5" in message and "alias *d" in message and "billion laughs" in message
    assert "write the repeated values out, or use fewer nested aliases" in message


def test_an_alias_to_a_value_that_contains_it_is_refused() -> None:
    message = refusal("brand: &loop {name: x, again: *loop}\nproducts: []\n")
    assert "line 1" in message and "alias *loop refers to a value that contains it" in message


def test_aliases_and_merge_keys_that_share_a_block_still_work() -> None:
    products = "".join(f"  - {{sku: A-{i}, names: {{en: A}}, prices: [*price]}}\n" for i in range(300))
    text = ("brand: {name: Acme}\nproducts:\n"
            "  - {sku: P, names: {en: P}, prices: [&price {currency: CNY, suggested: 10, floor: 8}]}\n" + products
            + "marketplaces:\n  - &shop {name: shop, start_urls: ['https://a.example/'], download_delay: 2}\n"
            "  - {<<: *shop, name: mall}\n")
    config = parse_config(text)
    assert len(config.products) == 301 and all(p.prices[0].floor == 8 for p in config.products)
    assert [(m.name, m.download_delay) for m in config.marketplaces] == [("shop", 2), ("mall", 2)]


def test_marketplace_currency_zzz_is_refused_with_field_line_and_fix() -> None:
    message = refusal(MINIMAL + "    currency: ZZZ\n")
    assert "marketplaces.0.currency (line 15)" in message
    assert "'ZZZ' is not an ISO 4217 currency code; use one such as CNY, USD or EUR" in message
    assert parse_config(MINIMAL + "    currency: usd\n").marketplaces[0].currency == "USD"


def test_exchange_rate_pair_abc_qqq_is_refused_with_field_line_and_fix() -> None:
    message = refusal(MINIMAL + "exchange_rates:\n  USD/CNY: 7.2\n  ABC/QQQ: 2\n")
    assert "exchange_rates.ABC/QQQ (line 17)" in message
    assert "ABC and QQQ in 'ABC/QQQ' are not ISO 4217 currency codes; write a pair of codes such as USD/CNY" in message
    assert "USD/QQQ (line 16)" in refusal(MINIMAL + "exchange_rates:\n  USD/QQQ: 7.2\n")
    assert parse_config(MINIMAL + "exchange_rates:\n  USD/CNY: 7.2\n").exchange_rates == {"USD/CNY": Decimal("7.2")}


@pytest.mark.parametrize(("template", "problem"), [
    ("https://shop.example/s?q={query}&sort={sort}",
     "placeholder {sort} is not known; the placeholders allowed are {query} and {page}"),
    ("https://shop.example/s?q={query.__class__}", "placeholder {query.__class__} is not known"),
    ("https://shop.example/s?q={}", "placeholder {} is not known"),
    ("https://shop.example/s?q={query", "write a literal brace as {{ or }}"),
    ("https://shop.example/s?q={query:d}", "cannot be filled in"),
    ("https://shop.example/s?page={page}", "search_url must contain {query}"),
])
def test_search_url_with_unknown_placeholder_is_refused_naming_those_allowed(template: str, problem: str) -> None:
    message = refusal(MINIMAL + f"    search_url: '{template}'\n    search_terms: [acme]\n")
    assert "marketplaces.0.search_url (line 15)" in message and problem in message


def test_search_url_with_both_placeholders_and_literal_braces_is_filled() -> None:
    config = parse_config(MINIMAL + "    search_url: 'https://s.example/?q={query}&p={page}&f={{x}}'\n"
                                    "    search_terms: [acme]\n")
    assert config.marketplaces[0].search_url is not None
    assert config.marketplaces[0].search_url.format(query="a", page=2) == "https://s.example/?q=a&p=2&f={x}"


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*BRANDPATROL, *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


def test_a_crawl_with_search_url_sort_placeholder_stops_with_the_fix_not_a_key_error(tmp_path: Path) -> None:
    config = tmp_path / "brandpatrol.yaml"
    config.write_text(MINIMAL + "    search_url: 'https://shop.example/s?q={query}&sort={sort}'\n"
                                "    search_terms: [acme]\n", encoding="utf-8")
    crawl = run_cli("crawl", "--config", str(config), "--db", f"sqlite:///{tmp_path / 'x.db'}", cwd=tmp_path)
    assert crawl.returncode == 2, crawl.stderr[-2000:]
    assert "marketplaces.0.search_url (line 15)" in crawl.stderr and "{query} and {page}" in crawl.stderr
    assert "KeyError" not in crawl.stderr and "Traceback" not in crawl.stderr


def workspace_missing_a_photo(tmp_path: Path) -> tuple[Path, Path]:
    """A valid configuration whose reference photo LM-200-front was never put where it says."""
    write_reference_files(tmp_path)
    missing = tmp_path / "refs" / "LM-200-front.jpg"
    missing.unlink()
    config = tmp_path / "brandpatrol.yaml"
    config.write_text(yaml.safe_dump(json.loads(json.dumps(brand_dict(), default=str)), allow_unicode=True),
                      encoding="utf-8")
    return config, missing


def test_a_missing_reference_photo_fails_check_config_naming_its_path(tmp_path: Path) -> None:
    config, missing = workspace_missing_a_photo(tmp_path)
    result = run_cli("check-config", str(config), cwd=tmp_path)
    assert result.returncode == 2, result.stdout
    assert f"product LM-200, reference 'LM-200-front', file {missing}: file not found" in result.stderr
    assert "fix the path in the config" in result.stderr and "OK" not in result.stdout
    (tmp_path / "refs" / "LM-200-front.jpg").write_bytes(b"not a picture")
    unreadable = run_cli("check-config", str(config), cwd=tmp_path)
    assert unreadable.returncode == 2 and "replace it with a clear JPEG" in unreadable.stderr
    missing.write_bytes((tmp_path / "refs" / "LM-100-front.jpg").read_bytes())
    fixed = run_cli("check-config", str(config), cwd=tmp_path)
    assert fixed.returncode == 0 and "OK" in fixed.stdout, fixed.stderr


def test_a_missing_reference_photo_is_named_by_match_and_in_its_json_summary(tmp_path: Path) -> None:
    config, missing = workspace_missing_a_photo(tmp_path)
    db = f"sqlite:///{tmp_path / 'bp.db'}"
    said = run_cli("match", "--config", str(config), "--db", db, cwd=tmp_path)
    assert said.returncode == 0, said.stderr[-2000:]
    assert f"reference photo problem (matched without it): product LM-200, reference 'LM-200-front', file " \
           f"{missing}: file not found" in said.stderr
    as_json = run_cli("match", "--json", "--config", str(config), "--db", db, cwd=tmp_path)
    [problem] = json.loads(as_json.stdout)["reference_problems"]
    assert str(missing) in problem and "file not found" in problem
