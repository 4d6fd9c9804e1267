"""An evaluation market: the demo catalogue with every hard case issue #15 names, built at run time.

The plain cases (catalogue.py) are the careless infringers. The hard ones, built here, are how real sellers
escape keyword and photo filters, and how genuine resellers look like them:

- genuine_own_photo: an authorised reseller shoots its own stock (lot code and serial of its own distributor);
- printed_lot_diversion: diverted stock whose lot code is printed only on the box in the photo;
- own_photo_fake: the fake box itself, shot at an angle on a background, the brand's name in the title;
- bent_name_fake: the same, with the brand's name bent (L.umina, Lum1na, Cyrillic і, 璐米娜, 露 米 娜) or gone
  (大牌同款);
- network_shop: several shops of one operator, sharing the same own photos and one WeChat contact;
- lookalike_other_brand: other brands' packs in the same trade dress, titles naming the other brand.

Fake packs differ from the real one subtly (`fake_pack`). The brand's code system export (一物一码) is part of
the market: every serial on a genuine box is issued to its distributor, some fakes print a serial never
issued, and one serial copied from a real box is cloned across several fake listings.
"""

from __future__ import annotations

import random
from dataclasses import replace
from decimal import Decimal

from brandpatrol.demo import brand
from brandpatrol.demo.brand import DemoProduct, DemoSeller
from brandpatrol.demo.catalogue import DemoCatalogue, DemoListing, Photo, _Builder
from brandpatrol.demo.packs import OwnPhoto, PackDesign, artwork_square, genuine_pack, gtin_check_digit
from brandpatrol.demo.photos import PhotoRecipe, register_source
from brandpatrol.demo.surfaces import MARKETS, Surface

# Codes the brand issued beyond those seen on listings, per distributor: a code file lists every unit shipped.
ISSUED_PADDING = 40
OWN_PHOTO_DESCRIPTIONS = (
    "实物拍摄，所见即所得，{full}。",
    "自家仓库实拍，{size}，拍下当天发货。",
    "{full}，实拍图，支持验货。",
)
BENT_TITLES = ("{bent}{name} {size} 专柜品质", "{bent} {kind} {size} 特价包邮", "{bent}同款{kind} {size} 正品",
               "{bent} {name} 买一送一")
BRANDLESS_TITLES = ("{tell} {name} {size} 平价", "{tell}{kind} {size} 工厂直发", "{tell} {kind} 专柜品质 包邮")
NETWORK_DESCRIPTIONS = ("工厂直发，量大从优，更多款式 {{contact}}。", "实物拍摄 一件代发 {{contact}} 咨询",
                        "{name} {size}，细节见图。{{contact}}")
LOOKALIKE_TITLES = ("{zh} {en} {product} {size} 新品", "{en}{zh}{product} {size} 正品 包邮",
                    "【{zh}】{product} {size} 官方正品")


