"""The dtype table (DTYPE-KNOWN), element encodings (DATA-ENCODING, DATA-PACKING) and values
readers must not judge (READER-VALUES)."""

from __future__ import annotations

import struct
from collections.abc import Iterator

from ...format.dtypes import DTYPES
from ...format.reader import Tensor
from ..build import Draft, acceptable, canonical, entry, frame, invalid, obj, tensor, valid

#: Sample bytes per dtype (spec section 7): values a reader must hand back bit for bit.
SAMPLES: dict[str, tuple[tuple[int, ...], bytes, str]] = {
    "BOOL": ((4,), b"\x00\x01\x01\x00", "false, true, true, false"),
    "F4": ((4,), b"\xc2\x17", "1.0, -2.0, 6.0 (max), 0.5; element 2k in the low nibble"),
    "F6_E2M3": ((4,), bytes([0x08, 0x30 >> 2 | 0, 0x1F]), "four F6 E2M3 codes packed in three bytes"),
    "F6_E3M2": ((8,), bytes(range(1, 7)), "eight F6 E3M2 codes packed in six bytes"),
    "U8": ((4,), b"\x00\x01\x7f\xff", "0, 1, 127, 255"),
    "I8": ((4,), b"\x00\x01\x7f\x80", "0, 1, 127, -128"),
    "F8_E5M2": ((4,), b"\x3c\xc0\x38\x7b", "1.0, -2.0, 0.5, 57344"),
    "F8_E4M3": ((4,), b"\x38\xc0\x30\x7e", "1.0, -2.0, 0.5, 448"),
    "F8_E8M0": ((3,), b"\x7f\x7e\xfe", "1.0, 0.5, 2^127"),
    "F8_E4M3FNUZ": ((4,), b"\x40\xc8\x38\x7f", "1.0, -2.0, 0.5, 240"),
    "F8_E5M2FNUZ": ((4,), b"\x40\xc4\x3c\x7f", "1.0, -2.0, 0.5, 57344"),
    "I16": ((2, 2), struct.pack("<4h", 1, -1, 32767, -32768), "1, -1, 32767, -32768"),
    "U16": ((3,), struct.pack("<3H", 1, 256, 65535), "1, 256, 65535"),
    "F16": ((3,), bytes.fromhex("003c00c0ff7b"), "1.0, -2.0, 65504"),
    "BF16": ((3,), bytes.fromhex("803f00c07f7f"), "1.0, -2.0, the largest finite"),
    "I32": ((2,), struct.pack("<2i", -2, 2**31 - 1), "-2, 2^31-1"),
    "U32": ((2,), struct.pack("<2I", 1, 2**32 - 1), "1, 2^32-1"),
    "F32": ((2, 2), struct.pack("<4f", 1.0, -2.0, 0.5, 3.0), "1.0, -2.0, 0.5, 3.0"),
    "C64": ((2,), struct.pack("<4f", 1.0, 2.0, -0.5, 0.0), "1+2i, -0.5+0i"),
    "F64": ((2,), struct.pack("<2d", 1.0, -2.5), "1.0, -2.5"),
    "I64": ((2,), struct.pack("<2q", -1, 2**63 - 1), "-1, 2^63-1"),
    "U64": ((2,), struct.pack("<2Q", 1, 2**64 - 1), "1, 2^64-1"),
}

#: Values that are data, not errors (READER-VALUES).
SPECIAL: dict[str, tuple[str, tuple[int, ...], bytes, str]] = {
    "f32-nan-inf": (
        "F32",
        (4,),
        struct.pack("<4f", float("nan"), float("inf"), float("-inf"), -0.0),
        "NaN, +inf, -inf and -0.0",
    ),
    "f32-subnormal": ("F32", (1,), struct.pack("<I", 1), "the smallest subnormal"),
    "f32-signalling-nan": ("F32", (1,), struct.pack("<I", 0x7F800001), "a signalling NaN payload"),
    "f16-nan-inf": ("F16", (2,), bytes.fromhex("007e007c"), "NaN and +inf"),
    "bf16-nan": ("BF16", (1,), bytes.fromhex("c07f"), "NaN"),
    "f64-nan-payload": ("F64", (1,), struct.pack("<Q", 0x7FF8DEADBEEF0001), "a NaN with a payload"),
    "f8-e4m3-nan": ("F8_E4M3", (2,), b"\x7f\xff", "the two E4M3 NaN codes"),
    "f8-e5m2-inf": ("F8_E5M2", (2,), b"\x7c\xfc", "+inf and -inf"),
    "f8-e8m0-nan": ("F8_E8M0", (1,), b"\xff", "the E8M0 NaN code"),
    "f8-fnuz-nan": ("F8_E4M3FNUZ", (1,), b"\x80", "the FNUZ NaN code"),
}

