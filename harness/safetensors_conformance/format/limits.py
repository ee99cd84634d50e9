"""Named limits of the format, each with the requirement that sets it (see ``spec/safetensors.md``)."""

from __future__ import annotations

#: LAYOUT-LENGTH-PREFIX: the header length is an unsigned 64-bit little-endian integer.
LENGTH_PREFIX_SIZE = 8

#: LAYOUT-HEADER-LIMIT: the largest header length a conforming file may declare. The same bound as the
#: reference implementation, so that a reader can refuse to read more before touching the header.
MAX_HEADER_LENGTH = 100_000_000

#: LAYOUT-HEADER-ALIGN: writers pad the header so that the buffer starts on this boundary.
HEADER_ALIGNMENT = 8

#: NUMBER-RANGE and SIZE-LIMIT: every shape dimension, offset and bit count fits in 64 unsigned bits.
U64_MAX = (1 << 64) - 1

#: The reader stops recording violations after this many, so that a hostile header with millions of
#: broken entries yields a bounded report; the error says how many more it saw.
MAX_REPORTED_VIOLATIONS = 1000

#: Nesting depth of the deepest conforming header (root object, tensor entry, shape array). Deeper
#: values are never examined: the structure check rejects the container that holds them.
CONFORMING_DEPTH = 3
