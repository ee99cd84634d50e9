"""The fast path (msgspec, optional) and the named checks give identical reports on every header.

The fast path may only ever accept: on any header it does not accept, the named checks decide. So
the property is that ``check(..., fast=True)`` and ``check(..., fast=False)`` give the same report,
findings, counts and header alike, on generated headers that conform and on near misses of every
kind the fast path has to see through (repeated names, signs, whitespace, escapes, numbers that are
not integers, buffers that do not tile). The tests also show that it does accept the files real
writers produce, and that ``validate`` without msgspec prints exactly what it prints with it.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safetensors_conformance import DTYPES, Tensor, check, serialize
from safetensors_conformance.cli import main
from safetensors_conformance.format import header as header_module
from safetensors_conformance.format import reader
from safetensors_conformance.format.header import fast_header
from safetensors_conformance.format.reader import Report

pytest.importorskip("msgspec")


class Raw(NamedTuple):
    """JSON text written as it is: a number as a file may spell it, a string with its escapes."""

    text: str


#: Members of an object, in order, duplicates kept.
Members = list[tuple[Any, Any]]


def render(value: object, colon: str, comma: str) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, Obj):
        inner = comma.join(render(k, colon, comma) + colon + render(v, colon, comma) for k, v in value.members)
        return "{" + inner + "}"
    if isinstance(value, list):
        return "[" + comma.join(render(v, colon, comma) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


class Obj(NamedTuple):
    members: Members


def summary(report: Report) -> tuple[object, ...]:
    """Everything a report says, the header's tensors included."""
    found = report.header
    header = None
    if found is not None:
        tensors = None
        with contextlib.suppress(ValueError):  # checked with keep_tensors=False
            tensors = list(found.tensors.values())
        header = (found.length, found.data_start, found.buffer_length, found.metadata, len(found), tensors)
    return (
        report.violations,
        report.warnings,
        report.unreported_violations,
        report.unreported_warnings,
        report.file_size,
        header,
    )


def assert_same(content: bytes) -> None:
    for keep in (True, False):
        fast = check(content, keep_tensors=keep, fast=True)
        strict = check(content, keep_tensors=keep, fast=False)
        assert summary(fast) == summary(strict)


def file_of(text: str, buffer_length: int, *, pad: bool) -> bytes:
    data = text.encode("utf-8", "surrogatepass")
    if pad:
        data += b" " * (-len(data) % 8)
    return (
        len(data).to_bytes(8, "little") + data + bytes(range(256)) * (buffer_length // 256) + bytes(buffer_length % 256)
    )


def accepted(content: bytes) -> bool:
    """Whether the fast path itself accepts the header of ``content``."""
    length = int.from_bytes(content[:8], "little")
    raw = bytearray(content[8 : 8 + length])
    return fast_header(raw, length, len(content) - 8 - length) is not None


# --- Generated headers ----------------------------------------------------------------------------

NAME_CHARS = st.sampled_from([*"ab.0_:-é ", "\u2028", "\U0001f600"])
NAMES = st.text(NAME_CHARS, min_size=1, max_size=6)
#: Spellings of numbers that a conforming header may not hold, or holds only as themselves.
ODD_NUMBERS = st.sampled_from(
    [
        "-0",
        "-1",
        "1.0",
        "1e0",
        "0.5",
        "true",
        "null",
        '"1"',
        "18446744073709551616",
        "18446744073709551615",
        "01",
        "9" * 30,
    ]
)
#: Mostly byte-sized dtypes, which the fast path takes; the packed ones it leaves to the named checks.
DTYPE_NAMES = st.sampled_from(
    sorted(name for name, dtype in DTYPES.items() if dtype.bits % 8 == 0) * 4
    + sorted(name for name, dtype in DTYPES.items() if dtype.bits % 8)
)
MUTATIONS = st.sampled_from(
    [
        "duplicate-name",
        "drop-entry",
        "duplicate-field",
        "extra-field",
        "missing-field",
        "dtype",
        "shape-number",
        "offset-number",
        "offsets-length",
        "shift",
        "zero-dim",
        "escaped-name",
        "surrogate-name",
        "del-name",
        "control-name",
        "empty-name",
        "second-metadata",
        "metadata-value",
        "metadata-duplicate-key",
        "metadata-brace",
        "metadata-late",
        "leading",
        "trailing",
        "trailing-comma",
        "metadata-alone",
        "buffer",
        "unaligned",
    ]
)


def pristine(fields: Members) -> bool:
    """An entry's fields as generated: the three, in order, with two integer offsets."""
    if [name for name, _ in fields] != ["dtype", "shape", "data_offsets"]:
        return False
    offsets = fields[2][1]
    return isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)


