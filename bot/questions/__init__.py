"""Cost questions in plain English: `answer_question` parses, queries and renders one answer."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from bot import messages
from bot.answers import Presentation, render
from bot.answers.format import escape, period_without_usage_hint
from bot.questions import answering
from bot.questions.parser import Query, parse
from bot.queries import rollups
from bot.queries.vocabulary import has_usage_between, latest_usage_end, stored_values

logger = logging.getLogger(__name__)

__all__ = ["Answer", "answer_question", "parse_question"]


@dataclass
class Answer:
    """A rendered answer: plain text, Block Kit blocks, an optional PNG chart, the structured
    result and follow-up questions."""

    text: str
    blocks: list[dict]
    chart_png: bytes | None = None
    data: dict = field(default_factory=dict)
    follow_ups: list[str] = field(default_factory=list)


def parse_question(session: Session, question: str, *, settings, clock) -> Query:
    """Parse `question` against the values stored in the database, with "today" from `clock`."""
    now = clock.now()
    today = now.astimezone(settings.tz).date()
    return parse(question, vocabulary=stored_values(session), today=today, tz_name=settings.timezone, now=now)


def answer_question(session: Session, question: str, *, settings, clock, chart: bool = True,
                    at_hint: bool = False) -> Answer:
    """Answer one cost question. Questions that cannot be parsed get help with examples that
    fit the stored data; near misses get a did-you-mean and no numbers.

    An answer for a period without any usage states where the stored usage ends. With
    `at_hint` (the command line, which has `--at`) it also says how to ask as of that moment.
    """
    with rollups.pinned(session):
        return _answer(session, question, settings=settings, clock=clock, chart=chart, at_hint=at_hint)


def _answer(session: Session, question: str, *, settings, clock, chart: bool, at_hint: bool) -> Answer:
    began = time.perf_counter()
    vocabulary = stored_values(session)
    now = clock.now()
    today = now.astimezone(settings.tz).date()
    query = parse(question, vocabulary=vocabulary, today=today, tz_name=settings.timezone, now=now)
    freshness = latest_usage_end(session, until=now)
    freshness_text = messages.DATA_UP_TO.format(moment=freshness.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")) \
        if freshness else messages.NO_USAGE_IMPORTED

    data: dict[str, Any] = {
        "question": question,
        "query": query.as_dict(),
        "timezone": settings.timezone,
        "data_up_to": freshness.isoformat() if freshness else None,
        "notes": list(query.notes),
    }
    if query.period is not None:
        data["period"] = query.period.as_dict(settings.tz)
    if query.compare_to is not None:
        data["compare_to"] = query.compare_to.as_dict(settings.tz)

    points = None
    if query.corrected or query.suggestions or query.unknown:
        presentation, follow_ups = _did_you_mean(query)
    elif query.intent == "help":
        presentation, follow_ups = _help(query, vocabulary, today, freshness is None)
    elif query.intent == "budgets":
        presentation, follow_ups = None, _follow_ups("budgets", query, question)
        text, blocks = _budgets(session, settings, clock)
        data["result"] = {"text": text}
        logger.info("question answered intent=budgets ms=%.0f", (time.perf_counter() - began) * 1000)
        return Answer(text, blocks, None, data, follow_ups)
    else:
        presentation, result, points = _run(session, query, settings, today)
        data["result"] = answering.jsonable(result)
        follow_ups = _follow_ups(query.intent, query, question)
        if freshness is not None and query.period is not None:
            # Right under the headline, before any table, because it explains the empty answer.
            hint = _period_without_usage(session, query, settings, freshness, at_hint)
            presentation.headline = "\n".join([presentation.headline, *hint])

    if query.period is not None and query.intent != "help":
        presentation.scope.insert(0, messages.STATED_SCOPE.format(
            period=query.period.describe(), filters=answering.scope_text(query), timezone=settings.timezone,
            freshness=freshness_text))
        if query.compare_to is not None:
            presentation.scope.insert(1, f"compared with {query.compare_to.describe()}")
    presentation.scope.extend(query.notes)
    presentation.follow_ups = follow_ups
    text, blocks = render(presentation)

    chart_png = None
    if chart and points and len(points) > 1:
        from bot.answers.chart import bar_chart

        chart_png = bar_chart(points, title=presentation.headline.replace("*", "")[:120])
    result = data.get("result")
    rows = result.get("rows") if isinstance(result, dict) else None
    elapsed_ms = (time.perf_counter() - began) * 1000
    logger.info("question answered intent=%s rows=%d ms=%.0f", query.intent, len(rows or []), elapsed_ms)
    return Answer(text, blocks, chart_png, data, follow_ups)


def _run(session: Session, query: Query, settings, today: date):
    tz = settings.tz
    period_text = answering.period_phrase(query.period.label)
    if query.intent == "forecast":
        return answering.answer_forecast(session, query, tz=tz, today=today)
    if query.intent == "tiers":
        return answering.answer_tiers(session, query, tz=tz, period_text=period_text, mapping_file=settings.mapping_file)
    handler = {
        "spend": answering.answer_spend,
        "top": answering.answer_top,
        "compare": answering.answer_compare,
        "cost_per_success": answering.answer_cost_per_success,
        "retries": answering.answer_retries,
        "gpu": answering.answer_gpu,
        "tokens": answering.answer_tokens,
    }[query.intent]
    return handler(session, query, tz=tz, period_text=period_text)


def _period_without_usage(session: Session, query: Query, settings, freshness: datetime, at_hint: bool) -> list[str]:
    """Explain an answer for a period without usage of any kind: where the stored usage ends,
    and on the command line how to ask as of then."""
    start, end = query.period.bounds(settings.tz)
    if has_usage_between(session, start, end):
        return []
    return period_without_usage_hint(freshness, settings.tz, at_action="ask" if at_hint else None)


def _follow_ups(intent: str, query: Query, question: str) -> list[str]:
    """Suggest two next questions for the same period, leaving out the one just asked."""
    period = "last month"
    if query.period is not None and not query.period.asked.startswith("since"):
        period = answering.period_phrase(query.period.asked)
    asked = " ".join(question.lower().split()).rstrip("?")
    suggestions = [template.format(period=period) for template in messages.FOLLOW_UPS.get(intent, ())]
    return [suggestion for suggestion in suggestions if suggestion.lower() != asked][:2]


def _did_you_mean(query: Query) -> tuple[Presentation, list[str]]:
    lines = list(query.unknown)
    if query.corrected:
        quoted = [f"“{escape(word)}”" for word in query.misread]
        words = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"
        headline = messages.DID_YOU_MEAN_QUESTION.format(words=words, question=f"*{escape(query.corrected)}*")
        return Presentation(headline, None, [escape(line) for line in lines]), [query.corrected, "help"]
    if query.suggestions:
        headline = messages.DID_YOU_MEAN.format(suggestions=" and ".join(f"*{escape(s)}*" for s in query.suggestions))
        period = f" {query.period.label}" if query.period is not None else ""
        follow_ups = [f"spend for {suggestion}{period}" for suggestion in query.suggestions[:2]]
    else:
        headline, lines = lines[0], lines[1:]
        follow_ups = ["spend by team last month", "help"]
    return Presentation(escape(headline) if not query.suggestions else headline, None, [escape(line) for line in lines]), follow_ups


def _help(query: Query, vocabulary: dict[str, list[str]], today: date, empty: bool) -> tuple[Presentation, list[str]]:
    lines = []
    if query.problem:
        lines.append(escape(messages.HELP_UNPARSED.format(problem=query.problem)))
    if empty:
        lines.append(messages.HELP_NO_DATA)
    fill = {
        "team": (vocabulary.get("team") or ["search"])[0],
        "feature": (vocabulary.get("feature") or ["checkout-assistant"])[0],
        "provider": (vocabulary.get("provider") or ["openai"])[0],
        "month": today.replace(day=1).strftime("%B"),
    }
    examples = [template.format(**fill) for template in messages.HELP_EXAMPLES]
    headline = "\n".join([*lines, messages.HELP_INTRO])
    body = "\n".join(f"• {escape(example)}" for example in examples)
    return Presentation(headline, None, [body]), examples[:2]


def _budgets(session: Session, settings, clock) -> tuple[str, list[dict]]:
    try:
        from bot.budgets.report import budgets_message
    except ImportError:
        text = messages.BUDGETS_UNAVAILABLE
        return text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    return budgets_message(session, settings=settings, clock=clock)
