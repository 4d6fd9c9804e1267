"""How well matching flags what people labelled, from a labels CSV (`marketplace,external_id,label`, and
optionally `case` and `distributor`).

Labels: genuine, diversion, counterfeit, unrelated. A listing is a true suspect when labelled diversion or
counterfeit, and flagged when its finding's verdict is a suspect verdict scoring at least min_score (what the
review queue shows). Precision, recall and F1 are of those flags; the confusion matrix crosses every verdict with
every label, and verdict_confusion is the square matrix over counterfeit / diversion / ok / unrelated; verdict
accuracy asks, of the true suspects flagged, how many got the right kind (a
price_floor_breach counts as diversion). Labelled listings missing from the database, or not matched yet, are
counted apart and, when suspect, as false negatives.

Per case (the optional `case` column: how a listing was made, such as own_photo_fake or printed_lot_diversion),
the same figures again, plus: `right_verdict`, the share of the case's suspects flagged with the right kind
(what issue #15's targets are written in); `found`, the share of its suspects flagged at all (its recall);
`counterfeit_calls`, how many were flagged counterfeit (for look-alikes of other brands, all wrong); and for
listings whose `distributor` column names where diverted stock leaked from, `distributor_traced`: the share
flagged as diversion whose finding names that distributor (in a reason, or in a matching signal's evidence).
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from core.config import Thresholds
from core.db import Database
from core.models import SUSPECT_VERDICTS, Finding, Listing, Marketplace, Verdict
from core.scope import BrandScope

LABELS = ("genuine", "diversion", "counterfeit", "unrelated")
SUSPECT_LABELS = frozenset({"diversion", "counterfeit"})
REQUIRED_COLUMNS = ("marketplace", "external_id", "label")
OPTIONAL_COLUMNS = ("case", "distributor")
CASE_PATTERN = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
MISSING = "missing"  # labelled, but no such listing in the database
NOT_MATCHED = "not_matched"  # the listing exists but has no finding yet
MAX_LABEL_ROWS = 1_000_000
LOOKUP_CHUNK = 500


@dataclass(frozen=True)
class Label:
    line: int
    marketplace: str
    external_id: str
    label: str
    case: str = ""
    distributor: str = ""


@dataclass
class CaseFigures:
    """One case's figures; a figure that has nothing to count is None (no suspects: no recall)."""

    case: str
    labels: list[str]
    listings: int = 0
    suspects: int = 0
    flagged: int = 0
    true_positives: int = 0
    false_positives: int = 0
    verdict_correct: int = 0
    counterfeit_calls: int = 0
    distributor_labelled: int = 0
    distributor_named: int = 0
    precision: float | None = None
    recall: float | None = None
    verdict_accuracy: float | None = None
    right_verdict: float | None = None
    found: float | None = None
    distributor_traced: float | None = None

    def finish(self) -> None:
        tp, flagged = self.true_positives, self.true_positives + self.false_positives
        self.precision = _ratio(tp, flagged)
        self.recall = self.found = _ratio(tp, self.suspects)
        self.verdict_accuracy = _ratio(self.verdict_correct, tp)
        self.right_verdict = _ratio(self.verdict_correct, self.suspects)
        self.distributor_traced = _ratio(self.distributor_named, self.distributor_labelled)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass
