"""The dtype table of ``spec/safetensors.md`` (section "Data types", requirement DTYPE-KNOWN).

Ranks follow the reference implementation's enum order; the canonical writer orders tensors by
descending rank so that every tensor starts on a multiple of its element size (DATA-ALIGNED).
"""

from __future__ import annotations

from typing import NamedTuple


class DType(NamedTuple):
    """One row of the dtype table."""

    name: str
    bits: int
    rank: int
    kind: str
    encoding: str

    @property
    def element_bytes(self) -> int:
        """Bytes per element for byte-sized types; 0 for packed sub-byte types."""
        return self.bits // 8 if self.bits % 8 == 0 else 0


_ROWS: tuple[tuple[str, int, str, str], ...] = (
    ("BOOL", 8, "bool", "one byte; 0x00 is false, 0x01 is true"),
    ("F4", 4, "float", "OCP MX FP4 E2M1, two elements per byte, first in the low nibble"),
    ("F6_E2M3", 6, "float", "OCP MX FP6 E2M3, four elements per three bytes"),
    ("F6_E3M2", 6, "float", "OCP MX FP6 E3M2, four elements per three bytes"),
    ("U8", 8, "uint", "unsigned integer"),
    ("I8", 8, "int", "two's complement integer"),
    ("F8_E5M2", 8, "float", "OCP FP8 E5M2 (bias 15, infinities and NaNs)"),
    ("F8_E4M3", 8, "float", "OCP FP8 E4M3 (E4M3FN: bias 7, no infinities, NaN is S.1111.111)"),
    ("F8_E8M0", 8, "float", "OCP MX E8M0 scale (unsigned exponent, bias 127, 0xFF is NaN)"),
    ("F8_E4M3FNUZ", 8, "float", "FP8 E4M3 FNUZ (bias 8, no infinities, no negative zero, 0x80 is NaN)"),
    ("F8_E5M2FNUZ", 8, "float", "FP8 E5M2 FNUZ (bias 16, no infinities, no negative zero, 0x80 is NaN)"),
    ("I16", 16, "int", "two's complement integer, little-endian"),
    ("U16", 16, "uint", "unsigned integer, little-endian"),
    ("F16", 16, "float", "IEEE 754 binary16, little-endian"),
    ("BF16", 16, "float", "bfloat16 (upper half of binary32), little-endian"),
    ("I32", 32, "int", "two's complement integer, little-endian"),
    ("U32", 32, "uint", "unsigned integer, little-endian"),
    ("F32", 32, "float", "IEEE 754 binary32, little-endian"),
    ("C64", 64, "complex", "two binary32 values, real part first, little-endian"),
    ("F64", 64, "float", "IEEE 754 binary64, little-endian"),
    ("I64", 64, "int", "two's complement integer, little-endian"),
    ("U64", 64, "uint", "unsigned integer, little-endian"),
)

#: Every dtype name of the current spec, in rank order.
DTYPES: dict[str, DType] = {
    name: DType(name, bits, rank, kind, encoding) for rank, (name, bits, kind, encoding) in enumerate(_ROWS)
}

#: Bit width per dtype name; the hot path of the reader looks names up here.
BITS: dict[str, int] = {name: dtype.bits for name, dtype in DTYPES.items()}
