"""unifiedefficientloader, ``UnifiedSafetensorsLoader(path, low_memory=True)`` (``unifiedefficientloader``).

Only ``low_memory=True`` runs the library's own parser (``low_memory=False`` hands the file to
Hugging Face ``safe_open``). The constructor reads the 8-byte length with ``struct``, that many
bytes, decodes them as UTF-8 and parses them with Python's ``json``; nothing in the header is
checked. ``keys()`` lists the entries other than ``__metadata__``, ``metadata()`` returns that
entry as it is (``{}`` when absent), and ``get_tensor(name)`` seeks to the entry's begin offset,
reads ``end - begin`` bytes into a zeroed buffer (a short read leaves zeros) and views them as the
dtype with the shape (``torch`` ``view`` and ``reshape``). F4 comes back packed in pairs
(``float4_e2m1fn_x2``), which :func:`.tensors.from_torch` unpacks to the file's shape.

No error class is documented. Deliberate refusals: ``json.JSONDecodeError`` and
``UnicodeDecodeError`` from the header parse, and the ``ValueError`` its ``tensor_utils`` raises
for a dtype code it does not know (``st_to_torch_dtype``) or an F4 shape with an odd or missing
last dimension (``st_shape_to_torch_shape``). Those are :class:`Rejected`. Any other exception
escapes: ``struct.error`` on a file shorter than 8 bytes, ``AttributeError`` for a header that is
not an object, ``RuntimeError`` from a ``view`` or ``reshape`` that does not fit, and the
``ValueError`` Python raises for ``bytearray(-n)`` when a tensor ends before it begins. Its dtype
table has no FNUZ type and no F6: those are :class:`Unsupported`, found in the parsed header
before any tensor is read.
"""

from __future__ import annotations

from typing import Any

from .protocol import Capabilities, Description, Loaded, LoadedTensor, Rejected, Unsupported
from .tensors import from_torch

_DISTRIBUTION = "unifiedefficientloader"
_IMPLEMENTATION = "unifiedefficientloader UnifiedSafetensorsLoader(low_memory=True)"


class Adapter:
    """``unifiedefficientloader``: ``UnifiedSafetensorsLoader(path, low_memory=True)``, ``get_tensor``."""

    def __init__(self) -> None:
        self.name = "unifiedefficientloader"

    def describe(self) -> Description:
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version(_DISTRIBUTION)
            dtypes = _dtypes()
        except (PackageNotFoundError, ImportError, OSError) as error:
            reason = f"unifiedefficientloader is not importable: {error}"
            return Description(_IMPLEMENTATION, "not installed", available=False, reason=reason)
        return Description(_IMPLEMENTATION, found, Capabilities("full", dtypes, metadata=True))

    def load(self, path: str) -> Loaded:
        import json

        from unifiedefficientloader import UnifiedSafetensorsLoader  # type: ignore[import-untyped]

        from ..format.dtypes import DTYPES

        try:
            loader = UnifiedSafetensorsLoader(path, low_memory=True)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise Rejected(str(error)) from error
        with loader:
            names = list(loader.keys())
            supported = _dtypes()
            header: Any = loader._header  # the parsed header, for the dtype codes
            for name in names:
                entry = header[name]
                dtype = entry.get("dtype") if isinstance(entry, dict) else None
                if isinstance(dtype, str) and dtype in DTYPES and dtype not in supported:
                    raise Unsupported(f"unifiedefficientloader has no {dtype} (tensor {name!r})")
            pairs = []
            for name in names:
                try:
                    pairs.append((name, loader.get_tensor(name)))
                except ValueError as error:
                    if not _raised_by_library(error):
                        raise
                    raise Rejected(str(error)) from error
            metadata = loader.metadata()
        # Converted outside the handler: the helpers' UnknownDtype is a ValueError too.
        tensors: list[LoadedTensor] = [from_torch(name, tensor) for name, tensor in pairs]
        return Loaded(tensors, metadata)


def _dtypes() -> frozenset[str]:
    """The codes ``st_to_torch_dtype`` maps (it depends on the installed torch)."""
    from unifiedefficientloader.tensor_utils import st_to_torch_dtype  # type: ignore[import-untyped]

    from ..format.dtypes import DTYPES

    found = set()
    for code in DTYPES:
        try:
            st_to_torch_dtype(code)
        except ValueError:
            continue
        found.add(code)
    return frozenset(found)


def _raised_by_library(error: ValueError) -> bool:
    """Whether the innermost frame of ``error`` is the library's ``tensor_utils`` (its own
    ``raise``), rather than Python or torch refusing an argument the library computed."""
    trace = error.__traceback__
    if trace is None:
        return False
    while trace.tb_next is not None:
        trace = trace.tb_next
    return trace.tb_frame.f_code.co_filename.replace("\\", "/").endswith("unifiedefficientloader/tensor_utils.py")