class MarketBuilder(_Builder):
    """One marketplace of an evaluation market: the plain cases plus the hard ones."""

    def __init__(self, surface: Surface, seed: int, marketplace: str, recipes: dict[str, Photo], taken: set[str],
                 codes: CodeBook):
        super().__init__(surface, seed, marketplace, recipes, taken)
        self.codes = codes
        self.network = [s for s in surface.network if s.marketplace == marketplace]

    # --- photos of boxes ---

    def own_photo(self, pack: PackDesign, *, seed: int | None = None) -> OwnPhoto:
        s = self.surface
        return OwnPhoto(
            pack, background=self.pick(s.backgrounds), seed=seed if seed is not None else self.rng.randrange(2**31),
            tilt=round(self.rng.uniform(*s.tilt), 3), blur=round(self.rng.uniform(*s.blur), 2),
            size=self.pick((800, 900, 1000)), quality=self.rng.randint(72, 90),
            angle=round(self.rng.uniform(*s.angle), 1),
        )

    def real_box(self, product: DemoProduct, distributor_of: DemoSeller) -> tuple[PackDesign, str]:
        """A genuine box shipped to `distributor_of`'s distributor: its lot code, and on half the boxes a serial."""
        lot = self.batch(distributor_of.batch_prefixes[0])
        serial = None
        if self.rng.random() < 0.5:
            serial = self.codes.issue(self.rng, distributor_of.distributor or distributor_of.name, product.sku)
        return genuine_pack(product, lot=lot, serial=serial, code_kind=self.pick(("qr", "datamatrix"))), lot

    def fake_pack(self, product: DemoProduct) -> tuple[PackDesign, str]:
        """A copy of the box that differs subtly; returns it and what gives it away."""
        pack = genuine_pack(product, code_kind=self.pick(("qr", "datamatrix")))
        flaws: list[str] = []
        if self.rng.random() < 0.6:
            pack, flaws = replace(pack, bold_brand=False), [*flaws, "brand name in the regular weight"]
        if self.rng.random() < 0.5:
            channel = self.rng.randrange(3)
            tint = tuple(self.pick((-22, -16, 16, 22)) if i == channel else 0 for i in range(3))
            pack, flaws = replace(pack, tint=(tint[0], tint[1], tint[2])), [*flaws, f"colours shifted {tint}"]
        if self.rng.random() < 0.3:
            misprint = self.pick((("LUMlNA", brand.BRAND_NAMES["zh"]), ("LUMINA", "露米那"), ("LUMIMA", "露米娜")))
            pack, flaws = replace(pack, brand_latin=misprint[0], brand_chinese=misprint[1]), [*flaws, "misprinted name"]
        lot_draw = self.rng.random()
        if lot_draw < 0.4:
            flaws.append("no lot code")
        else:
            lot = self.batch(self.pick(brand.COUNTERFEIT_BOGUS_PREFIXES))
            pack, flaws = replace(pack, lot=lot), [*flaws, f"made-up lot {lot}"]
        if self.rng.random() < 0.15:
            other = "69799900" + f"{self.rng.randrange(10**4):04d}"
            gtin = other + gtin_check_digit(other)
            pack, flaws = replace(pack, gtin=gtin), [*flaws, f"GTIN {gtin} not the product's"]
        code_draw = self.rng.random()
        if code_draw < 0.3:
            serial = self.codes.never_issued(self.rng)
            pack, flaws = replace(pack, serial=serial), [*flaws, f"serial {serial} never issued"]
        elif code_draw < 0.3 + self.codes.clone_share:
            pack, flaws = replace(pack, serial=self.codes.cloned), [*flaws, f"cloned serial {self.codes.cloned}"]
        return pack, "; ".join(flaws) or "a close copy"

    def fake_price(self, product: DemoProduct, like_resale: float = 0.2) -> Decimal:
        """A fake's price: mostly far under suggested; a share `like_resale` priced like discounted real stock."""
        if self.rng.random() < like_resale:
            return self.price_between(product, 0.52, 0.75)
        return self.price_between(product, 0.15, 0.45)

    # --- the hard cases ---

    def genuine_own_photo(self, external_id: str) -> DemoListing:
        product = self.product()
        shop = self.pick(self.authorised)
        location = self.pick(shop.home)
        pack, lot = self.real_box(product, shop)
        photos: list[Photo] = [self.own_photo(pack)]
        if self.rng.random() < 0.4:
            photos.append(self.genuine_photo(product, quality=(80, 92), sizes=(640, 800)))
        price = self.pick([product.suggested, product.suggested - 20, product.floor + 30, product.floor])
        description = self.text(self.pick(OWN_PHOTO_DESCRIPTIONS), product)
        if self.rng.random() < 0.5:
            description += f" 批号：{lot}。"
        return self.listing(
            external_id, shop, location, title=self.text(self.pick(brand.GENUINE_TITLES), product), price=price,
            image_names=self.images(external_id, photos), description=description,
            sales=self.rng.randint(20, 600), label="genuine", sku=product.sku,
            reason=f"authorised seller {shop.name} in its regions at {price}; its own photo of the real box "
                   f"(lot {lot}{', serial ' + pack.serial if pack.serial else ''})",
        )

    def printed_lot_diversion(self, external_id: str) -> DemoListing:
        product = self.product()
        leaker = self.pick(self.authorised)
        shop = self.shop(self.pick(brand.DIVERTERS))
        pack, lot = self.real_box(product, leaker)
        photos: list[Photo] = [self.own_photo(pack)]
        if self.rng.random() < 0.5:
            photos.insert(0, self.genuine_photo(product, quality=(70, 88), sizes=(640, 800)))
        price = self.diversion_price(product)
        title = self.text(self.pick([t for t in brand.DIVERSION_TITLES if "刮码" not in t]), product)
        return self.listing(
            external_id, shop, shop.home[0], title=title, price=price,
            image_names=self.images(external_id, photos),
            description=self.text(self.pick(("正品保真，代理商清仓，数量有限。", "专柜撤柜尾货，{full}，保质期内。",
                                              "实物拍摄，{full}，批号见图。")), product),
            sales=self.rng.randint(3, 400), label="diversion", sku=product.sku, distributor=leaker.distributor or "",
            reason=f"unauthorised seller {shop.name}; genuine box; lot {lot} of {leaker.distributor} printed on "
                   f"the box in the photo only" + (f"; serial {pack.serial}" if pack.serial else ""),
        )

    def own_photo_fake(self, external_id: str) -> DemoListing:
        product = self.product()
        shop = self.shop(self.pick(brand.COUNTERFEITERS))
        pack, flaws = self.fake_pack(product)
        photos: list[Photo] = [self.own_photo(pack) for _ in range(self.rng.randint(1, 2))]
        # Shooting its own stock is how a fake passes for a reseller: half are priced like discounted real
        # stock, and few titles carry a tell word.
        tell = self.rng.random() < 0.2
        title = self.text(self.pick(brand.COUNTERFEIT_TITLES_TELL if tell else brand.COUNTERFEIT_TITLES_PLAIN),
                          product)
        price = self.fake_price(product, like_resale=0.5)
        return self.listing(
            external_id, shop, shop.home[0], title=title, price=price,
            image_names=self.images(external_id, photos),
            description=self.text(self.pick(OWN_PHOTO_DESCRIPTIONS), product),
            sales=self.rng.randint(0, 3000), label="counterfeit", sku=product.sku,
            reason=f"unauthorised seller {shop.name} at {price / product.suggested:.0%} of suggested; own photo of "
                   f"the fake box ({flaws}); " + ("tell word in title" if tell else "no tell word"),
        )

    def bent_title(self, product: DemoProduct) -> str:
        if self.rng.random() < 0.25:
            template, fill = self.pick(BRANDLESS_TITLES), {"tell": self.pick(self.surface.brandless)}
        else:
            template, fill = self.pick(BENT_TITLES), {"bent": self.pick(self.surface.bent_brands)}
        return template.format(name=product.short_zh, kind=product.kind_zh, size=product.size, **fill)

    def bent_name_fake(self, external_id: str) -> DemoListing:
        product = self.product()
        shop = self.shop(self.pick(brand.COUNTERFEITERS))
        pack, flaws = self.fake_pack(product)
        title = self.bent_title(product)
        price = self.fake_price(product)
        return self.listing(
            external_id, shop, shop.home[0], title=title, price=price,
            image_names=self.images(external_id, [self.own_photo(pack)]),
            description=self.pick(("工厂直发，品质保证。", "实物拍摄，所见即所得。", "专柜品质，平价入手。")),
            sales=self.rng.randint(0, 3000), label="counterfeit", sku=product.sku,
            reason=f"unauthorised seller {shop.name} at {price / product.suggested:.0%} of suggested; title bends "
                   f"the brand: {title!r}; own photo of the fake box ({flaws})",
        )

    def network_shop(self, external_id: str) -> DemoListing:
        product = self.product()
        shop = self.pick(self.network)
        photos: list[Photo] = list(self.codes.network_photos(self, product))
        title = self.bent_title(product) if self.rng.random() < 0.5 else self.text(
            self.pick(brand.COUNTERFEIT_TITLES_PLAIN), product)
        contact = self.pick(self.surface.contact_forms)
        price = self.fake_price(product)
        return self.listing(
            external_id, shop, shop.home[0], title=title, price=price,
            image_names=self.images(external_id, photos),
            description=self.text(self.pick(NETWORK_DESCRIPTIONS), product).replace("{contact}", contact),
            sales=self.rng.randint(0, 2000), label="counterfeit", sku=product.sku,
            reason=f"network shop {shop.name}: the network's shared own photos of the fake box, contact {contact!r}",
        )

    def lookalike_other_brand(self, external_id: str) -> DemoListing:
        other = self.pick(self.surface.lookalikes)
        product = next(p for p in brand.PRODUCTS if p.sku == other.imitates)
        pack = PackDesign(
            palette_of=other.imitates, brand_latin=other.latin, brand_chinese=other.chinese,
            product_chinese=other.product_chinese, product_latin=other.product_latin, size=product.size,
            gtin=self.codes.lookalike_gtin(other.latin), lot=self.batch("YS"), motif=other.motif,
        )
        if self.rng.random() < 0.6:
            source = register_source(f"lookalike:{self.surface.name}:{other.latin}",
                                     lambda: artwork_square(replace(pack, lot=None), 640))
            photos: list[Photo] = [PhotoRecipe(source, size=self.pick((700, 800)), quality=self.rng.randint(75, 90))]
        else:
            photos = [self.own_photo(pack)]
        shop = self.pick([s for s in self.authorised if s.key != "official"]) if self.rng.random() < 0.4 else \
            brand.seller(self.marketplace, "mall", brand.OTHERS)
        price = self.price_between(product, 0.25, 0.8)
        title = self.pick(LOOKALIKE_TITLES).format(zh=other.chinese, en=other.latin.title(),
                                                   product=other.product_chinese, size=product.size)
        return self.listing(
            external_id, shop, self.pick(shop.home), title=title, price=price,
            image_names=self.images(external_id, photos),
            description=f"{other.chinese} {other.product_chinese}，品牌正品。", sales=self.rng.randint(0, 2000),
            label="unrelated", sku=None,
            reason=f"{other.latin} ({other.chinese}), another brand whose pack borrows the trade dress of "
                   f"{product.sku}; the title names {other.latin}",
        )


