"""Budget checks: spend so far, share used, forecast, days until reset and top drivers.

Budgets are grouped by period, cost kinds and the set of scope dimensions. Each group costs
two grouped spend queries (period to date, and the trailing week for the forecast) however
many budgets it contains, plus one for the drivers of the budgets that need them. The
number of SQL statements of a check therefore depends on the kinds of budgets in the file,
not on their count.
"""

from __future__ import annotations

import itertools
import logging
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot import messages
from bot.budgets.config import Budget, BudgetSet
from bot.budgets.periods import Period, days_until_reset, period_at
from bot.queries.sources import COST_KINDS, kind_has
from bot.questions import answering as answer_labels

logger = logging.getLogger(__name__)

ZERO = Decimal(0)
HUNDRED = Decimal(100)
_CENT = Decimal("0.01")

# The forecast extrapolates the spend rate of this trailing window to the end of the period.
FORECAST_WINDOW = timedelta(days=7)
TOP_DRIVERS = 3
# Above this many accepted values of one dimension, the query reads every value of that
# dimension and the budgets pick theirs from the grouped rows, which keeps the IN list short.
MAX_FILTER_VALUES = 500


@dataclass(frozen=True)
class Driver:
    """One contributor to a budget's spend: a value of the driver dimension and its amount.

    Spend with no value is one driver for the kinds that could have one ("model
    (unallocated)": LLM spend from a cost report without models) and one for the kinds that
    cannot (`kinds`, such as review labor by model), named as cost answers name them.
    """

    dimension: str
    value: str | None
    amount: Decimal
    kinds: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        if self.value is not None:
            return f"{answer_labels.label(self.dimension)} {self.value}"
        if self.kinds:
            return answer_labels.not_applicable_name(self.dimension, self.kinds)
        return f"{answer_labels.label(self.dimension)} {messages.UNALLOCATED}"


@dataclass
class BudgetStatus:
    """The state of one budget at `checked_at`; amounts in USD, shares in percent of the amount."""

    budget: Budget
    period: Period
    checked_at: datetime
    spent: Decimal = ZERO
    forecast: Decimal = ZERO
    days_until_reset: int = 0
    drivers: list[Driver] = field(default_factory=list)
    unpriced_rows: int = 0

    @property
    def share_pct(self) -> Decimal:
        return (self.spent * HUNDRED / self.budget.amount_usd).quantize(_CENT, rounding=ROUND_HALF_EVEN)

    @property
    def forecast_pct(self) -> Decimal:
        return (self.forecast * HUNDRED / self.budget.amount_usd).quantize(_CENT, rounding=ROUND_HALF_EVEN)

    def crossed(self, amount: Decimal) -> list[int]:
        """Return the thresholds that `amount` reaches, ascending."""
        return [pct for pct in self.budget.thresholds if amount * HUNDRED >= self.budget.amount_usd * pct]


SpendQuery = Callable[..., list]


def driver_dimension(scope_dimensions: Sequence[str]) -> str:
    """Return the dimension a budget's drivers are reported by.

    A feature budget is explained by its models, a team budget by its features, and any
    other budget (all spend, a tenant, a project) by its teams.
    """
    if "feature" in scope_dimensions:
        return "model"
    if "team" in scope_dimensions:
        return "feature"
    return "team"


def forecast_spend(spent: Decimal, window_spend: Decimal, window: timedelta, remaining: timedelta) -> Decimal:
    """Forecast the spend at the period's end: spend so far plus the trailing window's rate
    (USD per second) times the time left. The result is rounded to the cent."""
    if remaining <= timedelta(0):
        return spent.quantize(_CENT, rounding=ROUND_HALF_EVEN)
    rate = window_spend / Decimal(window.total_seconds())
    return (spent + rate * Decimal(remaining.total_seconds())).quantize(_CENT, rounding=ROUND_HALF_EVEN)


def check_budgets(
    session: Session,
    budgets: BudgetSet | Sequence[Budget],
    *,
    now: datetime,
    tz: ZoneInfo,
    spend_query: SpendQuery | None = None,
    with_drivers: bool = True,
) -> list[BudgetStatus]:
    """Compute the status of every budget at `now`, in the order of the file.

    With `with_drivers=False` the drivers stay empty, and `add_drivers` can fill them later
    for the few budgets with an alert due. That saves grouping every budget's spend by one
    more dimension.
    """
    items = list(budgets.budgets if isinstance(budgets, BudgetSet) else budgets)
    groups: dict[tuple, list[Budget]] = defaultdict(list)
    for budget in items:
        groups[(budget.period, budget.kinds, budget.scope_dimensions)].append(budget)

    statuses: dict[str, BudgetStatus] = {}
    with _rollups_checked_once(session, enabled=spend_query is None):
        query = spend_query or _default_spend_query()
        for (period_name, kinds, dimensions), members in groups.items():
            period = period_at(period_name, now, tz)
            for status in _check_group(session, members, period, kinds, dimensions, now, tz, query):
                statuses[status.budget.name] = status
        ordered = [statuses[budget.name] for budget in items]
        if with_drivers:
            add_drivers(session, ordered, spend_query=query)
    logger.info("budget check at=%s budgets=%d query_groups=%d", now.isoformat(), len(items), len(groups))
    return ordered


