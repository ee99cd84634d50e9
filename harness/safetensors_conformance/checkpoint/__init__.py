"""The reference checkpoint validator: ``spec/checkpoint.md`` checked on a directory as a whole.

Pure Python on top of :mod:`..format`; nothing here imports the harness, the CLI or pytest. It
opens only files inside the directory it is given (see :mod:`.fs`) and checks each shard with the
reference file reader. Names are imported on first use, so that ``validate`` pays for this
package only when a directory holds a checkpoint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..format.lazy import lazy_exports

if TYPE_CHECKING:
    from .findings import Finding
    from .index import IndexReport, check_index
    from .names import holds_checkpoint
    from .requirements import CkptFlag, CkptReq
    from .validate import CheckpointReport, DirectoryReport, ShardTensor, check_checkpoint, check_directory

_EXPORTS = {
    "Finding": "findings",
    "IndexReport": "index",
    "check_index": "index",
    "holds_checkpoint": "names",
    "CkptFlag": "requirements",
    "CkptReq": "requirements",
    "CheckpointReport": "validate",
    "DirectoryReport": "validate",
    "ShardTensor": "validate",
    "check_checkpoint": "validate",
    "check_directory": "validate",
}

__all__ = [
    "CheckpointReport",
    "CkptFlag",
    "CkptReq",
    "DirectoryReport",
    "Finding",
    "IndexReport",
    "ShardTensor",
    "check_checkpoint",
    "check_directory",
    "check_index",
    "holds_checkpoint",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), __all__)
