"""Load and validate rule files in three passes: structure, JSON Schema, cross-field checks.

Every error reads `FILE:LINE: rule ID: what is wrong` (`FILE:LINE: what is wrong` when it
concerns the file rather than one rule). A file with any error contributes no rules.
"""

from __future__ import annotations

import difflib
import hashlib
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema

from bot.guidance import CATALOG_FILE, GuidanceCatalog, GuidanceError, load_catalog
from bot.rules.conditions import ORDER_OPERATORS, AllOf, AnyOf, Comparison, Condition, Not
from bot.rules.metrics import FLAG, METRICS, MONEY, NUMBER, NUMERIC_TYPES, RATIO, TEXT, Metric
from bot.rules.model_classes import CLASSES_FILE, ModelClasses, ModelClassError, load_model_classes
from bot.rules.schema import rule_schema
from bot.rules.template import TEMPLATE_EXTRAS, TemplateError, check_spec, placeholders
from bot.yamlfile import LineDict, LineList, YamlFileError, load_yaml

logger = logging.getLogger(__name__)

# Files in the rules folder that are not rule files.
SUPPORT_FILES = (CATALOG_FILE, CLASSES_FILE)
_SAMPLES = {MONEY: Decimal("1234.5"), RATIO: 0.5, "number": 12.5, "count": 3, TEXT: "text", FLAG: True}


