"""Compile validated rules to one durable-rules ruleset definition.

Each distinct (metric, window, baseline, grouping, parameters) becomes a query whose
snapshots are asserted as facts tagged with the query's key `q`. A rule matches a fact
of its query whose spend field reaches `min_spend_usd` and that satisfies its `when`.
Numbers in facts are floats (durable-rules serializes facts as JSON, which has no
Decimal); findings keep the Decimal values of the snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.rules.conditions import AllOf, Comparison, Condition
from bot.rules.conditions import to_durable as condition_to_durable
from bot.rules.loader import LoadedRules, Rule
from bot.rules.metrics import METRICS

# Rule name of the catch-all rule. It matches every fact and does nothing, so that no
# batch contains a fact that matches no rule: durable-rules 2.0.28 then raises
# MessageNotHandledException and runs the other actions later on a background thread.
CATCH_ALL = "$catch-all"
# Up to this many matching facts are handed to one action call (durable-rules `cap`).
ACTION_CAP = 1000


@dataclass(frozen=True)
class QuerySpec:
    key: str
    metric: str
    window_days: int
    baseline_days: int | None
    group_by: tuple[str, ...]
    params: tuple[tuple[str, float], ...]


@dataclass
class CompiledRules:
    loaded: LoadedRules
    queries: dict[str, QuerySpec]
    rule_query: dict[str, str]  # rule id -> query key
    definitions: dict[str, dict[str, Any]]  # rule id -> durable-rules rule without `run`

    @property
    def active_rules(self) -> list[Rule]:
        return [rule for rule in self.loaded.rules if rule.enabled]

    def rule(self, rule_id: str) -> Rule | None:
        for rule in self.loaded.rules:
            if rule.id == rule_id:
                return rule
        return None


def match_condition(rule: Rule, query_key: str) -> Condition:
    """Return the full condition of a rule: its query, its minimum spend and its `when`."""
    metric = METRICS[rule.metric]
    return AllOf(
        (
            Comparison("q", "eq", query_key),
            Comparison(metric.spend_field, "gte", float(rule.min_spend_usd)),
            rule.when,
        )
    )


def compile_rules(loaded: LoadedRules) -> CompiledRules:
    queries: dict[tuple, QuerySpec] = {}
    rule_query: dict[str, str] = {}
    definitions: dict[str, dict[str, Any]] = {}
    for rule in loaded.rules:
        if not rule.enabled:
            continue
        identity = (rule.metric, rule.window_days, rule.baseline_days, rule.group_by, tuple(sorted(rule.params.items())))
        spec = queries.get(identity)
        if spec is None:
            spec = queries[identity] = QuerySpec(f"q{len(queries)}", *identity)
        rule_query[rule.id] = spec.key
        definitions[rule.id] = {"all": [{"m": condition_to_durable(match_condition(rule, spec.key))}], "cap": ACTION_CAP}
    return CompiledRules(
        loaded=loaded,
        queries={spec.key: spec for spec in queries.values()},
        rule_query=rule_query,
        definitions=definitions,
    )
