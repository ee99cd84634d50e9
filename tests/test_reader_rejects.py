"""Every class of malformed file is rejected with exactly one requirement, at the right place.

Offsets are not written down as numbers: each case names the bytes the violation is about (a
marker and its occurrence), and the expected offset is where those bytes sit in the file.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from safetensors_conformance import FormatError, Req, check, validate
from safetensors_conformance.format.limits import MAX_HEADER_LENGTH
from safetensors_conformance.format.requirements import SHOULD_LEVEL, Flag

from .conftest import buffer_at, entry, make_file


@dataclass(frozen=True)
class Bad:
    id: str
    content: bytes
    requirement: Req
    marker: bytes | int | None  # bytes to find in the file, an absolute offset, or None
    pointer: str | None
    nth: int = 1  # which occurrence of the marker
    count: int = 1  # how many violations of the requirement the file holds
    also: tuple[Req, ...] = ()  # secondary requirements it breaks too (spec section 1, Precedence)
    flag: Flag | None = None  # the flag under which a reader may accept the file (then no primary)

    @property
    def offset(self) -> int | None:
        if self.marker is None or isinstance(self.marker, int):
            return self.marker
        position = -1
        for _ in range(self.nth):
            position = self.content.index(self.marker, position + 1)
        return position


LEADING, TRAILING = Flag.HEADER_LEADING_WHITESPACE, Flag.HEADER_TRAILING_WHITESPACE
E = entry()  # a U8 tensor of 2 bytes at [0, 2]
OK2 = b"\x01\x02"


CASES = [
    # Layout
    Bad("empty-file", b"", Req.LAYOUT_LENGTH_PREFIX, 0, None),
    Bad("seven-bytes", b"\x02\x00\x00\x00\x00\x00\x00", Req.LAYOUT_LENGTH_PREFIX, 0, None),
    Bad("length-over-limit", make_file("{}", length=MAX_HEADER_LENGTH + 1), Req.LAYOUT_HEADER_LIMIT, 0, None),
    Bad("length-u64-max", make_file("{}", length=2**64 - 1), Req.LAYOUT_HEADER_LIMIT, 0, None),
    Bad("length-past-end", make_file("{}", length=3), Req.LAYOUT_HEADER_BOUNDS, 0, None),
    Bad("length-past-end-no-header", make_file("", length=16), Req.LAYOUT_HEADER_BOUNDS, 0, None),
    # Header text
    Bad(
        "invalid-utf8",
        make_file('{"\xff":' + E + "}", OK2).replace(b"\xc3\xbf", b"\xff "),
        Req.HEADER_UTF8,
        b"\xff",
        None,
    ),
    Bad("overlong-utf8", make_file(b'{"\xc0\xaf":' + E.encode() + b"}", OK2), Req.HEADER_UTF8, b"\xc0", None),
    Bad("encoded-surrogate", make_file(b'{"\xed\xa0\x80":' + E.encode() + b"}", OK2), Req.HEADER_UTF8, b"\xed", None),
    Bad("truncated-utf8", make_file(b'{"a":' + E.encode() + b"}\xe2\x82", OK2), Req.HEADER_UTF8, b"\xe2", None),
    Bad("bom", make_file(b'\xef\xbb\xbf{"a":' + E.encode() + b"}", OK2), Req.HEADER_START, 8, None),
    Bad("leading-space", make_file(' {"a":' + E + "}", OK2), Req.HEADER_START, 8, None, flag=LEADING),
    Bad("leading-newline", make_file('\n{"a":' + E + "}", OK2), Req.HEADER_START, 8, None, flag=LEADING),
    Bad("empty-header", make_file(""), Req.HEADER_JSON, 8, None),
    Bad("unclosed-object", make_file("{"), Req.HEADER_JSON, 9, None),
    Bad("junk-before", make_file('x{"a":' + E + "}", OK2), Req.HEADER_JSON, 8, None),
    Bad("trailing-comma", make_file('{"a":' + E + ",}", OK2), Req.HEADER_JSON, b"}", None, nth=2),
    Bad("single-quotes", make_file("{'a':" + E + "}", OK2), Req.HEADER_JSON, b"'", None),
    Bad("comment", make_file('{/*x*/"a":' + E + "}", OK2), Req.HEADER_JSON, b"/", None),
    Bad(
        "nan", make_file('{"a":{"dtype":"U8","shape":[NaN],"data_offsets":[0,2]}}', OK2), Req.HEADER_JSON, b"NaN", None
    ),
    Bad(
        "infinity",
        make_file('{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,-Infinity]}}', OK2),
        Req.HEADER_JSON,
        b"-Inf",
        None,
    ),
    Bad(
        "leading-zero",
        make_file('{"a":{"dtype":"U8","shape":[02],"data_offsets":[0,2]}}', OK2),
        Req.HEADER_JSON,
        b"2]",
        None,
    ),
    Bad("raw-control-char", make_file('{"a\x01":' + E + "}", OK2), Req.HEADER_JSON, b"\x01", None),
    Bad("bad-escape", make_file('{"a\\x":' + E + "}", OK2), Req.HEADER_JSON, b"\\x", None),
    Bad("root-array", make_file("[]"), Req.HEADER_ROOT_OBJECT, 8, ""),
    Bad("root-string", make_file('"{}"'), Req.HEADER_ROOT_OBJECT, 8, ""),
    Bad("root-null", make_file("null    "), Req.HEADER_ROOT_OBJECT, 8, ""),
    Bad("nul-padding", make_file('{"a":' + E + "}\0\0", OK2), Req.HEADER_PADDING, b"\0\0\x01", None),
    Bad("nul-after-spaces", make_file('{"a":' + E + "}  \0", OK2), Req.HEADER_PADDING, b"\0\x01", None),
    Bad("tab-padding", make_file('{"a":' + E + "}\t", OK2), Req.HEADER_PADDING, b"\t", None, flag=TRAILING),
    Bad("crlf-padding", make_file('{"a":' + E + "} \r\n", OK2), Req.HEADER_PADDING, b"\r", None, flag=TRAILING),
    Bad("form-feed-padding", make_file('{"a":' + E + "}\f", OK2), Req.HEADER_PADDING, b"\f", None),
    Bad("nbsp-padding", make_file('{"a":' + E + "}\u00a0", OK2), Req.HEADER_PADDING, b"\xc2\xa0", None),
    Bad("second-value", make_file('{"a":' + E + "}{}", OK2), Req.HEADER_PADDING, b"{}\x01", None),
    Bad("lone-high-surrogate", make_file('{"\\ud800":' + E + "}", OK2), Req.HEADER_STRINGS, b'"\\ud800', "/\ud800"),
    Bad(
        "reversed-pair",
        make_file('{"\\udc00\\ud800":' + E + "}", OK2),
        Req.HEADER_STRINGS,
        b'"\\udc00',
        "/\udc00\ud800",
    ),
    Bad(
        "surrogate-in-metadata",
        make_file('{"__metadata__":{"k":"\\udfff"},"a":' + E + "}", OK2),
        Req.HEADER_STRINGS,
        b'"\\udfff',
        "/__metadata__/k",
    ),
    Bad(
        "duplicate-name", make_file('{"a":' + E + ',"a":' + E + "}", OK2), Req.HEADER_UNIQUE_NAMES, b'"a"', "/a", nth=2
    ),
    Bad(
        "duplicate-name-escaped",
        make_file('{"a":' + E + ',"\\u0061":' + E + "}", OK2),
        Req.HEADER_UNIQUE_NAMES,
        b'"\\u0061"',
        "/a",
    ),
    Bad(
        "duplicate-metadata-member",
        make_file('{"__metadata__":{},"a":' + E + ',"__metadata__":{}}', OK2),
        Req.HEADER_UNIQUE_NAMES,
        b'"__metadata__"',
        "/__metadata__",
        nth=2,
    ),
    # Metadata
    Bad(
        "metadata-null",
        make_file('{"__metadata__":null,"a":' + E + "}", OK2),
        Req.META_OBJECT,
        b"null",
        "/__metadata__",
        flag=Flag.METADATA_NULL,
    ),
    Bad("metadata-array", make_file('{"__metadata__":[],"a":' + E + "}", OK2), Req.META_OBJECT, b"[]", "/__metadata__"),
    Bad(
        "metadata-string",
        make_file('{"__metadata__":"pt","a":' + E + "}", OK2),
        Req.META_OBJECT,
        b'"pt"',
        "/__metadata__",
    ),
    Bad(
        "metadata-number-value",
        make_file('{"__metadata__":{"n":1},"a":' + E + "}", OK2),
        Req.META_STRING_VALUES,
        b"1}",
        "/__metadata__/n",
    ),
    Bad(
        "metadata-null-value",
        make_file('{"__metadata__":{"n":null},"a":' + E + "}", OK2),
        Req.META_STRING_VALUES,
        b"null",
        "/__metadata__/n",
    ),
    Bad(
        "metadata-nested",
        make_file('{"__metadata__":{"n":{"x":"y"}},"a":' + E + "}", OK2),
        Req.META_STRING_VALUES,
        b'{"x"',
        "/__metadata__/n",
    ),
    Bad(
        "tensor-named-metadata",
        make_file('{"__metadata__":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}'),
        Req.META_STRING_VALUES,
        b"[0]",
        "/__metadata__/shape",
        count=2,
    ),
    Bad(
        "metadata-duplicate-key",
        make_file('{"__metadata__":{"k":"1","k":"2"},"a":' + E + "}", OK2),
        Req.META_UNIQUE_KEYS,
        b'"k"',
        "/__metadata__/k",
        nth=2,
    ),
    # Tensor entries
    Bad("entry-string", make_file('{"a":"U8"}'), Req.ENTRY_OBJECT, b'"U8"', "/a"),
    Bad("entry-array", make_file('{"a":["U8",[2],[0,2]]}', OK2), Req.ENTRY_OBJECT, b"[", "/a"),
    Bad("entry-null", make_file('{"a":null}'), Req.ENTRY_OBJECT, b"null", "/a"),
    Bad(
        "entry-missing-shape",
        make_file('{"a":{"dtype":"U8","data_offsets":[0,2]}}', OK2),
        Req.ENTRY_FIELDS_REQUIRED,
        b'{"dtype',
        "/a",
    ),
    Bad("entry-empty", make_file('{"a":{}}'), Req.ENTRY_FIELDS_REQUIRED, b"{}", "/a"),
    Bad(
        "entry-duplicate-field",
        make_file('{"a":{"dtype":"U8","dtype":"U8","shape":[2],"data_offsets":[0,2]}}', OK2),
        Req.ENTRY_FIELDS_REQUIRED,
        b'"dtype"',
        "/a/dtype",
        nth=2,
    ),
    Bad(
        "entry-unknown-field",
        make_file('{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2],"order":"C"}}', OK2),
        Req.ENTRY_FIELDS_KNOWN,
        b'"order"',
        "/a/order",
        flag=Flag.ENTRY_UNKNOWN_FIELDS,
    ),
    Bad("dtype-lowercase", make_file('{"a":' + entry(dtype="u8") + "}", OK2), Req.DTYPE_KNOWN, b'"u8"', "/a/dtype"),
    Bad(
        "dtype-unknown",
        make_file('{"a":' + entry(dtype="C128", shape="[0]", offsets="[0,0]") + "}"),
        Req.DTYPE_KNOWN,
        b'"C128"',
        "/a/dtype",
    ),
    Bad("dtype-padded", make_file('{"a":' + entry(dtype="U8 ") + "}", OK2), Req.DTYPE_KNOWN, b'"U8 "', "/a/dtype"),
    Bad(
        "dtype-number",
        make_file('{"a":{"dtype":8,"shape":[2],"data_offsets":[0,2]}}', OK2),
        Req.DTYPE_KNOWN,
        b"8,",
        "/a/dtype",
    ),
    Bad("shape-string", make_file('{"a":' + entry(shape='"2"') + "}", OK2), Req.SHAPE_ARRAY, b'"2"', "/a/shape"),
    Bad("shape-null", make_file('{"a":' + entry(shape="null") + "}", OK2), Req.SHAPE_ARRAY, b"null", "/a/shape"),
    Bad(
        "shape-bool-dim",
        make_file('{"a":' + entry(shape="[true]", offsets="[0,1]") + "}", b"\x01"),
        Req.SHAPE_ARRAY,
        b"true",
        "/a/shape/0",
    ),
    Bad("shape-nested", make_file('{"a":' + entry(shape="[[2]]") + "}", OK2), Req.SHAPE_ARRAY, b"[2]", "/a/shape/0"),
    Bad(
        "offsets-three",
        make_file('{"a":' + entry(offsets="[0,2,2]") + "}", OK2),
        Req.OFFSETS_PAIR,
        b"[0,2,2]",
        "/a/data_offsets",
    ),
    Bad(
        "offsets-one",
        make_file('{"a":' + entry(offsets="[2]") + "}", OK2),
        Req.OFFSETS_PAIR,
        b"[2]}",
        "/a/data_offsets",
    ),
    Bad(
        "offsets-object",
        make_file('{"a":' + entry(offsets='{"0":0}') + "}", OK2),
        Req.OFFSETS_PAIR,
        b'{"0"',
        "/a/data_offsets",
    ),
    Bad(
        "offsets-string",
        make_file('{"a":' + entry(offsets='[0,"2"]') + "}", OK2),
        Req.OFFSETS_PAIR,
        b'"2"',
        "/a/data_offsets/1",
    ),
    Bad("dim-fraction", make_file('{"a":' + entry(shape="[2.0]") + "}", OK2), Req.NUMBER_FORM, b"2.0", "/a/shape/0"),
    Bad("dim-exponent", make_file('{"a":' + entry(shape="[2e0]") + "}", OK2), Req.NUMBER_FORM, b"2e0", "/a/shape/0"),
    Bad("dim-negative", make_file('{"a":' + entry(shape="[-2]") + "}", OK2), Req.NUMBER_FORM, b"-2", "/a/shape/0"),
    Bad(
        "dim-negative-zero",
        make_file('{"a":' + entry(shape="[2,-0]", offsets="[0,0]") + "}"),
        Req.NUMBER_FORM,
        b"-0",
        "/a/shape/1",
    ),
    Bad(
        "offset-negative-zero",
        make_file('{"a":' + entry(offsets="[-0,2]") + "}", OK2),
        Req.NUMBER_FORM,
        b"-0",
        "/a/data_offsets/0",
    ),
    Bad(
        "offset-fraction",
        make_file('{"a":' + entry(offsets="[0,2.5]") + "}", OK2),
        Req.NUMBER_FORM,
        b"2.5",
        "/a/data_offsets/1",
    ),
    Bad(
        "dim-2-pow-64",
        make_file('{"a":' + entry(shape="[0,18446744073709551616]", offsets="[0,0]") + "}"),
        Req.NUMBER_RANGE,
        b"18446744073709551616",
        "/a/shape/1",
    ),
    Bad(
        "dim-5000-digits",
        make_file('{"a":' + entry(shape="[0," + "9" * 5000 + "]", offsets="[0,0]") + "}"),
        Req.NUMBER_RANGE,
        b"9999",
        "/a/shape/1",
    ),
    Bad(
        "offset-2-pow-64",
        make_file('{"a":' + entry(offsets="[0,18446744073709551616]") + "}", OK2),
        Req.NUMBER_RANGE,
        b"18446744073709551616",
        "/a/data_offsets/1",
    ),
    Bad(
        "offsets-reversed",
        make_file('{"a":' + entry(shape="[0]", offsets="[2,0]") + "}", OK2),
        Req.OFFSETS_ORDER,
        b"[2,0]",
        "/a/data_offsets",
    ),
    # Sizes
    Bad(
        "size-overflow-elements",
        make_file('{"a":' + entry(shape="[4294967296,4294967296]", offsets="[0,0]") + "}"),
        Req.SIZE_LIMIT,
        b"[4294967296",
        "/a/shape",
    ),
    Bad(
        "size-overflow-bits",
        make_file('{"a":' + entry(dtype="F64", shape="[2305843009213693952]", offsets="[0,0]") + "}"),
        Req.SIZE_LIMIT,
        b"[2305843009213693952]",
        "/a/shape",
    ),
    Bad(
        "size-overflow-zero-first",
        make_file('{"a":' + entry(shape="[0,4294967296,4294967296]", offsets="[0,0]") + "}"),
        Req.SIZE_LIMIT,
        b"[0,",
        "/a/shape",
    ),
    Bad(
        "f4-odd-count",
        make_file('{"a":' + entry(dtype="F4", shape="[3]", offsets="[0,2]") + "}", OK2),
        Req.SIZE_WHOLE_BYTES,
        b"[3]",
        "/a/shape",
    ),
    Bad(
        "f6-two-elements",
        make_file('{"a":' + entry(dtype="F6_E3M2", shape="[2]", offsets="[0,2]") + "}", OK2),
        Req.SIZE_WHOLE_BYTES,
        b"[2]",
        "/a/shape",
    ),
    Bad(
        "size-too-big",
        make_file('{"a":' + entry(offsets="[0,3]") + "}", b"abc"),
        Req.SIZE_MATCH,
        b"[0,3]",
        "/a/data_offsets",
    ),
    Bad(
        "size-too-small",
        make_file('{"a":' + entry(dtype="F32", shape="[2]", offsets="[0,4]") + "}", b"abcd"),
        Req.SIZE_MATCH,
        b"[0,4]",
        "/a/data_offsets",
    ),
    Bad(
        "scalar-empty-range",
        make_file('{"a":' + entry(dtype="F32", shape="[]", offsets="[0,0]") + "}"),
        Req.SIZE_MATCH,
        b"[0,0]",
        "/a/data_offsets",
    ),
]

BUFFER_CASES = [
    # (id, header, data, requirement, buffer offset of the problem, pointer)
    ("truncated-data", '{"a":' + E + "}", b"\x01", Req.BUFFER_BOUNDS, 0, "/a/data_offsets"),
    (
        "range-past-end",
        '{"a":' + entry(offsets="[2,4]") + ',"b":' + E + "}",
        OK2,
        Req.BUFFER_BOUNDS,
        2,
        "/a/data_offsets",
    ),
    (
        "empty-past-end",
        '{"a":' + E + ',"b":' + entry(shape="[0]", offsets="[5,5]") + "}",
        OK2,
        Req.BUFFER_BOUNDS,
        2,
        "/b/data_offsets",
    ),
    ("tied-weights", '{"a":' + E + ',"b":' + E + "}", OK2, Req.BUFFER_NO_OVERLAP, 0, "/b/data_offsets"),
    (
        "partial-overlap",
        '{"a":' + entry(shape="[3]", offsets="[0,3]") + ',"b":' + entry(offsets="[2,4]") + "}",
        b"abcd",
        Req.BUFFER_NO_OVERLAP,
        2,
        "/b/data_offsets",
    ),
    (
        "empty-inside-tensor",
        '{"a":' + entry(shape="[4]", offsets="[0,4]") + ',"b":' + entry(shape="[0]", offsets="[2,2]") + "}",
        b"abcd",
        Req.BUFFER_NO_OVERLAP,
        2,
        "/b/data_offsets",
    ),
    ("not-at-zero", '{"a":' + entry(offsets="[1,3]") + "}", b"xab", Req.BUFFER_NO_GAP, 0, "/a/data_offsets"),
    (
        "hole",
        '{"a":' + entry(offsets="[0,2]") + ',"b":' + entry(offsets="[3,5]") + "}",
        b"ab.cd",
        Req.BUFFER_NO_GAP,
        2,
        "/b/data_offsets",
    ),
    ("trailing-byte", '{"a":' + E + "}", b"ab!", Req.BUFFER_NO_TRAILING, 2, None),
    ("no-tensors-with-data", "{}", b"PK", Req.BUFFER_NO_TRAILING, 0, None),
    (
        "only-empty-with-data",
        '{"a":' + entry(shape="[0]", offsets="[0,0]") + "}",
        b"x",
        Req.BUFFER_NO_TRAILING,
        0,
        None,
    ),
]

#: A tensor past the end of the buffer also leaves a gap before it; BUFFER-BOUNDS is primary.
ALSO = {"empty-past-end": (Req.BUFFER_NO_GAP,)}

for case_id, header, data, requirement, buffer_offset, pointer in BUFFER_CASES:
    content = make_file(header, data)
    also = ALSO.get(case_id, ())
    CASES.append(Bad(case_id, content, requirement, buffer_at(content, buffer_offset), pointer, also=also))


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_rejected_with_one_requirement_at_its_offset(case: Bad) -> None:
    report = check(case.content)
    assert not report.conforms
    assert report.primary is (None if case.flag else case.requirement)
    found = [v.requirement for v in report.violations]
    assert sorted(found) == sorted([case.requirement] * case.count + list(case.also))
    first = next(v for v in report.violations if v.requirement is case.requirement)
    assert (first.offset, first.pointer, first.flag) == (case.offset, case.pointer, case.flag)


@pytest.mark.parametrize("case", CASES[:6], ids=lambda case: case.id)
def test_validate_raises_a_value_error_carrying_the_violations(case: Bad) -> None:
    with pytest.raises(FormatError) as raised:
        validate(case.content)
    assert isinstance(raised.value, ValueError)
    assert raised.value.requirements == {case.requirement, *case.also}
    assert raised.value.primary is (None if case.flag else case.requirement)


def test_every_must_requirement_the_reader_checks_has_a_rejection_case() -> None:
    covered = {case.requirement for case in CASES}
    reader_checked = {r for r in Req if not r.value.startswith("WRITER-")}
    assert reader_checked - SHOULD_LEVEL - covered == set()


def test_all_violations_of_a_file_are_reported_in_file_order() -> None:
    header = (
        '{"a":'
        + entry(dtype="u8")
        + ',"b":'
        + entry(shape="[1.5]", offsets="[2,4]")
        + ',"c":'
        + entry(offsets="[0,2,4]")
        + "}"
    )
    report = check(make_file(header, b"abcd"))
    assert [v.requirement for v in report.violations] == [Req.DTYPE_KNOWN, Req.NUMBER_FORM, Req.OFFSETS_PAIR]
    offsets = [v.offset for v in report.violations]
    assert offsets == sorted(offsets)


def test_deep_nesting_is_reported_by_the_container_that_holds_it() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    report = check(make_file('{"__metadata__":{"k":' + deep + '},"a":' + E + "}", OK2))
    assert [(v.requirement, v.pointer) for v in report.violations] == [(Req.META_STRING_VALUES, "/__metadata__/k")]
    assert report.violations[0].offset == 8 + len('{"__metadata__":{"k":')


def test_unclosed_deep_nesting_is_a_syntax_error() -> None:
    report = check(make_file('{"a":' + "[" * 50_000))
    assert [v.requirement for v in report.violations] == [Req.HEADER_JSON]


def test_a_huge_number_of_bad_entries_gives_a_bounded_report() -> None:
    header = "{" + ",".join(f'"t{i}":{{"dtype":"X","shape":[],"data_offsets":[0,0]}}' for i in range(3000)) + "}"
    report = check(make_file(header))
    assert len(report.violations) == 1000
    assert report.unreported_violations == 2000
    with pytest.raises(FormatError) as raised:
        report.raise_for_violations()
    assert raised.value.unreported == 2000


def test_deep_nesting_in_a_repeated_entry_does_not_exhaust_the_stack() -> None:
    deep = "[" * 900 + "]" * 900
    report = check(
        make_file('{"a":' + E + ',"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2],"x":' + deep + "}}", OK2)
    )
    assert [v.requirement for v in report.violations] == [Req.HEADER_UNIQUE_NAMES, Req.ENTRY_FIELDS_KNOWN]
