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

#: HEADER-START and HEADER-PADDING: the whitespace that JSON allows between tokens. A reader MAY
#: skip it before the value and accept it in the padding (flags header-leading-whitespace and
#: header-trailing-whitespace).
JSON_WHITESPACE = frozenset(" \t\n\r")

#: HEADER-START and HEADER-PADDING: every code point the spec counts as whitespace, which no file
#: may have before its JSON value: Unicode's White_Space property, plus U+001C-U+001F (which
#: Python's ``str.strip`` removes) and U+FEFF, the byte order mark (which JavaScript's ``trim``
#: removes). Readers built on a language's trim function skip all of these.
WHITESPACE = frozenset(
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
