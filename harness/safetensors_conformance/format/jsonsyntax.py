"""An iterative RFC 8259 syntax check for headers nested too deep for the recursive decoder.

HEADER-JSON and HEADER-STRINGS hold over every byte of the header, however deep. The standard
library's C scanner recurses once per nesting level and gives up (``RecursionError``) around a
thousand levels; this module then checks the whole value with an explicit stack, in time linear
in the text and memory of one byte per open level, and reports the first error with the same
message and character position the C scanner gives for a shallow value (a property test holds
the two to that). Runs of brackets are handled as one token, so ``[[[[…]]]]`` costs one step.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Final, NoReturn

from .jsontext import JsonSyntaxError

_TOKEN: Final = re.compile(
    r"""[ \t\n\r]*(?:
      (?P<string>"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*")
     |(?P<number>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)
     |(?P<literal>true|false|null)
     |(?P<arrays>\[+)
     |(?P<object>\{)
     |(?P<closers>[\]}]+)
     |(?P<colon>:)
     |(?P<comma>,)
    )""",
    re.VERBOSE,
)
_WHITESPACE: Final = re.compile(r"[ \t\n\r]*")
#: The longest valid prefix of a string, to say where and why a string token is not one.
_STRING_PREFIX: Final = re.compile(r'"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*')
_CONSTANT: Final = re.compile(r"-?Infinity|NaN")
#: Any string, once the text is known to be JSON; used to find unpaired surrogate escapes.
_ANY_STRING: Final = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


# Parser states: what may come next.
_VALUE, _VALUE_OR_CLOSE, _KEY, _KEY_OR_CLOSE, _COLON, _AFTER = range(6)
_OPENER: Final = {"]": ord("["), "}": ord("{")}
_EXPECTING: Final = {
    _VALUE: "Expecting value",
    _VALUE_OR_CLOSE: "Expecting value",
    _KEY: "Expecting property name enclosed in double quotes",
    _KEY_OR_CLOSE: "Expecting property name enclosed in double quotes",
    _COLON: "Expecting ':' delimiter",
    _AFTER: "Expecting ',' delimiter",
}


def check_syntax(text: str, start: int) -> int:
    """Check that a JSON value begins at ``start``; return the index just after it.

    Raises :class:`JsonSyntaxError` at the first error. Text after the value is left to the caller.
    """
    stack = bytearray()
    state = _VALUE
    index = start
    match_token = _TOKEN.match
    while True:
        token = match_token(text, index)
        kind = None if token is None else token.lastgroup
        if token is None or kind is None:
            blank = _WHITESPACE.match(text, index)
            assert blank is not None  # the pattern matches the empty string
            _fail(text, blank.end(), state)
        position = token.start(kind)
        if kind == "string":
            if state in (_KEY, _KEY_OR_CLOSE):
                state = _COLON
            elif state in (_VALUE, _VALUE_OR_CLOSE):
                state = _AFTER
            else:
                _fail(text, position, state)
        elif kind in ("number", "literal"):
            if state not in (_VALUE, _VALUE_OR_CLOSE):
                _fail(text, position, state)
            state = _AFTER
        elif kind == "arrays":
            if state not in (_VALUE, _VALUE_OR_CLOSE):
                _fail(text, position, state)
            stack += b"[" * (token.end() - position)
            state = _VALUE_OR_CLOSE
        elif kind == "object":
            if state not in (_VALUE, _VALUE_OR_CLOSE):
                _fail(text, position, state)
            stack.append(ord("{"))
            state = _KEY_OR_CLOSE
        elif kind == "closers":
            run = token.group(kind)
            first = run[0]
            if not (
                state == _AFTER
                or (state == _VALUE_OR_CLOSE and first == "]")
                or (state == _KEY_OR_CLOSE and first == "}")
            ):
                _fail(text, position, state)
            if not stack:
                _fail(text, position, state)
            count = min(len(run), len(stack))
            wanted = bytes(_OPENER[c] for c in reversed(run[:count])) if count < 64 else _openers(run[:count])
            if stack[len(stack) - count :] != wanted:
                for i in range(count):
                    if stack[-1 - i] != _OPENER[run[i]]:
                        _fail(text, position + i, _VALUE_OR_CLOSE if i == 0 and state != _AFTER else _AFTER)
            del stack[len(stack) - count :]
            state = _AFTER
            if not stack:
                return position + count
        elif kind == "colon":
            if state != _COLON:
                _fail(text, position, state)
            state = _VALUE
        else:  # comma
            if state != _AFTER or not stack:
                _fail(text, position, state)
            state = _VALUE if stack[-1] == ord("[") else _KEY
        index = token.end()
        if state == _AFTER and not stack:
            return index


def _openers(run: str) -> bytes:
    """The stack bytes that a run of closing brackets closes, innermost last."""
    return run[::-1].translate({ord("]"): "[", ord("}"): "{"}).encode("ascii")


def _fail(text: str, position: int, state: int) -> NoReturn:
    """Raise the error the C scanner gives at ``position`` in ``state``."""
    char = text[position : position + 1]
    if char == '"' and state in (_VALUE, _VALUE_OR_CLOSE, _KEY, _KEY_OR_CLOSE):
        prefix = _STRING_PREFIX.match(text, position)
        assert prefix is not None  # the pattern matches a lone quote
        stop = prefix.end()
        if stop >= len(text):
            raise JsonSyntaxError("Unterminated string starting at", position)
        if text[stop] == "\\":
            if text[stop + 1 : stop + 2] == "u":
                raise JsonSyntaxError("Invalid \\uXXXX escape", stop + 1)
            if stop + 1 >= len(text):
                raise JsonSyntaxError("Unterminated string starting at", position)
            raise JsonSyntaxError("Invalid \\escape", stop)
        raise JsonSyntaxError("Invalid control character at", stop)
    if state in (_VALUE, _VALUE_OR_CLOSE):
        constant = _CONSTANT.match(text, position)
        if constant is not None:
            raise JsonSyntaxError(f"{constant.group()} is not a JSON value", position)
    raise JsonSyntaxError(_EXPECTING[state], position)


def unpaired_surrogates(text: str, begin: int, end: int) -> Iterator[int]:
    """Character positions of the strings in ``text[begin:end]`` that hold an unpaired surrogate.

    ``text`` must already be known to be JSON (``check_syntax``); only strings with a ``\\u``
    escape are decoded.
    """
    for match in _ANY_STRING.finditer(text, begin, end):
        literal = match.group()
        if "\\u" in literal or "\\U" in literal:
            value: str = json.loads(literal)
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                yield match.start()
