"""`costbot rules …`: list, validate, test, run, backtest and explain rule files."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from pathlib import Path

import typer

from bot.cli.apps import new_app
from bot.cli.options import parse_day, parse_timestamp
from bot.clock import SystemClock
from bot.settings import get_settings

DOCS_PATH = Path(__file__).resolve().parent.parent.parent / "docs" / "rules.md"


def _engine_or_exit():
    from bot.rules.engine import get_rule_engine

    engine = get_rule_engine(get_settings())
    if engine.current is None:
        for error in engine.last_errors:
            typer.echo(error, err=True)
        typer.echo("costbot: no valid rule set; fix the errors above (costbot rules validate)", err=True)
        raise typer.Exit(1)
    return engine


def _explain_value(value, field_type: str | None) -> str:
    """Format a metric value for `rules explain`: dollars and cents for money, three significant digits for numbers."""
    from decimal import Decimal

    from bot.rules.metrics import MONEY
    from bot.rules.template import format_value

    if field_type == MONEY and value is not None:
        return f"${Decimal(str(value)):,.2f}"
    if isinstance(value, float):
        return format(value, ".3g")
    return format_value(value, "")


def register(app: typer.Typer) -> None:
    rules_app = new_app(
        "List, validate, test, run, backtest and explain rule files.\n\n"
        "Rule files are the YAML files in COSTBOT_RULES_DIR (rules/ by default), described in docs/rules.md.\n\n"
        "\b\nExamples:\n  costbot rules validate\n  costbot rules run --dry-run"
    )

    @rules_app.command("validate")
    def validate(
        paths: list[Path] = typer.Argument(
            None, metavar="FILE", help="Rule files to check; all files in the rules folder by default."
        ),
    ) -> None:
        """Check rule files and list every error.

        Each error is one line, `FILE:LINE: rule ID: what is wrong`, and any error makes the
        exit status 1.

        \b
        Examples:
          costbot rules validate
          costbot rules validate rules/gpus.yml
        """
        from bot.rules.loader import RuleLoadError, folder_signature, load_rule_paths, rule_files

        settings = get_settings()
        rules_dir = Path(settings.rules_dir)
        files = list(paths) if paths else rule_files(rules_dir)
        try:
            loaded = load_rule_paths(
                files, rules_dir=rules_dir, guidance_base_url=settings.guidance_base_url,
                default_channel=settings.default_channel, signature=folder_signature(rules_dir),
            )
        except RuleLoadError as exc:
            for error in exc.errors:
                typer.echo(error, err=True)
            typer.echo(f"{len(exc.errors)} error{'' if len(exc.errors) == 1 else 's'}", err=True)
            raise typer.Exit(1) from None
        typer.echo(f"ok: {len(loaded.rules)} rules in {len(files)} files")

    @rules_app.command("list")
    def list_rules(
        as_json: bool = typer.Option(False, "--json", help="Print the rules as a JSON array instead of a table."),
    ) -> None:
        """List each rule with its metric, severity and window.

        Rules come from the files in the rules folder, in file order. Disabled rules are
        marked "(disabled)".

        \b
        Examples:
          costbot rules list
          costbot rules list --json
        """
        rules = _engine_or_exit().current.loaded.rules
        if as_json:
            import json

            items = [
                {"id": rule.id, "metric": rule.metric, "severity": rule.severity, "window_days": rule.window_days,
                 "description": rule.description, "enabled": rule.enabled, "file": rule.file, "line": rule.line}
                for rule in rules
            ]
            typer.echo(json.dumps(items, indent=2))
            return
        header = ("id", "metric", "severity", "window", "description")
        rows = [
            (rule.id, rule.metric, rule.severity, f"{rule.window_days}d",
             rule.description + ("" if rule.enabled else " (disabled)"))
            for rule in rules
        ]
        widths = [max(len(row[column]) for row in (header, *rows)) for column in range(len(header) - 1)]
        for row in (header, *rows):
            typer.echo("  ".join([*(value.ljust(width) for value, width in zip(row, widths)), row[-1]]))

    @rules_app.command("test")
    def test(
        folder: Path = typer.Option(None, "--dir", metavar="DIR", help="Folder of fixture files; rules/tests by default."),
    ) -> None:
        """Run the rule fixture cases and list the failures.

        Each case gives metric values and the finding the rules should produce from them. A
        failed case, or a folder without cases, makes the exit status 1.

        \b
        Examples:
          costbot rules test
          costbot rules test --dir rules/tests
        """
        from bot.rules.fixtures import fixture_files, run_fixture_file

        engine = _engine_or_exit()
        folder = folder or Path(get_settings().rules_dir) / "tests"
        results = [result for path in fixture_files(folder) for result in run_fixture_file(path, engine.current, engine)]
        failed = [result for result in results if not result.passed]
        for result in failed:
            typer.echo(f"{result.where}: {result.name}: {result.message}", err=True)
        typer.echo(f"{len(results) - len(failed)} passed, {len(failed)} failed")
        if failed or not results:
            raise typer.Exit(1)

    @rules_app.command("run")
    def run(
        dry_run: bool = typer.Option(False, "--dry-run", help="Print what would be posted; store and post nothing."),
        at: str = typer.Option(
            None, "--at", metavar="TIME", help="Evaluate as of this ISO 8601 timestamp with a zone, such as 2026-11-20T00:00Z (default: now)."
        ),
    ) -> None:
        """Evaluate the rules and post the new findings.

        Evaluates as of now, or --at a past moment. With --dry-run it prints the findings and
        stores and posts nothing.

        \b
        Examples:
          costbot rules run
          costbot rules run --dry-run --at 2026-11-20T00:00Z
        """
        from bot.db import get_engine, session_scope
        from bot.rules.runner import run_rules

        when = parse_timestamp(at, "--at") if at else None
        _engine_or_exit()
        with session_scope(get_engine(get_settings().database_url)) as session:
            report = run_rules(session, settings=get_settings(), clock=SystemClock(), dry_run=dry_run, at=when)
            items = report.drafts if dry_run else report.findings
            for item in items:
                rule_id = item.rule.id if dry_run else item.rule_id
                saving = f" (saves ~${item.monthly_saving_usd:,.0f}/month)" if item.monthly_saving_usd else ""
                typer.echo(f"{rule_id} {item.scope_key}: {item.recommendation}{saving}")
        for error in report.errors:
            typer.echo(f"skipped: {error}", err=True)
        typer.echo(report.summary())

    @rules_app.command("backtest")
    def backtest(
        start: str = typer.Option(..., "--from", metavar="DATE", help="First day (YYYY-MM-DD), evaluated at its start in the workspace time zone."),
        end: str = typer.Option(..., "--to", metavar="DATE", help="Last day (YYYY-MM-DD), inclusive."),
    ) -> None:
        """Replay the rules day by day over the stored history.

        Prints what the rules would have posted each day, keeping each rule's cooldown.
        Nothing is stored or posted.

        \b
        Example:
          costbot rules backtest --from 2026-11-01 --to 2026-11-20
        """
        from bot.db import get_engine, session_scope
        from bot.rules.evaluate import evaluate
        from bot.rules.runner import load_mapping_or_empty

        first, last = parse_day(start, "--from"), parse_day(end, "--to")
        if last < first:
            raise typer.BadParameter(f"--to {last} is before --from {first}", param_hint="--to")
        engine = _engine_or_exit()
        settings = get_settings()
        mapping = load_mapping_or_empty(settings)
        posted: dict[tuple[str, str], datetime] = {}
        total = 0
        with session_scope(get_engine(get_settings().database_url)) as session:
            day = first
            while day <= last:
                at = datetime.combine(day, time(), tzinfo=settings.tz).astimezone(timezone.utc)
                evaluation = evaluate(session, engine.current, engine, at=at, tz=settings.tz, mapping=mapping)
                for draft in evaluation.drafts:
                    key = (draft.rule.id, draft.scope_key)
                    previous = posted.get(key)
                    if previous is not None and previous > at - timedelta(days=draft.rule.cooldown_days):
                        continue
                    posted[key] = at
                    total += 1
                    typer.echo(f"{day} {draft.rule.id} {draft.scope_key}: {draft.recommendation}")
                for error in evaluation.errors:
                    typer.echo(f"{day} skipped: {error}", err=True)
                day += timedelta(days=1)
        typer.echo(f"{total} findings would have been posted from {first} to {last}")

    @rules_app.command("explain")
    def explain(
        rule_id: str = typer.Argument(..., metavar="RULE_ID", help="The rule id."),
        at: str = typer.Option(None, "--at", metavar="TIME", help="Evaluate as of this ISO 8601 timestamp with a zone, such as 2026-11-20T00:00Z (default: now)."),
    ) -> None:
        """Show a rule's conditions and the values of each scope.

        Prints the rule's conditions, then the latest values of the fields they read for
        every scope, marking the scopes that match.

        \b
        Example:
          costbot rules explain premium-model-overuse --at 2026-11-20T00:00Z
        """
        from bot.db import get_engine, session_scope
        from bot.rules.compile import match_condition
        from bot.rules.conditions import comparisons, describe
        from bot.rules.evaluate import evaluate
        from bot.rules.runner import load_mapping_or_empty
        from bot.rules.template import format_value

        engine = _engine_or_exit()
        rule = engine.current.rule(rule_id)
        if rule is None:
            import difflib

            ids = [item.id for item in engine.current.loaded.rules]
            close = difflib.get_close_matches(rule_id, ids, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            typer.echo(f"costbot: unknown rule {rule_id!r}; {hint}rules: {', '.join(ids)}", err=True)
            raise typer.Exit(2)
        typer.echo(f"{rule.id} ({rule.where}): {rule.description}")
        baseline = f", baseline {rule.baseline_days} days before it" if rule.baseline_days else ""
        typer.echo(f"metric {rule.metric}, window {rule.window_days} days{baseline}, grouped by {', '.join(rule.group_by) or 'nothing'}")
        typer.echo(f"fires when: {describe(rule.when)} and spend >= ${rule.min_spend_usd}")
        if not rule.enabled:
            typer.echo("disabled (enabled: false)")
            return
        when = parse_timestamp(at, "--at") if at else SystemClock().now()
        fields = list(dict.fromkeys(item.field for item in comparisons(match_condition(rule, "")) if item.field != "q"))
        with session_scope(get_engine(get_settings().database_url)) as session:
            evaluation = evaluate(session, engine.current, engine, at=when, tz=get_settings().tz,
                                  mapping=load_mapping_or_empty(get_settings()), rule_ids={rule.id})
        matched = {draft.scope_key for draft in evaluation.drafts}
        from bot.rules.metrics import METRICS

        field_types = {field.name: field.type for field in METRICS[rule.metric].fields}
        snapshots = evaluation.snapshots.get(engine.current.rule_query[rule.id], [])
        scopes = f"{len(snapshots)} scope{'' if len(snapshots) == 1 else 's'}"
        matches = f"{len(matched)} match{'' if len(matched) == 1 else 'es'}"
        typer.echo(f"{scopes} at {when.isoformat()}, {matches}" + (":" if snapshots else ""))
        for snapshot in sorted(snapshots, key=lambda item: item.scope_key):
            mark = "MATCH" if snapshot.scope_key in matched else "-"
            shown = ", ".join(f"{name}={_explain_value(snapshot.values.get(name), field_types.get(name))}" for name in fields)
            typer.echo(f"  {mark:5} {snapshot.scope_key}: {shown}")
        for error in evaluation.errors:
            typer.echo(f"skipped: {error}", err=True)

    @rules_app.command("docs")
    def docs(check: bool = typer.Option(False, "--check", help="Exit 1 when docs/rules.md is out of date instead of writing it.")) -> None:
        """Write docs/rules.md from the metrics registry.

        With --check it writes nothing and exits with status 1 when the file is out of date.

        \b
        Examples:
          costbot rules docs
          costbot rules docs --check
        """
        from bot.rules.docs import render_rules_doc

        text = render_rules_doc()
        if check:
            current = DOCS_PATH.read_text(encoding="utf-8") if DOCS_PATH.exists() else ""
            if current != text:
                typer.echo(f"{DOCS_PATH} is out of date; run `costbot rules docs`", err=True)
                raise typer.Exit(1)
            typer.echo(f"{DOCS_PATH} is current")
            return
        DOCS_PATH.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {DOCS_PATH}")

    @rules_app.command("schema")
    def schema() -> None:
        """Print the JSON Schema of rule files.

        The schema is generated from the metrics registry, for editors and CI.

        \b
        Example:
          costbot rules schema > rules.schema.json
        """
        import json

        from bot.rules.schema import rule_file_schema

        typer.echo(json.dumps(rule_file_schema(), indent=2))

    app.add_typer(rules_app, name="rules")
