"""The demo catalogue: every listing on both demo marketplaces, with the truth about each.

Built from a seed, so the same seed gives the same listings, prices, photos and bytes on every machine with the
same Pillow. Four labels, each made of cases (market.py lists them with their rates and builds the hard ones);
the plain cases, made here, are constructed so no single signal sorts them but all together do:

- genuine: an authorised shop shipping from a region its contract allows, at or above the floor, with the
  brand's own photos resized and recompressed, and a batch code of its own distributor;
- diversion (串货): genuine photos and goods, but either an unauthorised shop (its batch code, when shown, names
  the distributor that leaked it) or an authorised shop shipping from outside its regions; priced moderately
  under the floor (60-85% of suggested); some titles say 清仓/尾货/内部渠道/已刮码; and some cleared stock
  (撤柜尾货) far under the floor (30-48%), priced like fakes, which shows its distributor's code;
- counterfeit: unauthorised shops at 15-45% of suggested, with the brand's photos copied and altered (crop,
  mirror, watermark, border, rotation, heavy recompression; photos of the fake itself are market.py's
  own-photo cases); only some titles
  carry a tell (高仿, 1:1, A货, 原单, replica); and some "premium" fakes at 52-75%, priced like diverted stock,
  which print a made-up batch code to look genuine;
- unrelated: what a search for "Lumina"/"露米娜" also returns: lamps, phone cases, other brands' cosmetics.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from brandpatrol.demo import brand
from brandpatrol.demo.brand import DemoProduct, DemoSeller
from brandpatrol.demo.packs import OwnPhoto
from brandpatrol.demo.photos import CORNERS, PhotoRecipe, photo_jpeg, render_jpeg
from brandpatrol.demo.surfaces import Surface, case_counts

LABELS = ("genuine", "diversion", "counterfeit", "unrelated")
Photo = PhotoRecipe | OwnPhoto
REFERENCE_SIZE = 600
ROUTE_PREFIX = {"demo-shop": "shop", "demo-js": "js"}
CENT = Decimal("0.01")
# Counterfeit photo alterations a plain 64-bit pHash (with its mirror) still matches within distance 10;
# corner crops and rotations need hashes of cropped/rotated reference variants (see photos.py).
PLAIN_MATCH_KINDS = ("recompressed", "mirrored", "watermarked", "white border", "bordered and watermarked")
# How often counterfeiters alter the brand's photo each way (relative weights).
COPY_WEIGHTS = {"recompressed": 1.0, "corner crop": 1.5, "mirrored": 1.5, "watermarked": 1.5, "white border": 1.0,
                "rotated": 1.0, "cropped and mirrored": 1.0, "bordered and watermarked": 1.0}
COPY_KINDS = tuple(COPY_WEIGHTS)

T = TypeVar("T")


@dataclass(frozen=True)
class DemoListing:
    marketplace: str  # 'demo-shop' | 'demo-js'
    external_id: str
    title: str
    price: Decimal
    currency: str
    seller_name: str
    seller_id: str
    location: str  # as the page writes it: "广东 深圳", "香港", "Los Angeles, United States"
    image_names: list[str]
    description: str
    sales: int
    label: str  # one of LABELS
    sku: str | None  # the brand product it is (or imitates); None for unrelated listings
    reason: str = ""  # why it carries its label, for people reading evaluation output
    case: str = ""  # how it was built, a key of market.CASES: the evaluation reports each case apart
    distributor: str = ""  # diverted stock: the distributor it leaked from, when the listing shows it

    @property
    def item_path(self) -> str:
        """Path of its listing page, e.g. /shop/item/6103374188 or /js/item/700512330318."""
        return f"/{ROUTE_PREFIX[self.marketplace]}/item/{self.external_id}"

    @property
    def image_paths(self) -> list[str]:
        return [f"/img/{name}.jpg" for name in self.image_names]

    def searchable(self) -> str:
        return _fold(" ".join((self.title, self.description, self.seller_name)))


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


@dataclass
class DemoCatalogue:
    seed: int
    listings: list[DemoListing]
    recipes: dict[str, Photo] = field(repr=False)
    products: tuple[DemoProduct, ...] = brand.PRODUCTS
    sellers: tuple[DemoSeller, ...] = brand.AUTHORISED + brand.UNAUTHORISED + brand.OTHERS
    market: str = "tuning"
    # The brand's code system export (一物一码): (serial, distributor, sku) for every serial it issued.
    issued_codes: list[tuple[str, str, str]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._by_id = {(x.marketplace, x.external_id): x for x in self.listings}

    # --- look-ups the server uses ---

    def listing(self, marketplace: str, external_id: str) -> DemoListing | None:
        return self._by_id.get((marketplace, external_id))

    def listings_for(self, marketplace: str) -> list[DemoListing]:
        """A marketplace's listings in its fixed search order."""
        return [x for x in self.listings if x.marketplace == marketplace]

    def search(self, marketplace: str, query: str) -> list[DemoListing]:
        """Listings a query finds: every word must be a brand name or occur in the title, description or shop
        name. Like a real marketplace, a brand name alone returns everything loosely related to it."""
        words = _fold(query).split()
        if not words:
            return []
        brand_words = {_fold(t) for t in brand.SEARCH_TERMS}
        return [
            x for x in self.listings_for(marketplace)
            if all(w in brand_words or w in x.searchable() for w in words)
        ]

    def seller(self, marketplace: str, seller_id: str) -> DemoSeller | None:
        return next((s for s in self.sellers if s.marketplace == marketplace and s.seller_id == seller_id), None)

    # --- images ---

    def image_bytes(self, name: str) -> bytes:
        """JPEG bytes of a listing image, by name with or without '.jpg'. KeyError when unknown."""
        return photo_jpeg(self.recipes[name.removesuffix(".jpg")])

    def reference_bytes(self, ref_id: str) -> bytes:
        """JPEG bytes of a brand reference photo, e.g. 'LM-100-front'. KeyError when unknown."""
        for product in self.products:
            for ref in product.references:
                if ref.id == ref_id:
                    return render_jpeg(reference_recipe(ref.source))
        raise KeyError(ref_id)

    # --- files ---

    def write_workspace(self, directory: Path, base_url: str) -> Path:
        """Write brandpatrol.yaml, references/*.jpg and labels.csv into `directory`; return the YAML's path."""
        from brandpatrol.demo.workspace import write_workspace

        return write_workspace(self, Path(directory), base_url)


