"""Requirement IDs of ``spec/checkpoint.md`` that the reference validator checks.

Each member's value is the ID exactly as written in the spec (its anchor is the lower-cased ID).
The spec's index (``spec/checkpoint-requirements.json``) is the authority for levels and text; a
test keeps this enum, the index and the Markdown in step.
"""

from __future__ import annotations

from enum import StrEnum


class CkptReq(StrEnum):
    """A checkpoint requirement that the reference validator checks, in the spec's order."""

    # Checkpoint files
    FILE_LINK = "CKPT-FILE-LINK"
    FILE_REGULAR = "CKPT-FILE-REGULAR"
    NAMES_CASE = "CKPT-NAMES-CASE"
    # The index file
    INDEX_UTF8 = "CKPT-INDEX-UTF8"
    INDEX_JSON = "CKPT-INDEX-JSON"
    INDEX_STRINGS = "CKPT-INDEX-STRINGS"
    INDEX_UNIQUE_KEYS = "CKPT-INDEX-UNIQUE-KEYS"
    INDEX_ROOT = "CKPT-INDEX-ROOT"
    INDEX_WEIGHT_MAP = "CKPT-INDEX-WEIGHT-MAP"
    INDEX_METADATA = "CKPT-INDEX-METADATA"
    INDEX_TOTAL_SIZE = "CKPT-INDEX-TOTAL-SIZE"
    INDEX_MEMBERS_KNOWN = "CKPT-INDEX-MEMBERS-KNOWN"
    # Shard references
    SHARD_NAME = "CKPT-SHARD-NAME"
    SHARD_PORTABLE = "CKPT-SHARD-PORTABLE"
    SHARD_EXISTS = "CKPT-SHARD-EXISTS"
    # Shards and tensors
    SHARD_CONFORMS = "CKPT-SHARD-CONFORMS"
    MAPPED_STORED = "CKPT-MAPPED-STORED"
    TENSOR_UNIQUE = "CKPT-TENSOR-UNIQUE"
    SHARD_MAPPED = "CKPT-SHARD-MAPPED"
    TOTAL_SIZE_MATCH = "CKPT-TOTAL-SIZE-MATCH"
    # Checkpoints without an index
    SET_COMPLETE = "CKPT-SET-COMPLETE"
    # Other files
    NO_STRAY = "CKPT-NO-STRAY"

    @property
    def anchor(self) -> str:
        """The HTML anchor of this requirement in ``spec/checkpoint.md``."""
        return self.value.lower()


class CkptFlag(StrEnum):
    """An implementation-defined behaviour of ``spec/checkpoint.md`` (section 11)."""

    UNMAPPED_TENSORS = "unmapped-tensors"
    STRAY_FILES = "stray-files"
    INDEX_REQUIRED = "index-required"
    CHECKPOINT_LIMITS = "checkpoint-limits"


#: Precedence (spec section 1): the primary requirement is the first unflagged MUST-level one in
#: the spec's order, which is the order of ``CkptReq``.
PRECEDENCE: dict[CkptReq, int] = {requirement: rank for rank, requirement in enumerate(CkptReq)}

#: Requirements whose violation is a warning (SHOULD level); every other one is a MUST.
SHOULD_LEVEL: frozenset[CkptReq] = frozenset(
    {CkptReq.INDEX_MEMBERS_KNOWN, CkptReq.SHARD_PORTABLE, CkptReq.TOTAL_SIZE_MATCH, CkptReq.NO_STRAY}
)
