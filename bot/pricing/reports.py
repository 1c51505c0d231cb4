"""Price reports: models stored without a price, and reported vs priced cost per provider and day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Session

from bot.models.usage import COST_PRICED, COST_UNPRICED, LlmUsage, ReportedCost, ToolUsage
from bot.queries.sources import LITELLM_SOURCE
from bot.types import Money


@dataclass(frozen=True)
class MissingPrice:
    """A model whose usage rows are stored without a cost."""

    provider: str
    model: str | None
    rows: int
    requests: int
    input_tokens: int
    output_tokens: int


def missing_prices(session: Session) -> list[MissingPrice]:
    """List the models of unpriced LLM usage rows, most tokens first."""
    table = LlmUsage.__table__
    query = (
        sa.select(
            table.c.provider,
            table.c.model,
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(table.c.requests), 0),
            sa.func.coalesce(sa.func.sum(table.c.input_tokens), 0),
            sa.func.coalesce(sa.func.sum(table.c.output_tokens), 0),
        )
        .where(table.c.cost_origin == COST_UNPRICED)
        .group_by(table.c.provider, table.c.model)
    )
    found = [MissingPrice(provider, model, int(rows), int(requests), int(inputs), int(outputs))
             for provider, model, rows, requests, inputs, outputs in session.exec(query)]
    return sorted(found, key=lambda item: (-(item.input_tokens + item.output_tokens), item.provider, item.model or ""))


def unpriced_tool_rows(session: Session) -> int:
    table = ToolUsage.__table__
    return int(session.exec(sa.select(sa.func.count()).where(table.c.cost_origin == COST_UNPRICED)).one()[0])


@dataclass(frozen=True)
class ReconcileRow:
    """One provider and UTC day: what the provider reported and what costbot priced."""

    day: dt.date
    provider: str
    reported_usd: Decimal | None  # None: the provider reported nothing for the day
    priced_usd: Decimal
    unpriced_rows: int

    @property
    def gap_usd(self) -> Decimal | None:
        return None if self.reported_usd is None else self.reported_usd - self.priced_usd

    @property
    def gap_pct(self) -> Decimal | None:
        if self.reported_usd is None or self.reported_usd == 0:
            return None
        return (self.reported_usd - self.priced_usd) / self.reported_usd * 100


def _utc_day(session: Session, column):
    """Return a SQL expression for the UTC date of a timestamp column, as YYYY-MM-DD text."""
    if session.get_bind().dialect.name == "postgresql":
        return sa.func.to_char(sa.func.timezone("UTC", column), "YYYY-MM-DD")
    return sa.func.substr(column, 1, 10)  # SQLite stores the UTC wall time as ISO text


def _not_litellm_duplicate(session: Session):
    """Return the condition "not a LiteLLM row of a provider and UTC day with rows marked via_proxy"."""
    table = LlmUsage.__table__
    marked = LlmUsage.__table__.alias("marked")
    marked_days = sa.select(marked.c.provider, _utc_day(session, marked.c.start_time)).where(marked.c.via_proxy == sa.true())
    key = sa.tuple_(table.c.provider, _utc_day(session, table.c.start_time))
    return sa.or_(table.c.source != LITELLM_SOURCE, key.not_in(marked_days.distinct()))


def reconcile(session: Session, *, start: dt.date | None = None, end: dt.date | None = None,
              providers: list[str] | None = None) -> list[ReconcileRow]:
    """Compare reported costs with priced usage (LLM and tool rows) per provider and UTC day.

    `start` is inclusive and `end` exclusive. Only providers that report costs (OpenAI Costs API,
    Anthropic cost report) are listed, so a missing or wrong price shows up as a gap.
    Where the provider's usage report has rows marked `via_proxy`, the LiteLLM rows of the
    same provider and day repeat those calls. The provider's own rows are the ones its cost
    report bills, so the LiteLLM rows are left out here (spend answers keep them instead).
    """
    reported: dict[tuple[str, str], Decimal] = {}
    priced: dict[tuple[str, str], Decimal] = {}
    unpriced: dict[tuple[str, str], int] = {}

    def bounded(query, table):
        if start is not None:
            query = query.where(table.c.start_time >= dt.datetime.combine(start, dt.time(), tzinfo=dt.timezone.utc))
        if end is not None:
            query = query.where(table.c.start_time < dt.datetime.combine(end, dt.time(), tzinfo=dt.timezone.utc))
        if providers:
            query = query.where(table.c.provider.in_(providers))
        return query

    table = ReportedCost.__table__
    day = _utc_day(session, table.c.start_time)
    query = bounded(sa.select(table.c.provider, day, sa.func.sum(table.c.amount_usd)).group_by(table.c.provider, day), table)
    for provider, day_text, amount in session.exec(query):
        reported[(provider, day_text)] = amount or Decimal(0)

    for model in (LlmUsage, ToolUsage):
        table = model.__table__
        day = _utc_day(session, table.c.start_time)
        query = bounded(
            sa.select(
                table.c.provider,
                day,
                sa.func.sum(sa.type_coerce(sa.case((table.c.cost_origin == COST_PRICED, table.c.cost_usd)), Money())),
                sa.func.sum(sa.case((table.c.cost_origin == COST_UNPRICED, 1), else_=0)),
            ).group_by(table.c.provider, day),
            table,
        )
        if model is LlmUsage:
            query = query.where(_not_litellm_duplicate(session))
        for provider, day_text, amount, missing in session.exec(query):
            key = (provider, day_text)
            if amount is not None:
                priced[key] = priced.get(key, Decimal(0)) + amount
            unpriced[key] = unpriced.get(key, 0) + int(missing or 0)

    reporting_providers = {provider for provider, _ in reported}
    keys = set(reported) | {key for key in set(priced) | set(unpriced) if key[0] in reporting_providers}
    return [
        ReconcileRow(
            day=dt.date.fromisoformat(day_text),
            provider=provider,
            reported_usd=reported.get((provider, day_text)),
            priced_usd=priced.get((provider, day_text), Decimal(0)),
            unpriced_rows=unpriced.get((provider, day_text), 0),
        )
        for provider, day_text in sorted(keys, key=lambda key: (key[1], key[0]))
    ]

