"""The takedown desk from the command line: draft notices, move them on, export them, purge seller contacts.

Thin wrappers over dashboard.notices and core.privacy (the same code the dashboard runs), turning their errors
into JobError so the CLI prints one clear message and exits 2.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from brandpatrol.jobs import JobError, capture_item_pages, open_database, open_scoped
from core.config import BrandConfig, load_config
from core.models import NoticeStatus
from core.privacy import PurgeResult, purge_seller_contacts
from core.settings import Settings
from dashboard.data.queue import marketplaces
from dashboard.notices import store
from dashboard.notices.collective import rights_holders
from dashboard.notices.collective_store import Candidate, candidates, draft_collective_notice
from dashboard.notices.drafting import DraftError
from dashboard.notices.exports import ExportError, export_notice
from dashboard.notices.model import GROUND_VERDICTS, Ground, Party
from dashboard.notices.registry import UnknownTemplate, template

CLI_ACTOR = "cli"


@dataclass(frozen=True)
class DraftSummary:
    notice_ids: list[int]
    findings: int


def _config(settings: Settings) -> BrandConfig:
    if settings.config is None:
        raise JobError("this needs the brand configuration: pass --config FILE or set BRANDPATROL_CONFIG")
    return load_config(settings.config, settings.brand)


def _party(config: BrandConfig) -> Party:
    if config.brand.rights_holder is None:
        raise JobError(
            "brand.rights_holder is missing from the configuration: add the name, email, address and phone of "
            "the rights holder (and trademarks) under brand:"
        )
    return Party.from_config(config.brand.rights_holder)


def draft_notices(
    settings: Settings,
    *,
    marketplace: str,
    template_name: str,
    ground: str | None,
    finding_ids: Sequence[int] = (),
    countries: Sequence[str] = (),
    actor: str = CLI_ACTOR,
) -> DraftSummary:
    """Draft notices on one marketplace from the given confirmed findings, or from all of its confirmed findings
    that the ground fits and that no open notice covers yet."""
    config = _config(settings)
    party = _party(config)
    try:
        spec = template(template_name)
        chosen = Ground(ground) if ground else spec.grounds[0]
    except UnknownTemplate as exc:
        raise JobError(str(exc)) from None
    except ValueError:
        raise JobError(f"'{ground}' is not a ground; use one of {', '.join(g.value for g in Ground)}") from None
    db = open_scoped(settings)
    market = next((m for m in marketplaces(db) if m.name == marketplace), None)
    if market is None:
        known = ", ".join(m.name for m in marketplaces(db)) or "none yet"
        raise JobError(f"no marketplace named '{marketplace}' in the database (known: {known})")
    ids = list(finding_ids)
    if not ids:
        rows = store.confirmed_findings(db, marketplace_id=market.id, verdicts=GROUND_VERDICTS[chosen],
                                        limit=store.DRAFT_LIMIT)
        ids = [r.finding_id for r in rows]
        if not ids:
            raise JobError(
                f"no confirmed {', '.join(sorted(v.value for v in GROUND_VERDICTS[chosen]))} findings on "
                f"{marketplace} that are not already on an open notice; confirm findings in the review queue first"
            )
    if settings.config is not None:
        # A notice rests on the item page: fetch now those only seen on search cards (the store refuses them).
        capture_item_pages(settings, Path(settings.config), store.listing_ids_of(db, ids))
    try:
        notice_ids = store.draft_notices(
            db, ids, template=spec, ground=chosen, party=party, actor=actor,
            authorised_sellers=config.authorised_sellers, countries=[c.strip().upper() for c in countries if c.strip()],
        )
    except (DraftError, ValueError) as exc:
        problems = getattr(exc, "problems", None) or [str(exc)]
        raise JobError("the notice was not drafted:\n  - " + "\n  - ".join(problems)) from None
    return DraftSummary(notice_ids=notice_ids, findings=len(ids))


def draft_collective(
    settings: Settings,
    *,
    marketplace: str,
    seller: str,
    holder_configs: Sequence[Path],
    template_name: str,
    actor: str = CLI_ACTOR,
) -> tuple[int, int]:
    """Draft a collective notice against one seller for the rights holders of these brand configurations;
    returns the notice id and how many findings it holds."""
    try:
        spec = template(template_name)
        holders = rights_holders([load_config(path) for path in holder_configs])
        notice_id = draft_collective_notice(open_database(settings), marketplace=marketplace, seller=seller,
                                            holders=holders, template=spec, actor=actor)
    except UnknownTemplate as exc:
        raise JobError(str(exc)) from None
    except (DraftError, ValueError) as exc:
        problems = getattr(exc, "problems", None) or [str(exc)]
        raise JobError("the collective notice was not drafted:\n  - " + "\n  - ".join(problems)) from None
    document = store.load_notice(open_database(settings), notice_id)
    return notice_id, len(document.listings) if document is not None else 0


def collective_candidates(settings: Settings, *, marketplace: str,
                          holder_configs: Sequence[Path]) -> list[Candidate]:
    """Sellers on the marketplace with confirmed counterfeit findings of every one of these brands."""
    try:
        holders = rights_holders([load_config(path) for path in holder_configs])
    except DraftError as exc:
        raise JobError("the rights holders cannot file together:\n  - " + "\n  - ".join(exc.problems)) from None
    return candidates(open_database(settings), [h.brand for h in holders], marketplace=marketplace)


def export(settings: Settings, notice_id: int, out: Path, *, actor: str = CLI_ACTOR) -> int:
    """Write one notice to `out` in the format its suffix names; returns the bytes written."""
    redacted = store.redaction_of(load_config(settings.config, settings.brand).privacy if settings.config else None)
    db = open_scoped(settings)
    try:
        exported = export_notice(db, notice_id, out.suffix, redacted=redacted)
    except ExportError as exc:
        raise JobError(str(exc)) from None
    out.write_bytes(exported.data)
    store.record_export(db, notice_id, out.suffix.lstrip(".").lower(), actor=actor, redacted=redacted)
    return len(exported.data)


def change_status(settings: Settings, notice_id: int, status: str, *, on: date | None, reference: str | None,
                  note: str | None, actor: str = CLI_ACTOR) -> None:
    try:
        store.change_status(open_scoped(settings), notice_id, NoticeStatus(status), actor=actor, on=on,
                            reference=reference, note=note)
    except ValueError as exc:
        raise JobError(str(exc)) from None


def list_notices(settings: Settings, statuses: Sequence[str] = ()) -> list[store.NoticeSummary]:
    try:
        wanted = [NoticeStatus(s) for s in statuses]
    except ValueError:
        raise JobError(f"use statuses among {', '.join(s.value for s in NoticeStatus)}") from None
    return store.notices(open_scoped(settings), statuses=wanted or None)


def purge(settings: Settings, *, actor: str = CLI_ACTOR) -> PurgeResult:
    """Remove seller contact details past the configured retention period (privacy.seller_contact_retention_days)."""
    config = _config(settings)
    return purge_seller_contacts(open_database(settings), config.privacy.seller_contact_retention_days, actor=actor)
