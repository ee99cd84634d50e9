"""Strings hold Unicode scalar values only (HEADER-STRINGS)."""

from __future__ import annotations

from collections.abc import Iterator

from ..build import Draft, entry, frame, invalid, obj, tensor, valid

W = tensor("U8", (2,))
E = entry()


def drafts() -> Iterator[Draft]:
    for name, escape, what in (
        ("lone-high-surrogate", "\\ud800", "a lone high surrogate"),
        ("lone-low-surrogate", "\\udc00", "a lone low surrogate"),
        ("reversed-pair", "\\udc00\\ud800", "a low surrogate before a high one"),
        ("high-then-letter", "\\ud83dA", "a high surrogate followed by a letter"),
        ("high-then-high", "\\ud83d\\ud83d", "two high surrogates"),
        ("high-at-end", "x\\udbff", "a high surrogate at the end of the name"),
    ):
        yield invalid(
            f"name-{name}",
            f"a tensor name holding {what}",
            "HEADER-STRINGS",
            frame('{"' + escape + '":' + E + "}", W.data),
        )
    yield invalid(
        "metadata-key-surrogate",
        "a metadata key holding a lone surrogate",
        "HEADER-STRINGS",
        frame('{"__metadata__":{"\\ud800":"v"},"a":' + E + "}", W.data),
    )
    yield invalid(
        "metadata-value-surrogate",
        "a metadata value holding a lone surrogate",
        "HEADER-STRINGS",
        frame('{"__metadata__":{"k":"\\udfff"},"a":' + E + "}", W.data),
    )
    yield valid(
        "escaped-pair",
        "a surrogate pair written as two escapes (one emoji)",
        ["HEADER-STRINGS"],
        {"😀": W},
        content=frame('{"\\ud83d\\ude00":' + E + "}", W.data),
    )
    yield valid(
        "escaped-nul",
        "a name holding an escaped NUL (a warning, NAME-PORTABLE, not an error)",
        ["HEADER-STRINGS"],
        {"a\0b": W},
        content=frame(obj(("a\0b", E)), W.data),
    )
    yield valid(
        "noncharacter",
        "a name holding the noncharacter U+FFFF (a Unicode scalar value)",
        ["HEADER-STRINGS"],
        {"\uffff": W},
    )
