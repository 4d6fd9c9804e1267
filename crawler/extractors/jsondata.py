"""JSON inside pages and JSON API responses, addressed with JMESPath, for marketplaces described in YAML.

Many marketplaces ship their listings as data rather than markup: a script assignment (`g_page_config = {...};`,
`window.__INIT_DATA__ = ...`), Next.js's `__NEXT_DATA__`, schema.org JSON-LD, or a JSON API the page calls. A
configured marketplace names where its data is (`selectors.data`) and addresses fields in it with selectors
prefixed `json:` (JMESPath, https://jmespath.org), beside CSS and XPath:

| `data`          | the document the `json:` selectors read                                                   |
|-----------------|---------------------------------------------------------------------------------------------|
| `script:NAME`   | the value assigned to NAME in a script (`g_page_config`, `window.__INIT_DATA__`)            |
| `next_data`     | the JSON of `<script id="__NEXT_DATA__">`                                                   |
| `jsonld`        | a list of the page's JSON-LD blocks                                                         |
| `body`          | the response itself (a JSON API)                                                            |
| `xhr:REGEX`     | a list of the JSON responses the browser saw for URLs matching REGEX (`javascript: true`)   |

Reading never raises: a document that is missing or does not parse is None (the caller warns with the page's URL),
an expression that selects nothing gives no values, and every document is bounded as common.load_json bounds it.
"""

from __future__ import annotations

import re
from typing import Any

from jmespath.exceptions import JMESPathError
from scrapy.http import TextResponse

from core.jsonpath import compiled
from crawler.extractors.common import FIELD_MAX, MAX_EMBEDDED_JSON, embedded_json, load_json

CAPTURED_JSON_META = "brandpatrol_captured_json"  # request meta key: [(url, parsed JSON), ...] the browser kept
MAX_VALUES = 2000  # values one expression may yield on one page


def document(response: TextResponse, source: str) -> Any:
    """The JSON document `source` names on this page (see the table above); None where it has none."""
    if source.startswith("script:"):
        return embedded_json(response.text, source.removeprefix("script:"))
    if source == "next_data":
        return load_json(response.css("script#__NEXT_DATA__::text").get())
    if source == "jsonld":
        blocks = [load_json(b) for b in response.css('script[type="application/ld+json"]::text').getall()[:50]]
        return [b for b in blocks if b is not None] or None
    if source == "body":
        return load_json(response.text[:MAX_EMBEDDED_JSON])
    if source.startswith("xhr:"):
        pattern = re.compile(source.removeprefix("xhr:"))
        captured = response.meta.get(CAPTURED_JSON_META) or []
        found = [body for url, body in captured if pattern.search(url)]
        return found or None
    return None


def _as_text(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | str):
        text = re.sub(r"\s+", " ", str(value)).strip()
        return text[:FIELD_MAX] or None
    return None


def search(data: Any, expression: str) -> Any:
    """The raw JMESPath result of a compiled `json:` selector over `data` (None where it selects nothing)."""
    try:
        return compiled(expression).search(data)
    except (JMESPathError, ValueError, TypeError, RecursionError):
        return None


def scopes(data: Any, expression: str) -> list[Any]:
    """The elements an item selector picks (each search card's data), at most MAX_VALUES."""
    found = search(data, expression)
    if found is None:
        return []
    return (found if isinstance(found, list) else [found])[:MAX_VALUES]


def values(data: Any, expression: str) -> list[str]:
    """The text of what a field selector picks: strings and numbers, a list flattened one level."""
    found = search(data, expression)
    items = found if isinstance(found, list) else [found]
    out = []
    for item in items[:MAX_VALUES]:
        text = _as_text(item)
        if text:
            out.append(text)
    return out