UNKNOWN = {
    "c128": "C128", "u128": "U128", "i128": "I128", "f128": "F128", "f8": "F8", "f8-e4m3fn": "F8_E4M3FN",
    "f8-e4m3-fn": "F8_E4M3_FN", "f8e4m3": "F8E4M3", "f8-e8m0fnu": "F8_E8M0FNU", "f6-e2m3fn": "F6_E2M3FN", "f6": "F6",
    "i4": "I4", "u4": "U4", "q4-0": "Q4_0", "c32": "C32", "fp32": "FP32", "float32": "float32",
    "torch-float32": "torch.float32", "numpy-f4": "<f4", "inner-space": "F 32", "trailing-space": "F32 ",
    "leading-space": " F32", "trailing-nul": "F32\u0000", "two-names": "F16,F32", "empty": "", "boolean": "BOOLEAN",
    "uint8": "UINT8", "capitalised-bool": "Bool", "fnuz-trailing-space": "F8_E5M2FNUZ ",
}  # fmt: skip
LOWERCASE = ("f32", "bf16", "u8", "bool", "f8_e4m3", "f4", "c64", "f8_e4m3fnuz")


def _slug(text: str) -> str:
    cleaned = "".join(c.lower() if c.isalnum() else "-" for c in text).strip("-")
    while "--" in cleaned:
        cleaned = cleaned.replace("--", "-")
    return cleaned or "empty"


def drafts() -> Iterator[Draft]:
    for name, (shape, data, what) in SAMPLES.items():
        requirements = ["DTYPE-KNOWN", "DATA-ENCODING"] + (["DATA-PACKING"] if DTYPES[name].bits < 8 else [])
        yield valid(f"{_slug(name)}-sample", f"{name} holding {what}", requirements, {"t": Tensor(name, shape, data)})
    for name in DTYPES:
        yield valid(
            f"{_slug(name)}-scalar-and-empty",
            f"{name}: a scalar (or one packed unit) and an empty tensor",
            ["DTYPE-KNOWN", "SIZE-MATCH"],
            _scalar_and_empty(name),
        )
    yield valid(
        "every-dtype",
        "one tensor of every dtype in one file, in canonical order",
        ["DTYPE-KNOWN", "DATA-ALIGNED"],
        {n: tensor(n, (8,), i) for i, n in enumerate(DTYPES)},
    )
    for name, (dtype, shape, data, what) in SPECIAL.items():
        yield valid(
            f"values-{name}",
            f"{dtype} holding {what}: data, not an error",
            ["READER-VALUES"],
            {"t": Tensor(dtype, shape, data)},
        )
    for slug, name in UNKNOWN.items():
        yield invalid(
            f"unknown-{slug}",
            f"the dtype {name!r}, which is not in the table",
            "DTYPE-KNOWN",
            frame(obj(("a", entry(name, (0,), (0, 0))))),
        )
    yield invalid(
        "unknown-in-two-entries",
        "the dtypes 'X' and 'Y' in two tensor entries: each finding is located",
        "DTYPE-KNOWN",
        frame(obj(("a", entry("X")), ("b", entry("Y", offsets=(2, 4)))), bytes(4)),
    )
    for name in LOWERCASE:
        yield invalid(
            f"lowercase-{_slug(name)}",
            f"the dtype {name!r}: names are case-sensitive",
            "DTYPE-KNOWN",
            frame(obj(("a", entry(name, (0,), (0, 0))))),
        )
    yield valid(
        "escaped-name",
        "the dtype F32 written with escapes (equal after unescaping)",
        ["DTYPE-KNOWN"],
        {"a": tensor("F32", (1,))},
        content=frame('{"a":{"dtype":"\\u0046\\u00332","shape":[1],"data_offsets":[0,4]}}', tensor("F32", (1,)).data),
    )
    for dtype, count, size in (
        ("F4", 1, 1),
        ("F4", 3, 2),
        ("F4", 5, 3),
        ("F6_E2M3", 1, 1),
        ("F6_E2M3", 2, 2),
        ("F6_E2M3", 3, 3),
        ("F6_E3M2", 5, 4),
        ("F6_E3M2", 6, 5),
    ):
        yield invalid(
            f"{_slug(dtype)}-{count}-elements",
            f"{count} {dtype} elements: {count * DTYPES[dtype].bits} bits, not whole bytes",
            "SIZE-WHOLE-BYTES",
            frame(obj(("a", entry(dtype, (count,), (0, size)))), bytes(size)),
        )
    yield invalid(
        "f4-odd-matrix",
        "an F4 tensor of shape [3, 3] (9 elements)",
        "SIZE-WHOLE-BYTES",
        frame(obj(("a", entry("F4", (3, 3), (0, 5)))), bytes(5)),
    )
    yield valid(
        "f4-matrix",
        "an F4 tensor of shape [3, 2] (6 elements, 3 bytes)",
        ["SIZE-WHOLE-BYTES", "DATA-PACKING"],
        {"a": tensor("F4", (3, 2))},
    )
    yield from _packed_rows()
    yield from _bool_values()
    yield from _f6_bit_order()


