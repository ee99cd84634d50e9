"""Strict JSON decoding of a header (HEADER-JSON) and locating values in the header text.

The standard library's C scanner does the parsing; hooks make it strict and lossless enough for
the structure checks:

* objects become tuples of ``(name, value)`` pairs, so duplicate names survive (HEADER-UNIQUE-NAMES,
  META-UNIQUE-KEYS, ENTRY-FIELDS-REQUIRED) and objects stay distinguishable from arrays (lists);
  the caller may pass its own hook that builds something smaller for objects it recognises;
* numbers with a fraction or exponent become :class:`NumberToken` (NUMBER-FORM); so do ``-0`` and
  integers too long to convert, which the slow decoder keeps as tokens;
* ``NaN`` and ``Infinity``, which Python accepts and RFC 8259 does not, are syntax errors.

When the C scanner runs out of recursion, the whole value is first checked by the iterative
scanner of :mod:`.jsonsyntax` (HEADER-JSON holds however deep the text goes); then the containers
nested deeper than any conforming header (:data:`~.limits.CONFORMING_DEPTH`) are blanked out (same
byte length, so offsets stay right), the header is decoded again, and the strings inside the
blanked containers are checked for unpaired surrogates (HEADER-STRINGS) by position.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from contextlib import suppress
from typing import Final, NamedTuple

from .limits import CONFORMING_DEPTH

__all__ = ["Decoded", "JsonSyntaxError", "NumberToken", "decode", "locate", "pointer", "skip_whitespace"]

#: Longest decimal integer that can still be at most 2**64 - 1; longer digit strings are kept as
#: tokens instead of being converted (Python refuses very long conversions anyway).
_MAX_U64_DIGITS: Final = 20

_WHITESPACE: Final = re.compile(r"[ \t\n\r]*")
_CONSTANT: Final = re.compile(r'"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)', re.DOTALL)
_DEPTH_TOKENS: Final = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[{]+|[\]}]+', re.DOTALL)


class JsonSyntaxError(Exception):
    """The header is not JSON text: ``message`` says why, ``position`` is a character index."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


class NumberToken:
    """A JSON number that is not written as an unsigned integer, kept as its source text.

    Not a tuple: decoded objects are tuples, and a number must never pass for one.
    """

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"NumberToken({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NumberToken) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    @property
    def is_integer_syntax(self) -> bool:
        """True for ``-0``, negative and overlong integers; False for fractions and exponents."""
        return not any(c in self.text for c in ".eE")


class ConstantError(Exception):
    """NaN or Infinity, which Python's decoder accepts and JSON does not."""


def _reject_constant(name: str) -> object:
    raise ConstantError(name)


def _slow_int(text: str) -> int | NumberToken:
    if text[0] == "-" or len(text) > _MAX_U64_DIGITS:
        return NumberToken(text)
    return int(text)


ObjectHook = Callable[[list[tuple[str, object]]], object]
_DECODERS: dict[tuple[ObjectHook, bool], json.JSONDecoder] = {}
# Skipping a value must not convert it: Python refuses integers of over 4,300 digits (READER-ROBUST).
_SKIP: Final = json.JSONDecoder(parse_int=len, parse_float=len, parse_constant=len).scan_once  # type: ignore[attr-defined]


def _decoder(object_hook: ObjectHook, keep_signs: bool) -> json.JSONDecoder:
    """A decoder with this module's hooks; ``keep_signs`` keeps ``-0`` (and overlong integers) as tokens."""
    decoder = _DECODERS.get((object_hook, keep_signs))
    if decoder is None:
        decoder = json.JSONDecoder(
            object_pairs_hook=object_hook,
            parse_float=NumberToken,
            parse_int=_slow_int if keep_signs else None,
            parse_constant=_reject_constant,
        )
        _DECODERS[(object_hook, keep_signs)] = decoder
    return decoder


class Decoded(NamedTuple):
    """A decoded header value; ``text`` is what was decoded (blanked where too deep).

    ``deep_surrogates`` holds the character positions of strings inside blanked containers that
    hold an unpaired surrogate escape: the decoded value no longer has them.
    """

    value: object
    end: int
    text: str
    deep_surrogates: tuple[int, ...] = ()


def skip_whitespace(text: str, index: int) -> int:
    """Index of the first non-whitespace character (JSON whitespace only) at or after ``index``."""
    match = _WHITESPACE.match(text, index)
    assert match is not None  # the pattern matches the empty string
    return match.end()


