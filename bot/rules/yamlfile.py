"""A YAML loader that remembers the line of every mapping, key and list item.

Rule, guidance and model-class files are validated after loading, and every error has
to name the line an admin should fix. `load_yaml` returns plain dicts and lists whose
subclasses carry those lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, SequenceNode


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
        line = mark.line + 1 if mark is not None else 0
        problem = exc.problem or exc.context or "invalid YAML"
        raise YamlFileError(f"{name}:{line}: invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise YamlFileError(f"{name}:0: invalid YAML: {exc}") from None


def load_yaml(path: Path) -> Any:
    """Read and parse a YAML file with line numbers (see `parse_yaml`)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise YamlFileError(f"{path}:0: cannot read the file: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise YamlFileError(f"{path}:0: not UTF-8 text ({exc.reason}); save the file as UTF-8") from None
    return parse_yaml(text, str(path))
