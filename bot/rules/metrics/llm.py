"""Metrics over LLM spend and usage: model mix, retry rate, service tier mix, spend change
and unallocated spend."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlmodel import Session

from bot.models import DIMENSIONS
from bot.rules.metrics import (
    COUNT,
    FLAG,
    MONEY,
    RATIO,
    TEXT,
    Metric,
    MetricContext,
    MetricField,
    MetricParam,
    MetricQuery,
    Snapshot,
    monthly,
    ratio,
    register,
)
from bot.rules.metrics.sql import ZERO, known_scope, llm_counts, llm_usage_split, outcome_counts, spend_groups, success_rate

LLM = ("llm",)


def _class_split(split: dict, classes) -> dict[str, tuple[Decimal, int]]:
    """Sum (cost, requests) of one group's usage rows per model class."""
    result: dict[str, tuple[Decimal, int]] = {}
    for model, (cost, requests) in split.items():
        model_class = classes.classify(model)
        previous_cost, previous_requests = result.get(model_class, (ZERO, 0))
        result[model_class] = (previous_cost + cost, previous_requests + requests)
    return result


def _share(part: tuple[Decimal, int] | None, whole: Decimal) -> float | None:
    return ratio(part[0] if part else ZERO, whole)


def _compute_model_mix(session: Session, query: MetricQuery, context: MetricContext) -> list[Snapshot]:
    group_by = query.group_by
    classes = context.model_classes
    spend = spend_groups(session, start=query.start, end=query.end, group_by=group_by, kinds=LLM)
    base_spend = spend_groups(session, start=query.baseline_start, end=query.baseline_end, group_by=group_by, kinds=LLM)
    window = llm_usage_split(session, start=query.start, end=query.end, group_by=group_by, column="model")
    baseline = llm_usage_split(session, start=query.baseline_start, end=query.baseline_end, group_by=group_by, column="model")
    outcomes = outcome_counts(session, start=query.start, end=query.end, group_by=group_by)
    base_outcomes = outcome_counts(session, start=query.baseline_start, end=query.baseline_end, group_by=group_by)

    snapshots = []
    for key, split in window.items():
        if not known_scope(key):
            continue
        by_class = _class_split(split, classes)
        usage_cost = sum((cost for cost, _ in by_class.values()), ZERO)
        base_by_class = _class_split(baseline.get(key, {}), classes)
        base_usage_cost = sum((cost for cost, _ in base_by_class.values()), ZERO)
        total = spend[key].total if key in spend else usage_cost
        premium_share = _share(by_class.get("premium"), usage_cost)
        premium_models = {model: cost for model, (cost, _) in split.items() if classes.classify(model) == "premium" and cost}
        top_premium = max(premium_models, key=premium_models.get) if premium_models else None

        premium_cost, premium_requests = by_class.get("premium", (ZERO, 0))
        cheaper = [base_by_class.get(name, (ZERO, 0)) for name in ("mid", "economy")]
        cheaper_cost, cheaper_requests = sum((cost for cost, _ in cheaper), ZERO), sum(requests for _, requests in cheaper)
        saving = None
        if premium_requests and cheaper_requests:
            premium_per_request = premium_cost / premium_requests
            cheaper_per_request = cheaper_cost / cheaper_requests
            if premium_per_request > cheaper_per_request:
                saving = monthly((premium_per_request - cheaper_per_request) * premium_requests, query.window_days)
        snapshots.append(
            Snapshot(
                scope=dict(zip(group_by, key)),
                values={
                    "spend_usd": total,
                    "premium_spend_usd": (total * Decimal(str(premium_share))).quantize(Decimal("0.01")) if premium_share is not None else None,
                    "premium_share": premium_share,
                    "mid_share": _share(by_class.get("mid"), usage_cost),
                    "economy_share": _share(by_class.get("economy"), usage_cost),
                    "baseline_spend_usd": base_spend[key].total if key in base_spend else base_usage_cost,
                    "baseline_premium_share": _share(base_by_class.get("premium"), base_usage_cost),
                    "success_rate": success_rate(outcomes.get(key)),
                    "baseline_success_rate": success_rate(base_outcomes.get(key)),
                    "premium_requests": premium_requests,
                    "top_premium_model": top_premium,
                    "saving_monthly_usd": saving,
                },
            )
        )
    return snapshots


