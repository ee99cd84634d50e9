"""What may precede the JSON value (HEADER-START)."""

from __future__ import annotations

from collections.abc import Iterator

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
    yield invalid("leading-nul", "a NUL byte before the JSON value", "HEADER-JSON", frame("\0" + header, data))
    yield invalid(
        "leading-form-feed",
        "a form feed (not JSON whitespace) before the JSON value",
        "HEADER-JSON",
        frame("\f" + header, data),
    )
    yield invalid(
        "leading-nbsp", "a no-break space (U+00A0) before the JSON value", "HEADER-JSON", frame("\u00a0" + header, data)
    )
    yield invalid("leading-letter", "a letter before the JSON value", "HEADER-JSON", frame("x" + header, data))
