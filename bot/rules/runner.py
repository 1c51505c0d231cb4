"""`run_rules`: evaluate the rules in force and post new findings to their owners."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from bot.mapping import Mapping, MappingError, load_mapping
from bot.models import Finding
from bot.rules.engine import get_rule_engine
from bot.rules.evaluate import Draft, evaluate
from bot.rules.findings import record

logger = logging.getLogger(__name__)


@dataclass
class RunReport:
    at: datetime
    drafts: list[Draft] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # stored and queued in this run
    errors: list[str] = field(default_factory=list)
    dry_run: bool = False

    def summary(self) -> str:
        verb = "would post" if self.dry_run else "posted"
        count = len(self.drafts) if self.dry_run else len(self.findings)
        matches = len(self.drafts)
        text = f"rules at {self.at.isoformat()}: {matches} match{'' if matches == 1 else 'es'}, {verb} {count}"
        if self.errors:
            text += f", {len(self.errors)} rule{'' if len(self.errors) == 1 else 's'} skipped"
        return text


def load_mapping_or_empty(settings) -> Mapping:
    """Load the mapping file; log and use an empty mapping when it is invalid."""
    try:
        return load_mapping(settings.mapping_file)
    except MappingError as exc:
        logger.error("rules run without the mapping file (owners and interactive flags unknown): %s", exc)
        return load_mapping(None)


def load_budgets_or_none(settings):
    from bot.budgets.config import BudgetFileError, load_budgets

    try:
        return load_budgets(settings.budgets_file)
    except (BudgetFileError, OSError) as exc:
        logger.warning("rules run without budget owners: %s", exc)
        return None


def notify_target(draft: Draft, mapping: Mapping, budgets, default_channel: str | None) -> str | None:
    """Return who hears of a draft: the scope's owner (mapping, then budgets), else the rule's
    channel, else the default channel."""
    rule = draft.rule
    if rule.notify == "owner":
        for dimension, value in draft.scope.items():
            owner = _owner(dimension, value, mapping, budgets) if value is not None else None
            if owner:
                return owner
    return rule.channel or default_channel


def _owner(dimension: str, value: str, mapping: Mapping, budgets) -> str | None:
    """Return the owner of one scope value: a feature's own owner, its dimension's owner, the
    owner of its team (features and hosts), or the owner of a budget on exactly that value."""
    attributes: dict = {}
    if dimension == "feature":
        attributes = mapping.feature(value)
    elif dimension == "host":
        attributes = mapping.for_host(value)
    owner = attributes.get("owner") or mapping.owner(dimension, value)
    if owner is None and attributes.get("team"):
        owner = mapping.owner("team", attributes["team"])
    if owner is None and budgets is not None:
        owner = next((budget.owner for budget in budgets.budgets if budget.scope.get(dimension) == (value,)), None)
    return owner if isinstance(owner, str) else None


def run_rules(session: Session, *, settings, clock, dry_run: bool = False, at: datetime | None = None) -> RunReport:
    """Evaluate the rules in force at `at` (now by default) and, unless `dry_run`, store and
    queue each new finding. Changed rule files are reloaded first; invalid ones are
    reported and the previous rules keep running."""
    engine = get_rule_engine(settings)
    at = at or clock.now()
    report = RunReport(at=at, dry_run=dry_run, errors=[f"rule files: {error}" for error in engine.last_errors])
    if engine.current is None:
        logger.error("rules run skipped: no valid rule set is loaded")
        return report
    mapping = load_mapping_or_empty(settings)
    evaluation = evaluate(session, engine.current, engine, at=at, tz=settings.tz, mapping=mapping)
    report.drafts = evaluation.drafts
    report.errors.extend(evaluation.errors)
    if dry_run:
        logger.info("%s", report.summary())
        return report

    budgets = load_budgets_or_none(settings)
    titles = {page.url: page.title for page in engine.current.loaded.catalog.pages.values()}
    now = clock.now()
    for draft in evaluation.drafts:
        try:
            with session.begin_nested():
                notify = notify_target(draft, mapping, budgets, settings.default_channel)
                finding = record(session, draft, notify=notify, now=now, guidance_titles=titles)
        except Exception as exc:  # noqa: BLE001 (one failing rule must not stop the others)
            report.errors.append(f"rule {draft.rule.id}: storing the finding for {draft.scope_key} failed: {exc}")
            logger.exception("rules finding failed rule=%s scope=%s", draft.rule.id, draft.scope_key)
            continue
        if finding is not None:
            report.findings.append(finding)
    logger.info("%s", report.summary())
    return report