def decode(text: str, start: int, object_hook: ObjectHook = tuple) -> Decoded:
    """Decode the JSON value that begins at ``start``; raise :class:`JsonSyntaxError` if there is none.

    Trailing text is left to the caller (HEADER-PADDING).
    """
    # A "-0" token decodes to 0 in the fast decoder; when the text could hold one, keep the sign.
    keep_signs = "-0" in text
    try:
        return _decode(object_hook, keep_signs, text, start)
    except RecursionError:
        pass
    # Only over-deep headers get here: the scanner's patterns are compiled on first use, not at start-up.
    from .jsonsyntax import check_syntax, unpaired_surrogates  # noqa: PLC0415

    check_syntax(text, start)  # raises at the first error, however deep
    reduced, regions = _blank_text(text)
    decoded = _decode(object_hook, True, reduced, start)
    surrogates = tuple(p for begin, end in regions for p in unpaired_surrogates(text, begin, end))
    return decoded._replace(deep_surrogates=surrogates)


def _blank_text(text: str) -> tuple[str, list[tuple[int, int]]]:
    """:func:`blank_deep_values` on text; the blanked regions as character ranges of ``text``."""
    data = text.encode("utf-8")
    regions: list[tuple[int, int]] = []
    reduced = blank_deep_values(data, regions).decode("utf-8")
    if text.isascii():
        return reduced, regions
    # Byte ranges to character ranges, in one pass: the regions come in file order.
    chars: list[tuple[int, int]] = []
    byte = char = 0
    for begin, end in regions:
        char += len(data[byte:begin].decode("utf-8"))
        first = char
        char += len(data[begin:end].decode("utf-8"))
        byte = end
        chars.append((first, char))
    return reduced, chars


def _decode(object_hook: ObjectHook, keep_signs: bool, text: str, start: int) -> Decoded:
    try:
        value, end = _decoder(object_hook, keep_signs).raw_decode(text, start)
    except json.JSONDecodeError as error:
        raise JsonSyntaxError(error.msg, error.pos) from None
    except ConstantError as error:
        raise JsonSyntaxError(f"{error.args[0]} is not a JSON value", _find_constant(text, start)) from None
    except ValueError:
        # An integer with thousands of digits: Python refuses to convert it. Keep it as a token.
        if keep_signs:
            raise
        return _decode(object_hook, True, text, start)
    return Decoded(value, end, text)


def _find_constant(text: str, start: int) -> int:
    for match in _CONSTANT.finditer(text, start):
        if match.group(1):
            return match.start(1)
    return start


def blank_deep_values(data: bytes, regions: list[tuple[int, int]] | None = None) -> bytes:
    """Replace every container nested deeper than a conforming header with an empty one.

    The replacement keeps the container's brackets and byte length (the inside becomes spaces), so
    byte offsets in the result are those of the original. Strings are skipped as units, so
    brackets inside them do not count. The byte ranges blanked are appended to ``regions``.
    """
    out = bytearray(data)
    depth = 0
    deep_start = -1
    for match in _DEPTH_TOKENS.finditer(data):
        token = match.group()
        first = token[0]
        if first == 0x22:  # a string
            continue
        if first in b"[{":
            if depth <= CONFORMING_DEPTH < depth + len(token) and deep_start < 0:
                deep_start = match.start() + (CONFORMING_DEPTH - depth)
            depth += len(token)
        else:
            new_depth = depth - len(token)
            if deep_start >= 0 and new_depth <= CONFORMING_DEPTH:
                close = match.start() + (depth - CONFORMING_DEPTH) - 1
                _blank(out, deep_start, close, regions)
                deep_start = -1
            depth = max(new_depth, 0)
    if deep_start >= 0:  # never closed: the text is not JSON, and decoding it again will say so
        _blank(out, deep_start, len(out), regions)
    return bytes(out)


def _blank(out: bytearray, open_index: int, close_index: int, regions: list[tuple[int, int]] | None) -> None:
    out[open_index + 1 : close_index] = b" " * max(close_index - open_index - 1, 0)
    if regions is not None and close_index > open_index + 1:
        regions.append((open_index + 1, close_index))


# --- Locating values ------------------------------------------------------------------------------

#: A step into an object is ``(member name, occurrence)``: occurrence counts earlier members with
#: the same name, so duplicates stay addressable. A step into an array is the element index.
Step = tuple[str, int] | int
Path = tuple[Step, ...]


def pointer(path: Path) -> str:
    """The RFC 6901 JSON pointer of a path (occurrences of duplicate names are not shown)."""
    parts = []
    for step in path:
        token = str(step[0] if isinstance(step, tuple) else step)
        parts.append("/" + token.replace("~", "~0").replace("/", "~1"))
    return "".join(parts)


