"""`costbot budgets …`: check budgets by hand, list their state, validate the budgets file."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import typer
from sqlmodel import Session, select

from bot import db
from bot.budgets.blocks import pct, usd
from bot.budgets.config import BudgetFileError, load_budgets
from bot.cli.apps import new_app
from bot.cli.options import parse_timestamp
from bot.models import BudgetAlert, BudgetSnooze
from bot.settings import get_settings


def _parse_at(value: str | None) -> datetime:
    if value is None:
        # Printed timestamps read to the second.
        return datetime.now(timezone.utc).replace(microsecond=0)
    # A bad value raises Typer's usage error, worded as for every other command's --at.
    return parse_timestamp(value, "--at")


def _load(path: Path):
    try:
        return load_budgets(path)
    except BudgetFileError as exc:
        errors = f"{len(exc.errors)} error{'' if len(exc.errors) == 1 else 's'}"
        typer.echo(f"costbot: {errors} in the budgets file:\n{exc}", err=True)
        raise typer.Exit(1) from None


def _alerts_this_period(session: Session, statuses) -> dict[str, list[str]]:
    """Return, per budget, the alerts recorded in its current period, e.g. ["actual 50%"]."""
    starts = {status.budget.name: status.period.start for status in statuses}
    sent: dict[str, list[str]] = {}
    query = select(BudgetAlert).where(BudgetAlert.period_start.in_(set(starts.values()))).order_by(BudgetAlert.threshold_pct)
    for alert in session.exec(query):
        if starts.get(alert.budget_name) == alert.period_start:
            covered = f" (in the {alert.covered_by_pct}% alert)" if alert.covered_by_pct else ""
            sent.setdefault(alert.budget_name, []).append(f"{alert.kind} {alert.threshold_pct}%{covered}")
    return sent


def _periods_without_usage_hint(session: Session, statuses, now: datetime, tz) -> list[str]:
    """Return where the stored usage ends and how to check as of then, when some checked
    budget period has no usage up to `now` although other usage is stored.

    Without it, "no new alerts due" on stale data reads as "spend is within budget". The
    first line names the budgets when only some of their periods lack usage.
    """
    from bot.answers.format import period_without_usage_hint
    from bot.queries.vocabulary import has_usage_between, latest_usage_end

    latest_end = latest_usage_end(session, until=now)
    if latest_end is None:
        return []
    empty = [status.budget.name for status in statuses
             if not has_usage_between(session, status.period.start, min(now, status.period.end))]
    if not empty:
        return []
    lines = period_without_usage_hint(latest_end, tz, at_action="check")
    if len(empty) < len(statuses):
        lines[0] = f"{', '.join(empty)}: {lines[0]}"
    return lines


def register(app: typer.Typer) -> None:
    budgets_app = new_app(
        "Check budgets, list their state and validate the budgets file.\n\n"
        "The budgets file is COSTBOT_BUDGETS_FILE (budgets.yml by default).\n\n"
        "\b\nExamples:\n  costbot budgets list\n  costbot budgets check --dry-run"
    )

    @budgets_app.command("check")
    def check(
        dry_run: bool = typer.Option(False, "--dry-run", help="Show the alerts that are due without recording or queueing them."),
        at: str | None = typer.Option(
            None, "--at", metavar="TIME", help="Check as of this ISO 8601 timestamp with a zone, such as 2026-11-20T00:00Z (default: now)."
        ),
    ) -> None:
        """Check every budget and queue the alerts that are due.

        Checks as of now, or --at a past moment. With --dry-run it prints the alerts that are
        due without recording or queueing them.

        \b
        Examples:
          costbot budgets check
          costbot budgets check --dry-run --at 2026-11-20T00:00Z
        """
        from bot.budgets.alerts import run_check

        settings = get_settings()
        now = _parse_at(at)
        budgets = _load(settings.budgets_file)
        with Session(db.get_engine(settings.database_url), expire_on_commit=False) as session:
            report = run_check(session, budgets, now=now, tz=settings.tz,
                               guidance_base_url=settings.guidance_base_url, dry_run=dry_run)
            hint = _periods_without_usage_hint(session, report.statuses, now, settings.tz)
        verb = "would send" if dry_run else "queued"
        if not report.due:
            earlier = f" ({report.sent_earlier} already sent this period)" if report.sent_earlier else ""
            typer.echo(f"{len(report.statuses)} budgets checked at {now.isoformat()}; no new alerts due{earlier}")
        for plan in report.due:
            status = plan.status
            sent = dry_run or plan in report.sent
            state = verb if sent else "already sent by another worker"
            typer.echo(
                f"{status.budget.name}: {plan.kind} {plan.threshold}% {state} to {', '.join(plan.destinations())} — "
                f"spent {usd(status.spent)} ({pct(status.share_pct)}), forecast {usd(status.forecast)} "
                f"({pct(status.forecast_pct)}), resets {status.period.reset_day}"
            )
            if plan.covered:
                typer.echo(f"  covers {', '.join(f'{kind} {threshold}%' for threshold, kind in plan.covered)}")
            if sent:
                from bot.budgets.blocks import alert_text

                typer.echo(f"  message: {alert_text(status, plan.threshold, plan.kind, plan.forecast_past)}")
        if report.snoozed:
            typer.echo(f"{report.snoozed} budgets held back by a snooze")
        for line in hint:
            typer.echo(line)

    @budgets_app.command("list")
    def list_budgets(
        at: str | None = typer.Option(
            None, "--at", metavar="TIME", help="Show the state as of this ISO 8601 timestamp with a zone, such as 2026-11-20T00:00Z (default: now)."
        ),
    ) -> None:
        """Show each budget's spend, forecast and top drivers.

        Each line also gives the share used, the reset date, the alerts sent this period and
        any snooze.

        \b
        Examples:
          costbot budgets list
          costbot budgets list --at 2026-11-20T00:00Z
        """
        from bot.budgets.checks import check_budgets

        settings = get_settings()
        budgets = _load(settings.budgets_file)
        now = _parse_at(at)
        with Session(db.get_engine(settings.database_url)) as session:
            statuses = check_budgets(session, budgets, now=now, tz=settings.tz)
            sent = _alerts_this_period(session, statuses)
            snoozed = {row.budget_name: row.until for row in session.exec(select(BudgetSnooze).where(BudgetSnooze.until > now))}
        if not statuses:
            typer.echo(f"no budgets in {settings.budgets_file}")
        for status in statuses:
            budget = status.budget
            drivers = ", ".join(f"{driver.label} {usd(driver.amount)}" for driver in status.drivers) or "no spend yet"
            alerts = ", ".join(sent.get(budget.name, [])) or "none"
            line = (
                f"{budget.name} ({budget.describe_scope()}, {budget.period}, owner {budget.owner}): "
                f"{usd(status.spent)} of {usd(budget.amount_usd)} ({pct(status.share_pct)}), "
                f"forecast {usd(status.forecast)} ({pct(status.forecast_pct)}), resets {status.period.reset_day} "
                f"in {status.days_until_reset} days; drivers: {drivers}; alerts this period: {alerts}"
            )
            if budget.name in snoozed:
                line += f"; snoozed until {snoozed[budget.name]:%Y-%m-%d %H:%M} UTC"
            typer.echo(line)

    @budgets_app.command("validate")
    def validate(
        file: Path | None = typer.Argument(
            None, metavar="FILE", help="Budgets file to validate (default: COSTBOT_BUDGETS_FILE)."
        ),
    ) -> None:
        """Validate a budgets file and list every mistake.

        Each mistake is one line, `FILE:LINE: budget NAME: what is wrong`, and any mistake
        makes the exit status 1.

        \b
        Examples:
          costbot budgets validate
          costbot budgets validate examples/budgets.yml
        """
        path = file or get_settings().budgets_file
        budgets = _load(path)
        typer.echo(f"{path}: {len(budgets)} budgets, valid")

    app.add_typer(budgets_app, name="budgets")