register(
    Metric(
        name="model_mix",
        description=(
            "Share of LLM spend on premium, mid and economy models (classes from model_classes.yml), "
            "with the success rate of the scope's workflows in the window and the baseline."
        ),
        fields=(
            MetricField("spend_usd", MONEY, "LLM spend in the window."),
            MetricField("premium_spend_usd", MONEY, "spend_usd x premium_share."),
            MetricField("premium_share", RATIO, "Share of the usage rows' cost on premium models (provider cost reports carry no model)."),
            MetricField("mid_share", RATIO, "Share of spend on mid models."),
            MetricField("economy_share", RATIO, "Share of spend on economy models."),
            MetricField("baseline_spend_usd", MONEY, "LLM spend in the baseline window."),
            MetricField("baseline_premium_share", RATIO, "Premium share in the baseline window."),
            MetricField("success_rate", RATIO, "Succeeded runs / all runs in the window (outcomes)."),
            MetricField("baseline_success_rate", RATIO, "Succeeded runs / all runs in the baseline window."),
            MetricField("premium_requests", COUNT, "Requests to premium models in the window."),
            MetricField("top_premium_model", TEXT, "The premium model with the most spend."),
            MetricField("saving_monthly_usd", MONEY, "Estimated monthly saving of serving the premium requests at the baseline's mid/economy cost per request."),
        ),
        group_by=tuple(DIMENSIONS),
        default_group_by=("feature",),
        needs_baseline=True,
        spend_field="spend_usd",
        saving_fields=("saving_monthly_usd",),
        saving_method=(
            "(premium cost per request in the window - mid and economy cost per request in the baseline, "
            "both from usage rows) x premium requests in the window, scaled to 30 days; none when the "
            "baseline has no mid or economy requests or the source reports no request counts."
        ),
        example="""\
- id: premium-model-overuse
  description: Premium models on a workflow that succeeded on a cheaper lane
  metric: model_mix
  window_days: 30
  baseline_days: 30
  group_by: [feature]
  when:
    all:
      - premium_share: {gte: 0.6}
      - baseline_success_rate: {gte: 0.9}
  min_spend_usd: 500
  severity: warning
  recommendation: "{feature} spent {premium_spend_usd:usd} on premium models, {premium_share:pct} of its spend."
  guidance: [model-routing]
  cooldown_days: 7
""",
        compute=_compute_model_mix,
    )
)


def _compute_retry_rate(session: Session, query: MetricQuery, context: MetricContext) -> list[Snapshot]:
    group_by = query.group_by
    counts = llm_counts(session, start=query.start, end=query.end, group_by=group_by)
    base_counts = llm_counts(session, start=query.baseline_start, end=query.baseline_end, group_by=group_by)
    spend = spend_groups(session, start=query.start, end=query.end, group_by=group_by, kinds=LLM)
    snapshots = []
    for key, count in counts.items():
        if not known_scope(key) or not count["requests"]:
            continue
        base = base_counts.get(key, {"requests": 0, "retries": 0, "failed": 0})
        rate = count["retries"] / count["requests"]
        base_rate = ratio(base["retries"], base["requests"])
        total = spend[key].total if key in spend else ZERO
        saving = None
        if base_rate is not None and rate > base_rate:
            excess_retries = Decimal(str(rate - base_rate)) * count["requests"]
            saving = monthly(excess_retries * total / count["requests"], query.window_days)
        snapshots.append(
            Snapshot(
                scope=dict(zip(group_by, key)),
                values={
                    "spend_usd": total,
                    "requests": count["requests"],
                    "retries": count["retries"],
                    "retry_rate": rate,
                    "baseline_retry_rate": base_rate,
                    "retry_rate_change": (rate / base_rate) if base_rate else None,
                    "failed_rate": count["failed"] / count["requests"],
                    "saving_monthly_usd": saving,
                },
            )
        )
    return snapshots