class EvaluationReport:
    labels_path: str
    min_score: float
    total: int = 0
    true_suspects: int = 0
    flagged: int = 0
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    true_negatives: int = 0
    precision: float = 0.0
    recall: float = 0.0
    f1: float = 0.0
    verdict_accuracy: float | None = None  # among flagged true suspects: counterfeit vs diversion right
    verdict_correct: int = 0
    missing: list[dict[str, Any]] = field(default_factory=list)
    not_matched: list[dict[str, Any]] = field(default_factory=list)
    label_counts: dict[str, int] = field(default_factory=dict)
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)  # verdict -> label -> count
    # The same as a square matrix over the four kinds the issue names, both ways round: rows are labels
    # (genuine counts as ok), columns are what matching said (price_floor_breach counts as diversion; a suspect
    # verdict under min_score counts as ok, as the queue does not show it; missing or unmatched as "none").
    verdict_confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    false_positive_listings: list[dict[str, Any]] = field(default_factory=list)
    false_negative_listings: list[dict[str, Any]] = field(default_factory=list)
    wrong_kind_listings: list[dict[str, Any]] = field(default_factory=list)
    cases: dict[str, dict[str, Any]] = field(default_factory=dict)  # case -> CaseFigures as a dict

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_labels(path: Path | str) -> list[Label]:
    """Parse a labels CSV. Any problem raises ValueError naming the file, the line and the fix."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ValueError(f"{path}: labels file not found; pass the path of a CSV with columns "
                         f"{','.join(REQUIRED_COLUMNS)}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text; save the labels file as UTF-8 CSV") from None
    except OSError as exc:
        raise ValueError(f"{path}: cannot be read ({exc.strerror or exc}); check the path and permissions") from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in (reader.fieldnames or [])]
    absent = [c for c in REQUIRED_COLUMNS if c not in header]
    if absent:
        raise ValueError(
            f"{path}, line 1: the header lacks {', '.join(absent)}; the first line must be "
            f"'{','.join(REQUIRED_COLUMNS)}'"
        )
    reader.fieldnames = header
    try:
        return _parse_rows(path, reader)
    except csv.Error as exc:
        raise ValueError(
            f"{path}, line {reader.line_num}: not valid CSV ({exc}); fix the quoting on that line"
        ) from None


def _parse_rows(path: Path, reader: csv.DictReader[str]) -> list[Label]:
    labels: list[Label] = []
    seen: dict[tuple[str, str], int] = {}
    for row in reader:
        line = reader.line_num
        if len(labels) >= MAX_LABEL_ROWS:
            raise ValueError(f"{path}, line {line}: more than {MAX_LABEL_ROWS} labels; split the file")
        values = {c: (row.get(c) or "").strip() for c in REQUIRED_COLUMNS + OPTIONAL_COLUMNS}
        if not any(values.values()):
            continue
        if values["case"] and not CASE_PATTERN.fullmatch(values["case"]):
            raise ValueError(f"{path}, line {line}: case '{values['case']}' is not a case name; use up to 64 "
                             "letters, digits, '_', '.' or '-', such as own_photo_fake")
        for column in ("marketplace", "external_id"):
            if not values[column]:
                raise ValueError(f"{path}, line {line}: '{column}' is empty; give the listing's {column}")
        label = values["label"].lower()
        if label not in LABELS:
            raise ValueError(
                f"{path}, line {line}: unknown label '{values['label']}'; use one of {', '.join(LABELS)}"
            )
        key = (values["marketplace"], values["external_id"])
        if key in seen:
            raise ValueError(
                f"{path}, line {line}: {key[0]} {key[1]} is labelled again (first on line {seen[key]}); "
                "keep one label per listing"
            )
        seen[key] = line
        if values["distributor"] and label != "diversion":
            raise ValueError(f"{path}, line {line}: a distributor is given for a listing labelled {label}; "
                             "name a distributor only for diverted stock")
        labels.append(Label(line, values["marketplace"], values["external_id"], label, values["case"],
                            values["distributor"]))
    return labels


def _is_flagged(finding: Finding | None, min_score: float) -> bool:
    return finding is not None and finding.verdict in SUSPECT_VERDICTS and finding.score >= min_score


def _right_kind(verdict: Verdict, label: str) -> bool:
    if label == "counterfeit":
        return verdict is Verdict.COUNTERFEIT
    return verdict in (Verdict.DIVERSION, Verdict.PRICE_FLOOR_BREACH)


DEFAULT_MIN_SCORE = Thresholds().min_score


def evaluate(db: Database, labels_path: Path | str, *, min_score: float = DEFAULT_MIN_SCORE) -> EvaluationReport:
    """Score the findings in `db` against a labels CSV; pass config.thresholds.min_score as `min_score`."""
    labels = read_labels(labels_path)
    report = EvaluationReport(labels_path=str(labels_path), min_score=min_score, total=len(labels))
    with db.read() as session:
        findings = _findings_of(session, db.scope, labels)
    confusion: dict[str, Counter[str]] = {}
    for item in labels:
        exists, finding = findings.get((item.marketplace, item.external_id), (False, None))
        suspect = item.label in SUSPECT_LABELS
        flagged = _is_flagged(finding, min_score)
        row_name = finding.verdict.value if finding is not None else (NOT_MATCHED if exists else MISSING)
        confusion.setdefault(row_name, Counter())[item.label] += 1
        entry = _entry(item, finding)
        if not exists:
            report.missing.append(entry)
        elif finding is None:
            report.not_matched.append(entry)
        report.true_suspects += suspect
        report.flagged += flagged
        if flagged and suspect:
            report.true_positives += 1
            assert finding is not None
            if _right_kind(finding.verdict, item.label):
                report.verdict_correct += 1
            else:
                report.wrong_kind_listings.append(entry)
        elif flagged:
            report.false_positives += 1
            report.false_positive_listings.append(entry)
        elif suspect:
            report.false_negatives += 1
            report.false_negative_listings.append(entry)
        else:
            report.true_negatives += 1
    report.verdict_confusion = _verdict_confusion(labels, findings, min_score)
    report.cases = {case: asdict(figures) for case, figures in _case_figures(labels, findings, min_score).items()}
    report.label_counts = dict(Counter(item.label for item in labels))
    report.confusion = {verdict: dict(counts) for verdict, counts in sorted(confusion.items())}
    tp, fp, fn = report.true_positives, report.false_positives, report.false_negatives
    report.precision = round(tp / (tp + fp), 4) if tp + fp else 0.0
    report.recall = round(tp / (tp + fn), 4) if tp + fn else 0.0
    p, r = report.precision, report.recall
    report.f1 = round(2 * p * r / (p + r), 4) if p + r else 0.0
    report.verdict_accuracy = round(report.verdict_correct / tp, 4) if tp else None
    return report


KINDS = ("counterfeit", "diversion", "ok", "unrelated")
LABEL_KIND = {"counterfeit": "counterfeit", "diversion": "diversion", "genuine": "ok", "unrelated": "unrelated"}


def verdict_kind(finding: Finding | None, min_score: float) -> str:
    """What a finding says, in the four kinds of the confusion matrix (or "none")."""
    if finding is None:
        return "none"
    if finding.verdict in SUSPECT_VERDICTS and finding.score < min_score:
        return "ok"
    if finding.verdict is Verdict.PRICE_FLOOR_BREACH:
        return "diversion"
    return finding.verdict.value


def _verdict_confusion(labels: list[Label], findings: dict[tuple[str, str], tuple[bool, Finding | None]],
                       min_score: float) -> dict[str, dict[str, int]]:
    matrix = {LABEL_KIND[label]: dict.fromkeys((*KINDS, "none"), 0) for label in LABELS}
    for item in labels:
        _, finding = findings.get((item.marketplace, item.external_id), (False, None))
        matrix[LABEL_KIND[item.label]][verdict_kind(finding, min_score)] += 1
    return matrix


def _case_figures(labels: list[Label], findings: dict[tuple[str, str], tuple[bool, Finding | None]],
                  min_score: float) -> dict[str, CaseFigures]:
    """Figures per case, for the labels that name one: counterfeit cases first, then diversion, genuine and
    unrelated ones (by a case's first label), by name within each."""
    out: dict[str, CaseFigures] = {}
    for item in labels:
        if not item.case:
            continue
        figures = out.setdefault(item.case, CaseFigures(item.case, []))
        if item.label not in figures.labels:
            figures.labels.append(item.label)
        _, finding = findings.get((item.marketplace, item.external_id), (False, None))
        flagged = _is_flagged(finding, min_score)
        suspect = item.label in SUSPECT_LABELS
        figures.listings += 1
        figures.suspects += suspect
        figures.flagged += flagged
        if not flagged:
            continue
        assert finding is not None
        figures.counterfeit_calls += finding.verdict is Verdict.COUNTERFEIT
        if not suspect:
            figures.false_positives += 1
            continue
        figures.true_positives += 1
        right = _right_kind(finding.verdict, item.label)
        figures.verdict_correct += right
        if item.distributor:
            figures.distributor_named += right and names_distributor(finding, item.distributor)
    for item in labels:
        if item.case and item.distributor:
            out[item.case].distributor_labelled += 1
    for figures in out.values():
        figures.finish()
    order = ("counterfeit", "diversion", "genuine", "unrelated")
    return dict(sorted(out.items(), key=lambda item: (order.index(item[1].labels[0]), item[0])))


def pool_cases(cases: dict[str, dict[str, Any]], names: Iterable[str]) -> dict[str, float | None]:
    """Precision, recall and verdict accuracy of several cases taken together (from `report.cases`)."""
    chosen = [cases[name] for name in names if name in cases]
    tp = sum(c["true_positives"] for c in chosen)
    fp = sum(c["false_positives"] for c in chosen)
    return {
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, sum(c["suspects"] for c in chosen)),
        "verdict_accuracy": _ratio(sum(c["verdict_correct"] for c in chosen), tp),
    }


