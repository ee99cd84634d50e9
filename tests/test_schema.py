"""The header JSON Schema: what it checks, what it cannot, and that the reader is never more lenient."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safetensors_conformance import DTYPES, Req, check
from safetensors_conformance._resources import data_path
from safetensors_conformance.format.requirements import SHOULD_LEVEL

from .conftest import make_file

SCHEMA = json.loads(data_path("schema", "header.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
STRUCTURAL = {
    Req.HEADER_ROOT_OBJECT, Req.META_OBJECT, Req.META_STRING_VALUES, Req.ENTRY_OBJECT, Req.ENTRY_FIELDS_REQUIRED,
    Req.ENTRY_FIELDS_KNOWN, Req.DTYPE_KNOWN, Req.SHAPE_ARRAY, Req.OFFSETS_PAIR, Req.NUMBER_RANGE,
}  # fmt: skip


def test_schema_is_valid_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_dtype_enum_is_exactly_the_dtype_table() -> None:
    assert SCHEMA["$defs"]["tensor"]["properties"]["dtype"]["enum"] == list(DTYPES)


def test_every_rule_names_its_requirements() -> None:
    def comments(node: Any) -> list[str]:
        if isinstance(node, dict):
            return [node.get("$comment", "")] + [c for value in node.values() for c in comments(value)]
        if isinstance(node, list):
            return [c for value in node for c in comments(value)]
        return []

    text = " ".join(comments(SCHEMA))
    assert {r for r in STRUCTURAL if r.value not in text} == set()


REJECTED_BY_SCHEMA = {
    "root-array": [],
    "metadata-null": {"__metadata__": None},
    "metadata-number-value": {"__metadata__": {"k": 1}},
    "entry-string": {"a": "U8"},
    "missing-shape": {"a": {"dtype": "U8", "data_offsets": [0, 0]}},
    "unknown-field": {"a": {"dtype": "U8", "shape": [], "data_offsets": [0, 1], "x": 1}},
    "dtype-lowercase": {"a": {"dtype": "u8", "shape": [], "data_offsets": [0, 1]}},
    "dtype-unanchored": {"a": {"dtype": "xF32y", "shape": [], "data_offsets": [0, 4]}},
    "dtype-u128": {"a": {"dtype": "U128", "shape": [], "data_offsets": [0, 16]}},
    "offsets-one": {"a": {"dtype": "U8", "shape": [0], "data_offsets": [0]}},
    "offsets-three": {"a": {"dtype": "U8", "shape": [0], "data_offsets": [0, 0, 0]}},
    "offsets-none": {"a": {"dtype": "U8", "shape": [0], "data_offsets": []}},
    "dim-negative": {"a": {"dtype": "U8", "shape": [-1], "data_offsets": [0, 0]}},
    "dim-2-pow-64": {"a": {"dtype": "U8", "shape": [0, 2**64], "data_offsets": [0, 0]}},
    "dim-fraction": {"a": {"dtype": "U8", "shape": [1.5], "data_offsets": [0, 0]}},
    "dim-bool": {"a": {"dtype": "U8", "shape": [True], "data_offsets": [0, 1]}},
}
ACCEPTED_BY_SCHEMA = {
    "empty": {},
    "scalar": {"a": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]}},
    "every-dtype": {name: {"dtype": name, "shape": [0], "data_offsets": [0, 0]} for name in DTYPES},
    "offset-2-pow-64-minus-1": {"a": {"dtype": "U8", "shape": [0], "data_offsets": [2**64 - 1, 2**64 - 1]}},
    "bool-dtype": {"a": {"dtype": "BOOL", "shape": [1], "data_offsets": [0, 1]}},
    "f4-dtype": {"a": {"dtype": "F4", "shape": [2], "data_offsets": [0, 1]}},
    "c64-dtype": {"a": {"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}},
}


@pytest.mark.parametrize("header", REJECTED_BY_SCHEMA.values(), ids=REJECTED_BY_SCHEMA.keys())
def test_schema_rejects_what_the_upstream_schema_lets_through(header: object) -> None:
    assert not VALIDATOR.is_valid(header)


@pytest.mark.parametrize("header", ACCEPTED_BY_SCHEMA.values(), ids=ACCEPTED_BY_SCHEMA.keys())
def test_schema_accepts_what_the_upstream_schema_wrongly_rejects(header: object) -> None:
    assert VALIDATOR.is_valid(header)


ONE = '{"dtype":"U8","shape":[1],"data_offsets":[0,1]}'
BEYOND_THE_SCHEMA = {
    # The schema passes these headers; only a reader can see what is wrong with them.
    "float-dimension": ('{"a":{"dtype":"U8","shape":[2.0],"data_offsets":[0,2]}}', b"ab", Req.NUMBER_FORM),
    "negative-zero": ('{"a":{"dtype":"U8","shape":[2],"data_offsets":[-0,2]}}', b"ab", Req.NUMBER_FORM),
    "duplicate-name": ('{"a":' + ONE + ',"a":' + ONE + "}", b"a", Req.HEADER_UNIQUE_NAMES),
    "duplicate-metadata-key": ('{"__metadata__":{"k":"1","k":"2"}}', b"", Req.META_UNIQUE_KEYS),
    "lone-surrogate": ('{"\\ud800":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', b"a", Req.HEADER_STRINGS),
    "reversed-offsets": ('{"a":{"dtype":"U8","shape":[0],"data_offsets":[1,0]}}', b"a", Req.OFFSETS_ORDER),
    "size-mismatch": ('{"a":{"dtype":"U8","shape":[3],"data_offsets":[0,2]}}', b"ab", Req.SIZE_MATCH),
    "overflow": ('{"a":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]}}', b"", Req.SIZE_LIMIT),
    "odd-f4": ('{"a":{"dtype":"F4","shape":[1],"data_offsets":[0,1]}}', b"a", Req.SIZE_WHOLE_BYTES),
    "overlap": ('{"a":' + ONE + ',"b":' + ONE + "}", b"a", Req.BUFFER_NO_OVERLAP),
    "gap": ('{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', b"ab", Req.BUFFER_NO_GAP),
    "trailing": ('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', b"ab", Req.BUFFER_NO_TRAILING),
    "past-end": ('{"a":{"dtype":"U8","shape":[3],"data_offsets":[0,3]}}', b"ab", Req.BUFFER_BOUNDS),
}  # fmt: skip


@pytest.mark.parametrize(("header", "data", "requirement"), BEYOND_THE_SCHEMA.values(), ids=BEYOND_THE_SCHEMA.keys())
def test_what_the_schema_cannot_express(header: str, data: bytes, requirement: Req) -> None:
    assert VALIDATOR.is_valid(json.loads(header))
    assert [v.requirement for v in check(make_file(header, data)).violations] == [requirement]


VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-2, 2**64 + 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["U8", "F32", "x"]),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(["dtype", "shape", "data_offsets", "k"]), children, max_size=4)
    ),
    max_leaves=12,
)
HEADERS = st.dictionaries(st.sampled_from(["a", "b", "__metadata__"]), VALUES, max_size=3)


@settings(max_examples=1000, deadline=None)
@given(HEADERS, st.integers(0, 16))
def test_reader_is_never_more_lenient_than_the_schema(header: dict[str, object], buffer_length: int) -> None:
    text = json.dumps(header)
    report = check(make_file(text, bytes(buffer_length)))
    if not VALIDATOR.is_valid(header):
        assert not report.conforms
        assert {v.requirement for v in report.violations} & (STRUCTURAL | {Req.NUMBER_FORM})
    if report.conforms:
        assert VALIDATOR.is_valid(header)
    assert all(v.requirement not in SHOULD_LEVEL for v in report.violations)
