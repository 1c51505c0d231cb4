"""Metrics per successful workflow run: cost per success and the share of human review."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import Session

from bot.models import DIMENSIONS
from bot.rules.metrics import (
    COUNT,
    FLAG,
    MONEY,
    NUMBER,
    RATIO,
    TEXT,
    Metric,
    MetricContext,
    MetricField,
    MetricQuery,
    Snapshot,
    monthly,
    ratio,
    register,
)
from bot.rules.metrics.sql import ZERO, known_scope, llm_counts, llm_usage_split, outcome_counts, spend_groups, success_rate

# Cost of a workflow run: model calls, tools and human review. Rented GPUs are left out
# because they are shared between workflows and rarely allocated to one.
RUN_COST_KINDS = ("llm", "tools", "review")


def _top_models(session: Session, start, end, group_by) -> dict[tuple, str | None]:
    """Return the model with the most usage-row cost per group."""
    split = llm_usage_split(session, start=start, end=end, group_by=group_by, column="model")
    return {scope: max(models, key=lambda model: models[model][0]) for scope, models in split.items() if models}


def _runs(counts: dict[str, int]) -> int:
    return counts["succeeded"] + counts["failed"] + counts["escalated"]


def _escalation_rate(counts: dict[str, int] | None) -> float | None:
    if not counts:
        return None
    runs = counts["succeeded"] + counts["failed"] + counts["escalated"]
    return counts["escalated"] / runs if runs else None


def _compute_cost_per_success(session: Session, query: MetricQuery, context: MetricContext) -> list[Snapshot]:
    group_by = query.group_by
    cost = spend_groups(session, start=query.start, end=query.end, group_by=group_by, kinds=RUN_COST_KINDS)
    base_cost = spend_groups(session, start=query.baseline_start, end=query.baseline_end, group_by=group_by, kinds=RUN_COST_KINDS)
    outcomes = outcome_counts(session, start=query.start, end=query.end, group_by=group_by)
    base_outcomes = outcome_counts(session, start=query.baseline_start, end=query.baseline_end, group_by=group_by)
    counts = llm_counts(session, start=query.start, end=query.end, group_by=group_by)
    base_counts = llm_counts(session, start=query.baseline_start, end=query.baseline_end, group_by=group_by)
    top = _top_models(session, query.start, query.end, group_by)
    base_top = _top_models(session, query.baseline_start, query.baseline_end, group_by)

    snapshots = []
    for key, counted in outcomes.items():
        if not known_scope(key) or not counted["succeeded"]:
            continue
        total = cost[key].total if key in cost else ZERO
        per_success = (total / counted["succeeded"]).quantize(Decimal("0.0001"))
        base = base_outcomes.get(key)
        base_total = base_cost[key].total if key in base_cost else ZERO
        base_per_success = None
        if base and base["succeeded"]:
            base_per_success = (base_total / base["succeeded"]).quantize(Decimal("0.0001"))
        saving = None
        if base_per_success is not None and per_success > base_per_success:
            saving = monthly((per_success - base_per_success) * counted["succeeded"], query.window_days)
        llm, base_llm = counts.get(key), base_counts.get(key)
        model, base_model = top.get(key), base_top.get(key)
        snapshots.append(
            Snapshot(
                scope=dict(zip(group_by, key)),
                values={
                    "cost_usd": total,
                    "successes": counted["succeeded"],
                    "cost_per_success_usd": per_success,
                    "baseline_cost_per_success_usd": base_per_success,
                    "change_ratio": ratio(per_success, base_per_success) if base_per_success else None,
                    "success_rate": success_rate(counted),
                    "baseline_success_rate": success_rate(base),
                    "escalation_rate": _escalation_rate(counted),
                    "baseline_escalation_rate": _escalation_rate(base),
                    "requests_per_run": ratio(llm["requests"], _runs(counted)) if llm and llm["requests"] else None,
                    "baseline_requests_per_run": (
                        ratio(base_llm["requests"], _runs(base)) if base_llm and base_llm["requests"] and base else None
                    ),
                    "retry_rate": ratio(llm["retries"], llm["requests"]) if llm else None,
                    "baseline_retry_rate": ratio(base_llm["retries"], base_llm["requests"]) if base_llm else None,
                    "top_model": model,
                    "baseline_top_model": base_model,
                    "model_changed": (model != base_model) if model and base_model else None,
                    "saving_monthly_usd": saving,
                },
            )
        )
    return snapshots


register(
    Metric(
        name="cost_per_success",
        description=(
            "Model, tool and review cost per successful workflow run, against the baseline window, "
            "with the most-used model of each window."
        ),
        fields=(
            MetricField("cost_usd", MONEY, "LLM, tool and review cost in the window."),
            MetricField("successes", COUNT, "Succeeded runs in the window."),
            MetricField("cost_per_success_usd", MONEY, "cost_usd / successes."),
            MetricField("baseline_cost_per_success_usd", MONEY, "Cost per success in the baseline window."),
            MetricField("change_ratio", RATIO, "cost_per_success_usd / baseline_cost_per_success_usd (1.4 means +40%)."),
            MetricField("success_rate", RATIO, "Succeeded runs / all runs in the window."),
            MetricField("baseline_success_rate", RATIO, "Succeeded runs / all runs in the baseline window."),
            MetricField("escalation_rate", RATIO, "Escalated runs / all runs in the window."),
            MetricField("baseline_escalation_rate", RATIO, "Escalated runs / all runs in the baseline window."),
            MetricField("requests_per_run", NUMBER, "LLM requests / runs in the window; missing when the source reports no request counts."),
            MetricField("baseline_requests_per_run", NUMBER, "LLM requests / runs in the baseline window; missing without request counts."),
            MetricField("retry_rate", RATIO, "LLM retries / requests in the window."),
            MetricField("baseline_retry_rate", RATIO, "LLM retries / requests in the baseline window."),
            MetricField("top_model", TEXT, "The model with the most cost in the LLM usage rows of the window."),
            MetricField("baseline_top_model", TEXT, "The model with the most cost in the LLM usage rows of the baseline window."),
            MetricField("model_changed", FLAG, "True when top_model differs from baseline_top_model."),
            MetricField("saving_monthly_usd", MONEY, "Estimated monthly saving of returning to the baseline cost per success."),
        ),
        group_by=tuple(DIMENSIONS),
        default_group_by=("feature",),
        needs_baseline=True,
        spend_field="cost_usd",
        saving_fields=("saving_monthly_usd",),
        saving_method="(cost_per_success_usd - baseline_cost_per_success_usd) x successes in the window, scaled to 30 days.",
        example="""\
