"""The canonical writer: round trips, canonical form, refusals, and agreement with the reference."""

from __future__ import annotations

import ctypes
import json
import os
import stat
from pathlib import Path

import pytest
import safetensors
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from safetensors_conformance import DTYPES, FormatError, Req, Tensor, check, load, serialize, write_file

# Dtype names the reference's Python serializer takes (it has no F6).
REFERENCE_NAMES = {
    "BOOL": "bool", "U8": "uint8", "I8": "int8", "I16": "int16", "U16": "uint16", "I32": "int32", "U32": "uint32",
    "I64": "int64", "U64": "uint64", "F16": "float16", "BF16": "bfloat16", "F32": "float32", "F64": "float64",
    "C64": "complex64", "F8_E4M3": "float8_e4m3fn", "F8_E4M3FNUZ": "float8_e4m3fnuz", "F8_E5M2": "float8_e5m2",
    "F8_E5M2FNUZ": "float8_e5m2fnuz", "F8_E8M0": "float8_e8m0fnu",
}  # fmt: skip

names = st.text(st.characters(exclude_categories=["Cs"]), max_size=12).filter(lambda n: n != "__metadata__")
text = st.text(st.characters(exclude_categories=["Cs"]), max_size=6)
metadata = st.none() | st.dictionaries(text, text, max_size=3)


@st.composite
def tensors(draw: st.DrawFn) -> Tensor:
    dtype = draw(st.sampled_from(sorted(DTYPES)))
    bits = DTYPES[dtype].bits
    shape = tuple(draw(st.lists(st.integers(0, 5), max_size=3)))
    count = 1
    for dim in shape:
        count *= dim
    if count * bits % 8:  # packed types hold whole bytes: pad the last dimension
        unit = 8 // bits if bits == 4 else 4
        shape = (*shape[:-1], (shape[-1] // unit + 1) * unit) if shape else (unit,)
        count = 1
        for dim in shape:
            count *= dim
    data = draw(st.binary(min_size=count * bits // 8, max_size=count * bits // 8))
    return Tensor(dtype, shape, data)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(names, tensors(), max_size=6), metadata)
def test_round_trip_through_the_reader_and_the_reference(items: dict[str, Tensor], meta: dict[str, str] | None) -> None:
    content = serialize(items, meta)
    report = check(content)
    assert report.conforms
    callers = (Req.NAME_PORTABLE, Req.SIZE_PACKED_ROWS)  # about the input's names and shapes
    assert [w.requirement for w in report.warnings if w.requirement not in callers] == []
    header = report.header
    assert header is not None
    assert header.metadata == meta
    read = {
        name: Tensor(i.dtype, i.shape, content[header.data_start + i.begin : header.data_start + i.end])
        for name, i in header.tensors.items()
    }
    assert read == items
    reference = {
        name: Tensor(v["dtype"], tuple(v["shape"]), bytes(v["data"])) for name, v in safetensors.deserialize(content)
    }
    assert reference == items


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(names, tensors(), max_size=6), metadata)
def test_canonical_form(items: dict[str, Tensor], meta: dict[str, str] | None) -> None:
    content = serialize(items, meta)
    length = int.from_bytes(content[:8], "little")
    text = content[8 : 8 + length]
    assert length % 8 == 0
    body = text.rstrip(b" ")
    assert len(text) - len(body) < 8
    assert body == json.dumps(json.loads(body), ensure_ascii=False, separators=(",", ":")).encode()
    members = list(json.loads(body))
    expected = ([] if meta is None else ["__metadata__"]) + sorted(
        items, key=lambda n: (-DTYPES[items[n].dtype].rank, n)
    )
    assert members == expected
    assert serialize(dict(reversed(list(items.items()))), meta) == content


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(names, tensors().filter(lambda t: t.dtype in REFERENCE_NAMES), max_size=5),
    st.none() | st.dictionaries(text, text, max_size=1),
)
def test_same_bytes_as_the_reference_writer(items: dict[str, Tensor], meta: dict[str, str] | None) -> None:
    assume(items or meta != {})  # the reference writes a broken header for that input: see the test below
    assert serialize(items, meta) == _reference_serialize(items, meta)


def _reference_serialize(items: dict[str, Tensor], meta: dict[str, str] | None) -> bytes:
    buffers = {name: ctypes.create_string_buffer(t.data, max(len(t.data), 1)) for name, t in items.items()}
    specs = {
        name: safetensors.TensorSpec(
            dtype=REFERENCE_NAMES[t.dtype],
            shape=list(t.shape),
            data_ptr=ctypes.addressof(buffers[name]),
            data_len=len(t.data),
        )
        for name, t in items.items()
    }
    return bytes(safetensors.serialize(specs, meta))


def test_reference_writer_breaks_the_header_for_empty_metadata_without_tensors() -> None:
    # safetensors 0.8.0 writes '{},"__metadata__":{}}' here, which its own reader rejects.
    broken = _reference_serialize({}, {})
    assert [v.requirement for v in check(broken).violations] == [Req.HEADER_PADDING]
    assert check(serialize({}, {})).conforms


def test_write_file_replaces_the_target_only_when_done(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"old")
    write_file(path, {"w": Tensor("F32", (1,), b"\0\0\x80\x3f")}, {"format": "pt"})
    tensors, meta = load(path)
    assert tensors == {"w": Tensor("F32", (1,), b"\0\0\x80\x3f")}
    assert meta == {"format": "pt"}
    with pytest.raises(FormatError):
        write_file(path, {"w": Tensor("F32", (2,), b"short")})
    assert load(path)[0] == tensors
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]


