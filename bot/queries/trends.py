"""Top spenders, period-over-period change with its drivers, and the month-end forecast."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from decimal import ROUND_HALF_EVEN, Decimal

from dateutil.relativedelta import relativedelta
from sqlmodel import Session

from bot.queries.sources import kind_has
from bot.queries.spend import COST_KINDS, ZERO, daily_spend, spend_by

_CENT = Decimal("0.01")
# Dimensions searched for the groups that moved a change the most.
DRIVER_DIMENSIONS = ("feature", "model", "team", "provider")
# Days of spend the forecast's run rate averages over.
RUN_RATE_DAYS = 7


def top_spenders(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    dimension: str,
    limit: int,
    filters: Mapping[str, Sequence[str]] | None = None,
    kinds: Sequence[str] = COST_KINDS,
) -> dict:
    """Return the `limit` largest groups of `dimension` and what the others spent together."""
    rows = spend_by(session, start=start, end=end, filters=filters, group_by=(dimension,), kinds=kinds)
    total = sum((row.total for row in rows), ZERO)
    top = rows[:limit]
    rest = rows[limit:]
    return {
        "dimension": dimension,
        "rows": [{"value": row.group[dimension], "cost": row.total, "by_kind": row.by_kind,
                  "share": row.total / total if total else ZERO, "unpriced_rows": row.unpriced_rows} for row in top],
        "others": {"groups": len(rest), "cost": sum((row.total for row in rest), ZERO)},
        "total": total,
        "unpriced_rows": sum(row.unpriced_rows for row in rows),
    }


def change_between(
    session: Session,
    *,
    current: tuple[datetime, datetime],
    previous: tuple[datetime, datetime],
    filters: Mapping[str, Sequence[str]] | None = None,
    kinds: Sequence[str] = COST_KINDS,
    dimensions: Sequence[str] = DRIVER_DIMENSIONS,
    limit: int = 5,
) -> dict:
    """Compare spend of two periods and split the change by each driver dimension.

    Every entry of "drivers" splits the whole change one way: its `limit` values with the
    largest absolute change, then the other values together ("others"), then the spend
    of the kinds that cannot have the dimension ("outside", with those kinds that spent
    in either period under "kinds": tools, GPU, review and other for model).
    Those parts add up to "change". The dimensions overlap, since the same dollars show
    under a feature and under its team, so changes add up only within one entry. The
    first entry is the dimension with the largest change of one named value (None, the
    unallocated or unknown value, does not count), and the others keep the order of
    `dimensions`. A filtered dimension, and one with a single value in both periods, is
    left out.
    """
    now_total = before_total = None
    now_kinds: dict[str, Decimal] = {}
    before_kinds: dict[str, Decimal] = {}
    groups: list[tuple[str, dict, dict, list[str]]] = []
    for dimension in dimensions:
        if filters and dimension in filters:
            continue
        # Kinds without the dimension (GPU time has no model) go to "outside", not to None.
        searched = [kind for kind in kinds if kind_has(kind, dimension)]
        if not searched:
            continue
        after_rows = spend_by(session, start=current[0], end=current[1], filters=filters, group_by=(dimension,),
                              kinds=searched)
        before_rows = spend_by(session, start=previous[0], end=previous[1], filters=filters, group_by=(dimension,),
                               kinds=searched)
        if now_total is None and len(searched) == len(kinds):
            # A grouping over every kind also gives the totals, which saves two queries.
            now_total, now_kinds = _sum_rows(after_rows, kinds)
            before_total, before_kinds = _sum_rows(before_rows, kinds)
        after = {row.group[dimension]: row.total for row in after_rows}
        before = {row.group[dimension]: row.total for row in before_rows}
        if len(set(after) | set(before)) < 2:
            continue  # one value moved by the whole change, which names no driver
        groups.append((dimension, before, after, [kind for kind in kinds if kind not in searched]))
    if now_total is None:
        now_total, now_kinds = _sum_rows(spend_by(session, start=current[0], end=current[1], filters=filters,
                                                  kinds=kinds), kinds)
        before_total, before_kinds = _sum_rows(spend_by(session, start=previous[0], end=previous[1],
                                                        filters=filters, kinds=kinds), kinds)

    drivers = []
    for dimension, before, after, outside_kinds in groups:
        entry = _split(dimension, before, after, before_total, now_total, limit)
        entry["outside"]["kinds"] = [kind for kind in outside_kinds if now_kinds.get(kind) or before_kinds.get(kind)]
        drivers.append(entry)
    if drivers:
        largest = max(drivers, key=_largest_named_change)
        drivers.remove(largest)
        drivers.insert(0, largest)
    return {
        "current": now_total,
        "previous": before_total,
        "change": now_total - before_total,
        "change_pct": (now_total - before_total) / before_total * 100 if before_total else None,
        "by_kind": {kind: now_kinds.get(kind, ZERO) - before_kinds.get(kind, ZERO) for kind in kinds},
        "drivers": drivers,
    }


def largest_named_row(entry: dict) -> dict | None:
    """Return the row of a driver entry with the largest absolute change among named values (not None)."""
    return max((row for row in entry["rows"] if row["value"] is not None), key=lambda row: abs(row["change"]),
               default=None)


def _largest_named_change(entry: dict) -> Decimal:
    row = largest_named_row(entry)
    return ZERO if row is None else abs(row["change"])


def _split(dimension: str, before: dict, after: dict, before_total: Decimal, now_total: Decimal, limit: int) -> dict:
    """Split the whole change by one dimension: top values, the other values, and spend outside it."""
    rows, unchanged = [], []
    for value in set(after) | set(before):
        entry = {"value": value, "before": before.get(value, ZERO), "after": after.get(value, ZERO)}
        entry["change"] = entry["after"] - entry["before"]
        if entry["change"]:
            rows.append(entry)
        elif entry["before"]:
            # Unchanged spend names no driver, but it joins the others so the before and after
            # columns of a table still add up to the totals.
            unchanged.append(entry)
    rows.sort(key=lambda entry: (-abs(entry["change"]), str(entry["value"])))
    rest = rows[limit:] + unchanged
    others_before = sum((entry["before"] for entry in rest), ZERO)
    others_after = sum((entry["after"] for entry in rest), ZERO)
    outside_before = before_total - sum(before.values(), ZERO)
    outside_after = now_total - sum(after.values(), ZERO)
    return {
        "dimension": dimension,
        "rows": rows[:limit],
        "others": {"groups": len(rest), "before": others_before, "after": others_after,
                   "change": others_after - others_before},
        "outside": {"before": outside_before, "after": outside_after, "change": outside_after - outside_before},
    }


def _sum_rows(rows, kinds: Sequence[str]) -> tuple[Decimal, dict[str, Decimal]]:
    by_kind = {kind: sum((row.by_kind.get(kind, ZERO) for row in rows), ZERO) for kind in kinds}
    return sum((row.total for row in rows), ZERO), by_kind


def month_end_forecast(
    session: Session,
    *,
    today: date,
    tz: tzinfo,
    filters: Mapping[str, Sequence[str]] | None = None,
    kinds: Sequence[str] = COST_KINDS,
) -> dict:
    """Forecast this month's spend from its run rate.

    Method: actual spend from the first of the month up to the end of yesterday (local
    days), plus the run rate times the days left including today. The run rate is the mean
    daily spend of the last 7 complete days (fewer at the start of a month's data, and
    days of the previous month count too). Today is left out of both because its usage is
    usually not fully imported yet. On the first of the month, actual spend is zero.
    """
    month_start = today.replace(day=1)
    month_end = month_start + relativedelta(months=1)
    days_in_month = (month_end - month_start).days
    days_left = (month_end - today).days

    def local(day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=tz).astimezone(timezone.utc)

    actual = ZERO
    if today > month_start:
        rows = spend_by(session, start=local(month_start), end=local(today), filters=filters, kinds=kinds)
        actual = rows[0].total if rows else ZERO
    window_start = today - timedelta(days=RUN_RATE_DAYS)
    days = daily_spend(session, start=local(window_start), end=local(today), filters=filters, kinds=kinds, tz=tz)
    run_rate = sum((amount for _, amount in days), ZERO) / RUN_RATE_DAYS
    forecast = actual + run_rate * days_left
    return {
        "month": month_start.isoformat()[:7],
        "actual_to_yesterday": actual,
        "run_rate_per_day": run_rate.quantize(_CENT, ROUND_HALF_EVEN),
        "run_rate_days": RUN_RATE_DAYS,
        "days_left": days_left,
        "days_in_month": days_in_month,
        "forecast": forecast.quantize(_CENT, ROUND_HALF_EVEN),
        "daily": days,
    }
