"""`costbot rules test`: fixture files that give a rule metric values and expect findings.

A fixture file (YAML, under `rules/tests/`) lists cases:

    cases:
      - name: premium shift on a workflow that did well on mid
        rule: premium-model-overuse
        scope: {feature: ticket-classifier}
        facts: {spend_usd: 5280, premium_share: 0.78, baseline_success_rate: 0.94}
        expect: fire            # or quiet
        recommendation_contains: ["78%"]

The facts go through the same durable-rules ruleset as a real run; only the database is
left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

from bot.rules.compile import CompiledRules
from bot.rules.engine import RuleEngine
from bot.rules.evaluate import draft, fact_values
from bot.rules.metrics import MONEY, METRICS, Snapshot
from bot.yamlfile import LineDict, LineList, YamlFileError, load_yaml

CASE_KEYS = ("name", "rule", "scope", "facts", "expect", "recommendation_contains")
FIXTURE_TIME = datetime(2026, 11, 20, tzinfo=timezone.utc)


@dataclass
class CaseResult:
    where: str
    name: str
    passed: bool
    message: str = ""


def fixture_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.glob("*.y*ml") if path.suffix in (".yml", ".yaml")) if folder.is_dir() else []


def run_fixture_file(path: Path, compiled: CompiledRules, engine: RuleEngine) -> list[CaseResult]:
    """Run every case of one fixture file; a malformed case is a failed result, not an exception."""
    try:
        data = load_yaml(path)
    except YamlFileError as exc:
        return [CaseResult(str(path), "file", False, str(exc))]
    if not isinstance(data, LineDict) or not isinstance(data.get("cases"), LineList):
        return [CaseResult(f"{path}:1", "file", False, "expected `cases:` with a list of cases")]
    results = []
    for index, case in enumerate(data["cases"]):
        where = f"{path}:{data['cases'].line_of(index)}"
        try:
            results.append(_run_case(where, case, compiled, engine))
        except ValueError as exc:
            name = case.get("name", f"case {index + 1}") if isinstance(case, dict) else f"case {index + 1}"
            results.append(CaseResult(where, str(name), False, str(exc)))
    return results


def _run_case(where: str, case, compiled: CompiledRules, engine: RuleEngine) -> CaseResult:
    if not isinstance(case, LineDict):
        raise ValueError("a case is a mapping with name, rule, facts and expect")
    unknown = [key for key in case if key not in CASE_KEYS]
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r}; use {', '.join(CASE_KEYS)}")
    name, rule_id = str(case.get("name", "?")), case.get("rule")
    rule = compiled.rule(rule_id) if isinstance(rule_id, str) else None
    if rule is None or not rule.enabled:
        raise ValueError(f"rule {rule_id!r} is not an active rule of the rules folder")
    if case.get("expect") not in ("fire", "quiet"):
        raise ValueError(f"expect: {case.get('expect')!r}; use fire or quiet")
    metric = METRICS[rule.metric]
    facts = case.get("facts") or {}
    values = {}
    for field_name, value in facts.items():
        found = metric.field(field_name)
        if found is None:
            raise ValueError(f"metric {metric.name} has no field {field_name!r}")
        values[field_name] = Decimal(str(value)) if found.type == MONEY and value is not None else value
    snapshot = Snapshot(scope=dict(case.get("scope") or {}), values=values)

    fact = {"id": 1, "q": compiled.rule_query[rule.id], **fact_values(values)}
    matched = 1 in engine.evaluate([fact]).get(rule.id, [])
    expected = case["expect"] == "fire"
    if matched != expected:
        return CaseResult(where, name, False, f"rule {rule.id} expected to {case['expect']} but it {'fired' if matched else 'stayed quiet'}")
    if matched:
        text = draft(rule, snapshot, compiled, FIXTURE_TIME, timezone.utc).recommendation
        for part in case.get("recommendation_contains") or []:
            if str(part) not in text:
                return CaseResult(where, name, False, f"recommendation lacks {part!r}: {text}")
    return CaseResult(where, name, True)