def add_drivers(session: Session, statuses: Sequence[BudgetStatus], *, spend_query: SpendQuery | None = None) -> None:
    """Fill in the top drivers of `statuses`: one grouped query per period, kinds and scope dimensions."""
    query = spend_query or _default_spend_query()
    groups: dict[tuple, list[BudgetStatus]] = defaultdict(list)
    for status in statuses:
        budget = status.budget
        groups[(status.period.start, status.checked_at, budget.kinds, budget.scope_dimensions)].append(status)

    with _rollups_checked_once(session, enabled=spend_query is None):
        for (start, now, kinds, dimensions), members in groups.items():
            if now <= start:
                continue
            driver = driver_dimension(dimensions)
            # Each scope value brings many rows once grouped by the driver too, so the query reads
            # only the scopes of these budgets, however many (`matches` binds long lists as JSON).
            filters = _union_filters([status.budget for status in members], dimensions, limit=None)
            by_scope: dict[tuple, list] = defaultdict(list)
            for row in query(session, start=start, end=now, filters=filters, group_by=(*dimensions, driver), kinds=kinds):
                by_scope[tuple(row.group.get(name) for name in dimensions)].append(row)
            for status in members:
                rows = [row for key in itertools.product(*(status.budget.scope[name] for name in dimensions))
                        for row in by_scope.get(key, ())]
                status.drivers = _top_drivers(driver, rows)


def _top_drivers(dimension: str, rows: Sequence) -> list[Driver]:
    """Rank the spend of `rows` by their value of `dimension`, largest first. Spend with no value
    is split in two, so review labor shows apart from LLM spend that has no model."""
    amounts: dict[str | None, Decimal] = defaultdict(Decimal)
    not_applicable = ZERO
    kinds: list[str] = []
    for row in rows:
        value = row.group.get(dimension)
        if value is not None:
            amounts[value] += row.total
            continue
        for kind, amount in row.by_kind.items():
            if kind_has(kind, dimension):
                amounts[None] += amount
            elif amount:
                not_applicable += amount
                kinds.append(kind)
    drivers = [Driver(dimension, value, amount) for value, amount in amounts.items()]
    if not_applicable:
        ordered = tuple(kind for kind in COST_KINDS if kind in kinds)
        drivers.append(Driver(dimension, None, not_applicable, ordered))
    ranked = sorted(drivers, key=lambda driver: (-driver.amount, driver.label))
    return [driver for driver in ranked if driver.amount > 0][:TOP_DRIVERS]


def _default_spend_query() -> SpendQuery:
    from bot.queries.spend import spend_by

    return spend_by


def _check_group(
    session: Session,
    members: list[Budget],
    period: Period,
    kinds: tuple[str, ...],
    dimensions: tuple[str, ...],
    now: datetime,
    tz: ZoneInfo,
    spend_query: SpendQuery,
) -> list[BudgetStatus]:
    filters = _union_filters(members, dimensions)

    # Period to date, grouped by the scope dimensions.
    to_date: dict[tuple, list] = defaultdict(list)
    if now > period.start:
        for row in spend_query(session, start=period.start, end=now, filters=filters, group_by=dimensions, kinds=kinds):
            to_date[tuple(row.group.get(name) for name in dimensions)].append(row)

    # The trailing window, grouped the same way, gives the forecast's rate.
    window: dict[tuple, Decimal] = defaultdict(Decimal)
    rows = spend_query(session, start=now - FORECAST_WINDOW, end=now, filters=filters, group_by=dimensions, kinds=kinds)
    for row in rows:
        window[tuple(row.group.get(name) for name in dimensions)] += row.total

    remaining = period.end - now
    reset_in = days_until_reset(period, now, tz)
    statuses = []
    for budget in members:
        status = BudgetStatus(budget=budget, period=period, checked_at=now, days_until_reset=reset_in)
        window_spend = ZERO
        for key in itertools.product(*(budget.scope[name] for name in dimensions)):
            for row in to_date.get(key, ()):
                status.spent += row.total
                status.unpriced_rows += row.unpriced_rows
            window_spend += window.get(key, ZERO)
        status.forecast = forecast_spend(status.spent, window_spend, FORECAST_WINDOW, remaining)
        statuses.append(status)
    return statuses


@contextmanager
def _rollups_checked_once(session: Session, *, enabled: bool) -> Iterator[None]:
    """Decide once per check whether the hourly rollups are current, instead of once per query."""
    from bot.queries import rollups

    if not enabled or rollups.PINNED_KEY in session.info:
        yield
        return
    session.info[rollups.PINNED_KEY] = rollups.is_current(session)
    try:
        yield
    finally:
        session.info.pop(rollups.PINNED_KEY, None)


def _union_filters(members: list[Budget], dimensions: tuple[str, ...],
                   limit: int | None = MAX_FILTER_VALUES) -> dict[str, list[str]] | None:
    """Return the values of each scope dimension that `members` accept, leaving out a dimension
    with more than `limit` values (None: no limit)."""
    filters: dict[str, list[str]] = {}
    for name in dimensions:
        values = sorted({value for budget in members for value in budget.scope[name]})
        if limit is None or len(values) <= limit:
            filters[name] = values
    return filters or None
