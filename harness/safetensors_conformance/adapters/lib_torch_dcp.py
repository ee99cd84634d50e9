"""PyTorch's own safetensors parser, in ``torch.distributed.checkpoint`` (``torch-dcp``).

Entry points: ``torch.distributed.checkpoint._hf_utils._get_safetensors_file_metadata(file)``,
which reads the 8-byte length and parses that many bytes with Python's ``json``, returning the
whole header and where the data starts; and
``torch.distributed.checkpoint._consolidate_hf_safetensors._read_tensor_data(file, begin, end,
data_start)``, which seeks and reads ``end - begin`` bytes. DCP's consolidation of sharded
checkpoints reads files this way. Neither function checks anything: offsets, sizes, dtypes and
shapes are taken from the header as they are, and the dtype code travels as a string (the
float32 fallback of ``_hf_utils._get_dtype`` is not on this path). The adapter reports the
header's dtype, shape and ``__metadata__`` unchanged, with the bytes the library read.

No error is documented. The only deliberate refusal is the header parser's:
``json.JSONDecodeError``, or ``UnicodeDecodeError`` when ``json.loads`` decodes the header bytes;
those are :class:`Rejected`. Anything else (``struct.error`` on a file shorter than 8 bytes, a
``KeyError`` for a missing field, an ``OSError`` from a negative seek) escapes.
"""

from __future__ import annotations

from typing import Any

from ..format.dtypes import DTYPES
from .protocol import Capabilities, Description, Loaded, LoadedTensor, Rejected
from .tensors import from_buffer

_IMPLEMENTATION = "PyTorch torch.distributed.checkpoint safetensors parser (_hf_utils)"
_MODULES = ("torch/distributed/checkpoint/_hf_utils.py", "torch/distributed/checkpoint/_consolidate_hf_safetensors.py")


class Adapter:
    """``torch-dcp``: the header from ``_get_safetensors_file_metadata``, bytes from ``_read_tensor_data``."""

    def __init__(self) -> None:
        self.name = "torch-dcp"

    def describe(self) -> Description:
        # Without importing torch (seconds): the installed version, and the two private modules.
        from importlib.metadata import PackageNotFoundError, files, version

        try:
            found = version("torch")
            shipped = {str(path) for path in files("torch") or ()}
        except PackageNotFoundError:
            return Description(_IMPLEMENTATION, "not installed", available=False, reason="torch is not installed")
        missing = [module for module in _MODULES if module not in shipped]
        if missing:
            reason = f"torch {found} has no {', '.join(missing)}"
            return Description(_IMPLEMENTATION, found, available=False, reason=reason)
        # Raw bytes under the header's own dtype code: every dtype comes back as it is.
        return Description(_IMPLEMENTATION, found, Capabilities("full", frozenset(DTYPES), metadata=True))

    def load(self, path: str) -> Loaded:
        import json

        from torch.distributed.checkpoint._consolidate_hf_safetensors import _read_tensor_data
        from torch.distributed.checkpoint._hf_utils import _get_safetensors_file_metadata

        with open(path, "rb") as file:  # noqa: PTH123 - the library reads from a file object
            try:
                header, data_start = _get_safetensors_file_metadata(file)
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                raise Rejected(str(error)) from error
            tensors = []
            for name, entry in header.items():
                if name == "__metadata__":  # the library's DEFAULT_EXTRA_METADATA_KEY
                    continue
                offsets = entry["data_offsets"]
                data = _read_tensor_data(file, offsets[0], offsets[1], data_start)
                tensors.append(_tensor(name, entry["dtype"], entry["shape"], data))
        return Loaded(tensors, header.get("__metadata__"))


def _tensor(name: Any, dtype: Any, shape: Any, data: bytes) -> LoadedTensor:
    """The header's fields as the library keeps them; the runner judges what cannot be content."""
    if isinstance(dtype, str) and dtype in DTYPES and isinstance(shape, list):
        return from_buffer(name, dtype, shape, data)
    return LoadedTensor(name, dtype, shape, data)
