"""Normalisation of an extracted listing: a pure function, used by the pipeline and by `brandpatrol parse`."""

from __future__ import annotations

from core.money import currency_from_text, parse_price
from core.regions import locate
from core.text import NAME_MAX, TEXT_MAX, TITLE_MAX, clean_line, clean_text
from crawler.items import ListingItem

MAX_IMAGES_PER_LISTING = 6
REQUIRED_FIELDS = ("external_id", "url", "title")


class MissingField(ValueError):
    def __init__(self, field: str, url: str):
        super().__init__(f"{field} is empty on {url[:200]}")
        self.field = field


def normalise_listing(item: ListingItem, default_currency: str | None = None) -> ListingItem:
    """Clean every scraped string, parse the price to Decimal + ISO 4217, read the location as ISO 3166 codes.

    Raises MissingField when a required field is empty after cleaning.
    """
    item.title = clean_line(item.title, TITLE_MAX)
    item.external_id = clean_line(item.external_id, 200)
    for required in REQUIRED_FIELDS:
        if not getattr(item, required):
            raise MissingField(required, item.url or "(no url)")
    item.description = clean_text(item.description, TEXT_MAX) or None
    item.seller_name = clean_line(item.seller_name, NAME_MAX) or None
    item.seller_id = clean_line(item.seller_id, NAME_MAX) or None
    item.location_text = clean_line(item.location_text, 300) or None
    item.condition = clean_line(item.condition, 100) or None
    if item.currency is not None:
        # What a page calls its currency ('usd', 'US $', JSON-LD's `false`) as ISO 4217, else the marketplace's.
        item.currency = currency_from_text(clean_line(item.currency, 40), default_currency)
    if item.price is None and item.price_text:
        parsed = parse_price(item.price_text, item.currency or default_currency)
        if parsed is not None:
            item.price, item.price_high, item.currency = parsed.low, parsed.high, parsed.currency
    if item.price is not None and not item.currency:
        item.currency = default_currency
    location = locate(item.location_text)
    # Codes the extractor read from the site's own context (Lazada PH's "Laguna") stay where the text alone
    # names no country.
    if location is not None and (location.country or not item.country):
        item.country, item.region = location.country, location.subdivision
    item.image_urls = list(dict.fromkeys(u for u in item.image_urls if u))[:MAX_IMAGES_PER_LISTING]
    return item
