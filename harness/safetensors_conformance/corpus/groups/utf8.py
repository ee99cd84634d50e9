"""UTF-8 of the header (HEADER-UTF8)."""

from __future__ import annotations

from collections.abc import Iterator

from ..build import Draft, entry, frame, invalid, obj, tensor, valid

W = tensor("U8", (2,))


def _with_name_bytes(raw: bytes) -> bytes:
    return frame(b'{"' + raw + b'":' + entry().encode() + b"}", W.data)


BAD = {
    "byte-ff": (b"a\xff", "the byte 0xFF, which never occurs in UTF-8"),
    "byte-fe": (b"\xfe", "the byte 0xFE"),
    "lone-continuation": (b"\x80", "a continuation byte with no lead byte"),
    "overlong-slash": (b"\xc0\xaf", "an overlong two-byte encoding of '/'"),
    "overlong-three-byte": (b"\xe0\x80\xaf", "an overlong three-byte encoding"),
    "overlong-nul": (b"\xc0\x80", "the overlong encoding of NUL used by modified UTF-8"),
    "encoded-surrogate": (b"\xed\xa0\x80", "an encoded surrogate (U+D800), as CESU-8 writes it"),
    "encoded-surrogate-pair": (b"\xed\xa0\xbd\xed\xb8\x80", "a surrogate pair encoded as two three-byte sequences"),
    "above-max-code-point": (b"\xf4\x90\x80\x80", "a code point above U+10FFFF"),
    "five-byte-sequence": (b"\xf8\x88\x80\x80\x80", "a five-byte sequence"),
    "truncated-two-byte": (b"\xc3", "a two-byte sequence cut after its lead byte"),
    "truncated-four-byte": (b"\xf0\x9f\x98", "a four-byte sequence cut after three bytes"),
    "latin1-name": ("café".encode("latin-1"), "a Latin-1 encoded name"),
}


def drafts() -> Iterator[Draft]:
    for name, (raw, what) in BAD.items():
        yield invalid(f"name-{name}", f"a tensor name holding {what}", "HEADER-UTF8", _with_name_bytes(raw))
    yield invalid(
        "metadata-value-byte-ff",
        "a metadata value holding the byte 0xFF",
        "HEADER-UTF8",
        frame(b'{"__metadata__":{"k":"\xff"},"a":' + entry().encode() + b"}", W.data),
    )
    yield invalid(
        "padding-byte-ff",
        "the byte 0xFF in the padding after the JSON value",
        "HEADER-UTF8",
        frame(obj(("a", entry())).encode() + b"\xff", W.data),
    )
    yield invalid(
        "truncated-at-end",
        "the header ends inside a multi-byte sequence",
        "HEADER-UTF8",
        frame(b'{"a":' + entry().encode() + b"}\xe2\x82", W.data, pad=False),
    )
    for name, text in (("two-byte", "é"), ("three-byte", "名前"), ("four-byte", "😀"), ("mixed", "wé名😀")):
        yield valid(
            f"name-{name}",
            f"a tensor name with {name} UTF-8 characters",
            ["HEADER-UTF8", "HEADER-STRINGS"],
            {text: W},
        )
    yield valid(
        "metadata-utf8",
        "metadata keys and values in several scripts",
        ["HEADER-UTF8", "META-STRING-VALUES"],
        {"w": W},
        {"語": "значение", "emoji": "🙂"},
    )
