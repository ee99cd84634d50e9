"""Nesting deeper than any conforming header: rejected by the structure rules, never a crash."""

from __future__ import annotations

from collections.abc import Iterator

from ..build import Draft, acceptable, entry, frame, invalid, tensor

W = tensor("U8", (2,))
E = entry()


def _nest(depth: int, inner: str = "") -> str:
    return "[" * depth + inner + "]" * depth


def drafts() -> Iterator[Draft]:
    for depth in (2, 127, 128, 200, 1000, 20000):
        yield invalid(
            f"metadata-value-{depth}",
            f"a metadata value that is an array nested {depth} deep",
            "META-STRING-VALUES",
            frame('{"__metadata__":{"k":' + _nest(depth) + '},"a":' + E + "}", W.data),
        )
    for depth in (128, 1000, 20000):
        yield invalid(
            f"root-member-{depth}",
            f"a root member that is an array nested {depth} deep",
            "ENTRY-OBJECT",
            frame('{"a":' + _nest(depth) + "}"),
        )
        yield invalid(
            f"shape-{depth}",
            f"a shape whose first element is an array nested {depth} deep",
            "SHAPE-ARRAY",
            frame('{"a":' + entry(shape=_nest(depth)) + "}", W.data),
        )
    objects = '{"x":' * 1000 + "0" + "}" * 1000
    yield invalid(
        "metadata-objects-1000",
        "a metadata value that is an object nested 1000 deep",
        "META-STRING-VALUES",
        frame('{"__metadata__":{"k":' + objects + '},"a":' + E + "}", W.data),
    )
    yield invalid(
        "unclosed-20000", "20000 opening brackets that are never closed", "HEADER-JSON", frame('{"a":' + "[" * 20000)
    )
    for depth in (128, 20000):
        yield acceptable(
            f"unknown-field-{depth}",
            f"an unknown field nested {depth} deep; a reader that ignores unknown fields must still read the tensor",
            "ENTRY-FIELDS-KNOWN",
            "entry-unknown-fields",
            frame('{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2],"x":' + _nest(depth) + "}}", W.data),
            {"a": W},
        )
    yield Draft(
        "metadata-value-200000",
        "a metadata value that is an array nested 200000 deep (400 kB of brackets)",
        "invalid",
        ("META-STRING-VALUES",),
        synth=("deep-metadata", {"depth": 200000}),
    )