REFUSALS = [
    ("reserved-name", [("__metadata__", Tensor("U8", (1,), b"x"))], None, Req.WRITER_RESERVED_NAME, "/__metadata__"),
    (
        "duplicate-name",
        [("a", Tensor("U8", (1,), b"x")), ("a", Tensor("U8", (1,), b"y"))],
        None,
        Req.HEADER_UNIQUE_NAMES,
        "/a",
    ),
    ("unknown-dtype", [("a", Tensor("F128", (1,), b"x" * 16))], None, Req.DTYPE_KNOWN, "/a/dtype"),
    ("negative-dim", [("a", Tensor("U8", (-1,), b""))], None, Req.NUMBER_FORM, "/a/shape"),
    ("float-dim", [("a", Tensor("U8", (1.0,), b"x"))], None, Req.SHAPE_ARRAY, "/a/shape"),  # type: ignore[arg-type]
    ("overflow", [("a", Tensor("U8", (2**32, 2**32), b""))], None, Req.SIZE_LIMIT, "/a"),
    ("odd-f4", [("a", Tensor("F4", (3,), b"xy"))], None, Req.SIZE_WHOLE_BYTES, "/a"),
    ("short-data", [("a", Tensor("F32", (2,), b"1234"))], None, Req.SIZE_MATCH, "/a"),
    ("surrogate-name", [("\ud800", Tensor("U8", (1,), b"x"))], None, Req.HEADER_STRINGS, "/\ud800"),
    ("metadata-int", [], {"k": 1}, Req.META_STRING_VALUES, "/__metadata__/k"),
    ("metadata-key-int", [], {1: "v"}, Req.META_OBJECT, "/__metadata__/1"),
    ("metadata-surrogate", [], {"k": "\udfff"}, Req.HEADER_STRINGS, "/__metadata__/k"),
]


@pytest.mark.parametrize(
    ("items", "meta", "requirement", "pointer"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_refuses_input_that_would_not_conform(
    items: list[tuple[str, Tensor]], meta: object, requirement: Req, pointer: str
) -> None:
    with pytest.raises(FormatError) as raised:
        serialize(items, meta)  # type: ignore[arg-type]
    assert [(v.requirement, v.pointer) for v in raised.value.violations] == [(requirement, pointer)]


def test_refuses_a_header_over_the_limit() -> None:
    items = {f"{i:0200d}": Tensor("U8", (0,), b"") for i in range(400_000)}
    with pytest.raises(FormatError) as raised:
        serialize(items)
    assert raised.value.requirements == {Req.LAYOUT_HEADER_LIMIT}


def test_write_file_honours_the_umask_and_an_existing_mode(tmp_path: Path) -> None:
    tensors = {"w": Tensor("U8", (1,), b"\x01")}
    old = os.umask(0o027)
    try:
        write_file(tmp_path / "new.safetensors", tensors)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.safetensors").stat().st_mode) == 0o640
    existing = tmp_path / "existing.safetensors"
    existing.write_bytes(b"")
    existing.chmod(0o604)
    write_file(existing, tensors)
    assert stat.S_IMODE(existing.stat().st_mode) == 0o604
    assert existing.read_bytes().startswith(b"\x38")  # replaced with the new file
