"""Strict RFC 8259 JSON, no extensions (HEADER-JSON)."""

from __future__ import annotations

from collections.abc import Iterator

from ..build import Draft, entry, frame, invalid, obj, tensor, valid

W = tensor("U8", (2,))
E = entry()

CASES = {
    "unclosed-object": ('{"a":' + E, "an object that is never closed"),
    "unclosed-string": ('{"a', "a string that is never closed"),
    "unclosed-array": ('{"a":{"dtype":"U8","shape":[2,"data_offsets":[0,2]}}', "an array that is never closed"),
    "trailing-comma-object": ('{"a":' + E + ",}", "a trailing comma in the root object"),
    "trailing-comma-array": ('{"a":' + entry(shape="[2,]") + "}", "a trailing comma in an array"),
    "leading-comma": ('{,"a":' + E + "}", "a comma before the first member"),
    "double-comma": ('{"a":' + E + ',,"b":' + entry(offsets=(2, 4)) + "}", "two commas between members"),
    "missing-comma": ('{"a":' + E + '"b":' + entry(offsets=(2, 4)) + "}", "no comma between members"),
    "missing-colon": ('{"a"' + E + "}", "no colon after a name"),
    "single-quoted-name": ("{'a':" + E + "}", "a single-quoted name"),
    "single-quoted-value": ('{"a":{"dtype":\'U8\',"shape":[2],"data_offsets":[0,2]}}', "a single-quoted string value"),
    "unquoted-name": ("{a:" + E + "}", "an unquoted name"),
    "line-comment": ('{"a":' + E + "//c\n}", "a // comment"),
    "block-comment": ('{/* c */"a":' + E + "}", "a /* */ comment"),
    "nan": ('{"a":' + entry(shape="[NaN]") + "}", "NaN as a dimension"),
    "infinity": ('{"a":' + entry(offsets="[0,Infinity]") + "}", "Infinity as an offset"),
    "negative-infinity": ('{"a":' + entry(shape="[-Infinity]") + "}", "-Infinity as a dimension"),
    "hex-number": ('{"a":' + entry(shape="[0x2]") + "}", "a hexadecimal number"),
    "leading-zero": ('{"a":' + entry(shape="[02]") + "}", "a number with a leading zero"),
    "plus-sign": ('{"a":' + entry(shape="[+2]") + "}", "a number with a plus sign"),
    "bare-fraction": ('{"a":' + entry(shape="[.5]") + "}", "a number starting with a dot"),
    "trailing-dot": ('{"a":' + entry(shape="[2.]") + "}", "a number ending with a dot"),
    "bare-exponent": ('{"a":' + entry(shape="[2e]") + "}", "an exponent without digits"),
    "capital-true": ('{"__metadata__":{"k":True},"a":' + E + "}", "True with a capital letter"),
    "python-none": ('{"__metadata__":None,"a":' + E + "}", "None instead of null"),
    "undefined": ('{"__metadata__":undefined,"a":' + E + "}", "undefined"),
    "missing-value": ('{"a":}', "a member without a value"),
    "raw-newline-in-string": ('{"a\nb":' + E + "}", "a raw line feed inside a string"),
    "raw-tab-in-string": ('{"a\tb":' + E + "}", "a raw tab inside a string"),
    "raw-nul-in-string": ('{"a\0b":' + E + "}", "a raw NUL inside a string"),
    "raw-control-in-string": ('{"a\x1fb":' + E + "}", "the raw control character U+001F inside a string"),
    "invalid-escape": ('{"a\\x41":' + E + "}", "the escape \\x, which JSON does not have"),
    "short-unicode-escape": ('{"a\\u41":' + E + "}", "a \\u escape with two hex digits"),
    "non-hex-unicode-escape": ('{"a\\u00zz":' + E + "}", "a \\u escape with non-hex digits"),
    "escaped-apostrophe": ('{"a\\\'":' + E + "}", "the escape \\', which JSON does not have"),
    "lone-backslash-at-end": ('{"a\\', "a string ending in a lone backslash"),
    "array-as-name": ("{[1]:" + E + "}", "an array where a member name belongs"),
    "number-as-name": ("{1:" + E + "}", "a number where a member name belongs"),
}


def drafts() -> Iterator[Draft]:
    for name, (text, what) in CASES.items():
        yield invalid(name, f"the header is not JSON: {what}", "HEADER-JSON", frame(text, W.data))
    yield invalid("empty-header", "the header is not JSON: N = 0, an empty header", "HEADER-JSON", frame(""))
    yield invalid(
        "empty-header-then-buffer",
        "N = 0 followed by 2 bytes (which are the buffer, not a header)",
        "HEADER-JSON",
        frame("", b"{}"),
    )
    # Only whitespace: the flagged HEADER-START finding is not primary, HEADER-JSON is.
    for name, text in (("all-spaces-header", " " * 8), ("one-space-header", " "), ("all-newlines-header", "\n" * 8)):
        yield invalid(
            name,
            f"a header of whitespace only ({len(text)} bytes), no JSON value",
            "HEADER-JSON",
            frame(text, pad=False),
        )
    yield invalid(
        "utf16-header",
        "a header encoded as UTF-16LE: valid UTF-8, but NUL bytes between the characters",
        "HEADER-JSON",
        frame(obj(("a", E)).encode("utf-16-le"), W.data),
    )
    yield valid(
        "insignificant-whitespace",
        "whitespace between every JSON token (allowed inside the value)",
        ["HEADER-JSON"],
        {"a": W},
        content=frame('{ "a" :\n\t{ "dtype" : "U8" ,\r\n "shape" : [ 2 ] , "data_offsets" : [ 0 , 2 ] } }', W.data),
    )
    yield valid(
        "escapes-in-strings",
        "every JSON escape in a metadata value",
        ["HEADER-JSON", "HEADER-STRINGS"],
        {"a": W},
        {"k": '"\\/\b\f\n\r\t\u0001é😀'},
        content=frame(
            obj(("__metadata__", '{"k":"\\"\\\\\\/\\b\\f\\n\\r\\t\\u0001\\u00e9\\ud83d\\ude00"}'), ("a", E)), W.data
        ),
        order=["a"],
    )