class RuleLoadError(Exception):
    """Raised when rule files are invalid. `errors` contains one line per problem."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    metric: str
    window_days: int
    baseline_days: int | None
    group_by: tuple[str, ...]
    params: dict[str, float]
    when: Condition
    min_spend_usd: Decimal
    severity: str
    recommendation: str
    guidance: tuple[str, ...]
    notify: str
    channel: str | None
    saving: str | None
    cooldown_days: int
    enabled: bool
    file: str
    line: int

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class LoadedRules:
    """A validated set: the rules of every file, the guidance catalog and the model classes."""

    rules: tuple[Rule, ...]
    catalog: GuidanceCatalog
    model_classes: ModelClasses
    files: tuple[Path, ...]
    signature: str = ""
    warnings: list[str] = field(default_factory=list)


def rule_files(rules_dir: Path) -> list[Path]:
    """Return the rule files of a folder: *.yml and *.yaml except the support files."""
    if not rules_dir.is_dir():
        return []
    return sorted(
        path
        for path in rules_dir.iterdir()
        if path.is_file() and path.suffix in (".yml", ".yaml") and path.name not in SUPPORT_FILES
    )


def folder_signature(rules_dir: Path) -> str:
    """Return a hash of the names and contents of every file the rules depend on."""
    digest = hashlib.sha256()
    paths = [*rule_files(rules_dir), *(rules_dir / name for name in SUPPORT_FILES)]
    for path in paths:
        digest.update(str(path).encode())
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"<missing>")
    return digest.hexdigest()


def load_rules_dir(rules_dir: Path, *, guidance_base_url: str, default_channel: str | None = None) -> LoadedRules:
    """Load and validate every rule file in `rules_dir` with its guidance catalog and model
    classes; raise RuleLoadError listing every problem."""
    signature = folder_signature(rules_dir)
    if not rules_dir.is_dir():
        raise RuleLoadError([f"{rules_dir}: rules folder not found; create it or set COSTBOT_RULES_DIR"])
    return load_rule_paths(
        rule_files(rules_dir), rules_dir=rules_dir, guidance_base_url=guidance_base_url,
        default_channel=default_channel, signature=signature,
    )


def load_rule_paths(
    paths: list[Path],
    *,
    rules_dir: Path,
    guidance_base_url: str,
    default_channel: str | None = None,
    signature: str = "",
) -> LoadedRules:
    """Validate the given rule files against the catalog and classes in `rules_dir`."""
    errors: list[str] = []
    catalog = model_classes = None
    missing = [rules_dir / name for name in (CATALOG_FILE, CLASSES_FILE) if not (rules_dir / name).is_file()]
    for path in missing:
        errors.append(
            f"{path}: file not found; a rules folder needs {CATALOG_FILE} and {CLASSES_FILE} next to its "
            "rule files, so copy them from the repository's rules/ folder"
        )
    if rules_dir / CATALOG_FILE not in missing:
        try:
            catalog = load_catalog(rules_dir / CATALOG_FILE, guidance_base_url)
        except GuidanceError as exc:
            errors.extend(exc.errors)
    if rules_dir / CLASSES_FILE not in missing:
        try:
            model_classes = load_model_classes(rules_dir / CLASSES_FILE)
        except ModelClassError as exc:
            errors.extend(exc.errors)

    rules: list[Rule] = []
    first_seen: dict[str, str] = {}
    validator = jsonschema.Draft202012Validator(rule_schema())
    for path in paths:
        file_rules, file_errors = _load_file(path, validator, catalog, default_channel)
        for rule in file_rules:
            if rule.id in first_seen:
                file_errors.append(f"{rule.where}: rule {rule.id}: duplicate rule id; first defined at {first_seen[rule.id]}")
            else:
                first_seen[rule.id] = rule.where
        errors.extend(file_errors)
        if not file_errors:
            rules.extend(file_rules)
    if errors:
        raise RuleLoadError(errors)
    logger.info("rules loaded files=%d rules=%d", len(paths), len(rules))
    return LoadedRules(rules=tuple(rules), catalog=catalog, model_classes=model_classes, files=tuple(paths), signature=signature)


def _load_file(path: Path, validator, catalog: GuidanceCatalog | None, default_channel: str | None) -> tuple[list[Rule], list[str]]:
    name = str(path)
    # Pass 1: structure, so that later errors can name the rule.
    try:
        data = load_yaml(path)
    except YamlFileError as exc:
        return [], [str(exc)]
    if not isinstance(data, LineDict) or "rules" not in data:
        line = data.line if isinstance(data, (LineDict, LineList)) else 1
        return [], [f"{name}:{line}: expected a mapping with the key `rules:` holding a list of rules"]
    if not isinstance(data["rules"], LineList):
        return [], [f"{name}:{data.line_of('rules')}: `rules:` must be a list of rules (each item starts with '- id: ...')"]

    errors: list[str] = []
    for key in data:
        if key != "rules":
            errors.append(f"{name}:{data.line_of(key)}: unknown top-level key {key!r}; a rule file has only `rules:`")
    for index, entry in enumerate(data["rules"]):
        if not isinstance(entry, LineDict):
            errors.append(f"{name}:{data['rules'].line_of(index)}: rule {index + 1}: expected a mapping of rule keys")
        elif not isinstance(entry.get("id"), str):
            errors.append(f"{name}:{entry.line}: rule {index + 1}: missing `id:` (lowercase words joined by '-')")
    if errors:
        return [], errors

    rules = []
    for index, entry in enumerate(data["rules"]):
        # Pass 2: the JSON Schema generated from the metrics registry.
        schema_errors = {_schema_message(name, data["rules"], error, index) for error in validator.iter_errors(entry)} - {""}
        if schema_errors:
            errors.extend(sorted(schema_errors, key=_line_order))
            continue
        # Pass 3: cross-field checks, for rules whose structure is valid.
        rule, rule_errors = _build_rule(name, entry, catalog, default_channel)
        errors.extend(rule_errors)
        if rule is not None:
            rules.append(rule)
    return rules, errors


def _line_order(message: str) -> tuple[int, str]:
    parts = message.split(":", 2)
    return (int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else 0, message)


def _locate(root: LineList, path: list) -> tuple[str | None, int, Any]:
    """Follow a JSON path into the loaded YAML; return the rule id, the line and the node."""
    rule_id, node, line = None, root, root.line
    for step in path:
        if isinstance(node, LineList) and isinstance(step, int):
            line = node.line_of(step)
            node = node[step]
        elif isinstance(node, LineDict) and step in node:
            line = node.line_of(step)
            node = node[step]
        else:
            break
        if rule_id is None and isinstance(node, LineDict) and isinstance(node.get("id"), str):
            rule_id = node["id"]
    return rule_id, line, node


def _schema_message(name: str, root: LineList, error: jsonschema.ValidationError, index: int) -> str:
    path = [index, *error.absolute_path]
    rule_id, line, node = _locate(root, path)
    key = str(path[-1]) if path and isinstance(path[-1], str) else None
    where = f"{name}:{line}: rule {rule_id or '?'}:"

    if error.validator == "additionalProperties" and isinstance(node, LineDict):
        allowed = list(error.schema.get("properties", {}))
        unknown = [item for item in node if item not in allowed]
        item = unknown[0] if unknown else "?"
        item_line = node.line_of(item) if unknown else line
        hint = difflib.get_close_matches(str(item), allowed, n=1)
        suggestion = f"did you mean {hint[0]!r}? " if hint else ""
        what = "key"
        if set(allowed) >= {"gt", "lt"}:
            what = "operator"
        elif key == "params":
            what = "parameter"
        return f"{name}:{item_line}: rule {rule_id or '?'}: unknown {what} {item!r}; {suggestion}allowed: {', '.join(allowed)}"
    if error.validator == "required":
        missing = next((key for key in error.validator_value if key not in error.instance), "")
        allowed = error.schema.get("properties", {})
        misspelt = [item for item in error.instance if item not in allowed and difflib.get_close_matches(str(item), [missing], n=1)]
        if misspelt:
            return ""  # the unknown-key error for the misspelt key already names the missing one
        return f"{where} {missing!r} is missing"
    if error.validator == "enum":
        hint = difflib.get_close_matches(str(error.instance), [str(value) for value in error.validator_value], n=1)
        suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
        label = key or "value"
        return f"{where} {label}: {error.instance!r} is not one of {', '.join(map(str, error.validator_value))}{suggestion}"
    if error.validator == "pattern" and key == "id":
        return f"{where} id {error.instance!r} is invalid; use lowercase letters, digits and '-'"
    if error.validator == "oneOf" and key == "min_spend_usd":
        return f"{where} min_spend_usd: {error.instance!r} is not a non-negative amount; write e.g. 500 or \"500.00\""
    label = f" {key}:" if key else ""
    return f"{where}{label} {error.message}"


def _build_rule(name: str, entry: LineDict, catalog: GuidanceCatalog | None, default_channel: str | None) -> tuple[Rule | None, list[str]]:
    rule_id = entry["id"]
    metric = METRICS[entry["metric"]]
    errors: list[str] = []

    def fail(key: str, message: str, line: int | None = None) -> None:
        errors.append(f"{name}:{line or entry.line_of(key)}: rule {rule_id}: {message}")

    group_by = tuple(entry.get("group_by", metric.default_group_by))
    if metric.max_group_by is not None and len(group_by) > metric.max_group_by:
        fail("group_by", f"metric {metric.name} groups by at most {metric.max_group_by} of {', '.join(metric.group_by)}, not {', '.join(group_by)}")

    window, baseline = entry["window_days"], entry.get("baseline_days")
    if metric.needs_baseline and baseline is None:
        fail("metric", f"metric {metric.name} compares with a baseline; add baseline_days (at least window_days, e.g. {max(window, 28)})")
    if not metric.needs_baseline and baseline is not None:
        fail("baseline_days", f"metric {metric.name} has no baseline; remove baseline_days")
    if metric.needs_baseline and baseline is not None and baseline < window:
        fail("baseline_days", f"baseline_days {baseline} is shorter than window_days {window}; use at least {window}")

    condition = _condition(entry["when"], metric, fail, entry.line_of("when"))

    param_names = {param.name for param in metric.params}
    allowed = set(metric.field_names) | set(group_by) | param_names | set(TEMPLATE_EXTRAS)
    try:
        for placeholder in placeholders(entry["recommendation"]):
            if placeholder.name not in allowed:
                hint = difflib.get_close_matches(placeholder.name, sorted(allowed), n=1)
                suggestion = f"; did you mean {{{hint[0]}}}?" if hint else f"; use one of {', '.join(sorted(allowed))}"
                fail("recommendation", f"recommendation: unknown placeholder {{{placeholder.name}}}{suggestion}")
                continue
            if placeholder.spec:
                found = metric.field(placeholder.name)
                if found is not None:
                    sample = _SAMPLES[found.type]
                elif placeholder.name == "monthly_saving_usd":
                    sample = _SAMPLES[MONEY]
                elif placeholder.name in param_names:
                    sample = _SAMPLES[NUMBER]
                else:
                    sample = _SAMPLES[TEXT]
                check_spec(placeholder.spec, sample)
    except TemplateError as exc:
        fail("recommendation", f"recommendation: {exc}")

    guidance = entry["guidance"]
    if catalog is not None:
        for index, slug in enumerate(guidance):
            if slug not in catalog:
                hint = difflib.get_close_matches(slug, sorted(catalog.pages), n=1)
                suggestion = f"did you mean {hint[0]!r}? " if hint else ""
                fail("guidance", f"unknown guidance page {slug!r}; {suggestion}see guidance.yml for the slugs", guidance.line_of(index))

    notify = entry.get("notify", "owner")
    channel = entry.get("channel")
    if notify == "channel" and not channel and not default_channel:
        fail("notify", "notify: channel needs `channel:` (a channel id or #name) or the setting COSTBOT_DEFAULT_CHANNEL")

    saving = entry.get("saving")
    if saving is not None and saving not in metric.saving_fields:
        options = ", ".join(metric.saving_fields) or "none (this metric has no saving estimate)"
        fail("saving", f"saving: {saving!r} is not a saving field of {metric.name}; use {options}")
    elif saving is None and metric.saving_fields:
        saving = metric.saving_fields[0]

    params = {param.name: param.default for param in metric.params}
    params.update({key: float(value) for key, value in entry.get("params", {}).items()})

    if errors:
        return None, errors
    return (
        Rule(
            id=rule_id,
            description=entry["description"],
            metric=metric.name,
            window_days=window,
            baseline_days=baseline,
            group_by=group_by,
            params=params,
            when=condition,
            min_spend_usd=Decimal(str(entry["min_spend_usd"])),
            severity=entry["severity"],
            recommendation=entry["recommendation"],
            guidance=tuple(guidance),
            notify=notify,
            channel=channel,
            saving=saving,
            cooldown_days=entry["cooldown_days"],
            enabled=entry.get("enabled", True),
            file=name,
            line=entry.line,
        ),
        [],
    )


def _condition(node: LineDict, metric: Metric, fail, line: int) -> Condition:
    """Build a condition from its (schema-valid) YAML, checking fields and operand types."""
    items: list[Condition] = []
    for key, value in node.items():
        key_line = node.line_of(key)
        if key in ("all", "any"):
            children = tuple(_condition(child, metric, fail, value.line_of(index)) for index, child in enumerate(value))
            items.append(AllOf(children) if key == "all" else AnyOf(children))
        elif key == "not":
            items.append(Not(_condition(value, metric, fail, key_line)))
        else:
            items.extend(_comparisons(key, value, metric, fail, key_line))
    return items[0] if len(items) == 1 else AllOf(tuple(items))


def _comparisons(name: str, ops: LineDict, metric: Metric, fail, line: int) -> list[Comparison]:
    found = metric.field(name)
    if found is None:
        hint = difflib.get_close_matches(name, metric.field_names, n=1)
        suggestion = f"did you mean {hint[0]!r}? " if hint else ""
        fail("when", f"metric {metric.name} has no field {name!r}; {suggestion}fields: {', '.join(metric.field_names)}", line)
        return []
    result = []
    for op, value in ops.items():
        op_line = ops.line_of(op)
        values = value if op in ("in", "not_in") else [value]
        if found.type in NUMERIC_TYPES:
            bad = [item for item in values if isinstance(item, bool) or not isinstance(item, (int, float))]
            if bad:
                fail("when", f"{name} {op} {bad[0]!r}: {name} is a number ({found.type}); compare it with a number", op_line)
                continue
            if found.type == RATIO and op in ORDER_OPERATORS and abs(value) > 100:
                fail("when", f"{name} {op} {value}: {name} is a ratio (0.25 means 25%); write a ratio, not a percentage", op_line)
                continue
        elif found.type == TEXT:
            if op in ORDER_OPERATORS or any(not isinstance(item, str) for item in values):
                fail("when", f"{name} {op} {value!r}: {name} is text; use eq, ne, in or not_in with text values", op_line)
                continue
        elif found.type == FLAG:
            if op not in ("eq", "ne") or not isinstance(value, bool):
                fail("when", f"{name} {op} {value!r}: {name} is true or false; use eq: true or eq: false", op_line)
                continue
        result.append(Comparison(name, op, tuple(value) if op in ("in", "not_in") else value, op_line))
    return result
