"""The one contract every signal keeps (ThreatExchange HMA style).

A signal answers one question about one listing with MATCH, NO_MATCH or UNKNOWN, a measure (a distance or a
ratio, where it has one), one reason sentence a person can reuse, and JSON-safe evidence. A signal that cannot
decide says UNKNOWN, never MATCH: missing data must not read as guilt or as innocence.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class Outcome(enum.StrEnum):
    MATCH = "match"
    NO_MATCH = "no_match"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class SignalResult:
    name: str
    outcome: Outcome
    measure: float | None
    reason: str
    evidence: Mapping[str, Any] = field(default_factory=dict)

    @property
    def matched(self) -> bool:
        return self.outcome is Outcome.MATCH

    @property
    def unmatched(self) -> bool:
        return self.outcome is Outcome.NO_MATCH

    @property
    def unknown(self) -> bool:
        return self.outcome is Outcome.UNKNOWN

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "outcome": self.outcome.value,
            "measure": self.measure,
            "reason": self.reason,
            "evidence": dict(self.evidence),
        }


def match(name: str, reason: str, measure: float | None = None, /, **evidence: Any) -> SignalResult:
    return SignalResult(name, Outcome.MATCH, measure, reason, evidence)


def no_match(name: str, reason: str, measure: float | None = None, /, **evidence: Any) -> SignalResult:
    return SignalResult(name, Outcome.NO_MATCH, measure, reason, evidence)


def unknown(name: str, reason: str, measure: float | None = None, /, **evidence: Any) -> SignalResult:
    return SignalResult(name, Outcome.UNKNOWN, measure, reason, evidence)
