"""The 8-byte length prefix and the header length (LAYOUT-*)."""

from __future__ import annotations

from collections.abc import Iterator

from ...format.limits import MAX_HEADER_LENGTH as LIMIT
from ..build import Draft, entry, frame, invalid, obj, pattern, tensor, valid

SMALL = obj(("a", entry()))


def drafts() -> Iterator[Draft]:
    yield invalid("empty-file", "a file of zero bytes", "LAYOUT-LENGTH-PREFIX", b"")
    for size in range(1, 8):
        yield invalid(
            f"short-{size}-bytes",
            f"a file of {size} bytes, shorter than the length prefix",
            "LAYOUT-LENGTH-PREFIX",
            pattern(size, size),
        )
    yield invalid(
        "short-7-bytes-of-brace",
        "seven bytes that look like the start of a length",
        "LAYOUT-LENGTH-PREFIX",
        b"\x02\x00\x00\x00\x00\x00\x00",
    )
    yield invalid("length-zero", "N = 0 and nothing else: no JSON value", "HEADER-JSON", (0).to_bytes(8, "little"))
    yield invalid(
        "length-zero-then-json",
        "N = 0 although a JSON header follows: the header is empty",
        "HEADER-JSON",
        frame("{}", length=0),
    )
    yield invalid("length-one-brace", "N = 1 holding '{': an unclosed object", "HEADER-JSON", frame("{", pad=False))
    yield invalid(
        "length-past-end-by-one",
        "N is one byte more than the rest of the file",
        "LAYOUT-HEADER-BOUNDS",
        frame("{}", length=9),
    )
    yield invalid(
        "length-past-end-large", "N = 4096 in a file of 16 bytes", "LAYOUT-HEADER-BOUNDS", frame("{}", length=4096)
    )
    yield invalid(
        "length-overstated-to-eof",
        "N counts 8 bytes more than the file holds after a complete header",
        "LAYOUT-HEADER-BOUNDS",
        frame(SMALL, b"\x01\x02", length=len(SMALL) + 16)[: 8 + len(SMALL)],
    )
    yield invalid(
        "length-at-limit-short-file",
        "N = 100,000,000 in a small file",
        "LAYOUT-HEADER-BOUNDS",
        frame("{}", length=LIMIT),
    )
    for name, length in (
        ("over-limit-by-one", LIMIT + 1),
        ("2-pow-31", 2**31),
        ("2-pow-32", 2**32),
        ("2-pow-63", 2**63),
        ("u64-max", 2**64 - 1),
    ):
        yield invalid(
            f"length-{name}", f"N = {length:,} in a small file", "LAYOUT-HEADER-LIMIT", frame("{}", length=length)
        )
    yield invalid(
        "length-big-endian",
        "N written big-endian (8 becomes 576460752303423488)",
        "LAYOUT-HEADER-LIMIT",
        (8).to_bytes(8, "big") + b"{}      ",
    )
    yield invalid(
        "length-understated",
        "N stops one byte before the end of the JSON value",
        "HEADER-JSON",
        frame(SMALL, b"\x01\x02", pad=False, length=len(SMALL) - 1),
    )
    yield invalid(
        "length-covers-data",
        "N also covers two bytes after the padding, which are not spaces",
        "HEADER-PADDING",
        frame("{}      \x01\x02", pad=False),
    )
    yield valid(
        "length-two",
        "the smallest header, {} (N = 2, not padded)",
        ["LAYOUT-LENGTH-PREFIX", "LAYOUT-HEADER-BOUNDS"],
        {},
        content=frame("{}", pad=False),
    )
    yield valid(
        "header-60000",
        "a 60,000-byte header (mostly padding), well inside the limit",
        ["LAYOUT-HEADER-LIMIT"],
        {"a": tensor("U8", (2,))},
        content=frame(SMALL + " " * 59940, tensor("U8", (2,)).data),
    )
    yield valid(
        "length-eight-no-data",
        "{} padded to N = 8, nothing after",
        ["LAYOUT-HEADER-BOUNDS", "BUFFER-NO-TRAILING"],
        {},
        content=frame("{}"),
    )
    yield valid(
        "length-unpadded",
        "a header whose length is not a multiple of 8 (a SHOULD, not a MUST)",
        ["LAYOUT-HEADER-ALIGN"],
        {"a": tensor("U8", (2,))},
        content=frame(SMALL, tensor("U8", (2,)).data, pad=False),
    )
    yield Draft(
        "header-at-limit",
        "a header of exactly 100,000,000 bytes (a short JSON value and spaces)",
        "acceptable",
        ("READER-LIMITS", "LAYOUT-HEADER-LIMIT"),
        synth=("padded-header", {"length": LIMIT, "json": SMALL, "data": "0102"}),
        flags=("resource-limits",),
    )
    yield Draft(
        "header-over-limit",
        "a header of 100,000,001 bytes that is all there (a short JSON value and spaces)",
        "invalid",
        ("LAYOUT-HEADER-LIMIT",),
        synth=("padded-header", {"length": LIMIT + 1, "json": SMALL, "data": "0102"}),
    )
