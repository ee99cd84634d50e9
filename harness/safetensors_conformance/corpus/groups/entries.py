"""Tensor entry structure (ENTRY-OBJECT, ENTRY-FIELDS-REQUIRED, ENTRY-FIELDS-KNOWN) and field types."""

from __future__ import annotations

from collections.abc import Iterator

from ..build import Draft, acceptable, entry, frame, invalid, obj, tensor, valid

W = tensor("U8", (2,))
U = tensor("U8", (1,))


def drafts() -> Iterator[Draft]:
    for name, text in (
        ("string", '"U8"'),
        ("number", "2"),
        ("array", '["U8",[2],[0,2]]'),
        ("true", "true"),
        ("null", "null"),
        ("empty-array", "[]"),
    ):
        data = W.data if name == "array" else b""
        yield invalid(
            f"not-object-{name}",
            f"a tensor entry that is {name.replace('-', ' ')}, not an object",
            "ENTRY-OBJECT",
            frame(obj(("a", text)), data),
        )
    for name, text, data in (
        ("missing-dtype", '{"shape":[2],"data_offsets":[0,2]}', W.data),
        ("missing-shape", '{"dtype":"U8","data_offsets":[0,2]}', W.data),
        ("missing-data-offsets", '{"dtype":"U8","shape":[2]}', b""),
        ("only-dtype", '{"dtype":"U8"}', b""),
        ("empty-object", "{}", b""),
    ):
        yield invalid(
            name,
            f"a tensor entry {name.replace('-', ' ').replace('missing', 'without')}",
            "ENTRY-FIELDS-REQUIRED",
            frame(obj(("a", text)), data),
        )
    for name, member in (
        ("string", '"order":"C"'),
        ("number", '"alignment":64'),
        ("null", '"quant":null'),
        ("object", '"quant":{"scheme":"q4","block":32}'),
        ("byte-order", '"byte_order":"big"'),
        ("empty-name", '"":""'),
        ("metadata-name", '"__metadata__":{}'),
        ("near-miss", '"dtypes":"U8"'),
    ):
        yield acceptable(
            f"unknown-field-{name}",
            f"a tensor entry with an unknown member ({member.split(':')[0]}); a reader may ignore it",
            "ENTRY-FIELDS-KNOWN",
            "entry-unknown-fields",
            frame('{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2],' + member + "}}", W.data),
            {"a": W},
        )
    yield acceptable(
        "unknown-field-twice",
        'an unknown member given twice ("x":1,"x":2); a reader may ignore both',
        "ENTRY-FIELDS-KNOWN",
        "entry-unknown-fields",
        frame('{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2],"x":1,"x":2}}', W.data),
        {"a": W},
    )
    half = tensor("U16", (1,), 2)
    yield acceptable(
        "unknown-field-misaligned",
        "an unknown member in the entry of a U16 tensor at buffer offset 1 (a warning: DATA-ALIGNED)",
        "ENTRY-FIELDS-KNOWN",
        "entry-unknown-fields",
        frame(
            obj(("a", entry(shape=(1,), offsets=(0, 1))), ("b", entry("U16", (1,), (1, 3))[:-1] + ',"x":0}')),
            U.data + half.data,
        ),
        {"a": U, "b": half},
        order=["a", "b"],
    )
    yield acceptable(
        "unknown-field-first",
        "an unknown member before the known ones",
        "ENTRY-FIELDS-KNOWN",
        "entry-unknown-fields",
        frame('{"a":{"x":1,"dtype":"U8","shape":[2],"data_offsets":[0,2]}}', W.data),
        {"a": W},
    )
    for name, value in (
        ("number", "8"),
        ("null", "null"),
        ("array", '["U8"]'),
        ("object", '{"name":"U8"}'),
        ("true", "true"),
        # The upstream implementation reads a one-member object named after a dtype as that dtype.
        ("object-u8-null", '{"U8":null}'),
        ("object-u8-empty-array", '{"U8":[]}'),
        ("object-u8-string", '{"U8":"U8"}'),
        ("object-two-variants", '{"U8":null,"I8":null}'),
        ("array-of-object", '[{"U8":null}]'),
    ):
        yield invalid(
            f"dtype-{name}",
            f"dtype is {value}, not a string",
            "DTYPE-KNOWN",
            frame(obj(("a", '{"dtype":' + value + ',"shape":[2],"data_offsets":[0,2]}')), W.data),
        )
    for name, value in (("string", '"2"'), ("number", "2"), ("null", "null"), ("object", '{"0":2}'), ("true", "true")):
        yield invalid(
            f"shape-{name}",
            f"shape is {name}, not an array",
            "SHAPE-ARRAY",
            frame(obj(("a", entry(shape=value))), W.data),
        )
    for name, value in (
        ("string", '"0,2"'),
        ("number", "2"),
        ("null", "null"),
        ("object", '{"begin":0,"end":2}'),
        ("true", "true"),
    ):
        yield invalid(
            f"data-offsets-{name}",
            f"data_offsets is {name}, not an array",
            "OFFSETS-PAIR",
            frame(obj(("a", entry(offsets=value))), W.data),
        )
    yield valid(
        "fields-reordered",
        "the three fields in another order",
        ["ENTRY-OBJECT", "ENTRY-FIELDS-REQUIRED", "ENTRY-FIELDS-KNOWN"],
        {"a": W},
        content=frame(obj(("a", '{"data_offsets":[0,2],"shape":[2],"dtype":"U8"}')), W.data),
    )
    yield valid(
        "fields-escaped",
        "field names written with escapes",
        ["ENTRY-FIELDS-REQUIRED"],
        {"a": W},
        content=frame('{"a":{"\\u0064type":"U8","sh\\u0061pe":[2],"data_offsets":[0,2]}}', W.data),
    )
