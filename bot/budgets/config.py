"""The budgets file: load, validate and keep the last good set of budgets.

Admins keep the file in version control. `load_budgets` reports every mistake as
`FILE:LINE: budget NAME: what is wrong` and rejects an invalid file as a whole.
`BudgetRegistry` rereads the file when it changes, and while the file is invalid it keeps
the last good set in force.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.models.base import DIMENSIONS
from bot.yamlfile import compose_yaml, node_line, syntax_error_line

logger = logging.getLogger(__name__)

PERIODS = ("daily", "weekly", "monthly", "quarterly")
# The cost kinds a budget can count; the same names as the query layer's COST_KINDS.
COST_KINDS = ("llm", "tools", "gpu", "review", "other")
DEFAULT_THRESHOLDS = (50, 80, 100)
BUDGET_KEYS = ("name", "scope", "period", "amount_usd", "thresholds", "forecast_alerts", "owner", "channel", "kinds")
REQUIRED_KEYS = ("name", "period", "amount_usd", "owner")

BUDGET_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
SLACK_CHANNEL = re.compile(r"^([CGD][A-Z0-9]{2,}|#[a-z0-9][a-z0-9_-]{0,79})$")
MAX_THRESHOLD_PCT = 1000
# libyaml's loader, when PyYAML was built with it, composes a 10,000-budget file about ten
# times faster; both keep the line marks that error messages use.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class BudgetFileError(Exception):
    """Raised when the budgets file is invalid; `errors` contains one line per mistake."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("\n".join(errors))


@dataclass(frozen=True)
class Budget:
    """One budget as declared in the file. `scope` maps a dimension to its accepted values."""

    name: str
    period: str
    amount_usd: Decimal
    owner: str
    scope: dict[str, tuple[str, ...]] = field(default_factory=dict)
    thresholds: tuple[int, ...] = DEFAULT_THRESHOLDS
    forecast_alerts: bool = True
    channel: str | None = None
    kinds: tuple[str, ...] = COST_KINDS
    line: int = 0

    @property
    def scope_dimensions(self) -> tuple[str, ...]:
        return tuple(sorted(self.scope))

    def describe_scope(self) -> str:
        if not self.scope:
            return "all spend"
        return ", ".join(f"{dimension} {'/'.join(values)}" for dimension, values in sorted(self.scope.items()))


@dataclass(frozen=True)
class BudgetSet:
    """The budgets of one valid file, in file order, with the file's SHA-256 digest."""

    budgets: tuple[Budget, ...] = ()
    path: Path | None = None
    digest: str = ""

    def get(self, name: str) -> Budget | None:
        for budget in self.budgets:
            if budget.name == name:
                return budget
        return None

    def __len__(self) -> int:
        return len(self.budgets)


