"""Streaming reader for the JSON shapes that usage exports come in, with line numbers.

Exports are one page (`{"data": [buckets], ...}`), a JSON array of pages, JSON Lines of pages,
a bare list of buckets, or (LiteLLM) a list of row objects. `JsonWalker` reads the file in
chunks and decodes one element at a time with the standard library's C decoder, so memory
contains one bucket at a time, and every bucket and result carries the line it starts on.
Numbers with a fraction are decoded as `Decimal`, so amounts stay exact.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import IO, Any

_WHITESPACE = " \t\r\n"
_CHUNK = 1 << 20
# Maximum length of a line, in characters, that `iter_buckets` decodes whole. A longer page (a large
# export saved on one line) is walked bucket by bucket, so memory holds one bucket at a time.
_LINE_LIMIT = 8 * _CHUNK


class JsonSyntaxError(ValueError):
    """Raised for malformed or truncated JSON; `line` is where the problem was found."""

    def __init__(self, line: int, message: str, value: str = "") -> None:
        super().__init__(message)
        self.line = line
        self.value = value


class JsonWalker:
    """Walk a JSON text stream value by value, tracking the line of each position."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._buffer = ""
        self._pos = 0
        self._eof = False
        self._line = 1  # line number at self._counted
        self._counted = 0  # buffer position up to which newlines are counted
        self._decoder = json.JSONDecoder(parse_float=Decimal)
        self._start = 0  # buffer position where the last decoded value started

    # --- buffer -----------------------------------------------------------------------
    def _fill(self) -> bool:
        if self._eof:
            return False
        chunk = self._stream.read(_CHUNK)
        if not chunk:
            self._eof = True
            return False
        if self._pos > _CHUNK:  # drop what was consumed so the buffer stays small
            self.line_at(self._pos)
            self._buffer = self._buffer[self._pos :]
            self._counted -= self._pos
            self._pos = 0
        self._buffer += chunk
        return True

    def line_at(self, position: int) -> int:
        """Return the 1-based line of buffer `position` (positions must not move backwards)."""
        if position > self._counted:
            self._line += self._buffer.count("\n", self._counted, position)
            self._counted = position
        return self._line

    @property
    def line(self) -> int:
        return self.line_at(self._pos)

    def peek(self) -> str:
        """Skip whitespace and return the next character, or "" at the end of the file."""
        while True:
            while self._pos < len(self._buffer) and self._buffer[self._pos] in _WHITESPACE:
                self._pos += 1
            if self._pos < len(self._buffer):
                return self._buffer[self._pos]
            if not self._fill():
                return ""

    def expect(self, characters: str) -> str:
        found = self.peek()
        if found == "":
            raise JsonSyntaxError(self.line, f"truncated JSON: the file ends where {' or '.join(characters)} was expected; export the file again")
        if found not in characters:
            raise JsonSyntaxError(self.line, f"invalid JSON: expected {' or '.join(characters)}", found)
        self._pos += 1
        return found

    def value(self) -> Any:
        """Decode the next complete JSON value."""
        return self.value_on_one_line()[0]

    def value_on_one_line(self) -> tuple[Any, bool]:
        """Decode the next complete JSON value; also return whether it had no line break.

        After a value with line breaks, `rewind()` goes back to its start, so the caller can
        walk its elements one by one to learn their lines.
        """
        if self.peek() == "":
            raise JsonSyntaxError(self.line, "truncated JSON: the file ends where a value was expected; export the file again")
        while True:
            try:
                decoded, end = self._decoder.raw_decode(self._buffer, self._pos)
            except json.JSONDecodeError as exc:
                if self._fill():
                    continue  # the value may continue in the next chunk
                if exc.pos >= len(self._buffer) - 1 or "Unterminated" in exc.msg:
                    raise JsonSyntaxError(
                        self.line_at(max(exc.pos, self._pos)),
                        "truncated JSON: the file ends inside a value; export the file again",
                    ) from None
                raise JsonSyntaxError(self.line_at(exc.pos), f"invalid JSON: {exc.msg}") from None
            # A number at the very end of the buffer may continue in the next chunk.
            if end == len(self._buffer) and not isinstance(decoded, dict | list | str) and self._fill():
                continue
            self._start = self._pos
            one_line = self._buffer.find("\n", self._pos, end) == -1
            self._pos = end
            return decoded, one_line

    def line_value(self, limit: int) -> tuple[bool, Any]:
        """Decode the next value if it is valid JSON that ends on its own line, within `limit` characters.

        Return (True, value), or (False, None) without consuming anything, so the caller can
        walk the value element by element instead. A value that fails to decode is left for
        that walk, which reports the error with its line.
        """
        while True:
            stop = self._buffer.find("\n", self._pos)
            if stop != -1 or len(self._buffer) - self._pos > limit or not self._fill():
                break
        if stop == -1:
            stop = len(self._buffer) if self._eof else -1
        if stop == -1 or stop - self._pos > limit:
            return False, None
        try:
            decoded, end = self._decoder.raw_decode(self._buffer, self._pos)
        except json.JSONDecodeError:
            return False, None
        if end > stop:
            return False, None
        self._start = self._pos
        self._pos = end
        return True, decoded

    def rewind(self) -> None:
        """Go back to the start of the value just decoded."""
        self._pos = self._start

    # --- structure --------------------------------------------------------------------
    def items(self) -> Iterator[int]:
        """Iterate over the elements of the array that starts here; yield each element's line.

        The caller must consume each element (with `value()`, `members()` or `items()`)
        before asking for the next.
        """
        self.expect("[")
        if self.peek() == "]":
            self._pos += 1
            return
        while True:
            self.peek()
            yield self.line
            if self.expect(",]") == "]":
                return

    def members(self) -> Iterator[tuple[str, int]]:
        """Iterate over the members of the object that starts here; yield (key, line).

        The caller must consume each member's value before asking for the next.
        """
        self.expect("{")
        if self.peek() == "}":
            self._pos += 1
            return
        while True:
            self.peek()
            line = self.line
            if self.peek() != '"':
                raise JsonSyntaxError(line, "invalid JSON: expected a quoted member name", self.peek())
            key = self.value()
            self.expect(":")
            yield key, line
            if self.expect(",}") == "}":
                return

    def at_end(self) -> bool:
        return self.peek() == ""


