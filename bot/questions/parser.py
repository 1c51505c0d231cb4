"""Deterministic question parser: plain English in, a structured `Query` out.

No language model and no network: periods come from `periods`, intents from keyword
patterns, filters from the values stored in the database. A near miss of a stored value
("tem serch") or of a question word ("spnd by tem") becomes a did-you-mean with the corrected
question, never a silent substitution.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz, process

from bot.questions.periods import MONTHS, Period, PeriodError, find_period, like_for_like

INTENTS = ("help", "budgets", "forecast", "cost_per_success", "retries", "tiers", "gpu", "compare", "tokens",
           "top", "spend")

# Words that name a dimension, as users write them.
DIMENSION_WORDS = {
    "team": "team", "teams": "team",
    "feature": "feature", "features": "feature", "workflow": "feature", "workflows": "feature",
    "tenant": "tenant", "tenants": "tenant", "customer": "tenant", "customers": "tenant",
    "user": "user", "users": "user",
    "project": "project", "projects": "project", "workspace": "project",
    "environment": "environment", "environments": "environment", "env": "environment",
    "provider": "provider", "providers": "provider", "vendor": "provider", "vendors": "provider",
    "model": "model", "models": "model",
    "tier": "service_tier", "tiers": "service_tier",
    "tool": "tool", "tools": "tool",
    "host": "host", "hosts": "host",
}
TIME_WORDS = {"day": "day", "days": "day", "daily": "day", "week": "week", "weeks": "week", "weekly": "week",
              "month": "month", "months": "month", "monthly": "month"}
KIND_WORDS = {"llm": "llm", "llms": "llm", "tokens": "llm", "tool": "tools", "tools": "tools", "gpu": "gpu",
              "gpus": "gpu", "review": "review", "reviews": "review", "reviewers": "review"}

_INTENT_PATTERNS = [
    ("help", r"^(?:help|\?|what can you do|examples?|how do i use.*)$"),
    ("budgets", r"\bbudgets?\b"),
    ("forecast", r"\b(?:forecast|month[- ]end|end of (?:the )?month|on track|projected|projection|run[- ]rate)\b"),
    ("cost_per_success", r"\b(?:per success(?:ful)?|cost per (?:outcome|run|success)|success rate|unit cost)\b"),
    ("retries", r"\b(?:retr(?:y|ies|ied)|failure cost|failed requests?|cost of failures)\b"),
    ("tiers", r"\b(?:tiers?|tier mix|batch|flex|priority)\b.*|\bsav(?:e|ings?)\b"),
    ("gpu", r"\b(?:utili[sz](?:ation|ed)|idle|under-?used|gpu hosts?|gpu usage)\b"),
    ("compare", r"\b(?:compare|compared|vs\.?|versus|why|went up|go up|gone up|increase[ds]?|"
                r"rose|jump(?:ed)?|spike[ds]?|change[ds]?|grew|growth|drivers?|what changed)\b"),
    ("tokens", r"\b(?:tokens?|requests?|calls)\b"),
    ("top", r"\b(?:top|biggest|largest|highest|most expensive|spent the most|spends the most|costliest)\b"),
    ("spend", r"\b(?:how much|spend|spent|spending|cost|costs|bill|total)\b"),
]

STOPWORDS = set("""a an the and or of on in for to by per with from at as is are was were be been do did does
done we our us i me my you your it its this that these those what which who whom how much many show give tell
list me please about over under than so far up down all any each every there their they them has have had
spend spent spending cost costs costing total bill usage use used using money dollars usd went go gone
compare compared vs versus why top biggest largest highest most expensive per success successful rate
retry retries retried tier tiers mix batch flex priority savings saving save would could should
gpu gpus utilization utilisation utilized idle hosts forecast month end projected on track run
tokens token requests request calls budget budgets help by broken down split across between since
increase increased increases jump jumped spike spiked change changed changes grew growth drivers driver
rose week weeks day days month months year quarter daily weekly monthly today yesterday last this past
previous before prior period same time so-far many llm llms review reviews failure failures failed
cost-per-success outcome outcomes unit run runs cheaper more less what's whats vs. doing spend? much?
where wasted waste overhead make made month-end end-of-month so-far spends cost? money? show me
break breakdown kind kinds type types share mtd ytd eligible moving move traffic""".split())


# Words a misspelled word is compared with for a did-you-mean: intents, dimensions, periods.
QUESTION_WORDS = sorted({
    *DIMENSION_WORDS, *TIME_WORDS, *KIND_WORDS, *(name for name in MONTHS if len(name) >= 4),
    "spend", "spent", "cost", "costs", "top", "compare", "why", "forecast", "budget", "budgets", "retries",
    "retry", "tokens", "requests", "success", "utilization", "idle", "batch", "flex", "priority", "savings",
    "help", "today", "yesterday", "quarter", "year", "last", "this", "since", "between",
})
# rapidfuzz ratio (0-100) from which a word counts as a misspelling. For example, "tem" and "team"
# score 86, and "flux" and "flex" 75.
MISSPELLING_SCORE = 80

DEFAULT_PERIOD = "last 30 days"
DEFAULT_COMPARE_PERIOD = "last 7 days"


@dataclass
class Query:
    """The structured form of a question: what to compute, over which period, for whom."""

    intent: str
    period: Period | None = None
    compare_to: Period | None = None
    filters: dict[str, list[str]] = field(default_factory=dict)
    group_by: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    top: int | None = None
    # Interpretations the answer states (defaults chosen, ambiguity resolved).
    notes: list[str] = field(default_factory=list)
    # Did-you-mean suggestions; when present the question is not answered with numbers.
    suggestions: list[str] = field(default_factory=list)
    # Filter values named explicitly that are not stored; the question is not answered with numbers.
    unknown: list[str] = field(default_factory=list)
    # Why the question could not be parsed, when intent is "help" for that reason.
    problem: str | None = None
    # The question with misspelled words replaced, and those words. When set, the query is the
    # corrected question's, and it is offered as a did-you-mean, not answered.
    corrected: str | None = None
    misread: list[str] = field(default_factory=list)
    # Filter values that only the corrected question names, per dimension. No numbers are
    # computed for them, so the answer's scope line leaves them out.
    guessed_filters: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """Return the query as plain data, the form the docs and tests compare."""
        result: dict = {"intent": self.intent}
        if self.period is not None:
            result["period"] = [self.period.label, self.period.first.isoformat(), self.period.last_text()]
        if self.compare_to is not None:
            result["compare_to"] = [self.compare_to.first.isoformat(), self.compare_to.last_text()]
        if self.filters:
            result["filters"] = {name: list(values) for name, values in sorted(self.filters.items())}
        if self.group_by:
            result["group_by"] = list(self.group_by)
        if self.kinds:
            result["kinds"] = list(self.kinds)
        if self.top is not None:
            result["top"] = self.top
        if self.suggestions:
            result["did_you_mean"] = list(self.suggestions)
        if self.unknown:
            result["not_found"] = list(self.unknown)
        if self.corrected:
            result["corrected"] = self.corrected
        return result


def normalise(question: str) -> str:
    """Lower-case the question, drop Slack mentions and punctuation other than - _ . / : in words."""
    text = re.sub(r"<@[A-Z0-9]+(?:\|[^>]*)?>", " ", question).lower()
    text = text.replace("’", "'")
    text = re.sub(r"[?!;\"()\[\]{}*]", " ", text)
    text = re.sub(r",(?!\s*\d{4})", " ", text)
    text = re.sub(r"\.(?=\s|$)", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def _detect_intent(text: str) -> str | None:
    for intent, pattern in _INTENT_PATTERNS:
        if re.search(pattern, text):
            return intent
    return None


def _mask_values(text: str, vocabulary: dict[str, list[str]]) -> str:
    """Replace stored values in `text` with "_" so a host named h100-idle-01 or a feature named
    cost-review does not read as a question word."""
    values = sorted({value.lower() for values in vocabulary.values() for value in values if len(value) >= 3},
                    key=len, reverse=True)
    for value in values:
        if value in text:
            text = re.sub(rf"(?<![\w-]){re.escape(value)}(?![\w-])", "_", text)
    return text


def _find_group_by(text: str) -> tuple[list[str], str]:
    group_by: list[str] = []
    grain = re.search(r"\b(daily|weekly|monthly)\b", text)
    if grain:
        group_by.append(TIME_WORDS[grain.group(1)])
        text = text[: grain.start()] + " " + text[grain.end():]
    pattern = re.compile(r"\b(?:by|per|for each|each|broken down by|split by|across)\s+(?:gpu\s+)?([a-z_]+)(?:\s+and\s+([a-z_]+))?")

    def read(match: re.Match) -> str:
        """Add the groupings a match names and return the words it leaves unread."""
        unread = []
        for word in match.groups():
            if word is None:
                continue
            if word in ("gpu", "type") or (word == "model" and "gpu" in match.group(0)):
                name = "gpu_model"
            else:
                name = DIMENSION_WORDS.get(word) or TIME_WORDS.get(word) or ("service_tier" if word == "service" else None)
            if name is None:
                unread.append(word)
            elif name not in group_by:
                group_by.append(name)
        return f" {' '.join(unread)} "

    # Unread words ("by tem") stay in the text, so they get a did-you-mean or an "ignored" note.
    text = pattern.sub(read, text)
    return group_by, text


def _find_top(text: str) -> tuple[int | None, str | None]:
    match = re.search(r"\btop\s+(\d+)?\s*([a-z_]+)?", text)
    if match:
        count = int(match.group(1)) if match.group(1) else 5
        word = match.group(2) or ""
        return count, DIMENSION_WORDS.get(word)
    match = re.search(r"\b(?:which|what)\s+([a-z_]+)\b.*\b(?:most|highest|biggest)\b", text) or \
        re.search(r"\b(?:biggest|largest|highest|most expensive|costliest)\s+([a-z_]+)", text)
    if match:
        return 5, DIMENSION_WORDS.get(match.group(1))
    return None, None


def _candidates(words: list[str]) -> list[tuple[int, int, str]]:
    """Return (start, end, phrase) for every run of 1-3 words, longest first, joined by '-' and ' '."""
    found = []
    for size in (3, 2, 1):
        for start in range(len(words) - size + 1):
            chunk = words[start:start + size]
            for joiner in ("-", " ", "_") if size > 1 else (" ",):
                found.append((start, start + size, joiner.join(chunk)))
    return found


def parse(question: str, *, vocabulary: dict[str, list[str]], today: date, tz_name: str,
          now: datetime | None = None) -> Query:
    """Parse `question` into a Query. Unparseable questions give intent "help" with `problem` set.

    A word close to a question word ("spnd", "tem") or to a stored value ("serch") makes the
    result the query of the corrected question ("spend by team"), with `corrected` set, unless
    the corrected question cannot be parsed either. `now` (aware, on `today` in `tz_name`)
    sets where a comparison cuts a period that is not over. Without it, today counts as a
    whole day.
    """
    fixes: dict[str, str] = {}
    query = _parse(question, vocabulary, today, tz_name, now, fixes)
    if not fixes:
        return query
    words = normalise(question).split()
    corrected = " ".join(fixes.get(word, word) for word in words)
    fixed = _parse(corrected, vocabulary, today, tz_name, now, {})
    if fixed.intent == "help" and fixed.problem:
        return query
    fixed.corrected = corrected
    fixed.misread = list(dict.fromkeys(word for word in words if word in fixes))
    for dimension, values in fixed.filters.items():
        guessed = [value for value in values if value not in query.filters.get(dimension, [])]
        if guessed:
            fixed.guessed_filters[dimension] = guessed
    return fixed


def _parse(question: str, vocabulary: dict[str, list[str]], today: date, tz_name: str, now: datetime | None,
           fixes: dict[str, str]) -> Query:
    """Parse one question, and record in `fixes` the close match of each misspelled word."""
    text = normalise(question)
    if not text or re.fullmatch(_INTENT_PATTERNS[0][1], text):
        return Query("help")

    try:
        period, rest = find_period(text, today, tz_name)
        compare_to = None
        compare_match = re.search(r"\b(?:vs\.?|versus|compared (?:to|with)|than|against|over)\s+(.*)$", rest)
        if compare_match:
            compare_to, tail = find_period(compare_match.group(1), today, tz_name)
            if compare_to is not None:
                rest = rest[: compare_match.start()] + " " + tail
        if compare_to is None and period is not None:
            compare_to_other, rest_other = find_period(rest, today, tz_name)
            if compare_to_other is not None and re.search(r"\b(?:compare|and|to)\b", rest):
                compare_to, rest = compare_to_other, rest_other
    except PeriodError as exc:
        return Query("help", problem=str(exc))

    masked = _mask_values(rest, vocabulary)
    intent = _detect_intent(masked) if masked.strip() else _detect_intent(_mask_values(text, vocabulary))
    query = Query(intent or "spend", period=period)
    if compare_to is not None:
        if period is not None and (compare_to.first, compare_to.last) == (period.first, period.last):
            # "last 14 days vs previous 14 days": both phrases resolve to the same days, and
            # the second one means the days just before the first.
            compare_to = period.previous()
        query.compare_to = compare_to
        if query.intent in ("spend", "top"):
            query.intent = "compare"

    group_by, rest = _find_group_by(rest)
    query.group_by = group_by
    if query.intent == "top" or re.search(r"\btop\s+\d", rest):
        count, dimension = _find_top(rest)
        if count == 0:
            return Query("help", problem="'top 0' names no rows; use a count of 1 or more")
        query.intent = "top" if query.intent in ("top", "spend") else query.intent
        query.top = count or 5
        if dimension and dimension not in query.group_by:
            query.group_by.insert(0, dimension)
        if not query.group_by:
            query.group_by = ["feature"]
            query.notes.append("No grouping named, so the top list is by feature.")

    words = [word for word in rest.split() if word]
    used = [False] * len(words)
    _match_filters(words, used, vocabulary, query, fixes)
    if query.intent == "tiers":
        # "would batch save us" names the tier to move to, not a filter on stored batch traffic.
        query.filters.pop("service_tier", None)

    if query.intent == "spend" or query.intent == "top":
        kinds = []
        for index, word in enumerate(words):
            kind = KIND_WORDS.get(word)
            if kind and not used[index] and kind not in kinds and not (word in ("tools", "tool") and "tool" in query.group_by):
                kinds.append(kind)
                used[index] = True
        query.kinds = kinds

    leftovers = [word for index, word in enumerate(words) if not used[index] and word not in STOPWORDS
                 and word not in DIMENSION_WORDS and word not in TIME_WORDS and not word.isdigit()]
    for word in leftovers:
        near = _near_value(word, vocabulary)
        if near:
            query.suggestions.append(f"{near[0].replace('_', ' ')} {near[1]}")
            fixes[word] = near[1]
            continue
        match = None if any(character.isdigit() for character in word) else \
            process.extractOne(word, QUESTION_WORDS, scorer=fuzz.ratio, score_cutoff=MISSPELLING_SCORE)
        if match and len(word) >= 3:
            fixes[word] = match[0]
        elif _looks_like_value(word):
            # A name such as "claude-opus-4-5" is meant as a filter: answering without it would
            # state everyone's spend as the answer for that name.
            query.unknown.append(_no_such_value(word, vocabulary))
        else:
            query.notes.append(f"Ignored the word “{word}”, which matches no stored team, feature, model or other value.")

    if intent is None and not query.filters and period is None and not query.suggestions and not fixes:
        return Query("help", problem="it names no period, cost, team or other word I know")
    if intent is None and not query.suggestions:
        query.notes.append("No question word found, so this shows spend.")
    _apply_defaults(query, today, tz_name)
    if query.compare_to is not None and query.intent not in ("compare", "help", "budgets"):
        query.notes.append(f"This answer covers one period, so the second period named, "
                           f"{query.compare_to.describe()}, was not used.")
        query.compare_to = None
    if query.intent == "compare":
        if query.compare_to.first > query.period.first:
            # "compare Q3 vs Q4": the later period is the one reported and the earlier one is its
            # baseline, in whichever order the question names them.
            query.period, query.compare_to = query.compare_to, query.period
        local_now = None if now is None else now.astimezone(ZoneInfo(tz_name)).time()
        aligned = like_for_like(query.period, query.compare_to, today, local_now)
        if aligned is not None:
            query.period, query.compare_to, explanation = aligned
            query.notes.append(explanation)
    return query


def _apply_defaults(query: Query, today: date, tz_name: str) -> None:
    """Fill in the period (and comparison period) a question left out, and say so in a note."""
    if query.intent in ("help", "budgets"):
        return
    if query.intent == "forecast":
        if query.period is None or query.period.label != "this month":
            if query.period is not None:
                query.notes.append("A forecast is for the current month, so the period named was not used.")
            query.period = find_period("this month", today, tz_name)[0]
        return
    if query.period is None:
        default = DEFAULT_COMPARE_PERIOD if query.intent == "compare" else DEFAULT_PERIOD
        query.period = find_period(default, today, tz_name)[0]
        query.notes.append(f"No period named, so this covers the {default}.")
    if query.intent == "compare" and query.compare_to is None:
        query.compare_to = query.period.previous()


def _match_filters(words: list[str], used: list[bool], vocabulary: dict[str, list[str]], query: Query,
                   fixes: dict[str, str]) -> None:
    """Turn dimension words with values ("team search", "search team") and bare stored values into
    filters. A near miss becomes a suggestion, and its words' close matches go into `fixes`."""
    # Each lowercased value maps to every stored spelling of it ("AWS" from FOCUS, "aws" from a tools CSV).
    lowered: dict[str, dict[str, list[str]]] = {}
    for name, values in vocabulary.items():
        for value in values:
            lowered.setdefault(name, {}).setdefault(value.lower(), []).append(value)

    # "DIM VALUE" and "VALUE DIM", exact or near.
    for index, word in enumerate(words):
        dimension = DIMENSION_WORDS.get(word)
        fuzzy_dimension = False
        if dimension is None and len(word) >= 3 and word not in STOPWORDS:
            match = process.extractOne(word, [w for w in DIMENSION_WORDS if len(w) >= 4], scorer=fuzz.ratio,
                                       score_cutoff=80)
            if match and index + 1 < len(words) and not _is_value(words[index + 1], lowered):
                dimension, fuzzy_dimension = DIMENSION_WORDS[match[0]], True
                dimension_word = match[0]
        if dimension is None or dimension in query.group_by and not fuzzy_dimension:
            continue
        for neighbour in (index + 1, index - 1):
            if not (0 <= neighbour < len(words)) or used[neighbour]:
                continue
            value = words[neighbour]
            if value in STOPWORDS or value in DIMENSION_WORDS:
                continue
            exact = lowered.get(dimension, {}).get(value)
            if exact and not fuzzy_dimension:
                query.filters.setdefault(dimension, []).extend(exact)
                used[index] = used[neighbour] = True
                break
            near = process.extractOne(value, vocabulary.get(dimension, []), scorer=fuzz.ratio, score_cutoff=70)
            if near:
                query.suggestions.append(f"{dimension.replace('_', ' ')} {near[0]}")
                fixes[value] = near[0]
                if fuzzy_dimension:
                    fixes[word] = dimension_word
                used[index] = used[neighbour] = True
                break
            if neighbour == index + 1 and not fuzzy_dimension:
                known = ", ".join(vocabulary.get(dimension, [])[:8]) or "none stored yet"
                query.unknown.append(f"No {dimension.replace('_', ' ')} “{value}” is stored (known: {known}).")
                used[index] = used[neighbour] = True
                break

    # Bare stored values, longest phrase first.
    for start, end, phrase in _candidates(words):
        if any(used[start:end]):
            continue
        hits = [(name, values[phrase]) for name, values in lowered.items() if phrase in values]
        if not hits:
            continue
        name, spellings = hits[0]
        if len(hits) > 1:
            others = ", ".join(other for other, _ in hits[1:])
            query.notes.append(f"“{phrase}” is a stored {name} and also a {others}; read it as the {name}.")
        if name in query.group_by:
            continue
        query.filters.setdefault(name, []).extend(spellings)
        for position in range(start, end):
            used[position] = True