class _Found(Exception):
    pass


def locate(text: str, start: int, values: Iterable[Path], keys: Iterable[Path]) -> dict[tuple[Path, bool], int]:
    """Byte offsets (in the UTF-8 text) of values (``(path, False)``) and member names (``(path, True)``).

    ``text`` must be JSON that decoded without error from ``start``. Only the objects and arrays
    on the way to a target are walked; everything else is skipped by the C scanner.
    """
    value_set = set(values)
    key_set = set(keys)
    if not value_set and not key_set:
        return {}
    try:
        found = _walk(text, start, value_set, key_set)
    except RecursionError:
        # Skipping a value nested nearly as deep as the scanner allows: walk the blanked text,
        # whose byte offsets are those of the original.
        text = blank_deep_values(text.encode("utf-8")).decode("utf-8")
        found = _walk(text, start, value_set, key_set)
    return dict(zip(found, byte_offsets(text, list(found.values())), strict=True))


def byte_offsets(text: str, positions: list[int]) -> list[int]:
    """Convert character indices of ``text`` to byte offsets of its UTF-8 encoding."""
    if text.isascii():
        return positions
    order = sorted(range(len(positions)), key=positions.__getitem__)
    result = [0] * len(positions)
    char = byte = 0
    for i in order:
        byte += len(text[char : positions[i]].encode("utf-8", "surrogatepass"))
        char = positions[i]
        result[i] = byte
    return result


def _walk(text: str, start: int, value_set: set[Path], key_set: set[Path]) -> dict[tuple[Path, bool], int]:
    wanted = len(value_set) + len(key_set)
    prefixes = {path[:i] for path in value_set for i in range(len(path))}
    prefixes |= {path[:i] for path in key_set for i in range(len(path))}
    found: dict[tuple[Path, bool], int] = {}

    def visit(index: int, path: Path) -> int:
        index = skip_whitespace(text, index)
        if path in value_set:
            found[(path, False)] = index
            if len(found) == wanted:
                raise _Found
        if path not in prefixes:
            return int(_SKIP(text, index)[1])
        char = text[index]
        if char == "{":
            return visit_object(index + 1, path)
        if char == "[":
            return visit_array(index + 1, path)
        return int(_SKIP(text, index)[1])

    def visit_object(index: int, path: Path) -> int:
        seen: dict[str, int] = {}
        index = skip_whitespace(text, index)
        if text[index] == "}":
            return index + 1
        while True:
            index = skip_whitespace(text, index)
            name, after = _SKIP(text, index)
            occurrence = seen.get(name, 0)
            seen[name] = occurrence + 1
            member: Path = (*path, (name, occurrence))
            if member in key_set:
                found[(member, True)] = index
                if len(found) == wanted:
                    raise _Found
            index = skip_whitespace(text, after) + 1  # past ':'
            index = skip_whitespace(text, visit(index, member))
            if text[index] == "}":
                return index + 1
            index += 1  # past ','

    def visit_array(index: int, path: Path) -> int:
        index = skip_whitespace(text, index)
        if text[index] == "]":
            return index + 1
        position = 0
        while True:
            index = skip_whitespace(text, visit(index, (*path, position)))
            if text[index] == "]":
                return index + 1
            index += 1
            position += 1

    with suppress(_Found):
        visit(start, ())
    return found


def path_at(text: str, start: int, position: int) -> Path:
    """The path of the innermost value of ``text`` (JSON from ``start``) that spans ``position``.

    Used for findings inside blanked containers, whose own values were never decoded: the path
    ends at the blanked container, which is at most a conforming header's depth down.
    """
    path: list[Step] = []
    index = skip_whitespace(text, start)
    while True:
        char = text[index]
        if char not in "[{":
            return tuple(path)
        index = skip_whitespace(text, index + 1)
        element = 0
        seen: dict[str, int] = {}
        while text[index] not in "]}":
            step: Step = element
            if char == "{":
                name, after = _SKIP(text, index)
                step = (name, seen.get(name, 0))
                seen[name] = step[1] + 1
                index = skip_whitespace(text, skip_whitespace(text, after) + 1)
            end = int(_SKIP(text, index)[1])
            if index <= position < end:
                path.append(step)
                break
            index = skip_whitespace(text, end)
            if text[index] == ",":
                index = skip_whitespace(text, index + 1)
            element += 1
        else:
            return tuple(path)