def iter_buckets(walker: JsonWalker) -> Iterator[tuple[int, dict[str, Any], list[tuple[int, Any]]]]:
    """Yield (line, bucket without results, [(line, result)]) from any usage-export shape.

    Accepted top-level shapes: one page, several pages one after another (JSON Lines), an
    array of pages, or an array of buckets. A page's fields other than `data` are skipped.
    """
    if walker.at_end():
        return
    while not walker.at_end():
        first = walker.peek()
        if first == "{":
            line = walker.line
            # Fast path for JSON Lines: decode the whole page at once, all of it on `line`.
            decoded, page = walker.line_value(_LINE_LIMIT)
            if decoded and isinstance(page, dict):
                yield from _decoded_object(page, line)
            else:
                yield from _walk_object(walker, line)
        elif first == "[":
            for line in walker.items():
                if walker.peek() != "{":
                    raise JsonSyntaxError(line, "expected a page or bucket object in the array", str(walker.value())[:40])
                yield from _walk_object(walker, line)
        else:
            raise JsonSyntaxError(walker.line, "invalid JSON: expected { or [ at the top level", first)


def _walk_object(walker: JsonWalker, line: int) -> Iterator[tuple[int, dict[str, Any], list[tuple[int, Any]]]]:
    """Walk a page (yields its buckets) or a bucket (yields itself)."""
    fields: dict[str, Any] = {}
    results: list[tuple[int, Any]] | None = None
    for key, _member_line in walker.members():
        if key == "data" and walker.peek() == "[":
            for bucket_line in walker.items():
                if walker.peek() != "{":
                    raise JsonSyntaxError(bucket_line, "expected a bucket object in data", str(walker.value())[:40])
                yield from _walk_object(walker, bucket_line)
        elif key == "results" and walker.peek() == "[":
            line_of_results = walker.line
            decoded, one_line = walker.value_on_one_line()
            if one_line and isinstance(decoded, list):  # JSON Lines: every result is on this line
                results = [(line_of_results, result) for result in decoded]
            else:  # walk the array again, element by element, to give each result its line
                walker.rewind()
                results = []
                for result_line in walker.items():
                    results.append((result_line, walker.value()))
        else:
            fields[key] = walker.value()
    if results is not None:
        yield line, fields, results


def _decoded_object(value: dict[str, Any], line: int) -> Iterator[tuple[int, dict[str, Any], list[tuple[int, Any]]]]:
    """Do what `_walk_object` does for a page or bucket that was decoded whole from one line."""
    fields: dict[str, Any] = {}
    results: list[tuple[int, Any]] | None = None
    for key, member in value.items():
        if key == "data" and type(member) is list:
            for bucket in member:
                if type(bucket) is not dict:
                    raise JsonSyntaxError(line, "expected a bucket object in data", str(bucket)[:40])
                yield from _decoded_object(bucket, line)
        elif key == "results" and type(member) is list:
            results = [(line, result) for result in member]
        else:
            fields[key] = member
    if results is not None:
        yield line, fields, results


def iter_rows(walker: JsonWalker) -> Iterator[tuple[int, Any]]:
    """Yield (line, row) for a JSON array of row objects, a `{"data": [...]}` wrapper, or JSON Lines."""
    while not walker.at_end():
        first = walker.peek()
        if first == "[":
            for line in walker.items():
                yield line, walker.value()
        elif first == "{":
            line = walker.line
            row = walker.value()
            if isinstance(row, dict) and isinstance(row.get("data"), list) and len(row) <= 4:
                # NOTE: a wrapped response is decoded whole; plain arrays and JSON Lines stream.
                for item in row["data"]:
                    yield line, item
            else:
                yield line, row
        else:
            raise JsonSyntaxError(walker.line, "invalid JSON: expected { or [ at the top level", first)
