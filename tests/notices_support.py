"""Builders shared by the notice tests: a brand configuration with a rights holder, listing facts, signals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from core.config import BrandConfig, load_config
from core.models import Finding, Verdict
from dashboard.notices.model import Ground, ListingFacts, Party
from tests.dashboard_support import World

TODAY = date(2026, 3, 2)

CONFIG_YAML = """\
brand:
  name: Lumina
  names: {zh: 露米娜}
  rights_holder:
    name: 露米娜化妆品有限公司 Lumina Cosmetics Ltd.
    email: brand-protection@lumina.example
    address: 上海市浦东新区世纪大道88号 / 88 Century Avenue, Shanghai
    phone: "+86 21 5555 0100"
    signatory: 李伟 Li Wei
    signatory_title: Legal Counsel
    trademarks:
      - {number: "12345678", jurisdiction: CN, mark: 露米娜, classes: [3]}
      - {number: "018000001", jurisdiction: EU, mark: LUMINA, classes: [3]}
    copyright_works:
      - {title: Lumina product photographs 2026, description: studio photographs of the Lumina range}
products:
  - sku: LM-100
    names: {en: Lumina Lamp, zh: 光灯}
    prices: [{currency: CNY, suggested: 680, floor: 580}]
authorised_sellers:
  - name: 华南美妆专营店
    marketplace: taobao
    regions: [CN-GD]
    batch_prefixes: [GD24, GD25]
    distributor: South China Beauty Trading
  - name: 露米娜官方旗舰店
    marketplace: taobao
    regions: [CN]
    batch_prefixes: [GD]
    distributor: Lumina China Direct
privacy:
  seller_contact_retention_days: 30
  redact_exports: {redact}
"""


def write_config(folder: Path, *, redact: bool = True) -> Path:
    path = folder / "brandpatrol.yaml"
    path.write_text(CONFIG_YAML.replace("{redact}", "true" if redact else "false"), encoding="utf-8")
    return path


def config(folder: Path, *, redact: bool = True) -> BrandConfig:
    return load_config(write_config(folder, redact=redact))


def party(folder: Path) -> Party:
    holder = config(folder).brand.rights_holder
    assert holder is not None
    return Party.from_config(holder)


def facts(n: int = 1, *, verdict: Verdict = Verdict.COUNTERFEIT, evidence: frozenset[str] = frozenset({"price"}),
          **overrides: Any) -> ListingFacts:
    values: dict[str, Any] = {
        "listing_id": n,
        "finding_id": 100 + n,
        "marketplace": "taobao",
        "external_id": f"6500{n:06d}",
        "url": f"https://item.taobao.com/item.htm?id=6500{n:06d}",
        "title": f"露米娜焕活精华液 30ml 正品 {n}",
        "verdict": verdict,
        "score": 0.9,
        "seller_name": "莆田优品美妆",
        "seller_id": "putian-youpin",
        "price": Decimal("99.00"),
        "currency": "CNY",
        "country": "CN",
        "region": "CN-FJ",
        "reasons": ("the price 99.00 CNY is 15% of the suggested 680.00 CNY", "not known: the stock"),
        "evidence": evidence,
        "reference_id": "LM-100-front",
        "image_distance": 4,
    }
    values.update(overrides)
    return ListingFacts(**values)


SIGNALS: dict[str, dict[str, Any]] = {
    "price": {"outcome": "match", "evidence": {"band": "far_under"}},
    "text.counterfeit": {"outcome": "match"},
    "text.diversion": {"outcome": "match"},
    "image": {"outcome": "match"},
    "region": {"outcome": "no_match"},
    "seller": {"outcome": "no_match"},
}


def set_signals(world: World, finding_id: int, **outcomes: str) -> None:
    """Store signal outcomes on a finding the way matching does (Finding.signals)."""
    with world.db.session() as s:
        finding = s.scalar(select(Finding).where(Finding.id == finding_id))
        assert finding is not None
        finding.signals = {name: {"name": name, "outcome": outcome, "reason": "", "evidence": {}}
                           for name, outcome in outcomes.items()}


GROUND_OF = {
    "alibaba_ipp": Ground.COUNTERFEIT,
    "jd": Ground.COUNTERFEIT,
    "pinduoduo": Ground.COUNTERFEIT,
    "amazon_rav": Ground.COUNTERFEIT,
    "ebay_vero": Ground.COUNTERFEIT,
    "dmca": Ground.COPYRIGHT_IMAGE,
    "dsa_art16": Ground.COUNTERFEIT,
    "distribution_policy": Ground.DIVERSION,
}
