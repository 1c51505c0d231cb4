"""Declarative rules: rule files under `rules/`, the metrics they read, their evaluation in
durable-rules, and the findings they post."""
