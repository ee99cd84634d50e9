"""What may follow the JSON value inside the header (HEADER-PADDING)."""

from __future__ import annotations

from collections.abc import Iterator

from ..build import Draft, acceptable, canonical, frame, invalid, tensor, valid

T = {"w": tensor("F32", (2,))}


def drafts() -> Iterator[Draft]:
    _, header, data = canonical(T)
    yield valid(
        "spaces",
        "the JSON value followed by 7 spaces",
        ["HEADER-PADDING"],
        T,
        content=frame(header + " " * 7, data, pad=False),
    )
    yield valid(
        "no-padding",
        "no padding at all (a SHOULD, not a MUST)",
        ["HEADER-PADDING"],
        T,
        content=frame(header, data, pad=False),
    )
    yield valid(
        "many-spaces",
        "the JSON value followed by 4096 spaces",
        ["HEADER-PADDING"],
        T,
        content=frame(header + " " * 4096, data),
    )
    for name, tail in (
        ("tab", "\t"),
        ("newline", "\n"),
        ("carriage-return", "\r"),
        ("crlf", "\r\n"),
        ("space-then-newline", "   \n"),
    ):
        yield acceptable(
            f"trailing-{name}",
            f"JSON whitespace ({name}) in the padding",
            "HEADER-PADDING",
            "header-trailing-whitespace",
            frame(header + tail, data),
            T,
        )
    for name, tail, what in (
        ("nul", "\0", "one NUL byte"),
        ("nuls", "\0" * 6, "NUL padding, as a JavaScript writer produced"),
        ("spaces-then-nul", "     \0", "spaces and then a NUL byte"),
        ("form-feed", "\f", "a form feed"),
        ("vertical-tab", "\v", "a vertical tab"),
        ("nbsp", "\u00a0", "a no-break space"),
        ("ideographic-space", "\u3000", "an ideographic space"),
        ("nel", "\u0085", "NEXT LINE (U+0085), which Python's strip removes"),
        ("file-separator", "\u001c", "U+001C, which Python's strip removes"),
        ("unit-separator", "   \u001f", "spaces and U+001F"),
        ("bom", "\ufeff", "a byte order mark (U+FEFF), which JavaScript's trim removes"),
        ("line-separator", "\u2028", "LINE SEPARATOR (U+2028)"),
        ("tab-then-nul", "\t\0", "a tab (JSON whitespace) and then a NUL byte"),
        ("newline-then-nbsp", "\n\u00a0", "a line feed and then a no-break space"),
        ("control-01", "\x01", "the control character U+0001"),
        ("letter", "x", "a letter"),
        ("second-object", "{}", "a second JSON object"),
        ("second-header", header, "a second copy of the header"),
        ("extra-brace", "}", "an extra closing brace"),
        ("comma", ",", "a comma"),
        ("comment", "//", "a comment marker"),
        ("number", "0", "a number"),
    ):
        yield invalid(
            f"trailing-{name}",
            f"the padding after the JSON value holds {what}",
            "HEADER-PADDING",
            frame(header + tail, data),
        )
