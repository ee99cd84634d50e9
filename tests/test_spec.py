"""The spec, its machine-readable index and the code stay in step; its examples and tables are true."""

from __future__ import annotations

import re

import ml_dtypes
import numpy as np
import pytest
import safetensors

from safetensors_conformance import DTYPES, Req, check
from safetensors_conformance.format.requirements import PRECEDENCE, SHOULD_LEVEL, Flag
from safetensors_conformance.format.violations import Violation, primary_requirement
from safetensors_conformance.spec import load_index, parse_markdown, render_index, requirement_text, spec_path
from safetensors_conformance.spec_examples import Example, load_examples

SPEC = spec_path().read_text(encoding="utf-8")
INDEX = load_index()
#: File requirements about what the bytes mean, not where they are: a header check cannot see them.
#: Vectors check them through their expected decoded content.
CONTENT_ONLY = {"DATA-ENCODING", "DATA-PACKING", "DATA-BOOL"}


def test_index_is_generated_from_the_markdown() -> None:
    version, requirements = parse_markdown(SPEC)
    assert (spec_path().parent / "requirements.json").read_text(encoding="utf-8") == render_index(version, requirements)


def test_ids_and_anchors_are_unique() -> None:
    _, requirements = parse_markdown(SPEC)
    ids = [r.id for r in requirements]
    assert len(ids) == len(set(ids))
    anchors = re.findall(r'<a id="([^"]+)"></a>', SPEC)
    assert len(anchors) == len(set(anchors)) == len(ids)


def test_every_requirement_mentioned_in_the_spec_exists() -> None:
    mentioned = set(re.findall(r"`([A-Z][A-Z0-9]+(?:-[A-Z0-9]+)+)`", SPEC))
    assert mentioned - INDEX.keys() == set()


def test_code_checks_exactly_the_checkable_file_requirements() -> None:
    checked = {r.value for r in Req}
    assert checked - INDEX.keys() == set()
    file_requirements = {r.id for r in INDEX.values() if r.scope == "file"}
    assert file_requirements - CONTENT_ONLY == checked - {"WRITER-RESERVED-NAME"}
    assert INDEX["WRITER-RESERVED-NAME"].scope == "writer"


def test_warning_levels_match_the_spec() -> None:
    assert {r.value for r in SHOULD_LEVEL} == {r.id for r in INDEX.values() if r.scope == "file" and r.is_warning}


def test_flags_are_defined_in_the_implementation_defined_table() -> None:
    table = SPEC[SPEC.index("## 12.") : SPEC.index("## 13.")]
    defined = set(re.findall(r"^\| `([a-z0-9-]+)` \| `([A-Z0-9-]+)`", table, re.MULTILINE))
    used = {(flag, r.id) for r in INDEX.values() for flag in r.flags}
    assert used == defined


def test_cite_text_starts_with_the_requirement() -> None:
    for requirement in INDEX.values():
        text = requirement_text(requirement)
        assert text.startswith(f"**{requirement.id}** ({requirement.scope}, {requirement.level}")


def test_dtype_table_matches_the_code() -> None:
    rows = re.findall(r"^\| (\d+) \| `([A-Z0-9_]+)` \| (\d+) \|", SPEC, re.MULTILINE)
    assert [(int(rank), name, int(bits)) for rank, name, bits in rows] == [
        (d.rank, d.name, d.bits) for d in DTYPES.values()
    ]


EXAMPLES = load_examples()


def test_examples_cover_every_expectation() -> None:
    assert {e.expect for e in EXAMPLES} == {"valid", "invalid", "acceptable"}
    assert len({e.id for e in EXAMPLES}) == len(EXAMPLES)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_reference_reader_agrees_with_every_example(example: Example) -> None:
    report = check(example.content)
    assert report.warnings == ()
    if example.expect == "valid":
        assert report.conforms
        assert len(safetensors.deserialize(example.content)) == len(report.header or ())
    else:
        assert [v.requirement.value for v in report.violations] == [example.violates]
        flags = set(INDEX[example.violates or ""].flags)
        assert (
            (set(example.flags) <= flags and bool(example.flags))
            if example.expect == "acceptable"
            else not example.flags
        )


