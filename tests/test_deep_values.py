"""HEADER-JSON and HEADER-STRINGS hold however deep a value is nested (spec section 4).

The C decoder gives up around a thousand levels; the iterative scanner then checks every byte.
These tests fail if deep values are skipped unread (as blanking them alone did).
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safetensors_conformance import Req, check
from safetensors_conformance.format.jsonsyntax import JsonSyntaxError, check_syntax
from safetensors_conformance.format.jsontext import skip_whitespace
from safetensors_conformance.format.requirements import Flag

from .conftest import make_file

PREFIX = '{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"q":'
DEPTHS = (5000, 200_000)


def deep_file(inner: str, depth: int) -> tuple[bytes, int]:
    """A file whose unknown field ``q`` nests ``inner`` ``depth`` arrays deep; the inner offset."""
    header = PREFIX + "[" * depth + inner + "]" * depth + "}}"
    return make_file(header, b"\x01"), 8 + len(PREFIX.encode()) + depth


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize(
    ("inner", "at"),
    [
        ("1,,2", 2),  # the second comma
        ("}", 0),
        ("[}", 1),
        ("NaN", 0),
        ('"a\\x"', 2),  # the backslash
        ('"a\x01"', 2),  # the raw control character
        ("1,", 2),  # the value expected after the comma is missing: the next byte
        ("{1:2}", 1),
        ("tru", 0),
    ],
)
def test_invalid_json_deep_inside_an_ignored_field_is_header_json(inner: str, at: int, depth: int) -> None:
    content, offset = deep_file(inner, depth)
    report = check(content)
    assert [(v.requirement, v.offset, v.flag) for v in report.violations] == [(Req.HEADER_JSON, offset + at, None)]
    assert report.primary is Req.HEADER_JSON


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("inner", ['"\\ud800"', '"x\\udfffy"', '{"\\ud83d":0}', '"\\ude00\\ud83d"'])
def test_unpaired_surrogate_deep_inside_an_ignored_field_is_header_strings(inner: str, depth: int) -> None:
    content, offset = deep_file(inner, depth)
    report = check(content)
    found = {(v.requirement, v.flag) for v in report.violations}
    assert found == {(Req.ENTRY_FIELDS_KNOWN, Flag.ENTRY_UNKNOWN_FIELDS), (Req.HEADER_STRINGS, None)}
    strings = next(v for v in report.violations if v.requirement is Req.HEADER_STRINGS)
    assert strings.offset == offset + inner.index('"', 1 if inner.startswith("{") else 0)
    assert strings.pointer == "/a/q/0"  # the blanked container: a conforming depth down
    assert report.primary is Req.HEADER_STRINGS


@pytest.mark.parametrize("depth", DEPTHS)
def test_valid_deep_values_leave_only_the_flagged_unknown_field(depth: int) -> None:
    content, _ = deep_file('"\\ud83d\\ude00",{"k":[true,false,null]},-1.5e3,""', depth)
    report = check(content)
    assert [(v.requirement, v.pointer, v.flag) for v in report.violations] == [
        (Req.ENTRY_FIELDS_KNOWN, "/a/q", Flag.ENTRY_UNKNOWN_FIELDS)
    ]
    assert report.primary is None


def test_surrogates_in_several_deep_containers_are_each_reported() -> None:
    deep = "[" * 3000 + '"\\udc00"' + "]" * 3000
    header = PREFIX + "[" + deep + "," + deep + "]}}"
    report = check(make_file(header, b"\x01"))
    pointers = [v.pointer for v in report.violations if v.requirement is Req.HEADER_STRINGS]
    assert pointers == ["/a/q/0", "/a/q/1"]


# --- The scanner gives the C decoder's answer wherever the C decoder can answer --------------------

_PIECES = st.sampled_from(
    ['{', '}', '[', ']', ':', ',', ' ', '\n', '"a"', '"k"', '"\\u00e9"', '"\\x"', '"\\u12"', '"\x01"', '"',
     '1', '-', '0', '01', '1.5', '1e5', '-0', '1.', 'true', 'fals', 'null', 'NaN', '-Infinity', 'x', '\\']
)  # fmt: skip


def _reject_constant(name: str) -> object:
    raise JsonSyntaxError(f"{name} is not a JSON value", -1)


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _c_answer(text: str, start: int) -> tuple[str, int]:
    try:
        return "ok", _DECODER.raw_decode(text, start)[1]
    except json.JSONDecodeError as error:
        return error.msg, error.pos
    except JsonSyntaxError as error:
        return error.message, -1


def _scanner_answer(text: str, start: int) -> tuple[str, int]:
    try:
        return "ok", check_syntax(text, start)
    except JsonSyntaxError as error:
        # The C decoder reports NaN only through its hook, without a position.
        return error.message, -1 if error.message.endswith("is not a JSON value") else error.position


@settings(max_examples=3000, deadline=None)
@given(st.lists(_PIECES, max_size=25).map("".join))
def test_scanner_agrees_with_the_c_decoder_on_shallow_text(text: str) -> None:
    start = skip_whitespace(text, 0)
    assert _scanner_answer(text, start) == _c_answer(text, start)


_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=4),
)


@settings(max_examples=300, deadline=None)
@given(_VALUES)
def test_scanner_finds_the_end_of_every_json_value(value: object) -> None:
    for text in (json.dumps(value), json.dumps(value, indent=1, ensure_ascii=False)):
        assert check_syntax(text + " tail", 0) == len(text)