register(
    Metric(
        name="retry_rate",
        description="Retries per request in the window against the baseline window.",
        fields=(
            MetricField("spend_usd", MONEY, "LLM spend in the window."),
            MetricField("requests", COUNT, "Requests in the window."),
            MetricField("retries", COUNT, "Retried requests in the window."),
            MetricField("retry_rate", RATIO, "retries / requests in the window."),
            MetricField("baseline_retry_rate", RATIO, "retries / requests in the baseline window."),
            MetricField("retry_rate_change", RATIO, "retry_rate / baseline_retry_rate (2.0 means doubled)."),
            MetricField("failed_rate", RATIO, "Failed requests / requests in the window."),
            MetricField("saving_monthly_usd", MONEY, "Estimated monthly cost of the retries above the baseline rate."),
        ),
        group_by=tuple(DIMENSIONS),
        default_group_by=("feature",),
        needs_baseline=True,
        spend_field="spend_usd",
        saving_fields=("saving_monthly_usd",),
        saving_method=(
            "(retry_rate - baseline_retry_rate) x requests x average spend per request in the window, "
            "scaled to 30 days."
        ),
        example="""\
- id: retry-spike
  description: Retries well above the workflow's own baseline
  metric: retry_rate
  window_days: 7
  baseline_days: 28
  when:
    all:
      - retry_rate: {gte: 0.1}
      - retry_rate_change: {gte: 3}
  min_spend_usd: 100
  severity: warning
  recommendation: "{feature} retried {retry_rate:pct} of requests, against {baseline_retry_rate:pct} before."
  guidance: [cost-per-success]
  cooldown_days: 7
""",
        compute=_compute_retry_rate,
    )
)


def _compute_tier_mix(session: Session, query: MetricQuery, context: MetricContext) -> list[Snapshot]:
    group_by = query.group_by
    batch_discount = Decimal(str(context.params["batch_discount"]))
    priority_multiplier = Decimal(str(context.params["priority_multiplier"]))
    spend_rows = spend_groups(session, start=query.start, end=query.end, group_by=group_by, kinds=LLM)
    split = llm_usage_split(session, start=query.start, end=query.end, group_by=group_by, column="service_tier")

    snapshots = []
    for key, by_tier in split.items():
        if not known_scope(key):
            continue
        usage_cost = sum((cost for cost, _ in by_tier.values()), ZERO)
        if not usage_cost:
            continue
        total = spend_rows[key].total if key in spend_rows else usage_cost
        # Tier shares come from usage rows; amounts apply them to the scope's spend.
        spend = {tier or "standard": total * cost / usage_cost for tier, (cost, _) in by_tier.items()}
        scope = dict(zip(group_by, key))
        interactive = None
        if scope.get("feature") is not None and context.mapping is not None:
            interactive = context.mapping.feature(scope["feature"]).get("interactive")
        standard, priority = spend.get("standard", ZERO), spend.get("priority", ZERO)
        # Priority is billed at priority_multiplier x standard, so its standard price is priority / multiplier.
        priority_at_standard = priority / priority_multiplier
        to_batch = standard * batch_discount + priority - priority_at_standard * (1 - batch_discount)
        snapshots.append(
            Snapshot(
                scope=scope,
                values={
                    "spend_usd": total,
                    "interactive": interactive if isinstance(interactive, bool) else None,
                    "standard_spend_usd": standard.quantize(Decimal("0.01")),
                    "priority_spend_usd": priority.quantize(Decimal("0.01")),
                    "standard_share": ratio(standard, total),
                    "priority_share": ratio(priority, total),
                    "batch_share": ratio(spend.get("batch", ZERO), total),
                    "flex_share": ratio(spend.get("flex", ZERO), total),
                    "batch_saving_monthly_usd": monthly(to_batch, query.window_days),
                    "standard_saving_monthly_usd": monthly(priority - priority_at_standard, query.window_days),
                },
            )
        )
    return snapshots