def names_distributor(finding: Finding, distributor: str) -> bool:
    """Whether a finding names `distributor`: in one of its reasons, or in the evidence of a signal that matched."""
    if any(distributor in str(reason) for reason in finding.reasons or []):
        return True
    signals = finding.signals or {}
    return any(
        isinstance(result, dict) and result.get("outcome") == "match"
        and distributor in json.dumps(result.get("evidence") or {}, ensure_ascii=False)
        for result in signals.values()
    )


CASE_COLUMNS = ("listings", "flagged", "precision", "recall", "verdict_accuracy", "right_verdict",
                "distributor_traced", "counterfeit_calls")


def format_cases(cases: dict[str, dict[str, Any]]) -> list[str]:
    """The per-case table as text lines; '-' where a figure has nothing to count."""
    if not cases:
        return []
    width = max(len(c) for c in cases) + 2
    heads = ("n", "flagged", "precision", "recall", "verdict", "right", "traced", "as fake")
    lines = ["per case (verdict: right kind among flagged; right: flagged right of all suspects; "
             "traced: distributor named; as fake: flagged counterfeit)",
             "  " + "case".ljust(width) + "label".ljust(13) + "".join(f"{h:>10}" for h in heads)]
    for case, figures in cases.items():
        cells = []
        for column in CASE_COLUMNS:
            value = figures.get(column)
            cells.append("-" if value is None else f"{value:.2f}" if isinstance(value, float) else str(value))
        lines.append("  " + case.ljust(width) + "/".join(figures.get("labels") or []).ljust(13)
                     + "".join(f"{c:>10}" for c in cells))
    return lines


