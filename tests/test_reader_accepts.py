"""Conforming files are accepted, read exactly, and agree with the reference implementation."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import safetensors

from safetensors_conformance import DTYPES, FormatError, Req, check, load, open_file, validate
from safetensors_conformance.format.reader import Source

from .conftest import buffer_at, entry, make_file

VALID = {
    "empty-header": make_file("{}", padding=6),
    "scalar": make_file('{"s":' + entry("F32", "[]", "[0,4]") + "}", b"\0\0\x80\x3f", padding=2),
    "empty-tensor": make_file('{"e":' + entry("F32", "[0,3]", "[0,0]") + "}", padding=5),
    "empty-tensors-share-offset": make_file(
        '{"a":'
        + entry("U8", "[0]", "[0,0]")
        + ',"b":'
        + entry("U8", "[0]", "[0,0]")
        + ',"c":'
        + entry("U8", "[1]", "[0,1]")
        + "}",
        b"x",
    ),
    "empty-tensor-at-end": make_file('{"a":' + entry() + ',"z":' + entry("U8", "[0]", "[2,2]") + "}", b"ab"),
    "empty-tensor-between": make_file(
        '{"a":' + entry() + ',"m":' + entry("I64", "[2,0]", "[2,2]") + ',"z":' + entry("U8", "[1]", "[2,3]") + "}",
        b"abc",
    ),
    "huge-dims-with-zero": make_file('{"a":' + entry("U8", "[0,2305843009213693951]", "[0,0]") + "}"),
    "header-out-of-buffer-order": make_file('{"b":' + entry("U8", "[1]", "[2,3]") + ',"a":' + entry() + "}", b"abc"),
    "fields-in-other-order": make_file('{"a":{"data_offsets":[0,2],"shape":[2],"dtype":"U8"}}', b"ab"),
    "whitespace-between-tokens": make_file(
        '{ "a" :\n\t{ "dtype" : "U8" , "shape" : [ 2 ] , "data_offsets" : [ 0 , 2 ] } }', b"ab"
    ),
    "unicode-names": make_file('{"é":' + entry() + ',"名前":' + entry("U8", "[1]", "[2,3]") + "}", b"abc"),
    "escaped-names": make_file(
        '{"\\u00e9\\"q\\\\":' + entry() + ',"\\ud83d\\ude00":' + entry("U8", "[1]", "[2,3]") + "}", b"abc"
    ),
    "metadata-empty": make_file('{"__metadata__":{},"a":' + entry() + "}", b"ab"),
    "metadata-last": make_file('{"a":' + entry() + ',"__metadata__":{"":"","k":"é"}}', b"ab"),
    "path-like-name": make_file('{"../../etc/passwd":' + entry() + "}", b"ab"),
    "many-dims": make_file('{"a":' + entry("U8", "[" + ",".join(["1"] * 64) + "]", "[0,1]") + "}", b"x"),
    "f4-even": make_file('{"a":' + entry("F4", "[2,2]", "[0,2]") + "}", b"\xc2\x2c"),
    "f6-four": make_file('{"a":' + entry("F6_E2M3", "[4]", "[0,3]") + "}", b"abc"),
}


@pytest.mark.parametrize("content", VALID.values(), ids=VALID.keys())
def test_conforming_file_is_accepted_and_matches_the_reference(content: bytes) -> None:
    report = check(content)
    assert report.conforms, report.violations
    header = report.header
    assert header is not None
    ours = {
        name: (info.dtype, list(info.shape), content[header.data_start + info.begin : header.data_start + info.end])
        for name, info in header.tensors.items()
    }
    theirs = {
        name: (view["dtype"], view["shape"], bytes(view["data"])) for name, view in safetensors.deserialize(content)
    }
    assert ours == theirs


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_dtype_is_accepted(dtype: str) -> None:
    bits = DTYPES[dtype].bits
    count = 8 // bits * 4 if bits < 8 else 3  # whole bytes for packed types
    size = count * bits // 8
    content = make_file('{"t":' + entry(dtype, f"[{count}]", f"[0,{size}]") + "}", bytes(range(size)))
    header = validate(content)
    assert header.tensors["t"].dtype == dtype
    assert header.tensors["t"].nbytes == size


def test_source_kinds_give_the_same_report(tmp_path: Path) -> None:
    content = VALID["metadata-last"]
    path = tmp_path / "m.safetensors"
    path.write_bytes(content)
    sources: list[Source] = [content, bytearray(content), memoryview(content), io.BytesIO(content), path, str(path)]
    reports = [check(source) for source in sources]
    assert all(r.conforms and r.header is not None and r.header.metadata == {"": "", "k": "é"} for r in reports)


def test_tensors_are_read_lazily_and_exactly(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    path.write_bytes(VALID["empty-tensor-between"])
    with open_file(path) as file:
        assert file.names() == ["a", "m", "z"]
        assert len(file) == 3
        assert "m" in file
        assert file.read("z") == b"c"
        tensor = file.tensor("m")
        assert (tensor.dtype, tensor.shape, tensor.data) == ("I64", (2, 0), b"")
        assert file.info("a").data_offsets == (0, 2)
    tensors, metadata = load(path)
    assert metadata is None
    assert {name: t.data for name, t in tensors.items()} == {"a": b"ab", "m": b"", "z": b"c"}


def test_opening_a_nonconforming_file_raises_and_closes_it(tmp_path: Path) -> None:
    path = tmp_path / "bad.safetensors"
    path.write_bytes(make_file('{"a":' + entry() + "}", b"abc"))
    with pytest.raises(FormatError) as raised:
        open_file(path)
    assert raised.value.requirements == {Req.BUFFER_NO_TRAILING}


def test_a_header_checked_without_its_entries_says_so() -> None:
    report = check(VALID["scalar"], keep_tensors=False)
    assert report.conforms
    assert report.header is not None
    assert len(report.header) == 1
    with pytest.raises(ValueError, match="without keeping"):
        _ = report.header.tensors


MISALIGNED = make_file(
    '{"a":' + entry("U8", "[1]", "[0,1]") + ',"b":' + entry("F32", "[1]", "[1,5]") + "}", b"abcde", padding=4
)
WARNINGS = [
    ("unpadded-header", make_file('{"a":' + entry() + "}", b"ab"), Req.LAYOUT_HEADER_ALIGN, 0, None),
    ("misaligned-f32", MISALIGNED, Req.DATA_ALIGNED, buffer_at(MISALIGNED, 1), "/b/data_offsets"),
    ("empty-name", make_file('{"":' + entry() + "}", b"ab", padding=6), Req.NAME_PORTABLE, 9, "/"),
    ("control-in-name", make_file('{"a\\u0007":' + entry() + "}", b"ab", padding=0), Req.NAME_PORTABLE, 9, "/a\x07"),
]


@pytest.mark.parametrize(
    ("content", "requirement", "offset", "pointer"), [w[1:] for w in WARNINGS], ids=[w[0] for w in WARNINGS]
)
def test_should_level_findings_are_warnings(content: bytes, requirement: Req, offset: int, pointer: str | None) -> None:
    report = check(content)
    assert report.conforms
    found = [
        (w.requirement, w.offset, w.pointer)
        for w in report.warnings
        if w.requirement is not Req.LAYOUT_HEADER_ALIGN or requirement is Req.LAYOUT_HEADER_ALIGN
    ]
    assert found == [(requirement, offset, pointer)]
    assert all(w.is_warning for w in report.warnings)
