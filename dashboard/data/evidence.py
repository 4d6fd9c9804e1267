"""Captured evidence files (screenshots, HTML): metadata for a snapshot's captures, bytes only when asked for.

The bytes are decompressed up to a cap and checked against the SHA-256 they are stored under.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import Database
from core.images import sniff_media_type
from core.models import Evidence, ListingSnapshot, as_utc

EVIDENCE_MAX_BYTES = 32 * 1024 * 1024  # cap on decompressed evidence handed to a browser
SCREENSHOT_TYPES = ("image/png", "image/jpeg")
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class EvidenceInfo:
    """Metadata of one captured file; its bytes come from `evidence_content` only when asked for."""

    sha256: str
    kind: str
    media_type: str
    encoding: str
    size: int
    captured_at: datetime
    snapshot_captured_at: datetime


@dataclass(frozen=True)
class EvidenceContent:
    sha256: str
    kind: str
    media_type: str
    data: bytes  # decompressed
    verified: bool  # SHA-256 of `data` equals the stored address
    truncated: bool  # larger than the cap; `data` is its first part

    @property
    def is_picture(self) -> bool:
        """A PNG or JPEG screenshot whose bytes are what its recorded media type says."""
        return self.media_type in SCREENSHOT_TYPES and sniff_media_type(self.data) == self.media_type


def evidence_infos(session: Session, snapshots: Sequence[ListingSnapshot]) -> list[EvidenceInfo]:
    """What the snapshots (newest first) captured, metadata only, newest snapshot first."""
    owners: dict[str, datetime] = {}  # evidence sha -> newest snapshot that captured it
    for snap in snapshots:  # newest first
        for sha in (snap.screenshot_sha256, snap.html_sha256):
            if sha and sha not in owners:
                owners[sha] = as_utc(snap.captured_at)
    if not owners:
        return []
    # Metadata columns only: the content stays in the database until someone asks for it.
    rows = session.execute(
        select(
            Evidence.sha256,
            Evidence.kind,
            Evidence.media_type,
            Evidence.encoding,
            Evidence.size,
            Evidence.captured_at,
        ).where(Evidence.sha256.in_(sorted(owners)))
    )
    infos = [
        EvidenceInfo(
            sha256=sha,
            kind=kind,
            media_type=media_type,
            encoding=encoding,
            size=int(size),
            captured_at=as_utc(captured_at),
            snapshot_captured_at=owners[sha],
        )
        for sha, kind, media_type, encoding, size, captured_at in rows
    ]
    infos.sort(key=lambda e: (e.snapshot_captured_at, e.kind), reverse=True)
    return infos


def evidence_content(db: Database, sha256: str, *, max_bytes: int = EVIDENCE_MAX_BYTES) -> EvidenceContent | None:
    """The decompressed bytes of one evidence file, checked against its SHA-256; None when unknown.

    Decompression stops at `max_bytes` so a hostile page stored gzip'd cannot balloon in the dashboard.
    """
    if not _SHA256.fullmatch(sha256 or ""):
        return None
    with db.read() as session:
        evidence = db.scope.get(session, Evidence, sha256)  # another brand's capture is unknown here
        if evidence is None:
            return None
        kind, media_type, encoding, raw = (
            evidence.kind,
            evidence.media_type,
            evidence.encoding,
            evidence.content,
        )
    truncated = False
    if encoding == "gzip":
        inflater = zlib.decompressobj(wbits=31)
        try:
            data = inflater.decompress(raw, max_bytes)
            truncated = bool(inflater.unconsumed_tail)
        except zlib.error:
            data, truncated = b"", True
    else:
        data = raw[:max_bytes]
        truncated = len(raw) > max_bytes
    verified = not truncated and hashlib.sha256(data).hexdigest() == sha256
    return EvidenceContent(
        sha256=sha256, kind=kind, media_type=media_type, data=data, verified=verified, truncated=truncated
    )