# --- The sample encodings of section 7 ---------------------------------------------------------

ML_DTYPES = {
    "F16": np.float16, "BF16": ml_dtypes.bfloat16, "F32": np.float32, "F8_E5M2": ml_dtypes.float8_e5m2,
    "F8_E4M3": ml_dtypes.float8_e4m3fn, "F8_E4M3FNUZ": ml_dtypes.float8_e4m3fnuz,
    "F8_E5M2FNUZ": ml_dtypes.float8_e5m2fnuz, "F8_E8M0": ml_dtypes.float8_e8m0fnu,
}  # fmt: skip


def _encoding_rows() -> list[tuple[str, list[str]]]:
    table = SPEC[SPEC.index("*Example.* Encodings") : SPEC.index("An `F4` tensor")]
    rows = re.findall(r"^\| `([A-Z0-9_]+)` \| (.+) \|$", table, re.MULTILINE)
    return [(name, [cell.strip() for cell in cells.split(" | ")]) for name, cells in rows]


@pytest.mark.parametrize(("dtype", "cells"), _encoding_rows(), ids=[row[0] for row in _encoding_rows()])
def test_sample_encodings_match_ml_dtypes(dtype: str, cells: list[str]) -> None:
    numpy_type = ML_DTYPES[dtype]
    largest = float(ml_dtypes.finfo(numpy_type).max)
    for value, cell in zip([1.0, -2.0, 0.5, largest], cells, strict=True):
        if cell == "—":
            continue
        expected = bytes.fromhex(cell.split("`")[1])
        assert np.array([value], dtype=np.float64).astype(numpy_type).tobytes() == expected


def test_f4_packing_example() -> None:
    codes = np.array([1.0, -2.0]).astype(ml_dtypes.float4_e2m1fn).view(np.uint8)
    packed = bytes([int(codes[0]) & 0xF | (int(codes[1]) & 0xF) << 4])
    assert packed == b"\xc2"
    assert "holding `[1.0, -2.0]` is the single byte `c2`" in " ".join(SPEC.split())


def test_c64_example() -> None:
    assert np.array([1 + 2j], dtype=np.complex64).tobytes() == bytes.fromhex("0000803f00000040")
    assert DTYPES["C64"].bits == 64


def test_precedence_is_the_order_of_the_spec() -> None:
    """Spec section 1, *Precedence*: the reader's order of requirements is the document's."""
    in_spec = [r.id for r in INDEX.values() if r.id in {q.value for q in Req}]
    assert [q.value for q in sorted(Req, key=PRECEDENCE.__getitem__)] == in_spec


def test_flags_of_the_reader_are_the_flags_of_the_spec() -> None:
    assert {f.value for f in Flag} == {flag for r in INDEX.values() for flag in r.flags}


@pytest.mark.parametrize(
    ("violations", "primary"),
    [
        # The examples of spec section 1, *Precedence*.
        ([Req.BUFFER_NO_GAP, Req.BUFFER_BOUNDS], Req.BUFFER_BOUNDS),
        ([Req.SIZE_MATCH, Req.SIZE_WHOLE_BYTES], Req.SIZE_WHOLE_BYTES),
        ([Req.SIZE_MATCH, Req.SIZE_LIMIT], Req.SIZE_LIMIT),
        ([Req.HEADER_START, Req.HEADER_UTF8], Req.HEADER_UTF8),
        ([Req.HEADER_JSON, Req.HEADER_START], Req.HEADER_START),
        ([(Req.HEADER_START, Flag.HEADER_LEADING_WHITESPACE), Req.HEADER_JSON], Req.HEADER_JSON),
        ([(Req.ENTRY_FIELDS_KNOWN, Flag.ENTRY_UNKNOWN_FIELDS)], None),
        ([Req.DATA_ALIGNED], None),  # SHOULD level is never primary
        ([], None),
    ],
)
def test_primary_requirement(violations: list[Req | tuple[Req, Flag]], primary: Req | None) -> None:
    pairs = [v if isinstance(v, tuple) else (v, None) for v in violations]
    assert primary_requirement([Violation(req, "message", flag=flag) for req, flag in pairs]) is primary