def reference_recipe(source: str) -> PhotoRecipe:
    return PhotoRecipe(source, size=REFERENCE_SIZE, quality=95)


class _Builder:
    """Makes one marketplace's listings from its own random stream, so marketplaces do not disturb each other."""

    def __init__(self, surface: Surface, seed: int, marketplace: str, recipes: dict[str, Photo],
                 taken: set[str]):
        # The tuning market keeps the stream name it always had, so its listings stay put across changes.
        stream = "lumina-demo" if surface.name == "tuning" else f"lumina-{surface.name}"
        self.rng = random.Random(f"{stream}:{seed}:{marketplace}")
        self.surface = surface
        self.marketplace = marketplace
        self.recipes = recipes
        self.taken = taken
        self.authorised = [s for s in brand.AUTHORISED if s.marketplace == marketplace]
        self.unrelated_queue: list[tuple[str, str, int, int, str]] = []

    def pick(self, options: Sequence[T]) -> T:
        return options[self.rng.randrange(len(options))]

    def build(self, n: int) -> list[DemoListing]:
        cases = [case for case, count in case_counts(n).items() for _ in range(count)]
        self.rng.shuffle(cases)  # the order is also the search order, so pagination mixes the kinds
        listings = []
        for case in cases:
            maker: Callable[[str], DemoListing] = getattr(self, case)
            listings.append(replace(maker(self.new_id()), case=case))
        return listings

    def shop(self, key: str) -> DemoSeller:
        """This market's unauthorised shop of a role (a key of brand.UNAUTHORISED) on this marketplace."""
        return brand.seller(self.marketplace, key, self.surface.unauthorised)

    # --- pieces ---

    def new_id(self) -> str:
        while True:
            if self.marketplace == "demo-shop":
                candidate = f"6{self.rng.randrange(10**9):09d}"
            else:
                candidate = f"7{self.rng.randrange(10**11):011d}"
            if candidate not in self.taken:
                self.taken.add(candidate)
                return candidate

    def product(self) -> DemoProduct:
        return self.rng.choices(brand.PRODUCTS, weights=(4, 3.5, 2.5))[0]

    def batch(self, prefix: str) -> str:
        return f"{prefix}{self.rng.randint(23, 25)}{self.rng.randint(1, 12):02d}{self.rng.randint(1, 999):03d}"

    def text(self, template: str, product: DemoProduct, batch: str = "") -> str:
        return template.format(
            zh=brand.BRAND_NAMES["zh"], en=brand.BRAND_NAMES["en"], name=product.short_zh,
            kind=product.kind_zh, en_name=product.short_en, size=product.size, full=product.name_zh,
            full_en=product.name_en, batch=batch,
        )

    def shop_price(self, value: Decimal) -> Decimal:
        """A price as shops write it: whole yuan ending in 8, 9 or 0, or ending .90."""
        whole = int(value)
        style = self.rng.randrange(4)
        if style == 0:
            return Decimal(whole) - Decimal("0.10") if whole > 1 else Decimal(whole)
        ending = (8, 9, 0)[style - 1]
        candidate = whole - whole % 10 + ending
        return Decimal(candidate if candidate <= whole or ending == 0 else candidate - 10)

    def price_between(self, product: DemoProduct, low: float, high: float) -> Decimal:
        """A shop price between `low` and `high` times the suggested price."""
        lowest, highest = product.suggested * Decimal(str(low)), product.suggested * Decimal(str(high))
        for _ in range(50):
            ratio = Decimal(str(round(self.rng.uniform(low, high), 3)))
            price = self.shop_price(product.suggested * ratio)
            if lowest <= price <= highest:
                return price
        return (product.suggested * Decimal(str((low + high) / 2))).quantize(Decimal(1))

    def images(self, external_id: str, recipes: list[Photo]) -> list[str]:
        names = []
        for i, recipe in enumerate(recipes, start=1):
            name = f"{external_id}-{i}"
            self.recipes[name] = recipe
            names.append(name)
        return names

    def listing(self, external_id: str, seller: DemoSeller, location: str, *, title: str, price: Decimal,
                image_names: list[str], description: str, sales: int, label: str, sku: str | None,
                reason: str, distributor: str = "") -> DemoListing:
        return DemoListing(
            marketplace=self.marketplace, external_id=external_id, title=title,
            price=price.quantize(CENT), currency=brand.CURRENCY, seller_name=seller.name,
            seller_id=seller.seller_id, location=location, image_names=image_names, description=description,
            sales=sales, label=label, sku=sku, reason=reason, distributor=distributor,
        )

    def genuine_photo(self, product: DemoProduct, *, quality: tuple[int, int], sizes: tuple[int, ...],
                      watermark: str | None = None) -> PhotoRecipe:
        ref = self.pick(product.references)
        return PhotoRecipe(ref.source, size=self.pick(sizes), quality=self.rng.randint(*quality),
                           watermark=watermark)

    # --- the plain cases ---

    def genuine(self, external_id: str) -> DemoListing:
        product = self.product()
        shop = self.pick(self.authorised)
        location = self.pick(shop.home)
        batch = self.batch(shop.batch_prefixes[0])
        # At the floor, at suggested, or in between; never under the floor.
        price = self.pick([product.suggested, product.suggested, product.suggested - 20, product.floor + 30,
                           product.floor])
        photos: list[Photo] = [PhotoRecipe(product.references[0].source, size=self.pick((760, 800, 800, 820)),
                                           quality=self.rng.randint(82, 92))]
        for _ in range(self.rng.randint(0, 2)):
            photos.append(self.genuine_photo(product, quality=(80, 92), sizes=(640, 750, 800)))
        return self.listing(
            external_id, shop, location,
            title=self.text(self.pick(brand.GENUINE_TITLES), product),
            price=price,
            image_names=self.images(external_id, photos),
            description=self.text(self.pick(brand.GENUINE_DESCRIPTIONS), product, batch),
            sales=self.rng.randint(30, 900) * (3 if shop.key == "official" else 1),
            label="genuine", sku=product.sku,
            reason=f"authorised seller {shop.name} ships from {location}, within {', '.join(shop.regions)}; "
                   f"price {price} >= floor {product.floor}; own photos; batch {batch}",
        )

    def diversion_price(self, product: DemoProduct) -> Decimal:
        price = self.price_between(product, 0.60, 0.84)
        return min(price, product.floor - 10)  # "moderately under the floor", never at it

    def diversion_photos(self, product: DemoProduct) -> list[Photo]:
        photos: list[Photo] = [self.genuine_photo(product, quality=(70, 88), sizes=(640, 700, 800))]
        if self.rng.random() < 0.4:
            photos.append(self.genuine_photo(product, quality=(70, 88), sizes=(640, 800)))
        return photos

    def diversion_outside_region(self, external_id: str) -> DemoListing:
        """An authorised shop selling outside the regions its contract gives it."""
        product = self.product()
        price = self.diversion_price(product)
        shop = self.pick([s for s in self.authorised if s.elsewhere])
        location = self.pick(shop.elsewhere)
        batch = self.batch(shop.batch_prefixes[0])
        title = self.text(self.pick(brand.DIVERSION_TITLES[:3] + brand.GENUINE_TITLES[:2]), product)
        return self.listing(
            external_id, shop, location, title=title,
            price=price, image_names=self.images(external_id, self.diversion_photos(product)),
            description=self.text(self.pick(brand.DIVERSION_DESCRIPTIONS[:3]), product, batch),
            sales=self.rng.randint(3, 600), label="diversion", sku=product.sku, distributor=shop.distributor or "",
            reason=f"authorised seller {shop.name} ships from {location}, outside {', '.join(shop.regions)}; "
                   f"price {price} < floor {product.floor}; batch {batch} is its own",
        )

    def diversion_by_unauthorised(self, external_id: str, *, scratched: bool) -> DemoListing:
        """Genuine stock from an unauthorised shop: its code names the leaking distributor, unless scratched off."""
        product = self.product()
        price = self.diversion_price(product)
        photos = self.diversion_photos(product)
        leaker = self.pick(self.authorised)
        shop = self.shop(self.pick(brand.DIVERTERS))
        location = shop.home[0]
        batch = self.batch(leaker.batch_prefixes[0])
        if scratched:
            title = self.text(brand.DIVERSION_TITLES[3], product)
            description = self.text(brand.DIVERSION_DESCRIPTIONS[3], product, batch)
        elif shop.key in brand.DIVERSION_ABROAD and self.rng.random() < 0.7:
            title_t, desc_t = brand.DIVERSION_ABROAD[shop.key]
            title, description = self.text(title_t, product), self.text(desc_t, product, batch)
        else:
            title = self.text(self.pick([t for t in brand.DIVERSION_TITLES if "刮码" not in t]), product)
            description = self.text(self.pick(brand.DIVERSION_DESCRIPTIONS[:3]), product, batch)
        if self.rng.random() < 0.3:
            # Diverters stamp genuine photos with their shop mark, as counterfeiters do.
            photos[0] = self.genuine_photo(product, quality=(70, 85), sizes=(800,), watermark="SHOP DEAL")
        shown = batch in description
        return self.listing(
            external_id, shop, location, title=title, price=price,
            image_names=self.images(external_id, photos), description=description,
            sales=self.rng.randint(3, 600), label="diversion", sku=product.sku,
            distributor=(leaker.distributor or "") if shown else "",
            reason=f"unauthorised seller {shop.name} ({location}); genuine photos; price {price} < floor "
                   f"{product.floor}; " + (f"batch {batch} leaked by {leaker.distributor}" if shown
                                           else "batch code scratched off"),
        )

    def control_diversion_title_code(self, external_id: str) -> DemoListing:
        return self.diversion_by_unauthorised(external_id, scratched=False)

    def diversion_code_scratched(self, external_id: str) -> DemoListing:
        return self.diversion_by_unauthorised(external_id, scratched=True)

    def cleared_stock(self, external_id: str) -> DemoListing:
        """Diverted stock cleared far under the floor, priced like a fake: its distributor's code tells them apart."""
        product = self.product()
        shop = self.shop(self.pick(brand.DIVERTERS))
        leaker = self.pick(self.authorised)
        batch = self.batch(leaker.batch_prefixes[0])
        price = self.price_between(product, 0.30, 0.48)
        photos: list[Photo] = [self.genuine_photo(product, quality=(70, 88), sizes=(640, 700, 800))]
        return self.listing(
            external_id, shop, shop.home[0], title=self.text(self.pick(brand.DIVERSION_TITLES[:2]), product),
            price=price, image_names=self.images(external_id, photos),
            description=self.text(self.pick(brand.DIVERSION_DESCRIPTIONS[:2]), product, batch),
            sales=self.rng.randint(3, 600), label="diversion", sku=product.sku, distributor=leaker.distributor or "",
            reason=f"unauthorised seller {shop.name} clears genuine stock at {price / product.suggested:.0%} of "
                   f"suggested; genuine photos; batch {batch} leaked by {leaker.distributor}",
        )

    def copy_listing(self, external_id: str, *, unbranded: bool) -> DemoListing:
        """A fake sold with the brand's own photo, altered; with the brand's name, or (unbranded) none at all."""
        product = self.product()
        shop = self.shop(self.pick(brand.COUNTERFEITERS))
        price = self.price_between(product, 0.15, 0.45)
        kind, photo = self.fake_photo(product, PLAIN_MATCH_KINDS if unbranded else COPY_KINDS)
        photos: list[Photo] = [photo]
        for _ in range(self.rng.randint(0, 2)):
            photos.append(self.fake_photo(product, COPY_KINDS)[1])
        tell = self.rng.random() < 0.55
        title = self.text(self.pick(brand.COUNTERFEIT_TITLES_TELL if tell else brand.COUNTERFEIT_TITLES_PLAIN),
                          product)
        batch = self.batch(self.pick(brand.COUNTERFEIT_BOGUS_PREFIXES))
        description = self.text(self.pick(brand.COUNTERFEIT_DESCRIPTIONS), product, batch)
        if unbranded:
            # No brand name anywhere: only the copied photo ties it to the brand.
            tell = False
            title = self.text(self.pick(brand.COUNTERFEIT_TITLES_UNBRANDED), product)
            description = brand.COUNTERFEIT_UNBRANDED_DESCRIPTION
        return self.listing(
            external_id, shop, shop.home[0], title=title, price=price,
            image_names=self.images(external_id, photos), description=description,
            sales=self.rng.choice((self.rng.randint(0, 80), self.rng.randint(100, 5000))),
            label="counterfeit", sku=product.sku,
            reason=f"unauthorised seller {shop.name}; price {price} is "
                   f"{price / product.suggested:.0%} of suggested; first photo: {kind}; "
                   + ("no brand name, only the brand's photo" if unbranded
                      else "tell word in title" if tell else "no tell word in title"),
        )

    def control_copy(self, external_id: str) -> DemoListing:
        return self.copy_listing(external_id, unbranded=False)

    def unbranded_copy(self, external_id: str) -> DemoListing:
        return self.copy_listing(external_id, unbranded=True)

    def premium_fake(self, external_id: str) -> DemoListing:
        """A fake priced like diverted stock, with no tell word: the made-up batch code it prints gives it away."""
        product = self.product()
        shop = self.shop(self.pick(brand.COUNTERFEITERS))
        price = self.price_between(product, 0.52, 0.75)
        kind, photo = self.fake_photo(product, COPY_KINDS)
        batch = self.batch(self.pick(brand.COUNTERFEIT_BOGUS_PREFIXES))
        return self.listing(
            external_id, shop, shop.home[0], title=self.text(self.pick(brand.COUNTERFEIT_TITLES_PLAIN), product),
            price=price, image_names=self.images(external_id, [photo]),
            description=self.text(brand.COUNTERFEIT_DESCRIPTIONS[2], product, batch),
            sales=self.rng.randint(0, 300), label="counterfeit", sku=product.sku,
            reason=f"unauthorised seller {shop.name}; premium fake at {price / product.suggested:.0%} of suggested; "
                   f"first photo: {kind}; made-up batch {batch}; no tell word in title",
        )

    def fake_photo(self, product: DemoProduct, kinds: tuple[str, ...]) -> tuple[str, PhotoRecipe]:
        """A counterfeiter's copy of the brand's own photo, altered in one of `kinds` (a key of COPY_WEIGHTS)."""
        source = self.pick(product.references).source
        quality = self.rng.randint(45, 80)
        corner = self.pick(CORNERS)
        angle = self.pick((-8.0, -5.0, -3.0, 3.0, 5.0, 8.0))
        mark = self.pick(("1:1 COPY", "FACTORY DIRECT", "TOP QUALITY", "BEST PRICE"))
        kind = self.rng.choices(kinds, weights=[COPY_WEIGHTS[k] for k in kinds])[0]
        recipes = {
            "recompressed": PhotoRecipe(source, size=700, quality=self.rng.randint(30, 45)),
            "corner crop": PhotoRecipe(source, crop_corner=corner, quality=quality),
            "mirrored": PhotoRecipe(source, mirror=True, quality=quality),
            "watermarked": PhotoRecipe(source, watermark=mark, quality=quality),
            "white border": PhotoRecipe(source, border=0.10, quality=quality),
            "rotated": PhotoRecipe(source, rotate=angle, quality=quality),
            "cropped and mirrored": PhotoRecipe(source, crop_corner=corner, mirror=True, quality=quality),
            "bordered and watermarked": PhotoRecipe(source, border=0.10, watermark=mark, quality=quality),
        }
        return kind, recipes[kind]

    def view(self) -> tuple[float, float, float]:
        span = round(self.rng.uniform(0.55, 0.9), 2)
        return (round(self.rng.uniform(0, 1 - span), 2), round(self.rng.uniform(0, 1 - span), 2), span)

    def unrelated(self, external_id: str) -> DemoListing:
        if not self.unrelated_queue:  # draw without replacement, so a page rarely shows the same lamp twice
            self.unrelated_queue = list(brand.UNRELATED)
            self.rng.shuffle(self.unrelated_queue)
        title, description, low, high, kind = self.unrelated_queue.pop()
        if kind == "beauty" and self.rng.random() < 0.5:
            # Authorised beauty shops sell other brands too; the shop alone proves nothing.
            shop = self.pick([s for s in self.authorised if s.key != "official"])
        else:
            shop = brand.seller(self.marketplace, "mall" if kind == "beauty" else kind, brand.OTHERS)
        price = self.shop_price(Decimal(self.rng.randint(low, high)))
        photos: list[Photo] = [PhotoRecipe(self.pick(brand.UNRELATED_PHOTOS), view=self.view(),
                                           quality=self.rng.randint(75, 92)) for _ in range(self.rng.randint(1, 2))]
        return self.listing(
            external_id, shop, self.pick(shop.home), title=title, price=max(price, Decimal(1)),
            image_names=self.images(external_id, photos), description=description,
            sales=self.rng.randint(0, 2000), label="unrelated", sku=None,
            reason="not a Lumina product: a search for the brand name returns it anyway",
        )
