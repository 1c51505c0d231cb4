"""Model classes (premium, mid, economy) read from an editable file of glob patterns."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

from bot.yamlfile import LineDict, LineList, YamlFileError, load_yaml

CLASSES_FILE = "model_classes.yml"
MODEL_CLASSES = ("premium", "mid", "economy")
UNKNOWN_CLASS = "unknown"


class ModelClassError(Exception):
    """Raised for an invalid model classes file. `errors` contains `FILE:LINE: …` lines."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class ModelClasses:
    """Patterns per class; `classify` picks the class of the longest matching pattern."""

    patterns: tuple[tuple[str, str], ...]  # (pattern, class), lowercase patterns

    def classify(self, model: str | None) -> str:
        """Return the class of `model`. A name with a provider prefix, as LiteLLM logs may
        write it ("openai/gpt-5.2"), is also matched without the prefix."""
        if not model:
            return UNKNOWN_CLASS
        name = model.lower()
        names = [name, name.rsplit("/", 1)[1]] if "/" in name else [name]
        best_class, best_length = UNKNOWN_CLASS, -1
        for pattern, model_class in self.patterns:
            if len(pattern) > best_length and any(fnmatch.fnmatchcase(candidate, pattern) for candidate in names):
                best_class, best_length = model_class, len(pattern)
        return best_class


def load_model_classes(path: Path) -> ModelClasses:
    """Load the classes file; raise ModelClassError naming each bad line."""
    try:
        data = load_yaml(path)
    except YamlFileError as exc:
        raise ModelClassError([str(exc)]) from None
    if not isinstance(data, LineDict) or set(data) != {"classes"} or not isinstance(data["classes"], LineDict):
        raise ModelClassError([f"{path}:1: expected one top-level key `classes:` mapping premium, mid and economy to lists of patterns"])

    errors: list[str] = []
    patterns: list[tuple[str, str]] = []
    classes = data["classes"]
    for name, entries in classes.items():
        line = classes.line_of(name)
        if name not in MODEL_CLASSES:
            errors.append(f"{path}:{line}: unknown model class {name!r}; use premium, mid or economy")
            continue
        if not isinstance(entries, LineList):
            errors.append(f"{path}:{line}: class {name}: expected a list of model name patterns")
            continue
        for index, pattern in enumerate(entries):
            if not isinstance(pattern, str) or not pattern.strip():
                errors.append(f"{path}:{entries.line_of(index)}: class {name}: pattern {pattern!r} is not a non-empty string")
                continue
            patterns.append((pattern.strip().lower(), name))
    seen: dict[str, str] = {}
    for pattern, name in patterns:
        if pattern in seen and seen[pattern] != name:
            errors.append(f"{path}:1: pattern {pattern!r} is listed under both {seen[pattern]} and {name}; keep one")
        seen[pattern] = name
    if errors:
        raise ModelClassError(errors)
    return ModelClasses(patterns=tuple(patterns))
