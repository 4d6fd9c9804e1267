"""Exports of one notice: PDF (Chinese text, embedded font), DOCX for editing, CSV / XLSX bulk forms, and the ZIP
evidence bundle with its SHA-256 manifest. The dashboard's download buttons and `brandpatrol export --notice` both
come here.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.db import Database
from dashboard.notices.exports.bundle import bundle_bytes
from dashboard.notices.exports.layout import notice_layout
from dashboard.notices.exports.pdf import render_pdf
from dashboard.notices.exports.tables import notice_csv, notice_xlsx
from dashboard.notices.exports.word import render_docx
from dashboard.notices.store import NoticeDocument, load_notice

MEDIA_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "zip": "application/zip",
}
FORMATS = tuple(MEDIA_TYPES)


class ExportError(ValueError):
    pass


@dataclass(frozen=True)
class ExportedFile:
    name: str
    media_type: str
    data: bytes


def file_name(doc: NoticeDocument, fmt: str) -> str:
    part = f"-part{doc.part}of{doc.parts}" if doc.parts > 1 else ""
    suffix = "-evidence.zip" if fmt == "zip" else f".{fmt}"
    return f"notice-{doc.id}-{doc.template}{part}{suffix}"


def render(db: Database, doc: NoticeDocument, fmt: str, *, redacted: bool) -> bytes:
    if fmt == "pdf":
        return render_pdf(notice_layout(doc, redacted=redacted))
    if fmt == "docx":
        return render_docx(notice_layout(doc, redacted=redacted))
    if fmt == "csv":
        return notice_csv(doc, redacted=redacted)
    if fmt == "xlsx":
        return notice_xlsx(doc, redacted=redacted)
    if fmt == "zip":
        return bundle_bytes(
            db, doc,
            notice_pdf=render_pdf(notice_layout(doc, redacted=redacted)),
            listings_csv=notice_csv(doc, redacted=redacted),
            redacted=redacted,
        )
    raise ExportError(f"cannot export a notice as '{fmt}'; use one of {', '.join(FORMATS)}")


def export_notice(db: Database, notice_id: int, fmt: str, *, redacted: bool) -> ExportedFile:
    """One notice in one format. Raises ExportError for an unknown notice or format."""
    fmt = fmt.lower().lstrip(".")
    if fmt not in MEDIA_TYPES:
        raise ExportError(f"cannot export a notice as '{fmt}'; use one of {', '.join(FORMATS)}")
    doc = load_notice(db, notice_id, with_photos=fmt in ("pdf", "docx", "zip"))
    if doc is None:
        raise ExportError(f"there is no notice {notice_id}; `brandpatrol notice list` shows the notices")
    data = render(db, doc, fmt, redacted=redacted)
    return ExportedFile(name=file_name(doc, fmt), media_type=MEDIA_TYPES[fmt], data=data)
