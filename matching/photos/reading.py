"""What one listing photo showed, as plain values matching reads (ListingFacts.readings)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Box = tuple[tuple[int, int], ...]  # four corners, clockwise from the top left, in reading-copy pixels

NOT_READ = "not_read"  # no reading: no copy kept, skipped by the run's budget, or OCR unavailable


@dataclass(frozen=True)
class TextLine:
    text: str
    confidence: float
    box: Box

    def to_json(self) -> list[Any]:
        return [self.text, round(self.confidence, 4), [list(p) for p in self.box]]

    @classmethod
    def from_json(cls, raw: Any) -> TextLine:
        text, confidence, box = raw
        return cls(str(text), float(confidence), tuple((int(x), int(y)) for x, y in box))


@dataclass(frozen=True)
class CodeRead:
    format: str  # zxing-cpp's name: EAN13, QRCode, DataMatrix ...
    text: str
    box: Box

    def to_json(self) -> list[Any]:
        return [self.format, self.text, [list(p) for p in self.box]]

    @classmethod
    def from_json(cls, raw: Any) -> CodeRead:
        fmt, text, box = raw
        return cls(str(fmt), str(text), tuple((int(x), int(y)) for x, y in box))


@dataclass(frozen=True)
class PhotoRead:
    """One photo of a listing and what was read on it. `status` is a core.models.ReadingStatus value, or NOT_READ
    with `note` saying why."""

    sha256: str
    position: int
    image_id: int | None
    status: str
    lines: tuple[TextLine, ...] = ()
    codes: tuple[CodeRead, ...] = ()
    note: str | None = None

    @property
    def read(self) -> bool:
        return self.status == "ok"

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


@dataclass(frozen=True)
class Sighting:
    """A serial decoded on another listing's photo: who shows the same code."""

    code: str
    marketplace: str
    seller: str | None
    external_id: str
    sha256: str