class CodeBook:
    """The market's serial codes: what the brand issued to whom, the never-issued and the cloned."""

    def __init__(self, surface: Surface):
        self.rng = random.Random(f"lumina-codes:{surface.name}:{surface.seed}")
        self.issued: dict[str, tuple[str, str]] = {}  # serial -> (distributor, sku)
        self.seen: set[str] = set()
        # The cloned serial was really issued (to the south distributor, on a box the counterfeiter bought).
        south = brand.seller("demo-shop", "south", brand.AUTHORISED)
        self.cloned = self.issue(self.rng, south.distributor or south.name, brand.PRODUCTS[0].sku)
        self.clone_share = 0.3
        self._network: dict[tuple[str, str], tuple[OwnPhoto, ...]] = {}
        self._gtins: dict[str, str] = {}

    def _fresh(self, rng: random.Random) -> str:
        while True:
            serial = f"{rng.randrange(10**15, 10**16)}"
            if serial not in self.seen:
                self.seen.add(serial)
                return serial

    def issue(self, rng: random.Random, distributor: str, sku: str) -> str:
        serial = self._fresh(rng)
        self.issued[serial] = (distributor, sku)
        return serial

    def never_issued(self, rng: random.Random) -> str:
        return self._fresh(rng)

    def pad(self) -> None:
        """Issue codes to every distributor that no listing shows, as a real code file holds every unit shipped."""
        for shop in brand.AUTHORISED:
            if shop.marketplace != "demo-shop":
                continue
            for product in brand.PRODUCTS:
                for _ in range(ISSUED_PADDING // len(brand.PRODUCTS)):
                    self.issue(self.rng, shop.distributor or shop.name, product.sku)

    def rows(self) -> list[tuple[str, str, str]]:
        return [(serial, distributor, sku) for serial, (distributor, sku) in self.issued.items()]

    def network_photos(self, builder: MarketBuilder, product: DemoProduct) -> tuple[OwnPhoto, ...]:
        """The network's own photos of its fake of `product`, the same on every shop and marketplace."""
        key = (builder.surface.name, product.sku)
        if key not in self._network:
            pack, _ = builder.fake_pack(product)
            self._network[key] = tuple(builder.own_photo(pack, seed=self.rng.randrange(2**31))
                                       for _ in range(2))
        return self._network[key]

    def lookalike_gtin(self, brand_latin: str) -> str:
        if brand_latin not in self._gtins:
            first12 = f"69555{len(self._gtins) + 1:02d}{self.rng.randrange(10**5):05d}"
            self._gtins[brand_latin] = first12 + gtin_check_digit(first12)
        return self._gtins[brand_latin]


def build_catalogue(seed: int | None = None, listings_per_marketplace: int | None = None, *,
                    market: str = "tuning") -> DemoCatalogue:
    """The evaluation market `market` ("tuning", the demo's, or "heldout", never tuned on); its seed and size
    unless given."""
    try:
        surface = MARKETS[market]
    except KeyError:
        raise ValueError(f"unknown market {market!r}; use one of {', '.join(MARKETS)}") from None
    seed = surface.seed if seed is None else seed
    n = surface.listings_per_marketplace if listings_per_marketplace is None else listings_per_marketplace
    if n < 0:
        raise ValueError("listings_per_marketplace must not be negative")
    recipes: dict[str, Photo] = {}
    taken: set[str] = set()
    listings: list[DemoListing] = []
    codes = CodeBook(replace(surface, seed=seed))
    for marketplace in brand.MARKETPLACES:
        listings += MarketBuilder(surface, seed, marketplace, recipes, taken, codes).build(n)
    codes.pad()
    return DemoCatalogue(
        seed=seed, listings=listings, recipes=recipes, market=surface.name, issued_codes=codes.rows(),
        sellers=brand.AUTHORISED + surface.unauthorised + surface.network + brand.OTHERS,
    )

