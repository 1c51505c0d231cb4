"""One evaluation: metric snapshots from the database, facts into durable-rules, drafts out.

`run_rules`, `rules backtest`, `rules explain` and `rules test` all go through here, so
what a dry run shows is what a real run posts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from bot.db import is_missing_table
from bot.questions.periods import days_before
from bot.rules.compile import CompiledRules, QuerySpec
from bot.rules.engine import RuleEngine
from bot.rules.loader import Rule
from bot.rules.metrics import METRICS, MetricContext, MetricQuery, Snapshot
from bot.rules.template import render

logger = logging.getLogger(__name__)


@dataclass
class Draft:
    """A finding before it is stored: what a rule matched for one scope, rendered."""

    rule: Rule
    scope: dict[str, str | None]
    scope_key: str
    window_start: datetime
    window_end: datetime
    values: dict[str, Any]
    recommendation: str
    monthly_saving_usd: Decimal | None
    guidance_urls: list[str]


@dataclass
class Evaluation:
    at: datetime
    drafts: list[Draft] = field(default_factory=list)
    snapshots: dict[str, list[Snapshot]] = field(default_factory=dict)  # query key -> snapshots
    errors: list[str] = field(default_factory=list)  # "rule ID: what failed", one per failing rule


def metric_query(spec: QuerySpec, at: datetime, tz: tzinfo) -> MetricQuery:
    """Return the windows of a query evaluated at `at`: the `window_days` whole days in `tz`
    before the day of `at` (the same days as "last N days" in a question), and the
    `baseline_days` whole days just before the window."""
    start, end = days_before(at, spec.window_days, tz)
    baseline_start, baseline_end = days_before(start, spec.baseline_days, tz) if spec.baseline_days else (None, None)
    return MetricQuery(
        metric=spec.metric,
        start=start,
        end=end,
        group_by=spec.group_by,
        baseline_start=baseline_start,
        baseline_end=baseline_end,
    )


def fact_values(values: dict[str, Any]) -> dict[str, Any]:
    """Return the values as durable-rules can match them: floats for Decimal, missing for None."""
    result = {}
    for name, value in values.items():
        if value is None:
            continue
        result[name] = float(value) if isinstance(value, Decimal) else value
    return result


def json_values(values: dict[str, Any]) -> dict[str, Any]:
    """Return the values for the finding's stored facts: money as exact decimal strings."""
    return {name: str(value) if isinstance(value, Decimal) else value for name, value in values.items()}


def evaluate(
    session: Session,
    compiled: CompiledRules,
    engine: RuleEngine,
    *,
    at: datetime,
    tz: tzinfo,
    mapping,
    rule_ids: set[str] | None = None,
) -> Evaluation:
    """Compute the snapshots of every query the active rules need, match them in durable-rules
    and render a draft per match. Windows are whole days of the workspace time zone `tz`.
    A query or rule that raises is logged and skipped, unless the error is a missing table,
    which is raised."""
    result = Evaluation(at=at)
    rules = [rule for rule in compiled.active_rules if rule_ids is None or rule.id in rule_ids]
    needed = {compiled.rule_query[rule.id] for rule in rules}
    failed_queries: dict[str, str] = {}
    for key in sorted(needed):
        spec = compiled.queries[key]
        context = MetricContext(mapping=mapping, model_classes=compiled.loaded.model_classes, params=dict(spec.params))
        try:
            with session.begin_nested():
                result.snapshots[key] = METRICS[spec.metric].compute(session, metric_query(spec, at, tz), context)
        except Exception as exc:  # noqa: BLE001 (one failing metric must not stop the other rules)
            if is_missing_table(exc):
                raise  # an unmigrated database fails every rule, so the CLI prints the upgrade hint once
            failed_queries[key] = f"metric {spec.metric} failed: {type(exc).__name__}: {exc}"
            logger.exception("rules metric failed query=%s metric=%s", key, spec.metric)

    facts, by_id = [], {}
    for key, snapshots in result.snapshots.items():
        for snapshot in snapshots:
            fact_id = len(facts) + 1
            facts.append({"id": fact_id, "q": key, **fact_values(snapshot.values)})
            by_id[fact_id] = snapshot
    matches = engine.evaluate(facts, compiled)
    logger.info("rules evaluated at=%s queries=%d facts=%d rules=%d", at.isoformat(), len(result.snapshots), len(facts), len(rules))

    for rule in rules:
        key = compiled.rule_query[rule.id]
        if key in failed_queries:
            result.errors.append(f"rule {rule.id}: {failed_queries[key]}")
            logger.error("rules skipped rule=%s: %s", rule.id, failed_queries[key])
            continue
        try:
            for fact_id in sorted(matches.get(rule.id, [])):
                result.drafts.append(draft(rule, by_id[fact_id], compiled, at, tz))
        except Exception as exc:  # noqa: BLE001 (a rule that raises is skipped while the others run)
            result.errors.append(f"rule {rule.id}: {type(exc).__name__}: {exc}")
            logger.exception("rules skipped rule=%s", rule.id)
            result.drafts = [item for item in result.drafts if item.rule.id != rule.id]
    return result


def draft(rule: Rule, snapshot: Snapshot, compiled: CompiledRules, at: datetime, tz: tzinfo) -> Draft:
    """Render one match of a rule into a draft finding."""
    window_start, window_end = days_before(at, rule.window_days, tz)
    saving = snapshot.values.get(rule.saving) if rule.saving else None
    values = {
        **rule.params,
        **snapshot.scope,
        **snapshot.values,
        "scope": snapshot.scope_key,
        "window_days": rule.window_days,
        "baseline_days": rule.baseline_days,
        "rule_id": rule.id,
        "monthly_saving_usd": saving,
    }
    catalog = compiled.loaded.catalog
    return Draft(
        rule=rule,
        scope=snapshot.scope,
        scope_key=snapshot.scope_key,
        window_start=window_start,
        window_end=window_end,
        values=snapshot.values,
        recommendation=" ".join(render(rule.recommendation, values).split()),
        monthly_saving_usd=saving if saving is None or saving > 0 else None,
        guidance_urls=[catalog.page(slug).url for slug in rule.guidance],
    )