register(
    Metric(
        name="tier_mix",
        description=(
            "Spend per service tier (standard, priority, batch, flex), with whether the feature is "
            "interactive according to the mapping file's features section."
        ),
        fields=(
            MetricField("spend_usd", MONEY, "LLM spend in the window."),
            MetricField("interactive", FLAG, "The feature's `interactive` flag in the mapping file; missing when not set."),
            MetricField("standard_spend_usd", MONEY, "Spend on the standard tier."),
            MetricField("priority_spend_usd", MONEY, "Spend on the priority tier."),
            MetricField("standard_share", RATIO, "Share of spend on the standard tier."),
            MetricField("priority_share", RATIO, "Share of spend on the priority tier."),
            MetricField("batch_share", RATIO, "Share of spend on the batch tier."),
            MetricField("flex_share", RATIO, "Share of spend on the flex tier."),
            MetricField("batch_saving_monthly_usd", MONEY, "Estimated monthly saving of moving standard and priority spend to batch."),
            MetricField("standard_saving_monthly_usd", MONEY, "Estimated monthly saving of moving priority spend to standard."),
        ),
        group_by=tuple(DIMENSIONS),
        default_group_by=("feature",),
        needs_baseline=False,
        spend_field="spend_usd",
        saving_fields=("batch_saving_monthly_usd", "standard_saving_monthly_usd"),
        saving_method=(
            "batch: standard spend x batch_discount + priority spend - (priority spend / priority_multiplier) "
            "x (1 - batch_discount); standard: priority spend - priority spend / priority_multiplier; "
            "both scaled to 30 days."
        ),
        params=(
            MetricParam("batch_discount", 0.5, "Discount of the batch tier on standard prices (OpenAI and Anthropic batch APIs: 50% off).", 0.0, 1.0),
            MetricParam("priority_multiplier", 2.0, "Priority price / standard price (OpenAI Priority: 1.75x to 2.5x by model).", 1.0, 10.0),
        ),
        example="""\
- id: batchable-on-standard
  description: Non-interactive work paying standard prices
  metric: tier_mix
  window_days: 7
  when:
    all:
      - interactive: {eq: false}
      - standard_share: {gte: 0.5}
  min_spend_usd: 100
  severity: info
  recommendation: "{feature} is not interactive but ran {standard_share:pct} of its spend on the standard tier."
  guidance: [batch-flex-priority]
  saving: batch_saving_monthly_usd
  cooldown_days: 14
""",
        compute=_compute_tier_mix,
    )
)


def _compute_spend_change(session: Session, query: MetricQuery, context: MetricContext) -> list[Snapshot]:
    group_by = query.group_by
    window = spend_groups(session, start=query.start, end=query.end, group_by=group_by, kinds=LLM_AND_TOOLS)
    baseline = spend_groups(session, start=query.baseline_start, end=query.baseline_end, group_by=group_by, kinds=LLM_AND_TOOLS)
    window_days = Decimal(str(query.window_days))
    baseline_days = Decimal(str((query.baseline_end - query.baseline_start).total_seconds() / 86400))
    snapshots = []
    for key, row in window.items():
        if not known_scope(key):
            continue
        base_total = baseline[key].total if key in baseline else ZERO
        daily = row.total / window_days
        base_daily = base_total / baseline_days
        excess = max(daily - base_daily, ZERO) * 30
        snapshots.append(
            Snapshot(
                scope=dict(zip(group_by, key)),
                values={
                    "spend_usd": row.total,
                    "baseline_spend_usd": base_total,
                    "daily_usd": daily.quantize(Decimal("0.01")),
                    "baseline_daily_usd": base_daily.quantize(Decimal("0.01")),
                    "change_ratio": ratio(daily, base_daily),
                    "excess_monthly_usd": excess.quantize(Decimal("0.01")),
                },
            )
        )
    return snapshots


LLM_AND_TOOLS = ("llm", "tools")

