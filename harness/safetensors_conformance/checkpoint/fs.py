"""The only file system access of the checkpoint validator: one directory, never a file outside it.

A :class:`Directory` lists its entries once (``lstat``, so links are seen as links). Names are only
ever taken from that listing, never from an index, so no reference reaches a system call. A link
is resolved one hop at a time, and a hop that leaves the containment root is refused before
anything at its target is looked at; only links that stay inside are followed to the end. Files
are opened without following links (``O_NOFOLLOW``) and without blocking (``O_NONBLOCK``), and the
opened file must be the one that was checked (same device and inode), so an entry swapped for a
link or a FIFO after the check is refused rather than read (spec ``CKPT-LOADER-CONTAINED``).
"""

# ruff: noqa: PTH115, PTH118, PTH120, PTH208
# (This module works with directory descriptors, lstat and readlink one hop at a time; os.path keeps
# every step a visible system call, which pathlib would hide.)

from __future__ import annotations

import os
import stat
from typing import BinaryIO, Final, NamedTuple

from .requirements import CkptReq

#: Links followed at most, as Linux's MAXSYMLINKS: beyond this a chain is treated as a loop.
MAX_LINK_HOPS: Final = 40

_OPEN_FLAGS: Final = (
    os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
)
_KINDS: Final = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


class EntryProblem(NamedTuple):
    """Why an entry cannot be a checkpoint file (CKPT-FILE-LINK or CKPT-FILE-REGULAR)."""

    requirement: CkptReq
    message: str


class ChangedError(OSError):
    """A checked entry changed (was replaced, or became something else) before it was opened."""


class _Checked(NamedTuple):
    """Where a checked regular file is, and which file it is."""

    path: str | None  # absolute path of a link's target; None for an entry opened by name
    device: int
    inode: int


class Directory:
    """A checkpoint directory and its containment root (spec section 2), listed once."""

    def __init__(self, path: str | os.PathLike[str], root: str | os.PathLike[str] | None = None) -> None:
        self.path = os.path.realpath(path)
        self.root = self.path if root is None else os.path.realpath(root)
        if not _inside(self.path, self.root):
            raise ValueError(f"{self.path} is not inside the containment root {self.root}")
        #: Every entry's ``lstat``, by the exact name the listing returned.
        self.entries: dict[str, os.stat_result] = {
            name: os.lstat(os.path.join(self.path, name)) for name in sorted(os.listdir(self.path))
        }
        self._checked: dict[str, _Checked | EntryProblem] = {}

    def problem(self, name: str) -> EntryProblem | None:
        """CKPT-FILE-LINK and CKPT-FILE-REGULAR for an entry; ``None`` when it may be opened."""
        checked = self._check(name)
        return checked if isinstance(checked, EntryProblem) else None

    def open(self, name: str) -> BinaryIO:
        """Open a checked entry for reading; raises :class:`ChangedError` if it is not the file checked."""
        checked = self._check(name)
        if isinstance(checked, EntryProblem):
            raise PermissionError(f"{name!r} may not be opened: {checked.message}")
        path = os.path.join(self.path, name) if checked.path is None else checked.path
        fd = os.open(path, _OPEN_FLAGS)
        try:
            opened = os.fstat(fd)
            if not stat.S_ISREG(opened.st_mode) or (opened.st_dev, opened.st_ino) != (checked.device, checked.inode):
                raise ChangedError(f"{name!r} changed after it was checked; not reading it")
        except BaseException:
            os.close(fd)
            raise
        return os.fdopen(fd, "rb")

    def read(self, name: str, limit: int) -> bytes:
        """The whole content of a checked entry of at most ``limit`` bytes; larger raises ``OSError``."""
        with self.open(name) as handle:
            data = handle.read(limit + 1)
        if len(data) > limit:
            raise OSError(f"{name!r} is larger than {limit:,} bytes, the validator's limit for it")
        return data

    def _check(self, name: str) -> _Checked | EntryProblem:
        checked = self._checked.get(name)
        if checked is None:
            checked = self._checked[name] = self._resolve(name)
        return checked

    def _resolve(self, name: str) -> _Checked | EntryProblem:
        status = self.entries[name]
        if not stat.S_ISLNK(status.st_mode):
            problem = _not_regular(status, "it is")
            return problem or _Checked(None, status.st_dev, status.st_ino)
        path = os.path.join(self.path, name)
        for _ in range(MAX_LINK_HOPS):
            target = os.readlink(path)
            # Lexically first: a hop out of the root is refused before its target is looked at.
            path = os.path.normpath(os.path.join(os.path.dirname(path), target))
            if not _inside(path, self.root):
                return EntryProblem(CkptReq.FILE_LINK, f"a symbolic link to {target!r}, outside {self.root}")
            try:
                status = os.lstat(path)
            except OSError as error:
                return EntryProblem(CkptReq.FILE_LINK, f"a symbolic link that does not resolve ({error.strerror})")
            if stat.S_ISLNK(status.st_mode):
                continue
            # A directory on the way may itself be a link: where the file really is must be inside too.
            real = os.path.realpath(path)
            if not _inside(real, self.root):
                message = f"a symbolic link that resolves to {real!r}, outside {self.root}"
                return EntryProblem(CkptReq.FILE_LINK, message)
            status = os.lstat(real)
            problem = _not_regular(status, "its target is")
            return problem or _Checked(real, status.st_dev, status.st_ino)
        return EntryProblem(CkptReq.FILE_LINK, f"a chain of more than {MAX_LINK_HOPS} symbolic links (a loop)")


def _not_regular(status: os.stat_result, subject: str) -> EntryProblem | None:
    """CKPT-FILE-REGULAR: what a non-regular file is."""
    if stat.S_ISREG(status.st_mode):
        return None
    kind = next((name for test, name in _KINDS if test(status.st_mode)), "not a regular file")
    return EntryProblem(CkptReq.FILE_REGULAR, f"{subject} {kind}, not a regular file")


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)
