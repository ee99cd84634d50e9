"""Size arithmetic (SIZE-LIMIT, SIZE-MATCH)."""

from __future__ import annotations

from collections.abc import Iterator

from ...format.dtypes import DTYPES
from ...format.limits import U64_MAX
from ...format.reader import Tensor
from ..build import Draft, entry, frame, invalid, obj, pattern, tensor, valid

P32 = 2**32


def drafts() -> Iterator[Draft]:
    for name, dtype, shape, what in (
        ("elements-2-pow-64", "U8", [P32, P32], "2^32 x 2^32 U8 elements"),
        ("elements-2-pow-96", "U8", [P32, P32, P32], "2^96 elements"),
        ("bits-u8", "U8", [2**61], "2^61 U8 elements: 2^64 bits"),
        ("bits-f64", "F64", [2**58], "2^58 F64 elements: 2^64 bits"),
        ("bits-u64-max", "U8", [2**64 - 1], "2^64 - 1 U8 elements"),
        ("zero-last", "U8", [P32, P32, 0], "[2^32, 2^32, 0]: overflows before the zero"),
        (
            "zero-first",
            "U8",
            [0, P32, P32],
            "[0, 2^32, 2^32]: the reference accepts it, the spec ignores zero dimensions",
        ),
        ("zero-middle", "F32", [2**40, 0, 2**40], "[2^40, 0, 2^40] F32"),
        ("wraps-to-small", "U8", [2**63, 2], "[2^63, 2]: wraps to 0 in 64-bit arithmetic"),
        (
            "bits-of-u64-max-elements",
            "U8",
            [2**32 + 1, 2**32 - 1],
            "[2^32 + 1, 2^32 - 1]: 2^64 - 1 elements, too many bits",
        ),
    ):
        yield invalid(
            f"overflow-{name}",
            f"a shape whose size overflows: {what}",
            "SIZE-LIMIT",
            frame(obj(("a", entry(dtype, shape, (0, 0))))),
        )
    for name, text, data, what in (
        ("span-too-large", entry(offsets=(0, 3)), pattern(3), "shape [2] of U8 with offsets spanning 3 bytes"),
        ("span-too-small", entry("F32", (2,), (0, 4)), pattern(4), "shape [2] of F32 with offsets spanning 4 bytes"),
        ("scalar-no-bytes", entry("F32", (), (0, 0)), b"", "a scalar with no bytes"),
        ("empty-with-bytes", entry("F32", (0,), (0, 4)), pattern(4), "an empty tensor spanning 4 bytes"),
        ("f4-byte-per-element", entry("F4", (4,), (0, 4)), pattern(4), "4 F4 elements stored one per byte"),
        ("c64-as-f32", entry("C64", (2,), (0, 8)), pattern(8), "2 C64 elements in 8 bytes"),
        ("bf16-as-f32", entry("BF16", (2,), (0, 8)), pattern(8), "2 BF16 elements in 8 bytes"),
    ):
        yield invalid(f"mismatch-{name}", f"size mismatch: {what}", "SIZE-MATCH", frame(obj(("a", text)), data))
    yield valid("matrix", "a 16 x 16 U8 matrix: 256 bytes", ["SIZE-MATCH", "SIZE-LIMIT"], {"a": tensor("U8", (16, 16))})
    yield valid(
        "packed-and-wide",
        "F4, F6 and F64 tensors side by side: sizes in bits, then bytes",
        ["SIZE-WHOLE-BYTES", "SIZE-MATCH"],
        {"a": tensor("F4", (6,)), "b": tensor("F6_E2M3", (8,)), "c": tensor("F64", (3,))},
    )
    # SIZE-LIMIT counts bits: the largest non-zero product is (2^64 - 1) // bits, zeros ignored.
    for dtype, slug in (("F4", "f4"), ("F6_E2M3", "f6"), ("C64", "c64")):
        bits = DTYPES[dtype].bits
        largest = U64_MAX // bits
        yield valid(
            f"limit-{slug}-zero-largest",
            f"an empty {dtype} tensor of shape [{largest}, 0]: {largest} x {bits} bits fits in 64 bits",
            ["SIZE-LIMIT"],
            {"e": Tensor(dtype, (largest, 0), b"")},
        )
        for name, shape in (("zero-one-more", [largest + 1, 0]), ("zero-first-one-more", [0, largest + 1])):
            yield invalid(
                f"limit-{slug}-{name}",
                f"an empty {dtype} tensor of shape {shape}: {largest + 1} x {bits} bits exceed 2^64 - 1",
                "SIZE-LIMIT",
                frame(obj(("e", entry(dtype, shape, (0, 0))))),
            )
    yield invalid(
        "limit-c64-split-zero",
        "an empty C64 tensor of shape [2^29, 0, 2^29]: 2^58 x 64 bits = 2^64",
        "SIZE-LIMIT",
        frame(obj(("e", entry("C64", [2**29, 0, 2**29], (0, 0))))),
    )
