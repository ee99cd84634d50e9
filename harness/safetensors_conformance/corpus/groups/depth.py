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
    yield from _deep_ignored_values()


def _deep_ignored_values() -> Iterator[Draft]:
    """HEADER-JSON and HEADER-STRINGS hold inside ignored fields, however deep (spec section 4).

    The depths straddle the upstream parser's limit (128) and the point where a recursive parser
    in Python gives up (about 1,000); 5,000 is past every recursive parser seen.
    """
    field = '{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2],"x":'
    for depth in (10, 200, 5000):
        for name, inner, requirement, what in (
            ("double-comma", "1,,2", "HEADER-JSON", "two commas in a row"),
            ("bracket-mismatch", "}", "HEADER-JSON", "a closing brace that closes an array"),
            ("nan", "NaN", "HEADER-JSON", "NaN"),
            ("invalid-escape", '"a\\x"', "HEADER-JSON", "the escape \\x"),
            ("raw-control", '"a\x01"', "HEADER-JSON", "a raw U+0001 in a string"),
            ("trailing-comma", "1,", "HEADER-JSON", "a trailing comma"),
            ("object-number-key", "{1:2}", "HEADER-JSON", "an object with a number as a member name"),
            ("lone-high-surrogate", '"\\ud800"', "HEADER-STRINGS", "a string with a lone high surrogate escape"),
            ("lone-low-surrogate", '"x\\udfffy"', "HEADER-STRINGS", "a string with a lone low surrogate escape"),
            ("surrogate-name", '{"\\ud83d":0}', "HEADER-STRINGS", "a member name with a lone surrogate escape"),
            ("two-strings", '"a" "b"', "HEADER-JSON", "two strings in a row"),
            ("array-after-value", "1[", "HEADER-JSON", "an array right after a value"),
            ("object-after-value", "1{", "HEADER-JSON", "an object right after a value"),
            ("colon-in-array", "1:2", "HEADER-JSON", "a colon between array elements"),
            ("invalid-unicode-escape", '"\\u12G4"', "HEADER-JSON", "the escape \\u12G4 (G is not a hex digit)"),
        ):
            yield invalid(
                f"ignored-field-{depth}-{name}",
                f"an unknown field nested {depth} deep that holds {what}: every byte must still be checked",
                requirement,
                frame(field + _nest(depth, inner) + "}}", W.data),
            )
        # The header ends inside the string, so the brackets never close.
        yield invalid(
            f"ignored-field-{depth}-unterminated-string",
            f"an unknown field nested {depth} deep in which a string runs to the end of the header",
            "HEADER-JSON",
            frame(field + "[" * depth + '"abc', W.data),
        )
        opened = field + "[" * depth + '"'
        yield invalid(
            f"ignored-field-{depth}-backslash-at-end",
            f"an unknown field nested {depth} deep whose string ends the header with a backslash",
            "HEADER-JSON",
            # Letters, not padding, make the header a multiple of 8 bytes (LAYOUT-HEADER-ALIGN).
            frame(opened + "a" * (-(len(opened) + 1) % 8) + "\\", W.data, pad=False),
        )
        yield acceptable(
            f"ignored-field-{depth}-surrogate-pair",
            f"an unknown field nested {depth} deep that holds a valid surrogate pair and every JSON value kind",
            "ENTRY-FIELDS-KNOWN",
            "entry-unknown-fields",
            frame(field + _nest(depth, '"\\ud83d\\ude00",{"k":[true,false,null]},-1.5e3,""') + "}}", W.data),
            {"a": W},
        )
    yield invalid(
        "ignored-field-5000-unclosed",
        "an unknown field of 5000 opening brackets, closed by only 4999",
        "HEADER-JSON",
        frame(field + "[" * 5000 + "]" * 4999 + "}}", W.data),
    )
    # Byte offsets of the deep part differ from character offsets once the header is not ASCII.
    yield acceptable(
        "ignored-field-5000-non-ascii-name",
        'an unknown field named "\u00e9" (two bytes in UTF-8) nested 5000 deep',
        "ENTRY-FIELDS-KNOWN",
        "entry-unknown-fields",
        frame('{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2],"\u00e9":' + _nest(5000) + "}}", W.data),
        {"a": W},
    )
    yield acceptable(
        "ignored-field-5000-and-empty-deep-array",
        "an unknown field nested 5000 deep and another holding an empty array four levels down, [[]]",
        "ENTRY-FIELDS-KNOWN",
        "entry-unknown-fields",
        frame(field + _nest(5000) + ',"y":[[]]}}', W.data),
        {"a": W},
    )
    yield invalid(
        "ignored-field-5000-padding-brackets",
        "an unknown field nested 5000 deep, then padding that opens four brackets and never closes them",
        "HEADER-PADDING",
        frame(field + _nest(5000) + "}} [[[[", W.data),
    )
