"""What may precede the JSON value (HEADER-START)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from ..build import Draft, acceptable, canonical, frame, invalid, tensor

T = {"w": tensor("F32", (2,))}


def drafts() -> Iterator[Draft]:
    _, header, data = canonical(T)
    for name, prefix in (
        ("space", " "),
        ("tab", "\t"),
        ("newline", "\n"),
        ("carriage-return", "\r"),
        ("crlf", "\r\n"),
        ("many-spaces", " " * 7),
        ("mixed", " \t\r\n"),
    ):
        yield acceptable(
            f"leading-{name}",
            f"JSON whitespace ({name}) before the header's JSON value",
            "HEADER-START",
            "header-leading-whitespace",
            frame(prefix + header, data),
            T,
        )
    yield invalid(
        "bom", "a UTF-8 byte order mark before the JSON value", "HEADER-START", frame("\ufeff" + header, data)
    )
    yield invalid(
        "bom-then-space",
        "a byte order mark and a space before the JSON value",
        "HEADER-START",
        frame("\ufeff " + header, data),
    )
    yield invalid(
        "leading-nul", "a NUL byte (not whitespace) before the JSON value", "HEADER-JSON", frame("\0" + header, data)
    )
    yield invalid("leading-letter", "a letter before the JSON value", "HEADER-JSON", frame("x" + header, data))
    yield invalid(
        "leading-zero-width-space",
        "U+200B ZERO WIDTH SPACE (not whitespace in Unicode) before the JSON value",
        "HEADER-JSON",
        frame("\u200b" + header, data),
    )
    # Whitespace that is not JSON whitespace: no flag allows it (spec section 1, *Whitespace*).
    for name, prefix, what in (
        ("form-feed", "\f", "a form feed"),
        ("vertical-tab", "\v", "a vertical tab"),
        ("nbsp", "\u00a0", "a no-break space (U+00A0)"),
        ("nel", "\u0085", "NEXT LINE (U+0085), which Python's strip removes"),
        ("file-separator", "\u001c", "U+001C, which Python's strip removes"),
        ("unit-separator", "\u001f", "U+001F, which Python's strip removes"),
        ("line-separator", "\u2028", "LINE SEPARATOR (U+2028)"),
        ("ideographic-space", "\u3000", "an ideographic space (U+3000)"),
        ("space-then-nbsp", " \u00a0", "a space and then a no-break space"),
        ("space-then-bom", " \ufeff", "a space and then a byte order mark"),
        ("bom-bom", "\ufeff\ufeff", "two byte order marks"),
    ):
        # Primary under the precedence of spec 1.1.0 (HEADER-START before HEADER-JSON).
        draft = invalid(
            f"leading-{name}", f"{what} before the JSON value", "HEADER-START", frame(prefix + header, data)
        )
        yield replace(draft, spec=">=1.1.0")
    # A UTF-16 byte order mark is not UTF-8 at all, which comes first (spec section 1, *Precedence*).
    for name, bom in (("utf16le-bom", b"\xff\xfe"), ("utf16be-bom", b"\xfe\xff"), ("utf32le-bom", b"\xff\xfe\x00\x00")):
        yield invalid(
            name,
            f"the {name[:7].upper()} byte order mark before the JSON value: not UTF-8",
            "HEADER-UTF8",
            frame(bom + header.encode(), data),
        )