def load_budgets(path: Path) -> BudgetSet:
    """Read and validate the budgets file at `path`; raise BudgetFileError listing every mistake.

    A missing file is an error too, because a worker configured with a budgets file that does
    not exist must report it instead of silently checking nothing.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BudgetFileError([f"{path}: budgets file not found; create it or set COSTBOT_BUDGETS_FILE"]) from None
    except OSError as exc:
        raise BudgetFileError([f"{path}: cannot read the budgets file: {exc.strerror}"]) from None
    return parse_budgets(text, path)


def parse_budgets(text: str, path: Path) -> BudgetSet:
    """Validate the YAML `text` of a budgets file; `path` only names the file in errors."""
    try:
        root = compose_yaml(text, _LOADER)
    except yaml.MarkedYAMLError as exc:
        line = syntax_error_line(exc) or 1
        raise BudgetFileError([f"{path}:{line}: invalid YAML: {exc.problem}"]) from None

    errors: list[str] = []
    budgets: list[Budget] = []
    if root is None:
        raise BudgetFileError([f"{path}:1: the file is empty; it needs a top-level 'budgets:' list"])
    if not isinstance(root, MappingNode):
        raise BudgetFileError([f"{path}:{node_line(root)}: expected a mapping with a 'budgets:' list at the top"])

    entries: SequenceNode | None = None
    for key_node, value_node in root.value:
        key = _scalar(key_node)
        if key != "budgets":
            errors.append(f"{path}:{node_line(key_node)}: unknown top-level key {key!r}; the only key is 'budgets'")
            continue
        if isinstance(value_node, ScalarNode) and value_node.tag.endswith(":null"):
            entries = SequenceNode(tag="tag:yaml.org,2002:seq", value=[])
        elif not isinstance(value_node, SequenceNode):
            errors.append(f"{path}:{node_line(value_node)}: 'budgets' must be a list of budgets")
        else:
            entries = value_node
    if entries is None and not errors:
        errors.append(f"{path}:1: missing the top-level 'budgets:' list")

    seen: dict[str, int] = {}
    for index, node in enumerate(entries.value if entries is not None else []):
        # Names are compared before the budget is checked, so a duplicate is reported in the
        # same run as the budget's other mistakes.
        name = _budget_name(node)
        duplicate = name is not None and name in seen
        if duplicate:
            errors.append(
                f"{path}:{node_line(node)}: budget {name}: duplicate name, first used on line {seen[name]}; "
                "give each budget its own name"
            )
        elif name is not None:
            seen[name] = node_line(node)
        budget = _parse_budget(node, index, path, errors)
        if budget is not None and not duplicate:
            budgets.append(budget)

    if errors:
        raise BudgetFileError(errors)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return BudgetSet(budgets=tuple(budgets), path=path, digest=digest)


def _budget_name(node: Node) -> str | None:
    """Return the `name:` of a budget entry, or None when the entry has none."""
    if not isinstance(node, MappingNode):
        return None
    for key_node, value_node in node.value:
        if _scalar(key_node) == "name":
            return _scalar(value_node) or None
    return None


def _parse_budget(node: Node, index: int, path: Path, errors: list[str]) -> Budget | None:
    if not isinstance(node, MappingNode):
        errors.append(f"{path}:{node_line(node)}: budget #{index + 1}: expected a mapping of budget keys")
        return None

    values: dict[str, Node] = {}
    for key_node, value_node in node.value:
        values[_scalar(key_node) or ""] = value_node

    name_node = values.get("name")
    name = _scalar(name_node) if name_node is not None else None
    label = name if name else f"#{index + 1}"
    count_before = len(errors)

    def fail(at: Node, message: str) -> None:
        errors.append(f"{path}:{node_line(at)}: budget {label}: {message}")

    for key_node, _ in node.value:
        key = _scalar(key_node)
        if key not in BUDGET_KEYS:
            fail(key_node, f"unknown key {key!r}; known keys are {', '.join(BUDGET_KEYS)}")
    for key in REQUIRED_KEYS:
        if key not in values:
            fail(node, f"missing required key {key!r}")

    if name is not None and not BUDGET_NAME.match(name):
        fail(name_node, f"invalid name {name!r}; use lower-case letters, digits, '.', '_' or '-' (up to 100)")

    period = None
    if "period" in values:
        period = _scalar(values["period"])
        if period not in PERIODS:
            fail(values["period"], f"bad period {period!r}; use one of {', '.join(PERIODS)}")

    amount = None
    if "amount_usd" in values:
        amount = _parse_amount(values["amount_usd"], fail)

    scope: dict[str, tuple[str, ...]] = {}
    if "scope" in values:
        scope = _parse_scope(values["scope"], fail)

    thresholds = DEFAULT_THRESHOLDS
    if "thresholds" in values:
        thresholds = _parse_thresholds(values["thresholds"], fail)

    forecast_alerts = True
    if "forecast_alerts" in values:
        flag = values["forecast_alerts"]
        if not (isinstance(flag, ScalarNode) and flag.tag.endswith(":bool")):
            fail(flag, f"forecast_alerts must be true or false, not {_scalar(flag)!r}")
        else:
            forecast_alerts = flag.value.lower() in ("true", "yes", "on")

    owner = None
    if "owner" in values:
        owner = _scalar(values["owner"])
        if owner is None or not SLACK_USER_ID.match(owner):
            fail(values["owner"], f"owner {owner!r} is not a Slack user id; use an id such as U0SEARCH1")

    channel = None
    if "channel" in values:
        channel = _scalar(values["channel"])
        if channel is not None and not SLACK_CHANNEL.match(channel):
            fail(values["channel"], f"channel {channel!r} is not a Slack channel; use an id such as C0SEARCHCOST or #name")

    kinds = COST_KINDS
    if "kinds" in values:
        kinds = _parse_kinds(values["kinds"], fail)

    if len(errors) > count_before or name is None or period is None or amount is None or owner is None:
        return None
    return Budget(
        name=name,
        period=period,
        amount_usd=amount,
        owner=owner,
        scope=scope,
        thresholds=thresholds,
        forecast_alerts=forecast_alerts,
        channel=channel,
        kinds=kinds,
        line=node_line(node),
    )


def _parse_amount(node: Node, fail) -> Decimal | None:
    # The amount is read from the text the admin typed, never through a float, so 0.1 stays 0.1.
    raw = _scalar(node)
    try:
        amount = Decimal(raw) if isinstance(node, ScalarNode) and raw is not None else None
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        fail(node, f"amount_usd {raw!r} is not a number; write a decimal such as \"12000\"")
        return None
    return _check_amount(node, amount, raw, fail)


def _check_amount(node: Node, amount: Decimal, raw: str, fail) -> Decimal | None:
    if amount < 0:
        fail(node, f"negative amount_usd {raw}; an amount must be greater than 0")
        return None
    if amount == 0:
        fail(node, "amount_usd is 0; an amount must be greater than 0")
        return None
    return amount


def _parse_scope(node: Node, fail) -> dict[str, tuple[str, ...]]:
    if isinstance(node, ScalarNode) and node.tag.endswith(":null"):
        return {}
    if not isinstance(node, MappingNode):
        fail(node, "scope must be a mapping of dimension to a list of values, e.g. {team: [search]}")
        return {}
    scope: dict[str, tuple[str, ...]] = {}
    for key_node, value_node in node.value:
        dimension = _scalar(key_node)
        if dimension == "workflow":
            dimension = "feature"
        if dimension not in DIMENSIONS:
            fail(key_node, f"unknown dimension {dimension!r} in scope; use {', '.join(DIMENSIONS)}")
            continue
        if isinstance(value_node, ScalarNode) and not value_node.tag.endswith(":null"):
            values = [value_node.value]
        elif isinstance(value_node, SequenceNode) and all(isinstance(item, ScalarNode) for item in value_node.value):
            values = [item.value for item in value_node.value]
        else:
            fail(value_node, f"scope {dimension} must be a list of values, e.g. [search]")
            continue
        if not values or any(value == "" for value in values):
            fail(value_node, f"scope {dimension} needs at least one non-empty value")
            continue
        scope[dimension] = tuple(values)
    return scope


def _parse_thresholds(node: Node, fail) -> tuple[int, ...]:
    if not isinstance(node, SequenceNode) or not node.value:
        fail(node, "thresholds must be a non-empty list of percentages, e.g. [50, 80, 100]")
        return DEFAULT_THRESHOLDS
    thresholds: list[int] = []
    for item in node.value:
        raw = _scalar(item)
        if not (isinstance(item, ScalarNode) and item.tag.endswith(":int")):
            fail(item, f"threshold {raw!r} is not a whole percentage; use integers such as 80")
            return DEFAULT_THRESHOLDS
        value = int(raw)
        if not 0 < value <= MAX_THRESHOLD_PCT:
            fail(item, f"threshold {value} is out of range; use a percentage from 1 to {MAX_THRESHOLD_PCT}")
            return DEFAULT_THRESHOLDS
        thresholds.append(value)
    for previous, current in zip(thresholds, thresholds[1:]):
        if current <= previous:
            fail(node, f"thresholds out of order: {current} follows {previous}; list them strictly ascending")
            return DEFAULT_THRESHOLDS
    return tuple(thresholds)


def _parse_kinds(node: Node, fail) -> tuple[str, ...]:
    if not isinstance(node, SequenceNode) or not node.value:
        fail(node, f"kinds must be a non-empty list drawn from {', '.join(COST_KINDS)}")
        return COST_KINDS
    kinds = []
    for item in node.value:
        kind = _scalar(item)
        if kind not in COST_KINDS:
            fail(item, f"unknown cost kind {kind!r}; use {', '.join(COST_KINDS)}")
            continue
        if kind not in kinds:
            kinds.append(kind)
    # Keep the canonical order so budgets with the same kinds share one query.
    return tuple(kind for kind in COST_KINDS if kind in kinds)


def _scalar(node: Node | None) -> str | None:
    if isinstance(node, ScalarNode) and not node.tag.endswith(":null"):
        return str(node.value)
    return None


class BudgetRegistry:
    """The budgets in force: reread when the file changes; the last good set survives a bad file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.current: BudgetSet | None = None
        self.last_error: BudgetFileError | None = None
        self._seen_digest: str | None = None

    def budgets(self) -> BudgetSet:
        """Return the budgets in force, rereading the file when its contents changed.

        A missing file means no budgets, until a file has been loaded once. Raises
        BudgetFileError only while no valid file has ever been loaded.
        """
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            if self.current is None:
                # No budgets file yet is a normal state of a new install: no budgets are in force.
                if self._seen_digest != "missing":
                    logger.info("no budgets file at path=%s; no budgets in force", self.path)
                    self._seen_digest = "missing"
                return BudgetSet(path=self.path)
            error = BudgetFileError([f"{self.path}: budgets file not found; the last good budgets stay in force"])
            return self._keep_last_good(error, digest=None)
        except OSError as exc:
            error = BudgetFileError([f"{self.path}: cannot read the budgets file: {exc.strerror}"])
            return self._keep_last_good(error, digest=None)

        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        if digest == self._seen_digest:
            if self.current is None:
                assert self.last_error is not None
                raise self.last_error
            return self.current
        try:
            loaded = parse_budgets(text, self.path)
        except BudgetFileError as exc:
            return self._keep_last_good(exc, digest=digest)
        self._seen_digest = digest
        self.current = loaded
        self.last_error = None
        logger.info("budgets loaded path=%s budgets=%d digest=%s", self.path, len(loaded), digest[:12])
        return loaded

    def _keep_last_good(self, error: BudgetFileError, digest: str | None) -> BudgetSet:
        if digest is not None and digest == self._seen_digest:
            pass
        else:
            logger.error(
                "budgets file rejected path=%s errors=%d kept_budgets=%s first_error=%s",
                self.path,
                len(error.errors),
                len(self.current) if self.current is not None else "none",
                error.errors[0],
            )
        self._seen_digest = digest
        self.last_error = error
        if self.current is None:
            raise error
        return self.current


_registries: dict[Path, BudgetRegistry] = {}


def registry_for(path: Path) -> BudgetRegistry:
    """Return the process-wide registry of the budgets file at `path`."""
    key = path.resolve()
    if key not in _registries:
        _registries[key] = BudgetRegistry(path)
    return _registries[key]


def current_budgets(settings) -> BudgetSet:
    """Return the budgets in force for `settings.budgets_file` (see BudgetRegistry.budgets)."""
    return registry_for(settings.budgets_file).budgets()