def _is_value(word: str, lowered: dict[str, dict[str, list[str]]]) -> bool:
    return any(word in values for values in lowered.values())


def _looks_like_value(word: str) -> bool:
    """Return True for a word shaped like a stored name (a digit, hyphen, underscore, dot or colon in it)."""
    return any(character.isdigit() or character in "-_.:" for character in word)


def _no_such_value(word: str, vocabulary: dict[str, list[str]]) -> str:
    """Say that no stored value has this name, with the closest stored values of any dimension."""
    values = sorted({value for values in vocabulary.values() for value in values})
    closest = [value for value, _score, _index in process.extract(word, values, scorer=fuzz.ratio, limit=3, score_cutoff=50)]
    hint = f" (closest stored: {', '.join(closest)})" if closest else ""
    return f"No team, feature, model or other value “{word}” is stored{hint}."


def _near_value(word: str, vocabulary: dict[str, list[str]]) -> tuple[str, str] | None:
    """Return (dimension, value) of the stored value closest to `word`, if it is close enough."""
    if len(word) < 4:
        return None
    best = None
    for name, values in vocabulary.items():
        match = process.extractOne(word, values, scorer=fuzz.ratio, score_cutoff=80)
        if match and (best is None or match[1] > best[2]):
            best = (name, match[0], match[1])
    return best[:2] if best else None
