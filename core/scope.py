"""Brand scoping: which brands a user or a command may see, and the one place queries are narrowed to them.

Several brands share one database (an agency's workspaces). Brand-owned rows say their brand (findings, notices,
test buys, crawl runs, alerts, audit rows, products, partners); listings, sellers and evidence are stored once and
belong to a brand through the brand's findings on them (a brand judges every listing its crawls saw) or its crawls
(`brand_listing`). Every query of findings, notices, evidence, sellers and the rest goes through `BrandScope`:

    scope.select(Finding).where(...)             # select(Finding) narrowed to the scope's brands
    select(Finding.id, Listing.title).where(scope.clause(Finding), scope.clause(Listing))
    scope.get(session, Notice, notice_id)        # the row, or None when it is another brand's

A scope names its brands; nothing is visible by default (an empty scope sees nothing), and "every brand" is asked
for by name (`BrandScope.every()`, an agency admin or the operator's CLI on a one-brand install).

Roles: an agency admin (account role admin) sees every brand. Anyone else holds a role per brand
(`user_brand_role`: analyst for A, legal for B); an account with no brand roles at all holds its account role on
the install's first brand, so a single-brand install works as before workspaces.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, false, func, or_, select, true
from sqlalchemy.orm import Session

from core.models import (
    AlertRecord,
    AuditLog,
    BankExport,
    Brand,
    BrandListing,
    CrawlRun,
    Evidence,
    Finding,
    Listing,
    ListingImage,
    ListingSnapshot,
    Notice,
    NoticeListing,
    Partner,
    Product,
    Relisting,
    Review,
    Seller,
    TestBuy,
    User,
    UserBrandRole,
)

ADMIN = "admin"
BRAND_ROLES = ("analyst", "legal")  # roles held on one brand; admin is the agency's, over every brand

T = TypeVar("T")

# Tables whose rows carry their brand in a brand_id column.
_OWNED: tuple[Any, ...] = (Finding, Notice, TestBuy, Product, Partner, BankExport)
# ... or None for an install-wide row (a crawl run by hand, a sign-in, an alert about the scheduler), which anyone
# who sees a brand may see.
_NOTED: tuple[Any, ...] = (CrawlRun, AuditLog, AlertRecord)


class ScopeError(ValueError):
    """A brand that does not exist, or a brand choice a command needs; the message names it and the fix."""


@dataclass(frozen=True)
class BrandScope:
    """The brands a user or command may see. `every` sees every brand, present and future; else `brand_ids`."""

    brand_ids: frozenset[int] = frozenset()
    every: bool = False

    @classmethod
    def of(cls, brand_ids: Iterable[int]) -> BrandScope:
        return cls(brand_ids=frozenset(int(b) for b in brand_ids))

    @classmethod
    def all_brands(cls) -> BrandScope:
        return cls(every=True)

    @property
    def single(self) -> int | None:
        """The one brand this scope names, else None (every brand, or several)."""
        return next(iter(self.brand_ids)) if not self.every and len(self.brand_ids) == 1 else None

    def sees(self, brand_id: int | None) -> bool:
        return self.every or (brand_id is not None and brand_id in self.brand_ids)

    def _brand_in(self, column: Any) -> ColumnElement[bool]:
        if self.every:
            return true()
        if not self.brand_ids:
            return false()
        return column.in_(sorted(self.brand_ids))

    def clause(self, entity: Any) -> ColumnElement[bool]:
        """The WHERE clause that keeps only rows of `entity` (a mapped class) this scope may see."""
        if self.every:
            return true()
        if entity in _OWNED:
            return self._brand_in(entity.brand_id)
        if entity in _NOTED:
            return or_(entity.brand_id.is_(None), self._brand_in(entity.brand_id)) if self.brand_ids else false()
        if entity is Brand:
            return self._brand_in(Brand.id)
        if entity is BrandListing:
            return self._brand_in(BrandListing.brand_id)
        if entity is Listing:
            return Listing.id.in_(self.listing_ids())
        if entity is Seller:
            return Seller.id.in_(select(Listing.seller_id).where(Listing.id.in_(self.listing_ids()),
                                                                 Listing.seller_id.is_not(None)))
        if entity is ListingSnapshot:
            return ListingSnapshot.listing_id.in_(self.listing_ids())
        if entity is ListingImage:
            return ListingImage.listing_id.in_(self.listing_ids())
        if entity is Evidence:
            snapshots = select(ListingSnapshot.html_sha256, ListingSnapshot.screenshot_sha256).where(
                ListingSnapshot.listing_id.in_(self.listing_ids())).subquery()
            return or_(Evidence.sha256.in_(select(snapshots.c.html_sha256)),
                       Evidence.sha256.in_(select(snapshots.c.screenshot_sha256)))
        if entity is Review:
            return Review.finding_id.in_(select(Finding.id).where(self._brand_in(Finding.brand_id)))
        if entity is NoticeListing:
            return NoticeListing.notice_id.in_(select(Notice.id).where(self._brand_in(Notice.brand_id)))
        if entity is Relisting:
            return Relisting.notice_id.in_(select(Notice.id).where(self._brand_in(Notice.brand_id)))
        raise TypeError(f"{getattr(entity, '__name__', entity)!r} is not scoped by brand; add it to core/scope.py")

    def listing_ids(self) -> Select[tuple[int]]:
        """Listings the scope's brands judged (a finding) or whose crawls saw them (brand_listing)."""
        judged = select(Finding.listing_id).where(self._brand_in(Finding.brand_id))
        seen = select(BrandListing.listing_id).where(self._brand_in(BrandListing.brand_id))
        return judged.union(seen)  # type: ignore[return-value]

    def select(self, entity: Any, *columns: Any) -> Select[Any]:
        """select(entity) (or select(*columns) from it) narrowed to this scope."""
        return select(*(columns or (entity,))).where(self.clause(entity))

    def get(self, session: Session, entity: type[T], key: Any) -> T | None:
        """The row `key` of `entity`, or None when it does not exist or belongs to a brand out of scope."""
        primary = entity.__mapper__.primary_key[0]  # type: ignore[attr-defined]
        return session.scalars(select(entity).where(primary == key, self.clause(entity))).first()


