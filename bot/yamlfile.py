"""YAML loading that keeps the line of every mapping, key and list item.

Every admin-edited YAML file (rules, guidance, model classes, mapping, budgets, price
overrides) is validated after loading, and every error has to name the line an admin
should fix. Two styles share this module:

- `load_yaml` and `parse_yaml` return plain dicts and lists whose subclasses carry the
  lines (`LineDict`, `LineList`).
- `compose_yaml` returns PyYAML's node tree, for validators that need each scalar's text
  as written and its tag; `node_line` and `syntax_error_line` give 1-based lines there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, SequenceNode


class YamlFileError(Exception):
    """Raised when a file is not valid YAML; the message reads `FILE:LINE: what is wrong`."""


class LineDict(dict):
    """A mapping with the line it starts on and the line of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):
    """A sequence with the line it starts on and the line of each item (1-based)."""

    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        if 0 <= index < len(self.item_lines):
            return self.item_lines[index]
        return self.line


class _LineLoader(yaml.SafeLoader):
    """SafeLoader (no Python objects) that builds LineDict and LineList."""


def _construct_mapping(loader: _LineLoader, node: MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise ConstructorError(None, None, f"unsupported key {key!r}", key_node.start_mark)
        if key in result:
            raise ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _LineLoader, node: SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def parse_yaml(text: str, name: str) -> Any:
    """Parse YAML text; raise YamlFileError naming `name` and the line of a syntax error."""
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{name}:{mark.line + 1}" if mark is not None else name
        problem = exc.problem or exc.context or "invalid YAML"
        raise YamlFileError(f"{where}: invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise YamlFileError(f"{name}: invalid YAML: {exc}") from None


def load_yaml(path: Path) -> Any:
    """Read and parse a YAML file with line numbers (see `parse_yaml`)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise YamlFileError(f"{path}: cannot read the file: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise YamlFileError(f"{path}: not UTF-8 text ({exc.reason}); save the file as UTF-8") from None
    return parse_yaml(text, str(path))


def compose_yaml(text: str, loader: type = yaml.SafeLoader) -> Node | None:
    """Parse YAML `text` into a node tree (None for an empty document).

    Raises yaml.YAMLError on invalid syntax; callers format it with `syntax_error_line`
    because each file type words its syntax errors its own way.
    """
    return yaml.compose(text, Loader=loader)


def node_line(node: Node) -> int:
    """Return the 1-based line a node starts on."""
    return node.start_mark.line + 1


def syntax_error_line(exc: yaml.YAMLError) -> int | None:
    """Return the 1-based line of a YAML syntax error, or None when PyYAML gives no position."""
    mark = getattr(exc, "problem_mark", None)
    return mark.line + 1 if mark is not None else None
