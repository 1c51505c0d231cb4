"""Rule files: loading with line numbers, validation errors, templates and the built-in pack."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from bot.guidance import GuidanceError, load_catalog
from bot.rules.compile import compile_rules
from bot.rules.engine import RuleEngine
from bot.rules.evaluate import draft
from bot.rules.fixtures import fixture_files, run_fixture_file
from bot.rules.loader import RuleLoadError, load_rule_paths, load_rules_dir
from bot.rules.metrics import METRICS, MetricParam, Snapshot, register
from bot.rules.model_classes import load_model_classes
from bot.rules.template import TemplateError, format_value, placeholders, render

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"
BASE = "https://aipromptgear.com"

GOOD_RULE = """\
rules:
  - id: idle-gpus
    description: Idle GPUs
    metric: gpu_utilization
    window_days: 7
    group_by: [host]
    when:
      utilization_pct: {lt: 30}
    min_spend_usd: 100
    severity: warning
    recommendation: "{host} averaged {utilization_pct:.0f}%"
    guidance: [gpu-cloud-vs-apis]
    cooldown_days: 7
"""


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    """A rules folder with the real catalog and model classes and one valid rule file."""
    folder = tmp_path / "rules"
    folder.mkdir()
    shutil.copy(RULES / "guidance.yml", folder / "guidance.yml")
    shutil.copy(RULES / "model_classes.yml", folder / "model_classes.yml")
    (folder / "gpus.yml").write_text(GOOD_RULE)
    return folder


def errors_for(rules_dir: Path, text: str) -> list[str]:
    path = rules_dir / "gpus.yml"
    path.write_text(text)
    with pytest.raises(RuleLoadError) as caught:
        load_rules_dir(rules_dir, guidance_base_url=BASE)
    return caught.value.errors


def test_builtin_pack_validates():
    loaded = load_rules_dir(RULES, guidance_base_url=BASE)
    assert {rule.id for rule in loaded.rules} == {
        "premium-model-overuse", "cost-per-success-regression", "retry-spike", "spend-spike",
        "unallocated-spend", "idle-rented-gpus", "h100-where-a100-would-do",
        "batchable-on-standard", "priority-nobody-waits-for",
    }


def test_builtin_thresholds_have_sources():
    # Every threshold line in the pack's conditions has a comment saying where it comes from,
    # on the same line or in the comment lines right above.
    for path in sorted(RULES.glob("*.yml")):
        if path.name in ("guidance.yml", "model_classes.yml"):
            continue
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines):
            if any(op in line for op in ("{gte:", "{gt:", "{lt:", "{lte:")):
                context = [line, *lines[max(number - 3, 0) : number]]
                assert any("#" in item for item in context), f"{path.name}:{number + 1} has no source comment"


def test_builtin_fixtures_pass():
    engine = RuleEngine(RULES, guidance_base_url=BASE)
    assert engine.reload().loaded
    results = [result for path in fixture_files(RULES / "tests") for result in run_fixture_file(path, engine.current, engine)]
    assert len(results) == 11
    assert [result.message for result in results if not result.passed] == []


def test_metric_examples_validate(rules_dir: Path):
    for metric in METRICS.values():
        (rules_dir / "gpus.yml").write_text("rules:\n" + "".join(f"  {line}\n" for line in metric.example.splitlines()))
        loaded = load_rules_dir(rules_dir, guidance_base_url=BASE, default_channel="#costs")
        assert [rule.metric for rule in loaded.rules] == [metric.name]


def test_missing_catalog_files_say_copy(rules_dir: Path):
    (rules_dir / "guidance.yml").unlink()
    (rules_dir / "model_classes.yml").unlink()
    with pytest.raises(RuleLoadError) as caught:
        load_rules_dir(rules_dir, guidance_base_url=BASE)
    hint = (
        "file not found; a rules folder needs guidance.yml and model_classes.yml next to its rule files, "
        "so copy them from the repository's rules/ folder"
    )
    assert caught.value.errors == [f"{rules_dir / 'guidance.yml'}: {hint}", f"{rules_dir / 'model_classes.yml'}: {hint}"]


def test_docs_fixture_example_passes(tmp_path: Path):
    from bot.rules.docs import render_rules_doc

    text = render_rules_doc()
    example = text[text.index("```yaml\ncases:") + len("```yaml\n") :]
    path = tmp_path / "doc_case.yml"
    path.write_text(example[: example.index("```")])
    engine = RuleEngine(RULES, guidance_base_url=BASE)
    assert engine.reload().loaded
    results = run_fixture_file(path, engine.current, engine)
    assert [result.name for result in results] == ["retries from 3% to 25%"]
    assert [result.message for result in results if not result.passed] == []


def test_typo_in_field_names_line_and_rule(rules_dir: Path):
    errors = errors_for(rules_dir, GOOD_RULE.replace("utilization_pct: {lt: 30}", "utilisation_pct: {lt: 30}"))
    assert errors == [
        f"{rules_dir / 'gpus.yml'}:8: rule idle-gpus: metric gpu_utilization has no field 'utilisation_pct'; "
        "did you mean 'utilization_pct'? fields: " + ", ".join(METRICS["gpu_utilization"].field_names)
    ]


def test_unknown_key_is_an_error(rules_dir: Path):
    errors = errors_for(rules_dir, GOOD_RULE.replace("    cooldown_days: 7", "    cooldown_days: 7\n    colour: red"))
    assert len(errors) == 1
    assert errors[0].startswith(f"{rules_dir / 'gpus.yml'}:14: rule idle-gpus: unknown key 'colour'")


def test_errors_of_every_rule_reported(rules_dir: Path):
    second = GOOD_RULE.replace("rules:\n", "").replace("id: idle-gpus", "id: idle-gpus-2").replace("{lt: 30}", "{lt: 20}")
    second = second.replace("[gpu-cloud-vs-apis]", "[gpu-cloud]")
    first = GOOD_RULE.replace("severity: warning", "severity: urgent")
    errors = errors_for(rules_dir, first + second)
    assert errors == [
        f"{rules_dir / 'gpus.yml'}:10: rule idle-gpus: severity: 'urgent' is not one of info, warning, critical",
        f"{rules_dir / 'gpus.yml'}:24: rule idle-gpus-2: unknown guidance page 'gpu-cloud'; "
        "did you mean 'gpu-cloud-vs-apis'? see guidance.yml for the slugs",
    ]


def test_unknown_operator_is_an_error(rules_dir: Path):
    errors = errors_for(rules_dir, GOOD_RULE.replace("{lt: 30}", "{less: 30}"))
    assert len(errors) == 1
    assert errors[0].startswith(f"{rules_dir / 'gpus.yml'}:8: rule idle-gpus: unknown operator 'less'")


def test_unknown_metric_suggests_name(rules_dir: Path):
    errors = errors_for(rules_dir, GOOD_RULE.replace("metric: gpu_utilization", "metric: gpu_utilisation"))
    assert len(errors) == 1
    assert errors[0].startswith(f"{rules_dir / 'gpus.yml'}:4: rule idle-gpus: metric: 'gpu_utilisation' is not one of")
    assert errors[0].endswith("did you mean 'gpu_utilization'?")


def test_unknown_guidance_slug(rules_dir: Path):
    errors = errors_for(rules_dir, GOOD_RULE.replace("[gpu-cloud-vs-apis]", "[gpu-cloud-vs-api]"))
    assert errors == [
        f"{rules_dir / 'gpus.yml'}:12: rule idle-gpus: unknown guidance page 'gpu-cloud-vs-api'; "
        "did you mean 'gpu-cloud-vs-apis'? see guidance.yml for the slugs"
    ]


def test_unknown_placeholder(rules_dir: Path):
    errors = errors_for(rules_dir, GOOD_RULE.replace("{utilization_pct:.0f}", "{utilization:.0f}"))
    assert len(errors) == 1
    assert errors[0].startswith(f"{rules_dir / 'gpus.yml'}:11: rule idle-gpus: recommendation: unknown placeholder {{utilization}}")


def test_attribute_placeholder_rejected(rules_dir: Path):
    errors = errors_for(rules_dir, GOOD_RULE.replace("{host}", "{host.__class__}"))
    assert errors == [
        f"{rules_dir / 'gpus.yml'}:11: rule idle-gpus: recommendation: placeholder {{host.__class__}} is not a "
        "field name; use {field} or {field:format}"
    ]


def test_bad_format_spec_rejected(rules_dir: Path):
    errors = errors_for(rules_dir, GOOD_RULE.replace("{utilization_pct:.0f}", "{utilization_pct:d}"))
    assert len(errors) == 1
    assert "recommendation: format 'd' cannot print a value like 12.5" in errors[0]


def test_baseline_required_and_sane(rules_dir: Path):
    spike = GOOD_RULE.replace("metric: gpu_utilization", "metric: spend_change").replace("group_by: [host]", "group_by: [feature]")
    spike = spike.replace("utilization_pct: {lt: 30}", "change_ratio: {gte: 2}").replace("{host} averaged {utilization_pct:.0f}%", "{feature}")
    errors = errors_for(rules_dir, spike)
    assert errors == [f"{rules_dir / 'gpus.yml'}:4: rule idle-gpus: metric spend_change compares with a baseline; add baseline_days (at least window_days, e.g. 28)"]
    errors = errors_for(rules_dir, spike.replace("window_days: 7", "window_days: 7\n    baseline_days: 3"))
    assert errors == [f"{rules_dir / 'gpus.yml'}:6: rule idle-gpus: baseline_days 3 is shorter than window_days 7; use at least 7"]


def test_ratio_written_as_percent(rules_dir: Path):
    text = GOOD_RULE.replace("metric: gpu_utilization", "metric: unallocated_share").replace("group_by: [host]", "group_by: [provider]")
    text = text.replace("utilization_pct: {lt: 30}", "unallocated_share: {gte: 500}").replace("{host} averaged {utilization_pct:.0f}%", "{provider}")
    errors = errors_for(rules_dir, text)
    assert errors == [
        f"{rules_dir / 'gpus.yml'}:8: rule idle-gpus: unallocated_share gte 500: unallocated_share is a ratio "
        "(0.25 means 25%); write a ratio, not a percentage"
    ]


def test_yaml_syntax_error_names_line(rules_dir: Path):
    errors = errors_for(rules_dir, GOOD_RULE.replace("    window_days: 7", "    window_days: [7"))
    assert len(errors) == 1
    assert errors[0].startswith(f"{rules_dir / 'gpus.yml'}:")
    assert "invalid YAML" in errors[0]


def test_duplicate_ids_across_files(rules_dir: Path):
    (rules_dir / "more.yml").write_text(GOOD_RULE)
    with pytest.raises(RuleLoadError) as caught:
        load_rules_dir(rules_dir, guidance_base_url=BASE)
    assert caught.value.errors == [
        f"{rules_dir / 'more.yml'}:2: rule idle-gpus: duplicate rule id; first defined at {rules_dir / 'gpus.yml'}:2"
    ]


def test_validate_single_path(rules_dir: Path):
    loaded = load_rule_paths([rules_dir / "gpus.yml"], rules_dir=rules_dir, guidance_base_url=BASE)
    assert loaded.rules[0].min_spend_usd == Decimal("100")


def test_template_prints_rule_param(tmp_path: Path):
    """h100-where-a100-would-do prints the A100 price its params set, not a fixed one."""
    folder = tmp_path / "rules"
    shutil.copytree(RULES, folder)
    builtin = (RULES / "gpus.yml").read_text()
    assert "a100_hourly_usd: 3.43 " in builtin
    snapshot = Snapshot(
        scope={"host": "h100-serve-01"},
        values={"gpu_model": "H100", "gpus": 1, "utilization_pct": 42.0, "a100_utilization_pct": 84.0,
                "memory_max_gib": 31.5, "cost_usd": Decimal("1155.84"), "hourly_rate_usd": Decimal("6.88")},
    )
    texts = {}
    for price in ("3.43", "2.79"):
        (folder / "gpus.yml").write_text(builtin.replace("a100_hourly_usd: 3.43 ", f"a100_hourly_usd: {price} "))
        compiled = compile_rules(load_rules_dir(folder, guidance_base_url=BASE))
        rule = compiled.rule("h100-where-a100-would-do")
        texts[price] = draft(rule, snapshot, compiled, datetime(2026, 11, 20, tzinfo=timezone.utc),
                             timezone.utc).recommendation

    assert texts["3.43"].endswith("about 84% busy at $6.88 vs about $3.43 per GPU-hour.")
    assert texts["2.79"].endswith("about 84% busy at $6.88 vs about $2.79 per GPU-hour.")


def test_tier_templates_print_rule_params(tmp_path: Path):
    """The tier rules print the batch discount and priority multiplier their params set."""
    folder = tmp_path / "rules"
    shutil.copytree(RULES, folder)
    builtin = (RULES / "tiers.yml").read_text()
    snapshot = Snapshot(
        scope={"feature": "nightly-enrichment"},
        values={"interactive": False, "spend_usd": Decimal("709"), "standard_share": 0.9, "priority_share": 0.4,
                "priority_spend_usd": Decimal("141"), "batch_saving_monthly_usd": Decimal("1200"),
                "standard_saving_monthly_usd": Decimal("300")},
    )
    (folder / "tiers.yml").write_text(builtin.replace("batch_discount: 0.5 ", "batch_discount: 0.4 ")
                                      .replace("priority_multiplier: 2.0 ", "priority_multiplier: 1.75 "))
    compiled = compile_rules(load_rules_dir(folder, guidance_base_url=BASE))
    at = datetime(2026, 11, 20, tzinfo=timezone.utc)
    batch = draft(compiled.rule("batchable-on-standard"), snapshot, compiled, at, timezone.utc).recommendation
    priority = draft(compiled.rule("priority-nobody-waits-for"), snapshot, compiled, at, timezone.utc).recommendation

    assert "fit the Batch API (40% off, results within 24 hours)" in batch
    assert "Priority costs about 1.75x standard (1.75-2.5x by model)" in priority


def test_param_of_other_metric_rejected(rules_dir: Path):
    errors = errors_for(rules_dir, GOOD_RULE.replace("{utilization_pct:.0f}%", "{priority_multiplier}"))
    assert len(errors) == 1
    assert errors[0].startswith(f"{rules_dir / 'gpus.yml'}:11: rule idle-gpus: recommendation: unknown placeholder {{priority_multiplier}}")


def test_param_named_like_field_rejected():
    gpu = METRICS["gpu_utilization"]
    clash = dataclasses.replace(gpu, name="gpu_clash", params=(MetricParam("cost_usd", 1.0, "A clash."),))
    with pytest.raises(ValueError, match="param 'cost_usd' has the name of a field, dimension or template extra; rename the param"):
        register(clash)
    assert "gpu_clash" not in METRICS


def test_template_render_formats():
    values = {"feature": "support-triage", "spend": Decimal("4120.4"), "share": 0.781, "missing": None}
    text = render("{feature} spent {spend:usd}, {share:pct} {{literal}} {missing:.1f}", values)
    assert text == "support-triage spent $4,120, 78% {literal} n/a"
    assert format_value(Decimal("12.5"), "usd") == "$12.50"


def test_template_rejects_calls():
    with pytest.raises(TemplateError, match="is not a field name"):
        placeholders("{feature.upper()}")
    with pytest.raises(TemplateError, match="unmatched"):
        placeholders("{feature")


def test_model_classes_longest_pattern_wins():
    classes = load_model_classes(RULES / "model_classes.yml")
    assert classes.classify("gpt-5.2") == "premium"
    assert classes.classify("gpt-5-mini") == "mid"
    assert classes.classify("gpt-5-nano") == "economy"
    assert classes.classify("claude-opus-4-5") == "premium"
    assert classes.classify("claude-sonnet-4-6") == "mid"
    assert classes.classify("claude-haiku-4-5") == "economy"
    assert classes.classify("my-finetune") == "unknown"


def test_model_classes_ignore_provider_prefix():
    # LiteLLM logs may name the model with its provider, as in "openai/gpt-5.2".
    classes = load_model_classes(RULES / "model_classes.yml")
    assert classes.classify("openai/gpt-5.2") == "premium"
    assert classes.classify("openai/gpt-5-mini") == "mid"
    assert classes.classify("anthropic/claude-haiku-4-5") == "economy"
    assert classes.classify("bedrock/my-finetune") == "unknown"


def test_guidance_catalog_urls_and_errors(tmp_path: Path):
    catalog = load_catalog(RULES / "guidance.yml", "https://mirror.example/")
    assert catalog.page("model-routing").url == "https://mirror.example/models-and-apis/model-routing/"
    assert len(catalog.pages) == 11
    bad = tmp_path / "guidance.yml"
    bad.write_text("pages:\n  - slug: Model Routing\n    title: x\n    path: models\n    colour: red\n")
    with pytest.raises(GuidanceError) as caught:
        load_catalog(bad, BASE)
    assert caught.value.errors == [
        f"{bad}:5: page 1: unknown key 'colour'; use slug, title, path",
        f"{bad}:2: page 'Model Routing': slug must be lowercase words joined by '-'",
        f"{bad}:4: page 'Model Routing': path 'models' must start with '/' and have no spaces",
    ]


def test_docs_are_current():
    from bot.rules.docs import render_rules_doc

    assert (ROOT / "docs" / "rules.md").read_text() == render_rules_doc(), "run `costbot rules docs`"
