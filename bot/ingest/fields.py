"""The columns and keys a format needs, and the messages for a file that lacks some of them.

When a required CSV column or JSON key is missing and the file has a similar name in its
place (a typo, another case, an added suffix), the message suggests it:
`found "succeded" (did you mean "succeeded"?)`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from rapidfuzz import process, utils
from rapidfuzz.distance import JaroWinkler

from bot.ingest.base import RowError

# Jaro-Winkler similarity (0 to 1, on lower-cased names with punctuation read as spaces) from
# which a name in the file is offered as the missing one. Jaro-Winkler rewards a shared
# prefix, so typos and added suffixes score high and unrelated short names score 0. At 0.8,
# "succeded" (0.95) and "sucesses" (0.81) match "succeeded", "team_id" (0.91) matches "team"
# and "cals" (0.95) matches "calls", while "tool_calls" (0.53) does not match "calls".
SIMILARITY_CUTOFF = 0.8

# `"name":` in JSON text: the object keys a JSON export's first bytes contain.
_JSON_KEY = re.compile(r'"((?:[^"\\\n]|\\.){1,200})"\s*:')


@dataclass(frozen=True)
class RequiredFields:
    """The CSV columns or JSON keys a format needs, and the optional ones it also reads."""

    kind: Literal["column", "key"]
    names: tuple[str, ...]
    # Valid names besides the required ones. They are never offered as a misspelt required name.
    optional: frozenset[str] = frozenset()

    def missing(self, found: Iterable[str]) -> list[str]:
        present = set(found)
        return [name for name in self.names if name not in present]


def json_keys(text: str) -> list[str]:
    """Return the distinct object keys in a piece of JSON text, in order of first appearance."""
    return list(dict.fromkeys(match.group(1) for match in _JSON_KEY.finditer(text)))


def closest_name(name: str, candidates: Iterable[str]) -> str | None:
    """Return the candidate most similar to `name`, or None when none reaches SIMILARITY_CUTOFF."""
    match = process.extractOne(
        name, list(candidates), scorer=JaroWinkler.normalized_similarity,
        processor=utils.default_process, score_cutoff=SIMILARITY_CUTOFF,
    )  # fmt: skip
    return match[0] if match is not None else None


def near_misses(missing: Sequence[str], found: Sequence[str], fields: RequiredFields) -> dict[str, str]:
    """Map each missing name to the name in the file that is probably it, where there is one.

    Only names the format does not know are candidates, and each is used for one missing name.
    """
    known = set(fields.names) | fields.optional
    unknown = [name for name in found if name not in known]
    matches: dict[str, str] = {}
    for name in missing:
        match = closest_name(name, [candidate for candidate in unknown if candidate not in matches.values()])
        if match is not None:
            matches[name] = match
    return matches


def describe_missing(missing: Sequence[str], matches: dict[str, str], kind: str) -> str:
    """Word the missing names and their near misses: `column "a" is missing; found "b" (did you mean "a"?)`."""
    quoted = [f'"{name}"' for name in missing]
    if len(quoted) == 1:
        text = f"{kind} {quoted[0]} is missing"
    else:
        text = f"{kind}s {', '.join(quoted[:-1])} and {quoted[-1]} are missing"
    hints = [f'"{matches[name]}" (did you mean "{name}"?)' for name in missing if name in matches]
    if hints:
        text += "; found " + " and ".join(hints)
    return text


def missing_column_errors(
    path: str, columns: Sequence[str], fields: RequiredFields, label: str, line: int = 1
) -> list[RowError]:
    """Return the errors for the required columns that `columns` (a CSV header) lacks.

    A missing column with a near miss in the header gets its own error naming it. The rest
    share one error that lists them with the header.
    """
    missing = fields.missing(columns)
    matches = near_misses(missing, columns, fields)
    errors = []
    for name, found in matches.items():
        message = f'missing required {fields.kind} of the {label}; found "{found}" (did you mean "{name}"?); rename it in the header'
        errors.append(RowError(path, line, name, found, message))
    unmatched = [name for name in missing if name not in matches]
    header = ", ".join(columns)[:300]
    if len(unmatched) == 1:
        message = f"missing required {fields.kind} of the {label}; the header has: {header}"
        errors.append(RowError(path, line, unmatched[0], "", message))
    elif unmatched:
        message = f"missing required {fields.kind}s of the {label}: {', '.join(unmatched)}; the header has: {header}"
        errors.append(RowError(path, line, "header", ",".join(columns)[:200], message))
    return errors
