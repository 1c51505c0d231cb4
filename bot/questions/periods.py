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


class PeriodError(ValueError):
    """Raised for a period phrase that names no valid date (for example "Feb 30")."""


@dataclass(frozen=True)
class Period:
    """Whole local days [first, last] and their UTC bounds, with the phrase that named them."""

    first: date
    last: date
    label: str
    tz_name: str

    def bounds(self, tz: tzinfo) -> tuple[datetime, datetime]:
        """Return (start, end) as aware UTC datetimes: local midnight of first and after last."""
        start = datetime.combine(self.first, time(0), tzinfo=tz).astimezone(timezone.utc)
        end = datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=tz).astimezone(timezone.utc)
        return start, end

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def previous(self) -> Period:
        """Return the period of the same length just before this one (a calendar month before a
        whole month, a quarter before a whole quarter)."""
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
        return f"{self.label} ({dates})"

    def as_dict(self, tz: tzinfo) -> dict:
        start, end = self.bounds(tz)
        return {"label": self.label, "first_day": self.first.isoformat(), "last_day": self.last.isoformat(),
                "start": start.isoformat(), "end": end.isoformat(), "timezone": self.tz_name}


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
    for pattern, build in _PATTERNS:
        match = pattern.search(text)
        if match is None:
            continue
        first, last, label = build(match, today)
        if first > last:
            raise PeriodError(f"the period {match.group(0)!r} ends before it starts; put the earlier date first")
        rest = " ".join((text[: match.start()] + " " + text[match.end():]).split())
        return Period(first, last, label, tz_name), rest
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
    if unit == "day":
        days = count
    elif unit == "week":
        days = 7 * count
    else:
        days = (today - (today - relativedelta(months=count))).days
    first, last = last_days(days, today)
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
_PATTERNS = [
    (re.compile(r"\btoday\b"), lambda m, t: (t, t, "today")),
    (re.compile(r"\byesterday\b"), lambda m, t: (t - timedelta(days=1), t - timedelta(days=1), "yesterday")),
    (re.compile(r"\b(?:month to date|mtd|month so far)\b"), lambda m, t: _this_or_last("month", "this", t)),
    (re.compile(r"\b(?:year to date|ytd)\b"), lambda m, t: _this_or_last("year", "this", t)),
    (re.compile(rf"\b(?:between|from)\s+(?P<d1>{DATE})\s+(?:and|to|until|-)\s+(?P<d2>{DATE})"), _between),
    (re.compile(rf"\bsince\s+(?P<d1>{DATE})"), _since),
    (re.compile(r"\b(?:in |over |for )?(?:the )?(?:last|past|previous)\s+(?P<n>\d{1,3}|"
                + "|".join(_NUMBER_WORDS) + r")\s+(?P<unit>days?|weeks?|months?)\b"), _last_n),
    (re.compile(r"\b(?P<which>this|last|previous|past)\s+(?P<unit>week|month|quarter|year)\b"),
     lambda m, t: _this_or_last(m["unit"], "this" if m["which"] == "this" else "last", t)),
    (re.compile(r"\bq(?P<q>[1-4])" + _YEAR.replace(",?\\s+", "[\\s,]*") + r"\b"), _quarter),
    (re.compile(rf"\b(?:on\s+)?(?P<d1>\d{{4}}-\d{{2}}-\d{{2}}|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?)\b"), _on),
    (re.compile(rf"\b(?:in\s+|for\s+|during\s+)?(?P<month>{_MONTH})(?!\w){_YEAR}\b"), _month_name),
]
