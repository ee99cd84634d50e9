"""Requirement IDs of ``spec/safetensors.md`` that the reference reader and writer check.

Each member's value is the ID exactly as written in the spec (its anchor is the lower-cased ID).
The spec's machine-readable index (``spec/requirements.json``) is the authority for levels and
text; a test keeps this enum, the index and the Markdown in step.
"""

from __future__ import annotations

from enum import StrEnum


class Req(StrEnum):
    """A file or writer requirement that the reference checks."""

    # Layout
    LAYOUT_LENGTH_PREFIX = "LAYOUT-LENGTH-PREFIX"
    LAYOUT_HEADER_LIMIT = "LAYOUT-HEADER-LIMIT"
    LAYOUT_HEADER_BOUNDS = "LAYOUT-HEADER-BOUNDS"
    LAYOUT_HEADER_ALIGN = "LAYOUT-HEADER-ALIGN"
    # Header text
    HEADER_UTF8 = "HEADER-UTF8"
    HEADER_START = "HEADER-START"
    HEADER_JSON = "HEADER-JSON"
    HEADER_ROOT_OBJECT = "HEADER-ROOT-OBJECT"
    HEADER_PADDING = "HEADER-PADDING"
    HEADER_STRINGS = "HEADER-STRINGS"
    HEADER_UNIQUE_NAMES = "HEADER-UNIQUE-NAMES"
    # Metadata
    META_OBJECT = "META-OBJECT"
    META_STRING_VALUES = "META-STRING-VALUES"
    META_UNIQUE_KEYS = "META-UNIQUE-KEYS"
    # Tensor entries
    ENTRY_OBJECT = "ENTRY-OBJECT"
    ENTRY_FIELDS_REQUIRED = "ENTRY-FIELDS-REQUIRED"
    ENTRY_FIELDS_KNOWN = "ENTRY-FIELDS-KNOWN"
    NAME_PORTABLE = "NAME-PORTABLE"
    DTYPE_KNOWN = "DTYPE-KNOWN"
    SHAPE_ARRAY = "SHAPE-ARRAY"
    OFFSETS_PAIR = "OFFSETS-PAIR"
    NUMBER_FORM = "NUMBER-FORM"
    NUMBER_RANGE = "NUMBER-RANGE"
    OFFSETS_ORDER = "OFFSETS-ORDER"
    # Sizes
    SIZE_LIMIT = "SIZE-LIMIT"
    SIZE_WHOLE_BYTES = "SIZE-WHOLE-BYTES"
    SIZE_MATCH = "SIZE-MATCH"
    SIZE_PACKED_ROWS = "SIZE-PACKED-ROWS"
    # Buffer
    BUFFER_BOUNDS = "BUFFER-BOUNDS"
    BUFFER_NO_OVERLAP = "BUFFER-NO-OVERLAP"
    BUFFER_NO_GAP = "BUFFER-NO-GAP"
    BUFFER_NO_TRAILING = "BUFFER-NO-TRAILING"
    DATA_ALIGNED = "DATA-ALIGNED"
    # Writer
    WRITER_RESERVED_NAME = "WRITER-RESERVED-NAME"

    @property
    def anchor(self) -> str:
        """The HTML anchor of this requirement in ``spec/safetensors.md``."""
        return self.value.lower()


class Flag(StrEnum):
    """An implementation-defined behaviour of the spec (section 12), named as the spec names it."""

    HEADER_LEADING_WHITESPACE = "header-leading-whitespace"
    HEADER_TRAILING_WHITESPACE = "header-trailing-whitespace"
    METADATA_NULL = "metadata-null"
    ENTRY_UNKNOWN_FIELDS = "entry-unknown-fields"
    PACKED_ROWS = "packed-rows"
    RESOURCE_LIMITS = "resource-limits"
    F6_BIT_ORDER = "f6-bit-order"
    BOOL_VALUES = "bool-values"


#: Precedence (spec section 1.1): when a file breaks several requirements, the primary one is the
#: first unflagged MUST-level requirement in the spec's order, which is the order of ``Req``.
PRECEDENCE: dict[Req, int] = {requirement: rank for rank, requirement in enumerate(Req)}

#: Requirements whose violation is a warning (SHOULD level); every other one is a MUST.
SHOULD_LEVEL: frozenset[Req] = frozenset(
    {Req.LAYOUT_HEADER_ALIGN, Req.NAME_PORTABLE, Req.SIZE_PACKED_ROWS, Req.DATA_ALIGNED}
)
