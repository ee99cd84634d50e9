"""The bytes of a checkpoint's tensors, read the way a conforming loader reads them.

Only the tensors :func:`.validate.check_checkpoint` says a loader returns, each from the shard the
index maps it to, through :class:`.fs.Directory` (so never from a file outside the directory).
"""

from __future__ import annotations

import os
from typing import NamedTuple

from ..format.limits import LENGTH_PREFIX_SIZE
from ..format.reader import read_bytes
from .fs import Directory
from .validate import CheckpointReport


class CheckpointTensor(NamedTuple):
    """A tensor a conforming loader returns: its shard, dtype, shape and raw little-endian bytes."""

    name: str
    shard: str
    dtype: str
    shape: tuple[int, ...]
    data: bytes


def read_tensors(
    path: str | os.PathLike[str], report: CheckpointReport, *, root: str | os.PathLike[str] | None = None
) -> list[CheckpointTensor]:
    """The tensors of a checkpoint whose report has content, in the report's order.

    Raises ``ValueError`` when the report has none (a loader must reject that checkpoint).
    """
    if report.tensors is None:
        raise ValueError(f"{report.name}: the checkpoint has no content a loader may return")
    directory = Directory(path, root)
    out: list[CheckpointTensor] = []
    for name, (shard, info) in report.tensors.items():
        with directory.open(shard) as handle:
            length = int.from_bytes(read_bytes(handle, 0, LENGTH_PREFIX_SIZE, "the header length"), "little")
            start = LENGTH_PREFIX_SIZE + length + info.begin
            data = read_bytes(handle, start, info.nbytes, f"the bytes of {name!r}")
        out.append(CheckpointTensor(name, shard, info.dtype, info.shape, data))
    return out
