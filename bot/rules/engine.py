"""The durable-rules host that evaluates the compiled rules, and reloading without restart.

Measured behaviour of durable-rules 2.0.28 this module is built around:
- A ruleset name can be registered once per process, so each load gets a new versioned
  name. The previous ruleset is freed with the C module's `delete_ruleset`, which the
  Python host never calls; without it memory grows with every reload.
- The stock host starts dispatch threads that run deferred actions; freeing a ruleset
  while they run loses actions and can crash. This host starts none: with the catch-all
  rule every batch runs its actions synchronously in the calling thread, so nothing is
  ever deferred.
- A ruleset keeps at most about 1,024 live state ids, so every evaluation uses its own
  state id and deletes it afterwards.
- The host has no locks; one lock serializes evaluation, loading and freeing.
"""

from __future__ import annotations

import itertools
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import durable_rules_engine
from durable.engine import Host

from bot.rules.compile import ACTION_CAP, CATCH_ALL, CompiledRules, compile_rules
from bot.rules.loader import RuleLoadError, folder_signature, load_rules_dir

logger = logging.getLogger(__name__)

FACT_BATCH = 1000


class _SynchronousHost(Host):
    """A durable-rules host without the background dispatch threads."""

    def _run(self) -> None:
        return None

    def remove_ruleset(self, name: str) -> None:
        # NOTE: uses the host's private directory, list and handle as of durable-rules 2.0.28
        # (pinned in pyproject.toml); a new version needs this checked again.
        ruleset = self._ruleset_directory.pop(name)
        self._ruleset_list.remove(ruleset)
        durable_rules_engine.delete_ruleset(ruleset._handle)


@dataclass
class ReloadResult:
    loaded: bool  # True when a new rule set is in force
    errors: list[str] = field(default_factory=list)
    summary: str = ""


class RuleEngine:
    """The rules of one folder, compiled into durable-rules, reloaded when files change."""

    def __init__(self, rules_dir: Path, *, guidance_base_url: str, default_channel: str | None = None) -> None:
        self.rules_dir = Path(rules_dir)
        self.guidance_base_url = guidance_base_url
        self.default_channel = default_channel
        self.current: CompiledRules | None = None
        self.last_errors: list[str] = []
        self._host = _SynchronousHost()
        self._lock = threading.Lock()
        self._ruleset_name: str | None = None
        self._versions = itertools.count(1)
        self._states = itertools.count(1)
        self._matches: dict[str, list[int]] = {}
        self._tried_signature: str | None = None

    def refresh(self) -> ReloadResult | None:
        """Reload when any rule, guidance or model classes file changed since the last try."""
        signature = folder_signature(self.rules_dir)
        if signature == self._tried_signature:
            return None
        return self.reload()

    def reload(self) -> ReloadResult:
        """Load the folder; on any error keep the rules in force and return the errors."""
        signature = folder_signature(self.rules_dir)
        self._tried_signature = signature
        try:
            loaded = load_rules_dir(self.rules_dir, guidance_base_url=self.guidance_base_url, default_channel=self.default_channel)
        except RuleLoadError as exc:
            self.last_errors = exc.errors
            kept = f"{len(self.current.active_rules)} rules from before stay in force" if self.current else "no rules are in force"
            for error in exc.errors:
                logger.error("rules reload rejected: %s", error)
            return ReloadResult(False, exc.errors, f"rules not reloaded: {len(exc.errors)} errors; {kept}")
        compiled = compile_rules(loaded)
        self.install(compiled)
        self.last_errors = []
        summary = (
            f"rules reloaded: {len(compiled.active_rules)} active rules from {len(loaded.files)} files, "
            f"{len(compiled.queries)} metric queries"
        )
        logger.info("%s ruleset=%s", summary, self._ruleset_name)
        return ReloadResult(True, [], summary)

    def install(self, compiled: CompiledRules) -> None:
        """Register `compiled` under a new ruleset name and free the previous ruleset."""
        definition: dict[str, Any] = {}
        for rule_id, rule_definition in compiled.definitions.items():
            definition[rule_id] = {**rule_definition, "run": self._collector(rule_id)}
        definition[CATCH_ALL] = {"all": [{"m": {"$ex": {"q": 1}}}], "cap": ACTION_CAP, "run": _ignore}
        name = f"costbot_rules_v{next(self._versions)}"
        with self._lock:
            self._host.register_rulesets({name: definition})
            previous, self._ruleset_name, self.current = self._ruleset_name, name, compiled
            if previous is not None:
                self._host.remove_ruleset(previous)

    def _collector(self, rule_id: str):
        def collect(closure) -> None:
            messages = closure.m if isinstance(closure.m, list) else [closure.m]
            self._matches.setdefault(rule_id, []).extend(int(message["id"]) for message in messages)

        return collect

    def evaluate(self, facts: list[dict[str, Any]], compiled: CompiledRules | None = None) -> dict[str, list[int]]:
        """Assert `facts` (JSON-ready dicts with `q` and a unique int `id`) and return the
        fact ids each rule matched. With `compiled`, raise RuntimeError when another thread
        installed a different rule set since the facts were built for it."""
        with self._lock:
            if compiled is not None and compiled is not self.current:
                raise RuntimeError("the rules were reloaded during this evaluation; run it again")
            if self._ruleset_name is None or not facts:
                return {}
            self._matches = {}
            # Rules look at one fact at a time, so each batch gets its own state, deleted
            # right after: a state holding tens of thousands of facts slows every assert.
            for start in range(0, len(facts), FACT_BATCH):
                state_id = f"run-{next(self._states)}"
                batch = [{**fact, "sid": state_id} for fact in facts[start : start + FACT_BATCH]]
                try:
                    self._host.assert_facts(self._ruleset_name, batch)
                finally:
                    self._host.delete_state(self._ruleset_name, state_id)
            matches, self._matches = self._matches, {}
        return matches


def _ignore(closure) -> None:
    return None


_ENGINES: dict[tuple, RuleEngine] = {}
_ENGINES_LOCK = threading.Lock()


def get_rule_engine(settings) -> RuleEngine:
    """Return the process's engine for the configured rules folder, loading it on first use."""
    key = (Path(settings.rules_dir).resolve(), settings.guidance_base_url, settings.default_channel)
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = _ENGINES[key] = RuleEngine(
                settings.rules_dir, guidance_base_url=settings.guidance_base_url, default_channel=settings.default_channel
            )
    engine.refresh()
    return engine


def reload_rules(settings) -> str:
    """Reload the rule files now; return a one-paragraph summary with any errors."""
    engine = get_rule_engine(settings)
    result = engine.reload()
    if result.errors:
        return result.summary + "\n" + "\n".join(result.errors)
    return result.summary
