"""Pure presentation helpers (labels, number formats, tables) shared by the pages; no Streamlit, no database.

Tables are pandas DataFrames because `st.dataframe` shows every cell as plain text, which is how scraped values
(titles, seller names, reasons, URLs) must reach the screen.
"""

from __future__ import annotations

import gettext
import json
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

import pandas as pd
import pycountry

from core.cluster import ClusterStatus
from core.models import ReviewDecision, RunStatus, Verdict
from dashboard import i18n
from dashboard.data.detail import PriceBand, PricePoint
from dashboard.data.evidence import EvidenceInfo
from dashboard.data.neighbours import NetworkShop, OtherListing
from dashboard.data.queue import QueueRow
from dashboard.data.reviews import ReviewInfo, ReviewResult
from dashboard.data.runs import RunRow

# The frame builders name their columns in English (tests and callers read them so); a page shows them in the
# user's language through `localized(frame, auth.t)`, which maps each English header to its i18n key.
COLUMN_KEYS: dict[str, str] = {
    "Finding": "col.finding", "Score": "col.score", "Verdict": "col.verdict", "Title": "col.title",
    "Price": "col.price", "Currency": "col.currency", "Seller": "col.seller", "Ships from": "col.ships_from",
    "Marketplace": "col.marketplace", "First reason": "col.first_reason", "Gone": "col.gone",
    "Captured": "col.captured", "Stock": "col.stock", "Sales": "col.sales", "Crawl run": "col.crawl_run",
    "Kind": "col.kind", "Media type": "col.media_type", "Size": "col.size", "Seen in snapshot of": "col.seen_in",
    "When": "col.when", "Reviewer": "col.reviewer", "Decision": "col.decision", "Note": "col.note",
    "Run": "col.run", "Status": "col.status", "Started": "col.started", "Finished": "col.finished",
    "Pages": "col.pages", "Items": "col.items", "Drops": "col.drops", "Errors": "col.errors",
    "Drop reasons": "col.drop_reasons", "Error detail": "col.error_detail", "Confirmed by": "col.confirmed_by",
    "Open notice": "col.open_notice", "Notice": "col.notice", "Template": "col.template", "Ground": "col.ground",
    "Card only": "col.card_only", "Part": "col.part", "Listings": "col.listings", "Drafted": "col.drafted",
    "By": "col.by", "Filed": "col.filed",
    "Reference": "col.reference", "Checks": "col.checks", "Item ID": "col.item_id", "URL (not opened)": "col.url",
    "Test buys": "col.test_buys", "Test buy": "col.test_buy", "Order": "col.order", "Ordered on": "col.ordered_on",
    "Paid": "col.paid", "Code": "col.code", "Distributor": "col.distributor", "Result": "col.result",
    "Photos": "col.photos", "Recorded by": "col.recorded_by", "Photo": "col.photo",
    "Reference photo": "col.reference_photo", "Suspect findings": "col.suspect_findings",
    "Confirmed": "col.confirmed", "Shops": "col.shops", "Link": "col.link", "Detail": "col.detail",
}


def column_label(name: str, translate: Callable[[str], str]) -> str:
    """One English column header in the user's language (headers without a key, like "#", stay as they are)."""
    key = COLUMN_KEYS.get(name)
    return translate(key) if key else name


def localized(frame: pd.DataFrame, translate: Callable[[str], str]) -> pd.DataFrame:
    """The frame with its column headers (our own labels, never cell values) in the user's language."""
    return frame.rename(columns={c: column_label(str(c), translate) for c in frame.columns})


VERDICT_LABELS: dict[Verdict, str] = {
    Verdict.COUNTERFEIT: "Counterfeit",
    Verdict.DIVERSION: "Channel diversion",
    Verdict.PRICE_FLOOR_BREACH: "Price-floor breach",
    Verdict.OK: "OK",
    Verdict.UNRELATED: "Unrelated",
}
DECISION_LABELS: dict[ReviewDecision, str] = {
    ReviewDecision.CONFIRMED: "Confirmed",
    ReviewDecision.DISMISSED: "Dismissed",
    ReviewDecision.ESCALATED: "Escalated",
}
RUN_STATUS_LABELS: dict[RunStatus, str] = {
    RunStatus.RUNNING: "running",
    RunStatus.OK: "ok",
    RunStatus.PARTIAL: "partial",
    RunStatus.FAILED: "failed",
    RunStatus.BLOCKED: "blocked",
}
# The verb on each review button and in messages.
DECISION_VERBS: dict[ReviewDecision, str] = {
    ReviewDecision.CONFIRMED: "Confirm",
    ReviewDecision.DISMISSED: "Dismiss",
    ReviewDecision.ESCALATED: "Escalate",
}


