"""The JSON Schema of rule files, generated from the metrics registry."""

from __future__ import annotations

from typing import Any

from bot.rules.metrics import METRICS

SEVERITIES = ("info", "warning", "critical")
NOTIFY_TARGETS = ("owner", "channel")
RULE_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,99}$"
REQUIRED_KEYS = (
    "id", "description", "metric", "window_days", "when", "min_spend_usd", "severity",
    "recommendation", "guidance", "cooldown_days",
)
_SCALAR = {"type": ["number", "string", "boolean"]}


def rule_file_schema() -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) that every rule file must match."""
    metric_checks = []
    for metric in METRICS.values():
        params = {
            param.name: {"type": "number", "minimum": param.minimum, **({"maximum": param.maximum} if param.maximum is not None else {})}
            for param in metric.params
        }
        metric_checks.append(
            {
                "if": {"properties": {"metric": {"const": metric.name}}, "required": ["metric"]},
                "then": {
                    "properties": {
                        "params": {"type": "object", "properties": params, "additionalProperties": False},
                        "group_by": {"items": {"enum": list(metric.group_by)}},
                    }
                },
            }
        )
    rule = {
        "type": "object",
        "properties": {
            "id": {"type": "string", "pattern": RULE_ID_PATTERN},
            "description": {"type": "string", "minLength": 1},
            "metric": {"enum": sorted(METRICS)},
            "window_days": {"type": "integer", "minimum": 1, "maximum": 366},
            "baseline_days": {"type": "integer", "minimum": 1, "maximum": 366},
            "group_by": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
            "params": {"type": "object"},
            "when": {"$ref": "#/$defs/condition"},
            "min_spend_usd": {
                "oneOf": [
                    {"type": "number", "minimum": 0},
                    {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$"},
                ]
            },
            "severity": {"enum": list(SEVERITIES)},
            "recommendation": {"type": "string", "minLength": 1},
            "guidance": {"type": "array", "items": {"type": "string"}, "minItems": 1, "uniqueItems": True},
            "notify": {"enum": list(NOTIFY_TARGETS)},
            "channel": {"type": "string", "minLength": 1},
            "saving": {"type": "string"},
            "cooldown_days": {"type": "integer", "minimum": 0, "maximum": 365},
            "enabled": {"type": "boolean"},
        },
        "required": list(REQUIRED_KEYS),
        "additionalProperties": False,
        "allOf": metric_checks,
    }
    comparison = {
        "type": "object",
        "minProperties": 1,
        "properties": {
            **{op: {"type": "number"} for op in ("gt", "gte", "lt", "lte")},
            "eq": _SCALAR,
            "ne": _SCALAR,
            "in": {"type": "array", "items": _SCALAR, "minItems": 1},
            "not_in": {"type": "array", "items": _SCALAR, "minItems": 1},
        },
        "additionalProperties": False,
    }
    condition = {
        "type": "object",
        "minProperties": 1,
        "properties": {
            "all": {"type": "array", "items": {"$ref": "#/$defs/condition"}, "minItems": 1},
            "any": {"type": "array", "items": {"$ref": "#/$defs/condition"}, "minItems": 1},
            "not": {"$ref": "#/$defs/condition"},
        },
        "propertyNames": {"pattern": r"^[a-z_][a-z0-9_]*$"},
        "additionalProperties": {"$ref": "#/$defs/comparison"},
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "costbot rule file",
        "type": "object",
        "properties": {"rules": {"type": "array", "items": {"$ref": "#/$defs/rule"}}},
        "required": ["rules"],
        "additionalProperties": False,
        "$defs": {"rule": rule, "condition": condition, "comparison": comparison},
    }


def rule_schema() -> dict[str, Any]:
    """Return the JSON Schema of one rule (the `$defs/rule` of the file schema)."""
    file_schema = rule_file_schema()
    return {"$schema": file_schema["$schema"], "$defs": file_schema["$defs"], "$ref": "#/$defs/rule"}