def brand_ids(session: Session) -> dict[str, int]:
    """Every brand of the install, by name."""
    return {name: int(i) for i, name in session.execute(select(Brand.id, Brand.name).order_by(Brand.id))}


def brand_names(session: Session, scope: BrandScope) -> dict[int, str]:
    """The brands a scope sees, id to name, in the order they were created."""
    return {int(i): n for i, n in session.execute(select(Brand.id, Brand.name).where(scope.clause(Brand))
                                                   .order_by(Brand.id))}


def brand_id(session: Session, name: str) -> int:
    """The id of the brand named `name`; ScopeError naming the brands there are when there is none."""
    known = brand_ids(session)
    if name not in known:
        there = ", ".join(known) or "none yet (run `brandpatrol match -c FILE` to add the configured brand)"
        raise ScopeError(f"no brand named '{name}' in this database; its brands: {there}")
    return known[name]


def brand_scope(session: Session, name: str) -> BrandScope:
    """The scope of the brand named `name` (empty while that brand is not in the database yet)."""
    found = session.scalar(select(Brand.id).where(Brand.name == name))
    return BrandScope.of([found] if found is not None else [])


def first_brand(session: Session) -> int | None:
    return session.scalar(select(func.min(Brand.id)))


def command_scope(session: Session, brand: str | None, configured: str | None = None) -> BrandScope:
    """The scope of a command: `--brand NAME` (which must exist), else the configuration's brand (nothing before
    its first match), else the database's only brand.

    A database of several brands and no choice is a ScopeError: an export or a listing of findings is for one
    brand's lawyer, never every brand's by accident. A database with no brand yet gives an empty scope.
    """
    if brand is not None:
        return BrandScope.of([brand_id(session, brand)])
    if configured is not None:
        return brand_scope(session, configured)  # empty until the configured brand's first match
    known = brand_ids(session)
    if len(known) > 1:
        raise ScopeError(f"this database holds brands {', '.join(known)}; say which with --brand NAME")
    return BrandScope.of(known.values())


# --- users' roles per brand ----------------------------------------------------------------------------------

def roles_of(session: Session, user_id: int, account_role: str) -> dict[int, str]:
    """Brand id to the user's role on it; an agency admin (account role admin) holds admin on every brand."""
    if account_role == ADMIN:
        return {b: ADMIN for b in brand_ids(session).values()}
    held = {int(b): r for b, r in session.execute(
        select(UserBrandRole.brand_id, UserBrandRole.role).where(UserBrandRole.user_id == user_id))}
    if held:
        return held
    first = first_brand(session)  # an account from before workspaces, or on a single-brand install
    return {first: account_role} if first is not None else {}


def grant_role(session: Session, user: User, brand: str, role: str, *, actor: str) -> UserBrandRole:
    """Give `user` `role` on `brand` (replacing a role held there). ScopeError for an unknown brand or role; the
    caller's transaction then writes nothing."""
    if role not in BRAND_ROLES:
        raise ScopeError(f"role '{role}' cannot be held on a brand; use {' or '.join(BRAND_ROLES)} "
                         "(an agency admin's account role is admin and covers every brand)")
    if user.role == ADMIN:
        raise ScopeError(f"user {user.username} is an agency admin and sees every brand already")
    target = brand_id(session, brand)
    held = session.get(UserBrandRole, (user.id, target))
    if held is None:
        held = UserBrandRole(user_id=user.id, brand_id=target, role=role, granted_by=actor)
        session.add(held)
    else:
        held.role, held.granted_by = role, actor
    session.flush()
    return held


def revoke_role(session: Session, user: User, brand: str) -> bool:
    """Take away the user's role on `brand`; False when they held none there."""
    held = session.get(UserBrandRole, (user.id, brand_id(session, brand)))
    if held is None:
        return False
    session.delete(held)
    return True


def owning_brand(session: Session, scope: BrandScope, listing_id: int) -> int | None:
    """The brand a record about this listing belongs to: the scope's one brand, else the one brand of the scope
    that judged the listing. None when that is not one brand (the caller's default applies: the first brand)."""
    if scope.single is not None:
        return scope.single
    brands = set(session.scalars(select(Finding.brand_id).where(Finding.listing_id == listing_id,
                                                                scope.clause(Finding))))
    return brands.pop() if len(brands) == 1 else None


def pick(scope: BrandScope, mapping: Mapping[int, T]) -> dict[int, T]:
    """The entries of a brand-keyed mapping this scope sees."""
    return {k: v for k, v in mapping.items() if scope.sees(k)}
