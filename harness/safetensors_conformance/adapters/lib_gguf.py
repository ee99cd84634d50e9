"""The ``gguf`` package's safetensors reader, ``gguf.utility.SafetensorsLocal(path)`` (``gguf``).

llama.cpp's converter reads local safetensors files this way. ``SafetensorsLocal`` reads the
8-byte length, checks that the file holds that many header bytes, decodes them as UTF-8 and
parses them with Python's ``json``; each entry other than ``__metadata__`` becomes a
``LocalTensor`` (the dtype code as a string, the shape as a tuple, a file range from the offsets),
checked no further. The adapter reads each tensor's bytes with ``LocalTensor.mmap_bytes()`` (a
NumPy memory map of the range) and reports the dtype code and shape unchanged. The package has no
API for ``__metadata__`` (it is skipped): metadata is not declared.

Documented rejection: ``ValueError`` from the constructor, which it raises for a header longer
than the file and for JSON that does not parse (its ``UnicodeDecodeError`` on a header that is
not UTF-8 is a ``ValueError`` too). Those are :class:`Rejected`; anything else (a ``KeyError`` for
a missing field, the memory map's errors for a range outside the file) escapes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..format.dtypes import DTYPES
from .protocol import Capabilities, Description, Loaded, LoadedTensor, Rejected
from .tensors import from_buffer

_IMPLEMENTATION = "gguf (llama.cpp) utility.SafetensorsLocal"


class Adapter:
    """``gguf``: ``SafetensorsLocal(path).tensors`` and ``LocalTensor.mmap_bytes()``."""

    def __init__(self) -> None:
        self.name = "gguf"

    def describe(self) -> Description:
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("gguf")
            from gguf.utility import SafetensorsLocal  # noqa: F401 - present in this version?
        except (PackageNotFoundError, ImportError) as error:
            reason = f"gguf.utility.SafetensorsLocal is not importable: {error}"
            return Description(_IMPLEMENTATION, "not installed", available=False, reason=reason)
        # Raw bytes under the header's own dtype code: every dtype comes back as it is.
        return Description(_IMPLEMENTATION, found, Capabilities("full", frozenset(DTYPES), metadata=False))

    def load(self, path: str) -> Loaded:
        from gguf.utility import SafetensorsLocal

        try:
            opened = SafetensorsLocal(Path(path))
        except ValueError as error:
            raise Rejected(str(error)) from error
        tensors = [_tensor(name, t.dtype, t.shape, t.mmap_bytes().tobytes()) for name, t in opened.tensors.items()]
        return Loaded(tensors, None)


def _tensor(name: Any, dtype: Any, shape: tuple[Any, ...], data: bytes) -> LoadedTensor:
    """The header's fields as the library keeps them; the runner judges what cannot be content."""
    if isinstance(dtype, str) and dtype in DTYPES:
        return from_buffer(name, dtype, shape, data)
    return LoadedTensor(name, dtype, shape, data)
