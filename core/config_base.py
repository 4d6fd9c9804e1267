"""What every part of the brand configuration shares: the error that names each problem, the strict model base
(unknown keys refused, values frozen), and ISO 4217 currency fields."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
)

from core.money import CURRENCY_CODES

Lang = str  # BCP 47 language tag such as "en" or "zh"


class ConfigError(ValueError):
    """A brand configuration that cannot be used, with every problem found in it."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        super().__init__(f"{self.path}: " + "; ".join(problems) if problems else self.path)

    def __str__(self) -> str:
        lines = [f"{self.path} is not a valid BrandPatrol configuration:"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _iso_currency(value: str) -> str:
    code = value.strip().upper()
    if code not in CURRENCY_CODES:
        raise ValueError(f"'{value}' is not an ISO 4217 currency code; use one such as CNY, USD or EUR")
    return code


def _currency_pair(pair: str) -> str:
    """'USD/CNY', both sides ISO 4217; the error names the side that is not."""
    if not re.fullmatch(r"[A-Z]{3}/[A-Z]{3}", pair):
        raise ValueError(f"'{pair}' is not a currency pair; write it as 'USD/CNY'")
    unknown = [code for code in pair.split("/") if code not in CURRENCY_CODES]
    if unknown:
        verb = "is not an ISO 4217 currency code" if len(unknown) == 1 else "are not ISO 4217 currency codes"
        raise ValueError(f"{' and '.join(unknown)} in '{pair}' {verb}; write a pair of codes such as USD/CNY")
    return pair


CurrencyCode = Annotated[str, AfterValidator(_iso_currency)]
CurrencyPair = Annotated[str, AfterValidator(_currency_pair)]