def _findings_of(session: Session, scope: BrandScope,
                 labels: list[Label]) -> dict[tuple[str, str], tuple[bool, Finding | None]]:
    """(exists, finding) of each labelled listing, looked up in chunks rather than loading the whole table."""
    wanted: dict[str, list[str]] = {}
    for item in labels:
        wanted.setdefault(item.marketplace, []).append(item.external_id)
    out: dict[tuple[str, str], tuple[bool, Finding | None]] = {}
    for market, external_ids in wanted.items():
        for start in range(0, len(external_ids), LOOKUP_CHUNK):
            rows = session.execute(
                select(Listing.external_id, Finding)
                .join(Marketplace, Listing.marketplace_id == Marketplace.id)
                .outerjoin(Finding, and_(Finding.listing_id == Listing.id, scope.clause(Finding)))
                .where(Marketplace.name == market, Listing.external_id.in_(external_ids[start:start + LOOKUP_CHUNK]))
            )
            for external_id, finding in rows:
                out[(market, external_id)] = (True, finding)
    return out


def _entry(item: Label, finding: Finding | None) -> dict[str, Any]:
    return {
        "line": item.line,
        "marketplace": item.marketplace,
        "external_id": item.external_id,
        "label": item.label,
        "case": item.case,
        "verdict": finding.verdict.value if finding is not None else None,
        "score": finding.score if finding is not None else None,
        "reasons": list(finding.reasons) if finding is not None else [],
    }