def verdict_label(verdict: Verdict | str, translate: Callable[[str], str] | None = None) -> str:
    """A verdict for people: English by default, else through the page's translator (keys verdict.*)."""
    value = Verdict(verdict)
    return translate(f"verdict.{value.value}") if translate else VERDICT_LABELS.get(value, str(verdict))


def decision_label(decision: ReviewDecision | str, translate: Callable[[str], str] | None = None) -> str:
    value = ReviewDecision(decision)
    return translate(f"decision.{value.value}") if translate else DECISION_LABELS.get(value, str(decision))


def decision_verb(decision: ReviewDecision, translate: Callable[[str], str] | None = None) -> str:
    """The verb on a review button (Confirm, Dismiss, Escalate)."""
    return translate(f"verb.{decision.value}") if translate else DECISION_VERBS[decision]


def run_status_label(status: RunStatus, translate: Callable[[str], str] | None = None) -> str:
    return translate(f"runstatus.{status.value}") if translate else RUN_STATUS_LABELS.get(status, str(status))


def format_amount(amount: Decimal | None) -> str:
    return "" if amount is None else f"{amount:,.2f}"


def format_price(price: Decimal | None, price_high: Decimal | None = None) -> str:
    """'120.00', or '120.00 – 150.00' for a range of variants; '' when unknown."""
    if price is None:
        return ""
    if price_high is not None and price_high != price:
        return f"{format_amount(price)} – {format_amount(price_high)}"
    return format_amount(price)


def format_when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def format_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover - loop always returns


def queue_frame(rows: Sequence[QueueRow], translate: Callable[[str], str] | None = None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Finding": [r.finding_id for r in rows],
            "Score": [r.score for r in rows],
            "Verdict": [verdict_label(r.verdict, translate) for r in rows],
            "Title": [r.title for r in rows],
            "Price": [format_price(r.price, r.price_high) for r in rows],
            "Currency": [r.currency or "" for r in rows],
            "Seller": [r.seller or "" for r in rows],
            "Ships from": [r.ship_from or "" for r in rows],
            "Marketplace": [r.marketplace for r in rows],
            "First reason": [r.first_reason or "" for r in rows],
            "Gone": [r.gone for r in rows],
        }
    )


def other_listings_frame(rows: Sequence[OtherListing], translate: Callable[[str], str] | None = None
                         ) -> pd.DataFrame:
    """A seller's other listings: finding, verdict, score and latest decision beside the scraped title."""
    return pd.DataFrame(
        {
            "Finding": [r.finding_id for r in rows],
            "Verdict": [verdict_label(r.verdict, translate) if r.verdict else "" for r in rows],
            "Score": [r.score for r in rows],
            "Decision": [decision_label(r.decision, translate) if r.decision else "" for r in rows],
            "Title": [r.title for r in rows],
            "Price": [format_price(r.price) for r in rows],
            "Currency": [r.currency or "" for r in rows],
            "Gone": [r.gone for r in rows],
        }
    )


def network_frame(shops: Sequence[NetworkShop]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Seller": [s.name for s in shops],
            "Marketplace": [s.marketplace for s in shops],
            "Suspect findings": [s.suspect_findings for s in shops],
            "Confirmed": [s.confirmed for s in shops],
        }
    )


