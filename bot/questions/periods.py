"""Period phrases ("last week", "Q3 2026", "since Nov 3") resolved to UTC bounds.

Every period is a run of whole calendar days in the workspace time zone: start is local
midnight of its first day and end local midnight after its last day, both converted to
UTC. Weeks start on Monday. A period that reaches today ends at the end of today, except
"last N days" (weeks, months), which is the N whole days before today. `last_days` defines
it, and rule windows use it too, so a question and a rule over "the last 30 days" cover the
same days.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo

from dateutil.relativedelta import relativedelta

MONTHS = {
    name: number
    for number, names in enumerate(
        [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
         ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
         ("october", "oct"), ("november", "nov"), ("december", "dec")],
        start=1,
    )
    for name in names
}
_MONTH = "(?:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
# 2026-11-03, "nov 3", "nov 3 2026", "november 3rd, 2026", "3 nov", "3 november 2026"
DATE = (
    rf"(?:\d{{4}}-\d{{2}}-\d{{2}}"
    rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}(?:,?\s+\d{{4}})?)"
)
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                 "nine": 9, "ten": 10, "twelve": 12, "fourteen": 14, "thirty": 30, "ninety": 90}


# Label prefix of a period cut to the span of a compared period that is not over.
SAME_PART = "the same part of "


class PeriodError(ValueError):
    """Raised for a period phrase that names no valid date (for example "Feb 30")."""


@dataclass(frozen=True)
class Period:
    """Whole local days [first, last] and their UTC bounds, with the phrase that named them."""

    first: date
    last: date
    label: str
    tz_name: str
    # Local time of day on `last` at which the period ends, when it is cut short to compare it
    # like for like with a period that is not over. None means it runs to the end of `last`.
    until: time | None = None
    # The calendar unit the phrase named ("day", "week", "month", "quarter", "year"), or None.
    unit: str | None = None

    def bounds(self, tz: tzinfo) -> tuple[datetime, datetime]:
        """Return (start, end) as aware UTC datetimes: local midnight of first, and local
        midnight after last (or `until` on last)."""
        start = datetime.combine(self.first, time(0), tzinfo=tz).astimezone(timezone.utc)
        if self.until is None:
            end = datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=tz)
        else:
            end = datetime.combine(self.last, self.until, tzinfo=tz)
        return start, end.astimezone(timezone.utc)

    @property
    def asked(self) -> str:
        """Return the label as the question named the period, without the like-for-like prefix."""
        return self.label.removeprefix(SAME_PART)

    def last_text(self) -> str:
        """Return the last day as ISO text, with the time it ends when `until` is set ("2026-11-18T12:00")."""
        return self.last.isoformat() if self.until is None else f"{self.last.isoformat()}T{self.until:%H:%M}"

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def previous(self) -> Period:
        """Return the period of the same length just before this one: the whole calendar unit
        before one that names a unit ("this week" gives the week before), a calendar month before
        a whole month, a quarter before a whole quarter."""
        if self.unit is not None:
            step = {"day": relativedelta(days=1), "week": relativedelta(weeks=1), "month": relativedelta(months=1),
                    "quarter": relativedelta(months=3), "year": relativedelta(years=1)}[self.unit]
            return Period(self.first - step, self.first - timedelta(days=1), f"the {self.unit} before", self.tz_name,
                          unit=self.unit)
        if self.first.day == 1 and (self.last + timedelta(days=1)).day == 1:
            months = _month_span(self.first, self.last + timedelta(days=1))
            first = self.first - relativedelta(months=months)
            return Period(first, self.first - timedelta(days=1), "the period before", self.tz_name)
        return Period(self.first - timedelta(days=self.days), self.first - timedelta(days=1),
                      "the period before", self.tz_name)

    def describe(self) -> str:
        """Return the label with its dates, e.g. "last week (Nov 9 – Nov 15, 2026)"."""
        if self.first == self.last:
            dates = f"{self.first:%b} {self.first.day}, {self.first.year}"
        elif self.first.year == self.last.year:
            dates = f"{self.first:%b} {self.first.day} – {self.last:%b} {self.last.day}, {self.last.year}"
        else:
            dates = f"{self.first:%b} {self.first.day}, {self.first.year} – {self.last:%b} {self.last.day}, {self.last.year}"
        if self.until is not None:
            dates += f", up to {self.until:%H:%M}"
        return f"{self.label} ({dates})"

    def as_dict(self, tz: tzinfo) -> dict:
        start, end = self.bounds(tz)
        until = None if self.until is None else f"{self.until:%H:%M}"
        return {"label": self.label, "first_day": self.first.isoformat(), "last_day": self.last.isoformat(),
                "until": until, "start": start.isoformat(), "end": end.isoformat(), "timezone": self.tz_name}


def like_for_like(current: Period, other: Period, today: date, now: time | None) -> tuple[Period, Period, str] | None:
    """Cut two compared periods to the same span when either is not over, and explain it.

    A period that reaches today has run for its whole days before today plus today up to
    `now` (local time, cut to the whole hour). Both periods are cut to that span from their
    first day, the shorter span when both reach today. A period shorter than the span stays
    whole, and the explanation states that. Without `now`, today counts as a whole day.
    Return None when both periods are over.
    """
    running = [period for period in (current, other) if period.last >= today]
    if not running:
        return None
    days = min((today - period.first).days for period in running)
    until = None if now is None else time(now.hour)
    if until is None:
        days += 1
    elif until == time(0):
        # No whole hour of today has passed, so compare the whole days before it, or the
        # first day whole when the period starts today.
        until, days = None, max(days, 1)

    cuts, short = [], None
    for period in (current, other):
        cut = _cut(period, days, until, running=period in running)
        if cut is None:
            short = period
        cuts.append(cut or period)

    name = running[0].label
    span = _span_text(days, until)
    first_span = "first day" if span == "1 day" else f"first {span}"
    if short is None:
        text = f"{name[:1].upper()}{name[1:]} is not over yet, so both periods cover only their {first_span}, like for like."
    else:
        text = (f"{name[:1].upper()}{name[1:]} is not over yet and covers its {first_span}. {short.label[:1].upper()}"
                f"{short.label[1:]} has only {_span_text(short.days, None)}, so it is compared whole.")
    return cuts[0], cuts[1], text


def _cut(period: Period, days: int, until: time | None, *, running: bool) -> Period | None:
    """Return the first `days` whole days of `period`, plus the next day up to `until` when set.
    Return None when the period is shorter than that. A period that is over gets the label
    prefix SAME_PART. One that is `running` keeps its label, because it has no spend after now."""
    last = period.first + timedelta(days=days if until is not None else days - 1)
    if last > period.last:
        return None
    if last == period.last and until is None:
        return period
    label = period.label if running else SAME_PART + period.label
    return Period(period.first, last, label, period.tz_name, until)


def _span_text(days: int, until: time | None) -> str:
    parts = []
    if days:
        parts.append(f"{days} day{'s' if days != 1 else ''}")
    if until is not None:
        parts.append(f"{until.hour} hour{'s' if until.hour != 1 else ''}")
    return " and ".join(parts)


def _month_span(first: date, after_last: date) -> int:
    return (after_last.year - first.year) * 12 + after_last.month - first.month


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _number(text: str) -> int:
    return int(text) if text.isdigit() else _NUMBER_WORDS[text]


def parse_date(text: str, today: date) -> date:
    """Parse one DATE phrase; a date without a year is the latest such date not after today."""
    text = text.strip().rstrip(".")
    iso = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text)
    try:
        if iso:
            return date(int(iso[1]), int(iso[2]), int(iso[3]))
        match = re.fullmatch(rf"({_MONTH})\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?", text) or \
            re.fullmatch(rf"(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTH})(?:,?\s+(\d{{4}}))?", text)
        if match is None:
            raise PeriodError(f"unrecognised date {text!r}; write it as 2026-11-03 or Nov 3 2026")
        first, second, year = match.groups()
        month_text, day_text = (first, second) if not first[0].isdigit() else (second, first)
        month = MONTHS[month_text.rstrip(".")]
        if year:
            return date(int(year), month, int(day_text))
        candidate = date(today.year, month, int(day_text))
        return candidate if candidate <= today else date(today.year - 1, month, int(day_text))
    except ValueError as exc:
        if isinstance(exc, PeriodError):
            raise
        raise PeriodError(f"invalid date {text!r}: {exc}") from None


def find_period(text: str, today: date, tz_name: str) -> tuple[Period | None, str]:
    """Find the first period phrase in lower-case `text`.

    Return the period (None when there is none) and the text with the phrase removed.
    Raise PeriodError for a phrase that names an impossible date.
    """
    for pattern, build, unit in _PATTERNS:
        match = pattern.search(text)
        if match is None:
            continue
        first, last, label = build(match, today)
        if first > today:
            raise PeriodError(f"the period {match.group(0)!r} starts on {first.isoformat()}, after today "
                              f"({today.isoformat()}); name a start on or before today")
        if first > last:
            raise PeriodError(f"the period {match.group(0)!r} runs from {first.isoformat()} to {last.isoformat()}, so it "
                              "ends before it starts; put the earlier date first, or give both dates a year")
        rest = " ".join((text[: match.start()] + " " + text[match.end():]).split())
        return Period(first, last, label, tz_name, unit=unit(match) if unit else None), rest
    return None, text


def _this_or_last(unit: str, which: str, today: date) -> tuple[date, date, str]:
    if unit == "week":
        first = today - timedelta(days=today.weekday())
        if which == "last":
            first -= timedelta(days=7)
        return first, first + timedelta(days=6) if which == "last" else today, f"{which} week"
    if unit == "month":
        first = today.replace(day=1)
        if which == "last":
            first = first - relativedelta(months=1)
            return first, today.replace(day=1) - timedelta(days=1), "last month"
        return first, today, "this month"
    if unit == "quarter":
        first = _quarter_start(today)
        if which == "last":
            previous = first - relativedelta(months=3)
            return previous, first - timedelta(days=1), "last quarter"
        return first, today, "this quarter"
    first = date(today.year, 1, 1)
    if which == "last":
        return date(today.year - 1, 1, 1), date(today.year - 1, 12, 31), "last year"
    return first, today, "this year"


def last_days(count: int, today: date) -> tuple[date, date]:
    """Return the first and last of the `count` whole days before `today`. Today is left out
    because its usage is still coming in. "last 30 days" in a question and a rule's
    `window_days: 30` both mean these days."""
    return today - timedelta(days=count), today - timedelta(days=1)


def days_before(moment: datetime, count: int, tz: tzinfo) -> tuple[datetime, datetime]:
    """Return the UTC bounds of the `count` whole days in `tz` before the day that contains `moment`."""
    first, last = last_days(count, moment.astimezone(tz).date())
    return Period(first, last, f"last {count} days", str(tz)).bounds(tz)


def _last_n(match: re.Match, today: date) -> tuple[date, date, str]:
    count = _number(match["n"])
    unit = match["unit"].rstrip("s")
    if count < 1:
        raise PeriodError(f"'{match.group(0)}' names no days; use a count of 1 or more")
    try:
        if unit == "day":
            days = count
        elif unit == "week":
            days = 7 * count
        else:
            days = (today - (today - relativedelta(months=count))).days
        first, last = last_days(days, today)
    except (OverflowError, ValueError):
        raise PeriodError(f"'{match.group(0)}' reaches back before the year 1; use a smaller count") from None
    return first, last, f"last {count} {unit}{'s' if count != 1 else ''}"


def _month_name(match: re.Match, today: date) -> tuple[date, date, str]:
    month = MONTHS[match["month"].rstrip(".")]
    if match["year"]:
        year = int(match["year"])
    elif month <= today.month:
        year = today.year
    else:
        year = today.year - 1  # a month name without a year is the latest such month not after today
    first = date(year, month, 1)
    last = first + relativedelta(months=1) - timedelta(days=1)
    return first, min(last, today) if first <= today <= last else last, f"{first:%B %Y}"


def _quarter(match: re.Match, today: date) -> tuple[date, date, str]:
    number = int(match["q"])
    if match["year"]:
        year = int(match["year"])
    else:
        year = today.year if date(today.year, 3 * number - 2, 1) <= today else today.year - 1
    first = date(year, 3 * number - 2, 1)
    last = first + relativedelta(months=3) - timedelta(days=1)
    return first, min(last, today) if first <= today <= last else last, f"Q{number} {year}"


def _since(match: re.Match, today: date) -> tuple[date, date, str]:
    first = parse_date(match["d1"], today)
    return first, today, f"since {first.isoformat()}"


def _between(match: re.Match, today: date) -> tuple[date, date, str]:
    first = parse_date(match["d1"], today)
    last = parse_date(match["d2"], today)
    return first, last, f"{first.isoformat()} to {last.isoformat()}"


def _on(match: re.Match, today: date) -> tuple[date, date, str]:
    day = parse_date(match["d1"], today)
    return day, day, day.isoformat()


_YEAR = r"(?:,?\s+(?P<year>\d{4}))?"
# (pattern, builder of (first, last, label), the calendar unit the phrase names or None)
_PATTERNS = [
    (re.compile(r"\btoday\b"), lambda m, t: (t, t, "today"), lambda m: "day"),
    (re.compile(r"\byesterday\b"), lambda m, t: (t - timedelta(days=1), t - timedelta(days=1), "yesterday"),
     lambda m: "day"),
    (re.compile(r"\b(?:month to date|mtd|month so far)\b"), lambda m, t: _this_or_last("month", "this", t),
     lambda m: "month"),
    (re.compile(r"\b(?:year to date|ytd)\b"), lambda m, t: _this_or_last("year", "this", t), lambda m: "year"),
    (re.compile(rf"\b(?:between|from)\s+(?P<d1>{DATE})\s+(?:and|to|until|-)\s+(?P<d2>{DATE})"), _between, None),
    (re.compile(rf"\bsince\s+(?P<d1>{DATE})"), _since, None),
    (re.compile(r"\b(?:in |over |for )?(?:the )?(?:last|past|previous)\s+(?P<n>\d+|"
                + "|".join(_NUMBER_WORDS) + r")\s+(?P<unit>days?|weeks?|months?)\b"), _last_n, None),
    (re.compile(r"\b(?P<which>this|last|previous|past)\s+(?P<unit>week|month|quarter|year)\b"),
     lambda m, t: _this_or_last(m["unit"], "this" if m["which"] == "this" else "last", t), lambda m: m["unit"]),
    (re.compile(r"\bq(?P<q>[1-4])" + _YEAR.replace(",?\\s+", "[\\s,]*") + r"\b"), _quarter, lambda m: "quarter"),
    (re.compile(rf"\b(?:on\s+)?(?P<d1>\d{{4}}-\d{{2}}-\d{{2}}|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?)\b"), _on,
     None),
    (re.compile(rf"\b(?:in\s+|for\s+|during\s+)?(?P<month>{_MONTH})(?!\w){_YEAR}\b"), _month_name, lambda m: "month"),
]