- id: cost-per-success-regression
  description: A model change that made each success dearer
  metric: cost_per_success
  window_days: 14
  baseline_days: 28
  when:
    all:
      - model_changed: {eq: true}
      - change_ratio: {gte: 1.2}
  min_spend_usd: 100
  severity: warning
  recommendation: "{feature} moved from {baseline_top_model} to {top_model}; cost per success rose {change_ratio:.2f}x."
  guidance: [cost-per-success, model-routing]
  cooldown_days: 7
""",
        compute=_compute_cost_per_success,
    )
)


def _compute_review_share(session: Session, query: MetricQuery, context: MetricContext) -> list[Snapshot]:
    group_by = query.group_by
    cost = spend_groups(session, start=query.start, end=query.end, group_by=group_by, kinds=RUN_COST_KINDS)
    outcomes = outcome_counts(session, start=query.start, end=query.end, group_by=group_by)
    snapshots = []
    for key, row in cost.items():
        if not known_scope(key):
            continue
        review = row.by_kind.get("review", ZERO)
        counted = outcomes.get(key)
        successes = counted["succeeded"] if counted else 0
        snapshots.append(
            Snapshot(
                scope=dict(zip(group_by, key)),
                values={
                    "cost_usd": row.total,
                    "review_cost_usd": review,
                    "review_share": ratio(review, row.total),
                    "review_hours": round(counted["review_seconds"] / 3600, 2) if counted else 0.0,
                    "successes": successes,
                    "review_cost_per_success_usd": (review / successes).quantize(Decimal("0.0001")) if successes else None,
                },
            )
        )
    return snapshots


register(
    Metric(
        name="review_share",
        description="Human review cost as a share of the workflow's model, tool and review cost.",
        fields=(
            MetricField("cost_usd", MONEY, "LLM, tool and review cost in the window."),
            MetricField("review_cost_usd", MONEY, "Review cost in the window (outcomes)."),
            MetricField("review_share", RATIO, "review_cost_usd / cost_usd."),
            MetricField("review_hours", NUMBER, "Hours of human review in the window."),
            MetricField("successes", COUNT, "Succeeded runs in the window."),
            MetricField("review_cost_per_success_usd", MONEY, "review_cost_usd / successes."),
        ),
        group_by=tuple(DIMENSIONS),
        default_group_by=("feature",),
        needs_baseline=False,
        spend_field="cost_usd",
        saving_fields=(),
        saving_method="No saving estimate: what review can be cut depends on the cost of a wrong answer.",
        example="""\
- id: review-heavy-workflow
  description: Human review dominates the cost of a workflow
  metric: review_share
  window_days: 30
  when:
    review_share: {gte: 0.6}
  min_spend_usd: 500
  severity: info
  recommendation: "Review is {review_share:pct} of {feature}'s cost ({review_hours:.0f} hours in 30 days)."
  guidance: [cost-per-success]
  cooldown_days: 30
""",
        compute=_compute_review_share,
    )
)