@st.composite
def headers(draw: st.DrawFn) -> tuple[str, int, bool]:
    """A header (text, buffer length, whether to pad it to 8): a conforming one, then up to two
    mutations that may spoil it."""
    names = draw(st.lists(NAMES, unique=True, max_size=6).filter(lambda n: "__metadata__" not in n))
    sized: list[tuple[str, str, list[int], int]] = []
    for name in names:
        dtype = draw(DTYPE_NAMES)
        bits = DTYPES[dtype].bits
        shape = draw(st.lists(st.integers(1, 5), max_size=3))
        count = 1
        for dim in shape:
            count *= dim
        if count * bits % 8:
            shape, count = [8], 8
        sized.append((name, dtype, shape, count * bits // 8))
    # Buffer order: widest elements first, as writers align them; header order: any.
    sized.sort(key=lambda item: -DTYPES[item[1]].bits)
    entries: dict[str, Members] = {}
    offset = 0
    for name, dtype, shape, nbytes in sized:
        entries[name] = [("dtype", dtype), ("shape", list(shape)), ("data_offsets", [offset, offset + nbytes])]
        offset += nbytes
    buffer_length = offset
    order = draw(st.permutations(list(entries)))
    members: Members = [(name, Obj(entries[name])) for name in order]
    metadata: Members | None = None
    if draw(st.booleans()):
        metadata = [(k, v) for k, v in draw(st.dictionaries(NAMES, NAMES, max_size=3)).items()]
    lead = trail = ""
    trailing_comma = False
    for mutation in draw(st.lists(MUTATIONS, max_size=2)):
        target = draw(st.integers(0, max(len(members) - 1, 0)))
        name, value = members[target] if members else (None, None)
        # Entry mutations spoil an entry still as generated; name mutations, a plain name.
        fields = value.members if isinstance(value, Obj) and pristine(value.members) else None
        plain = name if isinstance(name, str) and name != "__metadata__" else None
        if mutation == "duplicate-name" and members:
            members.append((name, draw(st.sampled_from([members[-1][1], Raw("1")]))))
        elif mutation == "drop-entry" and members:
            members.pop(target)  # a gap where its bytes were, or trailing bytes
        elif mutation == "second-metadata":
            # Shaped as a tensor entry at the end of the buffer, it decodes as one: only its name tells.
            metadata = metadata or []
            entry = [("dtype", "U8"), ("shape", [1]), ("data_offsets", [buffer_length, buffer_length + 1])]
            members.append(("__metadata__", Obj(entry) if draw(st.booleans()) else Obj([("k", "v")])))
            buffer_length += 1
        elif mutation == "metadata-value":
            metadata = [("k", draw(st.sampled_from([Raw("1"), Raw("null"), Obj([("a", "b")]), ["x"]])))]
        elif mutation == "metadata-duplicate-key":
            metadata = [("k", "v"), ("k", draw(st.sampled_from(["v", "w"])))]
        elif mutation == "metadata-brace":
            metadata = [("k", draw(st.sampled_from(["}", "{", "a}b", '"}'])))]
        elif mutation == "metadata-late" and metadata is not None:
            members.append(("__metadata__", Obj(metadata)))
            metadata = None
        elif mutation == "metadata-alone":
            metadata = metadata or []
            members = []
        elif mutation == "leading":
            lead = draw(st.sampled_from([" ", "\t", "\n", "\ufeff", "\u00a0"]))
        elif mutation == "trailing":
            trail = draw(st.sampled_from(["\t", "\n", "x", "}", " \n", "\r"]))
        elif mutation == "trailing-comma":
            trailing_comma = True
        elif mutation == "buffer":
            buffer_length = max(buffer_length + draw(st.sampled_from([-1, 1, 8])), 0)
        elif mutation == "unaligned":
            buffer_length += 1
            for _, entry in members:
                if isinstance(entry, Obj) and pristine(entry.members):
                    begin, end = entry.members[2][1]
                    entry.members[2] = ("data_offsets", [begin + 1, end + 1])
            members.insert(0, ("pad", Obj([("dtype", "U8"), ("shape", [1]), ("data_offsets", [0, 1])])))
        elif plain is not None and mutation.endswith("-name"):
            spoiled: object = {
                "escaped-name": Raw(json.dumps(plain, ensure_ascii=True).replace("a", "\\u0061")),
                "surrogate-name": Raw('"x\\ud800"'),
                "del-name": plain + "\x7f",
                "control-name": Raw(draw(st.sampled_from(['"x\\u0001"', '"x\\n"', '"x\ty"']))),
                "empty-name": "",
            }[mutation]
            members[target] = (spoiled, value)
        elif fields is not None:
            begin, end = fields[2][1]
            if mutation == "duplicate-field":
                fields.append(fields[draw(st.integers(0, 2))])
            elif mutation == "extra-field":
                fields.append(("extra", 1))
            elif mutation == "missing-field":
                fields.pop(draw(st.integers(0, 2)))
            elif mutation == "dtype":
                fields[0] = ("dtype", draw(st.sampled_from(["f32", "F3", "C128", 8, None])))
            elif mutation == "shape-number":
                fields[1] = ("shape", [Raw(draw(ODD_NUMBERS)), *fields[1][1][1:]])
            elif mutation == "offset-number":
                fields[2] = (
                    "data_offsets",
                    draw(st.sampled_from([[Raw(draw(ODD_NUMBERS)), end], [begin, Raw(draw(ODD_NUMBERS))]])),
                )
            elif mutation == "offsets-length":
                fields[2] = ("data_offsets", draw(st.sampled_from([[begin], [begin, end, end], []])))
            elif mutation == "shift":
                fields[2] = ("data_offsets", [begin, end + draw(st.sampled_from([-1, 1]))])
            elif mutation == "zero-dim":
                fields[1] = ("shape", [0])
                fields[2] = ("data_offsets", [begin, begin])
    if metadata is not None:
        members.insert(0, ("__metadata__", Obj(metadata)))
    colon, comma = draw(st.sampled_from([(":", ","), (": ", ", "), (" : ", " ,\n"), (":", "\t,")]))
    text = render(Obj(members), colon, comma)
    if trailing_comma and text != "{}":
        text = text[:-1] + comma + "}"
    return lead + text + trail, buffer_length, draw(st.booleans())


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(headers())
def test_the_fast_path_and_the_named_checks_give_the_same_report(case: tuple[str, int, bool]) -> None:
    text, buffer_length, pad = case
    assert_same(file_of(text, buffer_length, pad=pad))


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.text(
            st.characters(exclude_characters='"\\\x7f', exclude_categories=["Cc", "Cs"]), min_size=1, max_size=8
        ).filter(lambda n: n != "__metadata__"),
        st.tuples(
            st.sampled_from(sorted(name for name, dtype in DTYPES.items() if dtype.bits % 8 == 0)),
            st.lists(st.integers(1, 4), max_size=3),
        ),
        max_size=10,
    ),
    st.none() | st.dictionaries(st.text(max_size=5), st.text(max_size=5).filter(lambda v: "\\" not in v), max_size=3),
)
def test_the_fast_path_accepts_every_canonical_file_without_escapes(
    specs: dict[str, tuple[str, list[int]]], metadata: dict[str, str] | None
) -> None:
    tensors = {}
    for name, (dtype, shape) in specs.items():
        count = 1
        for dim in shape:
            count *= dim
        tensors[name] = Tensor(dtype, tuple(shape), bytes(count * DTYPES[dtype].bits // 8))
    content = serialize(tensors, metadata)
    # The canonical writer escapes what JSON must escape (control characters); those go strict.
    length = int.from_bytes(content[:8], "little")
    if b"\\" in content[8 : 8 + length] or (metadata is not None and not tensors):
        assert not accepted(content)
    else:
        assert accepted(content)
    assert_same(content)


# --- Near misses the fast path must leave to the named checks, one by one -------------------------


class Miss(NamedTuple):
    id: str
    header: str
    buffer_length: int
    primary: str | None  # the requirement that decides, as the named checks say


ENTRY = '{"dtype":"U8","shape":[2],"data_offsets":[0,2]}'
NEXT = '{"dtype":"U8","shape":[2],"data_offsets":[2,4]}'
F32 = '{"dtype":"F32","shape":[1],"data_offsets":[1,5]}'
BYTE = '{"dtype":"U8","shape":[1],"data_offsets":[0,1]}'
MISSES = [
    Miss("duplicate-name", f'{{"a":{ENTRY},"a":{NEXT}}}', 4, "HEADER-UNIQUE-NAMES"),
    Miss("duplicate-name-spoiled-first", f'{{"a":5,"a":{ENTRY}}}', 2, "HEADER-UNIQUE-NAMES"),
    Miss("duplicate-name-after-metadata", f'{{"__metadata__":{{}},"a":{ENTRY},"a":{ENTRY}}}', 2, "HEADER-UNIQUE-NAMES"),
    Miss(
        "second-metadata", f'{{"__metadata__":{{"k":"v"}},"a":{ENTRY},"__metadata__":{NEXT}}}', 4, "HEADER-UNIQUE-NAMES"
    ),
    Miss("metadata-named-like-an-entry", f'{{"__metadata__":{ENTRY}}}', 0, "META-STRING-VALUES"),
    Miss(
        "duplicate-field",
        '{"a":{"dtype":"U8","dtype":"U8","shape":[2],"data_offsets":[0,2]}}',
        2,
        "ENTRY-FIELDS-REQUIRED",
    ),
    Miss("duplicate-metadata-key", f'{{"__metadata__":{{"k":"v","k":"v"}},"a":{ENTRY}}}', 2, "META-UNIQUE-KEYS"),
    Miss("minus-zero-offset", '{"a":{"dtype":"U8","shape":[2],"data_offsets":[-0,2]}}', 2, "NUMBER-FORM"),
    Miss("minus-zero-beside-a-dash-name", '{"a-":{"dtype":"U8","shape":[2],"data_offsets":[-0,2]}}', 2, "NUMBER-FORM"),
    Miss("colon-name-and-duplicate", f'{{"a:":{ENTRY},"a:":{ENTRY}}}', 2, "HEADER-UNIQUE-NAMES"),
    Miss("trailing-comma-after-metadata", '{"__metadata__":{},}', 0, "HEADER-JSON"),
    Miss("trailing-tab", f'{{"a":{ENTRY}}}\t', 2, None),
    Miss("leading-space", f' {{"a":{ENTRY}}}', 2, None),
    Miss("escaped-name", f'{{"\\u0061":{ENTRY}}}', 2, None),
    Miss("del-in-name", f'{{"a\x7f":{ENTRY}}}', 2, None),
    Miss("empty-name", f'{{"":{ENTRY}}}', 2, None),
    Miss(
        "unaligned",
        '{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"F32","shape":[1],"data_offsets":[1,5]}}',
        5,
        None,
    ),
    Miss("gap", '{"a":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}', 3, "BUFFER-NO-GAP"),
    Miss(
        "leading-gap-out-of-order",
        '{"b":{"dtype":"U8","shape":[2],"data_offsets":[3,5]},"a":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}}',
        5,
        "BUFFER-NO-GAP",
    ),
    Miss("trailing-bytes", f'{{"a":{ENTRY}}}', 3, "BUFFER-NO-TRAILING"),
    Miss("overlap", f'{{"a":{ENTRY},"b":{ENTRY}}}', 2, "BUFFER-NO-OVERLAP"),
    Miss("zero-size", '{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}', 0, None),
    Miss("sub-byte", '{"a":{"dtype":"F4","shape":[2],"data_offsets":[0,1]}}', 1, None),
    Miss("float-dimension", '{"a":{"dtype":"U8","shape":[2.0],"data_offsets":[0,2]}}', 2, "NUMBER-FORM"),
    Miss(
        "huge-dimension", '{"a":{"dtype":"U8","shape":[18446744073709551616],"data_offsets":[0,2]}}', 2, "NUMBER-RANGE"
    ),
    Miss("metadata-unclosed-string", '{"__metadata__":{"k":"}', 0, "HEADER-JSON"),
    Miss("metadata-not-first", f'{{"a":{ENTRY},"__metadata__":{{"k":"v"}}}}', 2, None),
]


@pytest.mark.parametrize("miss", MISSES, ids=[m.id for m in MISSES])
def test_the_fast_path_leaves_each_near_miss_to_the_named_checks(miss: Miss) -> None:
    content = file_of(miss.header, miss.buffer_length, pad=True)
    strict = check(content, fast=False)
    primary = strict.primary
    assert (None if primary is None else primary.value) == miss.primary
    if strict.violations or strict.warnings:
        assert not accepted(content)
    assert_same(content)


def test_the_fast_path_leaves_the_header_it_patched_as_it_was() -> None:
    content = file_of(f'{{"__metadata__":{{"k":"v"}},"a":{ENTRY}}}', 2, pad=True)
    length = int.from_bytes(content[:8], "little")
    raw = bytearray(content[8 : 8 + length])
    assert fast_header(raw, length, 2) is not None
    assert bytes(raw) == content[8 : 8 + length]


def test_files_of_the_hugging_face_writer_take_the_fast_path(tmp_path: Path) -> None:
    numpy = pytest.importorskip("numpy")
    save_file = pytest.importorskip("safetensors.numpy").save_file
    tensors = {
        f"model.layers.{i}.{part}": numpy.zeros(shape, dtype=dtype)
        for i in range(3)
        for part, shape, dtype in (("w", (2, 4), numpy.float16), ("b", (3,), numpy.float32), ("n", (5,), numpy.int8))
    }
    path = tmp_path / "hf.safetensors"
    save_file(tensors, str(path), metadata={"format": "np", "created": "2024-01-01T00:00:00"})
    content = path.read_bytes()
    assert accepted(content)
    assert_same(content)
    assert len(check(path, fast=True).raise_for_violations().tensors) == len(tensors)


# --- validate with and without the fast path ------------------------------------------------------


@pytest.fixture
def mixed_files(tmp_path: Path) -> list[str]:
    """Conforming files with and without metadata, a file that warns, and files that do not conform."""
    good = {f"t{i}": Tensor("F32", (2, 2), bytes(16)) for i in range(5)}
    files = {
        "good.safetensors": serialize(good, {"format": "pt"}),
        "bare.safetensors": serialize(good),
        "warns.safetensors": file_of(f'{{"a":{ENTRY}}}', 2, pad=False),
        "duplicate.safetensors": file_of(f'{{"a":{ENTRY},"a":{NEXT}}}', 4, pad=True),
        "minus-zero.safetensors": file_of('{"a":{"dtype":"U8","shape":[2],"data_offsets":[-0,2]}}', 2, pad=True),
    }
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    return [str(tmp_path / name) for name in files]


def run_validate(paths: list[str], *extra: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(["validate", *extra, *paths], out, err)
    return status, out.getvalue(), err.getvalue()


def test_validate_prints_the_same_with_and_without_the_fast_path(
    mixed_files: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    accepted_by_fast: list[object] = []

    def counting(*args: Any, **kwargs: Any) -> object:
        result = fast_header(*args, **kwargs)
        if result is not None:
            accepted_by_fast.append(result)
        return result

    with monkeypatch.context() as patch:
        patch.setattr(reader, "FAST_PATH_AFTER", 0)
        patch.setattr(reader, "fast_header", counting)
        fast = [run_validate(mixed_files, *extra) for extra in ((), ("--json",))]
    assert len(accepted_by_fast) == 6  # good, bare and warns (its warning is the length's), in each run
    unavailable: Callable[[], None] = lambda: None  # noqa: E731 - msgspec not installed
    with monkeypatch.context() as patch:
        patch.setattr(reader, "FAST_PATH_AFTER", 0)
        patch.setattr(header_module, "_fast_decoders", unavailable)
        strict = [run_validate(mixed_files, *extra) for extra in ((), ("--json",))]
    assert fast == strict
    assert fast[0][0] == 1
    assert [entry["valid"] for entry in json.loads(fast[1][1])] == [True, True, True, False, False]


NO_MSGSPEC = """
import sys
sys.modules["msgspec"] = None  # as if it were not installed: importing it raises ImportError
from safetensors_conformance.cli import main
from safetensors_conformance.format import reader
reader.FAST_PATH_AFTER = 0
status = main(["validate", "--json", *sys.argv[1:]])
print(status, "msgspec" in sys.modules and sys.modules["msgspec"] is not None)
"""


def test_validate_works_without_msgspec_installed(mixed_files: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", NO_MSGSPEC, *mixed_files], capture_output=True, text=True, check=True, timeout=60
    )
    *report, last = done.stdout.splitlines()
    assert last == "1 False"
    status, out, _ = run_validate(mixed_files, "--json")
    assert status == 1
    assert "\n".join(report) + "\n" == out