def network_links_frame(links: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Why the shops are linked, as matching wrote it (the detail may quote scraped text: a table shows it plain)."""
    return pd.DataFrame(
        {
            "Shops": [f"{link.get('a')} – {link.get('b')}" for link in links],
            "Link": [str(link.get("kind") or "") for link in links],
            "Detail": [str(link.get("detail") or "") for link in links],
        }
    )


_SUBDIVISION_KIND = re.compile(r"\s+(Sheng|Shi|Zizhiqu|SAR|Huizu|Zhuangzu|Uygur)\b.*$")


@lru_cache(maxsize=2048)
def region_label(code: str, language: str = "en") -> str:
    """'CN-GD Guangdong' (or '广东省' in Chinese) for an ISO 3166 code; the code alone when it is not one we know."""
    if not code:
        return {"zh": "未知"}.get(language, "unknown")
    is_subdivision = "-" in code
    entry = pycountry.subdivisions.get(code=code) if is_subdivision else pycountry.countries.get(alpha_2=code)
    if entry is None:
        return code
    name = str(entry.name)
    if language == "zh":
        domain = "iso3166-2" if is_subdivision else "iso3166-1"
        local = gettext.translation(domain, pycountry.LOCALES_DIR, languages=["zh_CN"], fallback=True).gettext(name)
        return f"{code} {local}"
    return f"{code} {_SUBDIVISION_KIND.sub('', name) if is_subdivision else name}"


def history_currency(points: Sequence[PricePoint], preferred: str | None) -> str | None:
    """The currency to chart: the listing's current one if any snapshot has it, else the newest snapshot's."""
    currencies = [p.currency for p in points if p.currency and p.price is not None]
    if preferred and preferred in currencies:
        return preferred
    return currencies[-1] if currencies else None


def price_chart_frame(points: Sequence[PricePoint], currency: str | None, band: PriceBand | None) -> pd.DataFrame:
    """Price per capture time in one currency, with the product's floor and suggested price as flat lines."""
    chosen = [p for p in points if p.price is not None and p.currency == currency]
    frame: dict[str, list[Any]] = {"Listed price": [float(p.price) for p in chosen if p.price is not None]}
    if band is not None and band.currency == currency:
        if band.suggested is not None:
            frame["Suggested price"] = [float(band.suggested)] * len(chosen)
        if band.floor is not None:
            frame["Price floor"] = [float(band.floor)] * len(chosen)
    index = pd.DatetimeIndex([p.captured_at for p in chosen], name="Captured")
    return pd.DataFrame(frame, index=index)


def history_frame(points: Sequence[PricePoint]) -> pd.DataFrame:
    newest_first = list(reversed(points))
    return pd.DataFrame(
        {
            "Captured": [format_when(p.captured_at) for p in newest_first],
            "Price": [format_price(p.price, p.price_high) for p in newest_first],
            "Currency": [p.currency or "" for p in newest_first],
            "Stock": [p.stock for p in newest_first],
            "Sales": [p.sales for p in newest_first],
            "Title": [p.title for p in newest_first],
            "Crawl run": [p.crawl_run_id for p in newest_first],
        }
    )


def evidence_frame(items: Sequence[EvidenceInfo]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Kind": [e.kind for e in items],
            "Media type": [e.media_type for e in items],
            "Size": [format_size(e.size) for e in items],
            "SHA-256": [e.sha256 for e in items],
            "Captured": [format_when(e.captured_at) for e in items],
            "Seen in snapshot of": [format_when(e.snapshot_captured_at) for e in items],
        }
    )


def reviews_frame(reviews: Sequence[ReviewInfo], translate: Callable[[str], str] | None = None) -> pd.DataFrame:
    newest_first = list(reversed(reviews))
    return pd.DataFrame(
        {
            "When": [format_when(r.created_at) for r in newest_first],
            "Reviewer": [r.reviewer for r in newest_first],
            "Decision": [decision_label(r.decision, translate) for r in newest_first],
            "Note": [r.note or "" for r in newest_first],
        }
    )


def _detail_text(counts: dict[str, Any]) -> str:
    return json.dumps(counts, ensure_ascii=False, sort_keys=True, default=str) if counts else ""


def work_queue_frame(cluster: ClusterStatus) -> pd.DataFrame:
    """Team mode's jobs running, waiting and parked (core/cluster.py), newest first within each."""
    rows = [*cluster.running, *cluster.waiting, *cluster.failed]
    return pd.DataFrame({
        "Job": [j.id for j in rows], "Task": [j.task for j in rows], "What": [j.what for j in rows],
        "Status": [j.status for j in rows], "Attempts": [j.attempts for j in rows],
        "Worker": [j.worker or "" for j in rows], "Since": [format_when(j.since) for j in rows],
        "Why": [j.why or "" for j in rows],
    })


def runs_frame(runs: Sequence[RunRow], translate: Callable[[str], str] | None = None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Run": [r.id for r in runs],
            "Marketplace": [r.marketplace or "" for r in runs],
            "Status": [run_status_label(r.status, translate) for r in runs],
            "Started": [format_when(r.started_at) for r in runs],
            "Finished": [format_when(r.finished_at) for r in runs],
            "Pages": [r.pages for r in runs],
            "Items": [r.items for r in runs],
            "Drops": [r.drops for r in runs],
            "Errors": [r.errors for r in runs],
            "Drop reasons": [_detail_text(r.drop_detail) for r in runs],
            "Error detail": [_detail_text(r.error_detail) for r in runs],
        }
    )


def review_summary(result: ReviewResult, translate: Callable[[str], str] | None = None) -> str:
    """One sentence for the outcome of a review action (numbers only, never scraped text)."""
    say = translate or _english
    parts = [say("review.done").format(decision=decision_label(result.decision, translate),
                                       count=count_findings(len(result.reviewed), translate))]
    if result.skipped:
        parts.append(say("review.skipped").format(count=count_findings(len(result.skipped), translate)))
    if result.missing:
        missing = len(result.missing)
        key = "review.missing.one" if missing == 1 else "review.missing.many"
        parts.append(say(key).format(count=count_findings(missing, translate)))
    return " ".join(parts)


def _english(key: str) -> str:
    return i18n.translate(key, "en")


def count_findings(n: int, translate: Callable[[str], str] | None = None) -> str:
    return (translate or _english)("count.one" if n == 1 else "count.many").format(n=n)


