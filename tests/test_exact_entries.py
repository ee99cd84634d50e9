"""The decoder's shortcut for exact tensor entries decides exactly what the named checks decide."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from safetensors_conformance import DTYPES, Tensor, serialize
from safetensors_conformance.format.header import (
    ExactEntry,
    Finding,
    Sink,
    _check_entry,
    check_header_value,
    reduce_object,
)
from safetensors_conformance.format.jsontext import ObjectHook, decode

SMALL = st.integers(0, 6)
NUMBERS = SMALL | st.sampled_from([-1, 2**64, 2**64 - 1, 1.0, True, None, "2"])


@st.composite
def entries(draw: st.DrawFn, begin: int) -> tuple[list[tuple[str, object]], int]:
    """A tensor entry at ``begin`` that is right, and its end; ``headers`` may then spoil it."""
    dtype = draw(st.sampled_from(sorted(DTYPES)))
    bits = DTYPES[dtype].bits
    shape = draw(st.lists(SMALL, max_size=3))
    count = 1
    for dim in shape:
        count *= dim
    if count * bits % 8:
        shape, count = [8], 8
    end = begin + count * bits // 8
    return [("dtype", dtype), ("shape", shape), ("data_offsets", [begin, end])], end


MUTATIONS = st.sampled_from(
    [
        "dtype",
        "shape",
        "offsets",
        "order",
        "extra",
        "duplicate-field",
        "missing",
        "duplicate-name",
        "metadata",
        "length",
    ]
)


@st.composite
def headers(draw: st.DrawFn) -> tuple[str, int]:
    members: list[tuple[str, object]] = []
    end = 0
    for index in range(draw(st.integers(0, 5))):
        fields, end = draw(entries(end))
        members.append((f"t{index}", fields))
    members = draw(st.permutations(members))
    length = end
    for mutation in draw(st.lists(MUTATIONS, max_size=2)):
        if mutation == "length":
            length += draw(st.sampled_from([-1, 1]))
        elif mutation == "metadata":
            members.append(("__metadata__", draw(st.sampled_from([[("k", "v")], [], None, [("k", 1)], "x"]))))
        elif mutation == "duplicate-name" and members:
            members.append(draw(st.sampled_from(members)))
        elif members and members[0][0] != "__metadata__" and len(members[0][1]) == 3:  # type: ignore[arg-type]
            name, fields = members[0]
            fields = list(fields)  # type: ignore[call-overload]
            if mutation == "dtype":
                fields[0] = ("dtype", draw(st.sampled_from(["f32", 8, None, "C128"])))
            elif mutation == "shape":
                fields[1] = ("shape", draw(st.lists(NUMBERS, max_size=3) | st.just("x")))
            elif mutation == "offsets":
                fields[2] = ("data_offsets", draw(st.lists(NUMBERS, max_size=3)))
            elif mutation == "order":
                fields = draw(st.permutations(fields))
            elif mutation == "extra":
                fields.append(("extra", 1))
            elif mutation == "duplicate-field":
                fields.append(fields[0])
            elif mutation == "missing":
                fields.pop()
            members[0] = (name, fields)
    text = render(members, draw(st.booleans())) if members else "{}"
    return text, max(length, 0)


def render(value: object, spaced: bool) -> str:
    """JSON text that keeps duplicate members (fields are lists of pairs)."""
    colon, comma = (" : ", " , ") if spaced else (":", ",")
    if isinstance(value, list) and value and all(isinstance(p, tuple) and len(p) == 2 for p in value):
        return "{" + comma.join(json.dumps(k) + colon + render(v, spaced) for k, v in value) + "}"
    if isinstance(value, list):
        return "[" + comma.join(render(v, spaced) for v in value) + "]"
    if isinstance(value, dict):
        return render(list(value.items()), spaced) if value else "{}"
    return json.dumps(value)


def findings(text: str, buffer_length: int, object_hook: ObjectHook) -> tuple[list[Finding], list[Finding], bool]:
    sink = Sink()
    decoded = decode(text, 0, object_hook)
    header = check_header_value(decoded.value, len(text), buffer_length, sink, surrogates=False, escapes=False)
    return sorted(sink.errors, key=repr), sorted(sink.warnings, key=repr), header is not None


@settings(max_examples=1500, deadline=None)
@given(headers())
def test_exact_entries_change_nothing_the_named_checks_decide(case: tuple[str, int]) -> None:
    """Decoding with the reducing hook gives the same findings as sending every entry to the named checks."""
    text, buffer_length = case
    assert findings(text, buffer_length, reduce_object) == findings(text, buffer_length, tuple)


@settings(max_examples=1000, deadline=None)
@given(entries(0))
def test_an_exact_entry_is_one_the_named_checks_accept(case: tuple[list[tuple[str, object]], int]) -> None:
    fields, _ = case
    reduced = reduce_object(list(fields))
    sink = Sink()
    _check_entry("t", 0, tuple(fields), 8, sink)
    if type(reduced) is ExactEntry:
        assert sink.errors == []
        assert dict(reduced.pairs()) == dict(fields)
    else:
        assert reduced == tuple(fields)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.text(st.characters(codec="ascii", exclude_characters='"\\\x7f'), max_size=5).filter(
            lambda n: n != "__metadata__"
        ),
        st.sampled_from(sorted(DTYPES)),
        max_size=8,
    )
)
def test_every_entry_of_a_canonical_file_is_exact(dtypes: dict[str, str]) -> None:
    items = {name: Tensor(dtype, (8,), bytes(DTYPES[dtype].bits)) for name, dtype in dtypes.items()}
    content = serialize(items)
    length = int.from_bytes(content[:8], "little")
    root = decode(content[8 : 8 + length].decode(), 0, reduce_object).value
    assert type(root) is tuple
    # Sub-byte dtypes always go to the named checks, which also judge their rows (SIZE-PACKED-ROWS).
    assert all((type(entry) is ExactEntry) == (DTYPES[dtypes[name]].bits % 8 == 0) for name, entry in root)
    assert {name: entry.dtype if type(entry) is ExactEntry else dict(entry)["dtype"] for name, entry in root} == dtypes
