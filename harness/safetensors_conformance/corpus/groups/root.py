"""The header's JSON value must be an object (HEADER-ROOT-OBJECT), an object of tensor entries."""

from __future__ import annotations

from collections.abc import Iterator

from ..build import Draft, entry, frame, invalid, valid


def drafts() -> Iterator[Draft]:
    for name, text in (
        ("array", "[]"),
        ("array-of-entry", "[" + entry() + "]"),
        ("string", '"{}"'),
        ("number", "0"),
        ("true", "true"),
        ("false", "false"),
        ("null", "null"),
        ("nested-array", "[[{}]]"),
    ):
        yield invalid(
            f"{name}",
            f"the header's JSON value is {name.replace('-', ' ')}, not an object",
            "HEADER-ROOT-OBJECT",
            frame(text, b"\x01\x02" if "entry" in name else b""),
        )
    yield valid("empty-object", "the empty object: no tensors, no metadata", ["HEADER-ROOT-OBJECT"], {})
    yield invalid(
        "tensor-entry",
        'the header is one tensor entry, not an object of them: its members "dtype", "shape" and '
        '"data_offsets" are not tensor entries',
        "ENTRY-OBJECT",
        frame(entry(), b"\x01\x02"),
    )
