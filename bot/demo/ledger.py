"""The charges of the generated files, per day, team, feature and cost kind.

The budgets file is sized from these sums, and the tests compare them with the files.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


@dataclass
class Ledger:
    """USD per (day, team, feature, kind); kind is one of llm, tools, gpu, review, other."""

    amounts: dict[tuple[date, str, str, str], Decimal] = field(default_factory=lambda: defaultdict(Decimal))

    def add(self, day: date, team: str, feature: str, kind: str, usd: Decimal) -> None:
        self.amounts[(day, team, feature, kind)] += usd

    def total(self, *, start: date, end: date, team: str | None = None, feature: str | None = None,
              kinds: tuple[str, ...] | None = None) -> Decimal:
        """Sum the days from `start` (inclusive) to `end` (exclusive) matching the filters."""
        result = Decimal(0)
        for (day, row_team, row_feature, kind), usd in self.amounts.items():
            if not start <= day < end:
                continue
            if team is not None and row_team != team:
                continue
            if feature is not None and row_feature != feature:
                continue
            if kinds is not None and kind not in kinds:
                continue
            result += usd
        return result

    def teams(self) -> list[str]:
        return sorted({team for _, team, _, _ in self.amounts if team})
