"""The canary of a checkpoint run: a file outside the checkpoint whose every open is seen.

A conforming safetensors file (so a loader that reaches it finds nothing wrong in it, and only the
watch can tell), watched with inotify for opens and reads by any process. Linux only: elsewhere
:func:`available` says why, and the runner cannot give ``fail-read-outside``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from pathlib import Path
from typing import Final

from ..format.reader import Tensor
from ..format.writer import serialize

_IN_ACCESS: Final = 0x1
_IN_OPEN: Final = 0x20
#: What the canary holds: one tensor no vector maps, so content from it is also wrong content.
CANARY_BYTES: Final = serialize({"canary": Tensor("U8", (1,), b"\xcc")})


def available() -> str | None:
    """``None`` when canaries can be watched here, else the reason."""
    return None if sys.platform.startswith("linux") else "the canary is watched with inotify, which only Linux has"


class Canary:
    """Creates the canary at ``path`` and watches it until :meth:`close`."""

    def __init__(self, path: Path) -> None:
        reason = available()
        if reason is not None:
            raise OSError(reason)
        self.path = path
        path.write_bytes(CANARY_BYTES)
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        self._fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self._fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        if libc.inotify_add_watch(self._fd, os.fsencode(path), _IN_OPEN | _IN_ACCESS) < 0:
            error = ctypes.get_errno()
            os.close(self._fd)
            raise OSError(error, f"cannot watch {path}")

    def touched(self) -> bool:
        """Whether it was opened or read since the last call (the events are consumed)."""
        seen = False
        while True:
            try:
                seen = bool(os.read(self._fd, 65536)) or seen
            except BlockingIOError:
                return seen

    def close(self) -> None:
        os.close(self._fd)

    def __enter__(self) -> Canary:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
