"""InstantTensor (``instanttensor``): its header reader, or its CUDA loader on a GPU.

Option ``device`` (default ``cpu``). On ``cpu`` the adapter is header-only: InstantTensor's loader
runs on CUDA devices only, so it reports what the header reader the loader itself uses,
``instanttensor._impl.read_safetensors_metadata(path)``, returns: ``(file_metadata,
tensor_metadata, header_size)``, where ``tensor_metadata`` is the parsed header (Python's
``json``) without ``__metadata__``, and ``file_metadata`` is that entry (``None`` when absent).
Names, dtypes and shapes are reported as the header states them; the reader checks only the
8-byte length against the file size, that there is at least one tensor, and the ``data_offsets``
of the last entry (non-negative integers, in order, ending within the file).

On a CUDA device (``device=cuda`` or ``cuda:N``; unavailable where CUDA is missing) the adapter is
full: ``safe_open(path, framework="pt", device=DEVICE)``, ``tensors()``, copied back to the host.
``safe_open`` also requires the tensors to be contiguous and ``__metadata__["format"]`` to be
``pt`` when present. Its metadata is read from the ``file_metadata`` attribute the loader keeps:
``safe_open.metadata()`` calls ``dict(None)`` on a file with no metadata. Its dtype table
(``_impl.safetensors_to_torch_dtype``) has no F6: that is :class:`Unsupported`, found in the header.

Documented rejection: ``ValueError`` ("If the file format is invalid"), raised by the reader
(``"Invalid safetensors file ..."``) and by ``safe_open``; ``json.JSONDecodeError`` and
``UnicodeDecodeError`` from the header parse are ``ValueError`` too. Those are :class:`Rejected`;
anything else (``AttributeError`` for a header that is not an object, ``KeyError``) escapes.
"""

from __future__ import annotations

from typing import Any

from ..format.dtypes import DTYPES
from .devices import torch_device_problem
from .protocol import Capabilities, Description, Loaded, LoadedTensor, Rejected, Unsupported
from .tensors import from_torch

_DISTRIBUTION = "instanttensor"


class Adapter:
    """``instanttensor``: ``read_safetensors_metadata`` on ``cpu``, ``safe_open`` on a CUDA device."""

    def __init__(self, device: str = "cpu") -> None:
        self.name = "instanttensor"
        self.device = device

    def describe(self) -> Description:
        from importlib.metadata import PackageNotFoundError, version

        header_only = self.device == "cpu"
        if header_only:
            implementation = "InstantTensor _impl.read_safetensors_metadata (header only)"
        else:
            implementation = f"InstantTensor safe_open (framework pt, device {self.device})"
        try:
            found = version(_DISTRIBUTION)
            dtypes = _loader_dtypes()  # imports the package (torch and its extension)
        except (PackageNotFoundError, ImportError, OSError) as error:
            reason = f"instanttensor is not importable: {error}"
            return Description(implementation, "not installed", available=False, reason=reason)
        if header_only:
            # The header reader hands the dtype string back as it is: every code comes back.
            return Description(implementation, found, Capabilities("header-only", frozenset(DTYPES), metadata=True))
        capabilities = Capabilities("full", dtypes, (self.device,), metadata=True)
        problem = torch_device_problem(self.device)
        return Description(implementation, found, capabilities, available=problem is None, reason=problem)

    def load(self, path: str) -> Loaded:
        from instanttensor._impl import read_safetensors_metadata  # type: ignore[import-untyped]

        try:
            file_metadata, entries, _ = read_safetensors_metadata(path)
        except ValueError as error:
            raise Rejected(str(error)) from error
        if self.device == "cpu":
            tensors = [_header_tensor(name, entry) for name, entry in entries.items()]
            return Loaded(tensors, file_metadata)
        return self._load_cuda(path, entries)

    def _load_cuda(self, path: str, entries: dict[str, Any]) -> Loaded:
        from instanttensor import safe_open  # type: ignore[import-untyped]

        supported = _loader_dtypes()
        for name, entry in entries.items():
            dtype = entry.get("dtype") if isinstance(entry, dict) else None
            if isinstance(dtype, str) and dtype in DTYPES and dtype not in supported:
                raise Unsupported(f"InstantTensor has no {dtype} (tensor {name!r})")
        try:
            with safe_open(path, framework="pt", device=self.device) as opened:
                pairs = list(opened.tensors())
                metadata = opened.file_metadata
        except ValueError as error:
            raise Rejected(str(error)) from error
        # Converted outside the handler: the helpers' UnknownDtype is a ValueError too.
        return Loaded([from_torch(name, tensor) for name, tensor in pairs], metadata)


def _header_tensor(name: str, entry: Any) -> LoadedTensor:
    """An entry as the header reader returned it: its dtype and shape unchanged (the runner says
    when they cannot be content), no bytes."""
    fields: Any = entry if isinstance(entry, dict) else {}
    shape = fields.get("shape")
    return LoadedTensor(name, fields.get("dtype"), tuple(shape) if isinstance(shape, list) else shape, None)


def _loader_dtypes() -> frozenset[str]:
    """The codes of the CUDA loader's dtype table (it depends on the installed torch)."""
    from instanttensor import _impl

    return frozenset(_impl.safetensors_to_torch_dtype)
