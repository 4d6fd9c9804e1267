"""A ready-to-run demo workspace: brandpatrol.yaml, the brand's reference photos, and the answer key.

The YAML is written as text with comments because people read it to learn the format; every string goes
through json.dumps, which is valid YAML, so no name or URL can break the quoting.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from brandpatrol.demo import brand

if TYPE_CHECKING:
    from brandpatrol.demo.catalogue import DemoCatalogue

YAML_NAME = "brandpatrol.yaml"
LABELS_NAME = "labels.csv"
CODES_NAME = "codes.csv"
REFERENCES_DIR = "references"
LABEL_COLUMNS = ["marketplace", "external_id", "label", "case", "distributor"]


def _q(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _list(values: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(_q(v) for v in values) + "]"


def yaml_text(catalogue: DemoCatalogue, base_url: str) -> str:
    base = base_url.rstrip("/")
    parts = urlsplit(base)
    service = f"{parts.hostname or '127.0.0.1'}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
    rights = brand.RIGHTS_HOLDER
    out = [
        "# BrandPatrol demo workspace, written by the bundled demo (brandpatrol.demo).",
        "# The brand, its distribution contracts and two local demo marketplaces. Edit it freely: it is",
        "# validated when loaded, and errors name the line and the fix. labels.csv beside it says which demo",
        "# listings are genuine, diverted (串货), counterfeit or unrelated, and how each was made (its case):",
        f"# the answer key to score matching. Evaluation market: {catalogue.market}.",
        "",
        "brand:",
        f"  name: {_q(brand.BRAND_NAME)}",
        "  # The brand's code system export (一物一码): every serial printed on a box, with the distributor it was",
        "  # shipped to (an authorised seller's `distributor`). A serial never issued is counterfeit evidence; one",
        "  # issued to a distributor names where diverted stock leaked from.",
        f"  issued_codes: {_q(CODES_NAME)}",
        "  names:  # per language; matching looks for every one of them in listing text",
        *(f"    {lang}: {_q(name)}" for lang, name in brand.BRAND_NAMES.items()),
        "  rights_holder:  # who the takedown notices are written for",
        *(f"    {key}: {_q(value)}" for key, value in rights.items()),
        "    trademarks:  # registrations the notices assert (number, register, Nice classes)",
        *(f"      - {{number: {_q(str(t['number']))}, jurisdiction: {t['jurisdiction']}, mark: {_q(str(t['mark']))}, "
          f"classes: {t['classes']}}}" for t in brand.TRADEMARKS),
        "    copyright_works:  # what a DMCA notice names",
        *(f"      - {{title: {_q(str(w['title']))}, description: {_q(str(w['description']))}}}"
          for w in brand.COPYRIGHT_WORKS),
        "",
        "# One entry per product. Prices are per currency: `suggested` retail and the `floor` no authorised",
        "# seller may advertise under. Reference photos are the brand's own; listing photos are compared with",
        "# them by perceptual hash (paths are relative to this file, or http(s) URLs).",
        "products:",
    ]
    for product in catalogue.products:
        out += [
            f"  - sku: {_q(product.sku)}",
            "    names:",
            f"      en: {_q(product.name_en)}",
            f"      zh: {_q(product.name_zh)}",
            f"    keywords: {_list(product.keywords)}",
            f"    gtins: [{_q(product.gtin)}]  # the EAN-13 on the box",
            "    prices:",
            f"      - {{currency: {brand.CURRENCY}, suggested: {product.suggested}, floor: {product.floor}}}",
            "    reference_images:",
            *(f"      - {{id: {_q(ref.id)}, path: {_q(f'{REFERENCES_DIR}/{ref.id}.jpg')}}}"
              for ref in product.references),
        ]
    out += [
        "",
        "# Shops with a distribution contract: where they may ship from (ISO 3166 codes), the batch-code",
        "# prefixes of goods shipped to their distributor, and the distributor. A listing by anyone else, or",
        "# from outside these regions, is channel diversion when the goods are genuine.",
        "authorised_sellers:",
    ]
    for shop in brand.AUTHORISED:
        out += [
            f"  - name: {_q(shop.name)}",
            f"    marketplace: {shop.marketplace}",
            f"    seller_id: {_q(shop.seller_id)}",
            f"    regions: {_list(shop.regions)}",
            f"    batch_prefixes: {_list(shop.batch_prefixes)}",
            f"    distributor: {_q(shop.distributor or '')}",
        ]
    out += [
        "",
        "# Where to look. Both are the bundled demo marketplace: demo-shop renders pages on the server,",
        "# demo-js renders listings in the browser, so it is crawled with Chromium (javascript: true).",
        "marketplaces:",
    ]
    for name, route, javascript in (("demo-shop", "shop", False), ("demo-js", "js", True)):
        out += [
            f"  - name: {name}",
            "    spider: demo",
            f"    base_url: {_q(base)}",
            f"    search_url: {_q(base + f'/{route}/search?q={{query}}&page={{page}}')}",
            f"    search_terms: {_list(brand.SEARCH_TERMS)}",
            f"    javascript: {'true' if javascript else 'false'}",
            f"    currency: {brand.CURRENCY}  # what a bare ¥ means on this marketplace",
            "    max_pages: 20",
            "    obey_robots: true",
            "    # Every card to its item page: the demo's cards show no photo, and a copy of the brand's photo",
            "    # sold without the brand's name is found only by its photo (relevant: cards first, see README).",
            "    item_pages: all",
        ]
    out += [
        "",
        "# When the nightly crawl runs (five-field cron, in this time zone).",
        "schedule:",
        '  cron: "0 2 * * *"',
        "  timezone: Asia/Shanghai",
        "",
        "thresholds:",
        "  image_distance: 10  # max Hamming distance between 64-bit perceptual hashes to count as the same photo",
        "  counterfeit_price_ratio: 0.5  # at or under this share of the suggested price: counterfeit risk",
        "  min_score: 0.5  # findings scoring under this are not queued for review",
        "  gone_after_runs: 3  # a listing missing from this many crawls in a row is marked gone",
        "",
        "# The crawler refuses private and loopback addresses unless a host and port is listed here; the",
        "# demo marketplace runs on this machine, so its address and port are.",
        "egress:",
        f"  allow_private_hosts: [{_q(service)}]",
        "",
    ]
    return "\n".join(out)


def labels_csv(catalogue: DemoCatalogue) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(LABEL_COLUMNS)
    for listing in catalogue.listings:
        writer.writerow([listing.marketplace, listing.external_id, listing.label, listing.case,
                         listing.distributor])
    return buffer.getvalue()


def codes_csv(catalogue: DemoCatalogue) -> str:
    """The issued serials as the brand's code system exports them: code,distributor,sku."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["code", "distributor", "sku"])
    writer.writerows(catalogue.issued_codes)
    return buffer.getvalue()


def write_workspace(catalogue: DemoCatalogue, directory: Path, base_url: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    references = directory / REFERENCES_DIR
    references.mkdir(exist_ok=True)
    for product in catalogue.products:
        for ref in product.references:
            (references / f"{ref.id}.jpg").write_bytes(catalogue.reference_bytes(ref.id))
    (directory / LABELS_NAME).write_text(labels_csv(catalogue), encoding="utf-8")
    (directory / CODES_NAME).write_text(codes_csv(catalogue), encoding="utf-8")
    path = directory / YAML_NAME
    path.write_text(yaml_text(catalogue, base_url), encoding="utf-8")
    return path
