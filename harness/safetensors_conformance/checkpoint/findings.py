"""Checkpoint findings are values: a requirement, a message, the file it is about, and where in it.

A finding cites either a checkpoint requirement (``spec/checkpoint.md``) or, for a shard that is
not a conforming file, the file format requirement it breaks (``spec/safetensors.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from ..format.requirements import SHOULD_LEVEL as FILE_SHOULD_LEVEL
from ..format.requirements import Flag, Req
from .requirements import PRECEDENCE, SHOULD_LEVEL, CkptFlag, CkptReq


class Finding(NamedTuple):
    """One broken requirement of a checkpoint.

    ``file`` is the entry of the checkpoint directory the finding is about (the index file, a
    shard, a stray file, or the name a missing shard should have). ``pointer`` is an RFC 6901 JSON
    pointer into that file's JSON (the index, or a shard's header), ``offset`` a byte offset from
    its first byte; either is ``None`` when nothing inside the file is to blame. ``flag`` names the
    implementation-defined behaviour under which a loader MAY accept the checkpoint anyway.
    """

    requirement: CkptReq | Req
    message: str
    file: str
    pointer: str | None = None
    offset: int | None = None
    flag: CkptFlag | Flag | None = None

    @property
    def is_warning(self) -> bool:
        """True for SHOULD-level findings, which do not make a checkpoint non-conforming."""
        if isinstance(self.requirement, CkptReq):
            return self.requirement in SHOULD_LEVEL
        return self.requirement in FILE_SHOULD_LEVEL

    def to_json(self) -> dict[str, object]:
        return {
            "requirement": self.requirement.value,
            "message": self.message,
            "file": self.file,
            "offset": self.offset,
            "pointer": self.pointer,
            "flag": None if self.flag is None else self.flag.value,
        }

    def __str__(self) -> str:
        where = [self.file if self.file.isprintable() else ascii(self.file)]
        if self.offset is not None:
            where.append(f"offset {self.offset}")
        if self.pointer is not None:
            where.append(self.pointer if self.pointer.isprintable() else ascii(self.pointer))
        return f"[{self.requirement.value}] {self.message} ({', '.join(where)})"


def primary_requirement(findings: Sequence[Finding]) -> CkptReq | None:
    """The primary requirement of a checkpoint (spec section 1, *Precedence*).

    The first, in the spec's order, of the unflagged MUST-level checkpoint requirements broken; a
    shard's own file format findings stand behind ``CKPT-SHARD-CONFORMS``, which is reported with
    them. ``None`` when the checkpoint conforms or a loader MAY accept it under flags.
    """
    broken = [f.requirement for f in findings if isinstance(f.requirement, CkptReq) and f.flag is None]
    return min((r for r in broken if r not in SHOULD_LEVEL), key=PRECEDENCE.__getitem__, default=None)