register(
    Metric(
        name="spend_change",
        description="LLM and tool spend per day in the window against the baseline window.",
        fields=(
            MetricField("spend_usd", MONEY, "LLM and tool spend in the window."),
            MetricField("baseline_spend_usd", MONEY, "LLM and tool spend in the baseline window."),
            MetricField("daily_usd", MONEY, "Average spend per day in the window."),
            MetricField("baseline_daily_usd", MONEY, "Average spend per day in the baseline window."),
            MetricField("change_ratio", RATIO, "daily_usd / baseline_daily_usd (2.5 means 2.5 times); missing without baseline spend."),
            MetricField("excess_monthly_usd", MONEY, "Spend per 30 days above the baseline daily rate."),
        ),
        group_by=tuple(DIMENSIONS),
        default_group_by=("feature",),
        needs_baseline=True,
        spend_field="spend_usd",
        saving_fields=("excess_monthly_usd",),
        saving_method="(daily_usd - baseline_daily_usd) x 30: what returning to the baseline rate would save per month.",
        example="""\
- id: spend-spike
  description: Spend well above its own baseline
  metric: spend_change
  window_days: 7
  baseline_days: 28
  when:
    change_ratio: {gte: 2}
  min_spend_usd: 200
  severity: warning
  recommendation: "{feature} spent {daily_usd:usd} a day, {change_ratio:.1f}x its baseline of {baseline_daily_usd:usd}."
  guidance: [agent-cost-in-production]
  cooldown_days: 7
""",
        compute=_compute_spend_change,
    )
)


def _compute_unallocated_share(session: Session, query: MetricQuery, context: MetricContext) -> list[Snapshot]:
    group_by = query.group_by
    rows = spend_groups(session, start=query.start, end=query.end, group_by=(*group_by, "team", "feature"), kinds=LLM)
    unallocated_projects = spend_groups(
        session,
        start=query.start,
        end=query.end,
        group_by=(*group_by, "project"),
        kinds=LLM,
        filters={"team": [None], "feature": [None]},
    )
    totals: dict[tuple, Decimal] = defaultdict(lambda: ZERO)
    unallocated: dict[tuple, Decimal] = defaultdict(lambda: ZERO)
    for key, row in rows.items():
        scope_values = key[:-2]
        totals[scope_values] += row.total
        if key[-2] is None and key[-1] is None:
            unallocated[scope_values] += row.total
    snapshots = []
    for key, total in totals.items():
        projects = {row_key[-1]: row.total for row_key, row in unallocated_projects.items() if row_key[:-1] == key}
        top_project = max(projects, key=projects.get) if projects else None
        snapshots.append(
            Snapshot(
                scope=dict(zip(group_by, key)),
                values={
                    "spend_usd": total,
                    "unallocated_spend_usd": unallocated[key],
                    "unallocated_share": ratio(unallocated[key], total),
                    "top_unallocated_project": top_project,
                },
            )
        )
    return snapshots


register(
    Metric(
        name="unallocated_share",
        description="Share of LLM spend with neither a team nor a feature (no mapping entry, no tags).",
        fields=(
            MetricField("spend_usd", MONEY, "LLM spend in the window."),
            MetricField("unallocated_spend_usd", MONEY, "Spend with neither team nor feature."),
            MetricField("unallocated_share", RATIO, "unallocated_spend_usd / spend_usd."),
            MetricField("top_unallocated_project", TEXT, "The project id with the most unallocated spend."),
        ),
        group_by=("provider", "environment"),
        default_group_by=("provider",),
        needs_baseline=False,
        spend_field="unallocated_spend_usd",
        saving_fields=(),
        saving_method="No saving estimate: allocating spend makes it owned, it does not lower it.",
        example="""\
- id: unallocated-spend
  description: Spend nobody owns
  metric: unallocated_share
  window_days: 30
  group_by: [provider]
  when:
    unallocated_share: {gte: 0.05}
  min_spend_usd: 100
  severity: warning
  recommendation: "{unallocated_share:pct} of {provider} spend ({unallocated_spend_usd:usd}) has no team; start with {top_unallocated_project}."
  guidance: [cost-allocation-showback]
  notify: channel
  cooldown_days: 14
""",
        compute=_compute_unallocated_share,
    )
)