def _packed_rows() -> Iterator[Draft]:
    """SIZE-PACKED-ROWS: rows of sub-byte tensors that do not start on a byte (flag packed-rows)."""
    for name, dtype, shape in (
        ("f6-matrix", "F6_E3M2", (2, 2)),
        ("f4-odd-rows", "F4", (2, 3)),
        ("f4-odd-rows-long", "F4", (4, 1, 5)),
        ("f4-empty-odd-rows", "F4", (0, 3)),
        ("f4-empty-odd-last", "F4", (2, 0, 1)),
        ("f6-e2m3-rows-of-2", "F6_E2M3", (4, 2)),
        ("f6-e3m2-rows-of-6", "F6_E3M2", (2, 6)),
        ("f6-e2m3-empty-rows-of-3", "F6_E2M3", (0, 3)),
    ):
        yield acceptable(
            name,
            f"an {dtype} tensor of shape {list(shape)}: whole bytes, but rows that do not start on a byte",
            "SIZE-PACKED-ROWS",
            "packed-rows",
            canonical({"a": tensor(dtype, shape)})[0],
            {"a": tensor(dtype, shape)},
        )
    for name, dtype, shape in (
        ("f4-even-rows", "F4", (3, 4)),
        ("f4-empty-even-rows", "F4", (0, 2)),
        ("f4-empty-zero-last", "F4", (3, 0)),
        ("f6-e2m3-rows-of-4", "F6_E2M3", (2, 4)),
        ("f6-e3m2-rows-of-8", "F6_E3M2", (1, 8)),
        ("f6-e3m2-empty-rows-of-4", "F6_E3M2", (0, 4)),
    ):
        yield valid(
            name,
            f"an {dtype} tensor of shape {list(shape)}: every row starts on a byte",
            ["SIZE-PACKED-ROWS"],
            {"a": tensor(dtype, shape)},
        )


def _bool_values() -> Iterator[Draft]:
    """DATA-BOOL: BOOL bytes other than 0x00 and 0x01 (flag bool-values)."""
    for name, data, what in (
        ("bool-two", b"\x02\xff\x80", "0x02, 0xff and 0x80"),
        ("bool-two-only", b"\x02", "the byte 0x02"),
        ("bool-high-bit", b"\x00\x80\x01\x00", "0x80 among zeros and ones"),
        ("bool-all-ones-byte", b"\xff" * 8, "0xff eight times"),
    ):
        t = {"t": Tensor("BOOL", (len(data),), data)}
        yield acceptable(
            f"values-{name}",
            f"a BOOL tensor holding {what}: readers may reject it, or return the bytes unchanged",
            "DATA-BOOL",
            "bool-values",
            canonical(t)[0],
            t,
        )
    yield valid(
        "values-bool-zero-one",
        "a BOOL tensor holding only 0x00 and 0x01",
        ["DATA-BOOL"],
        {"t": Tensor("BOOL", (6,), b"\x00\x01\x01\x00\x00\x01")},
    )


def _f6_bit_order() -> Iterator[Draft]:
    """DATA-PACKING: F6 bits whose order a reader may interpret as it documents (flag f6-bit-order)."""
    for name, dtype, shape, data in (
        ("f6-e2m3-bit-order", "F6_E2M3", (4,), bytes([0b10000011, 0b01000010, 0b00100001])),
        ("f6-e3m2-bit-order", "F6_E3M2", (8,), bytes([0x41, 0x10, 0x04, 0xFF, 0x00, 0xA5])),
    ):
        t = {"t": Tensor(dtype, shape, data)}
        yield acceptable(
            name,
            f"{dtype} elements whose bit order is implementation-defined: raw bytes must come back unchanged",
            "DATA-PACKING",
            "f6-bit-order",
            canonical(t)[0],
            t,
        )


def _scalar_and_empty(name: str) -> dict[str, Tensor]:
    bits = DTYPES[name].bits
    unit = (2,) if bits == 4 else (4,) if bits == 6 else ()
    # The empty tensor's last dimension is 0, so its rows are byte-aligned for every dtype
    # (SIZE-PACKED-ROWS); the vectors of _packed_rows cover the other case.
    return {"scalar": tensor(name, unit), "empty": Tensor(name, (3, 0), b"")}
