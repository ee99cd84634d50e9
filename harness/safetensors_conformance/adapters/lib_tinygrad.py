"""tinygrad's safetensors loader, ``tinygrad.nn.state.safe_load(path)`` (``tinygrad``).

tinygrad parses the header with Python's ``json`` (``safe_load_metadata``: the 8-byte length,
then that slice of the file) and builds each tensor lazily as a slice of the file, bitcast to
the dtype and reshaped; the bytes are read when a tensor is realised. The adapter takes the
header from ``safe_load_metadata`` (its ``__metadata__`` is the metadata; tinygrad has no other
accessor), hands that file tensor to ``safe_load``, and reads each tensor's bytes by a
same-width bitcast to an unsigned integer and ``Tensor.data()`` (``data()`` has no buffer format
for ``bfloat16`` and FP8, nor for ``half`` before Python 3.12).

The environment variable ``DEV`` defaults to ``PYTHON`` here (tinygrad's pure-Python device: no
compiler is needed); set it before the run to choose another device.

No error is documented. The only deliberate refusal is the header parser's:
``json.JSONDecodeError``, or ``UnicodeDecodeError`` when ``json.loads`` decodes the header bytes;
those are :class:`Rejected`. A dtype of the spec that tinygrad lacks (C64, F8_E8M0, the FNUZ
types, F4, F6) is :class:`Unsupported`, found in the header before loading; any other exception
(``KeyError`` for an unknown dtype, a failed reshape or bitcast) escapes.
"""

from __future__ import annotations

import os
from typing import Any, cast

from .protocol import Capabilities, Description, Loaded, LoadedTensor, Rejected, Unsupported
from .tensors import from_buffer

#: ``tinygrad.nn.state.safe_dtypes``: the dtype codes tinygrad loads.
_DTYPES = frozenset(
    {"BOOL", "I8", "U8", "I16", "U16", "I32", "U32", "I64", "U64", "F8_E4M3", "F8_E5M2", "F16", "BF16", "F32", "F64"}
)
_IMPLEMENTATION = "tinygrad nn.state.safe_load"


def _device() -> str:
    """The device tinygrad uses: ``DEV`` from the environment, set to ``PYTHON`` if absent."""
    return os.environ.setdefault("DEV", "PYTHON")


class Adapter:
    """``tinygrad``: ``safe_load_metadata`` for the header, ``safe_load`` for the tensors."""

    def __init__(self) -> None:
        self.name = "tinygrad"

    def describe(self) -> Description:
        from importlib.metadata import PackageNotFoundError, version

        device = _device()
        implementation = f"{_IMPLEMENTATION} (DEV={device})"
        try:
            found = version("tinygrad")
            import tinygrad.nn.state  # noqa: F401 - importable with this device?
        except (PackageNotFoundError, ImportError) as error:
            reason = f"tinygrad is not importable: {error}"
            return Description(implementation, "not installed", available=False, reason=reason)
        return Description(implementation, found, Capabilities("full", _DTYPES, metadata=True))

    def load(self, path: str) -> Loaded:
        import json

        _device()
        from tinygrad.dtype import dtypes
        from tinygrad.nn.state import inverse_safe_dtypes, safe_load, safe_load_metadata

        try:
            file, _, header = safe_load_metadata(path)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise Rejected(str(error)) from error
        _check_dtypes(header)
        loaded = safe_load(file)
        same_width = {1: dtypes.uint8, 2: dtypes.uint16, 4: dtypes.uint32, 8: dtypes.uint64}
        tensors: list[LoadedTensor] = []
        for name, tensor in loaded.items():
            raw = tensor.bitcast(same_width[tensor.dtype.itemsize]).data()
            shape = cast("tuple[int, ...]", tensor.shape)  # concrete: the header's, after reshape
            tensors.append(from_buffer(name, inverse_safe_dtypes[tensor.dtype], shape, raw.tobytes()))
        return Loaded(tensors, header.get("__metadata__") if isinstance(header, dict) else None)


def _check_dtypes(header: Any) -> None:
    """Refuse, as a capability gap, a spec dtype that tinygrad has no type for."""
    from ..format.dtypes import DTYPES

    if not isinstance(header, dict):
        return  # safe_load fails on it by itself
    for name, entry in header.items():
        dtype = entry.get("dtype") if name != "__metadata__" and isinstance(entry, dict) else None
        if isinstance(dtype, str) and dtype in DTYPES and dtype not in _DTYPES:
            raise Unsupported(f"tinygrad has no {dtype} (tensor {name!r})")
