"""Turning what a library returns into the protocol's tensors: NumPy arrays, PyTorch tensors, raw buffers.

Adapters call these instead of writing the conversions again: each knows the dtype names of its
library, copies device tensors back to the host, and undoes PyTorch's packing of ``F4`` into pairs
(``float4_e2m1fn_x2`` counts packed pairs in its last dimension, the file counts elements).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

from ..format.dtypes import DTYPES
from .protocol import LoadedTensor

#: NumPy (and ml_dtypes) dtype names → safetensors dtype codes.
NUMPY_NAMES = {
    "bool": "BOOL", "uint8": "U8", "int8": "I8", "int16": "I16", "uint16": "U16", "float16": "F16",
    "bfloat16": "BF16", "int32": "I32", "uint32": "U32", "float32": "F32", "complex64": "C64", "float64": "F64",
    "int64": "I64", "uint64": "U64", "float8_e4m3fn": "F8_E4M3", "float8_e5m2": "F8_E5M2",
    "float8_e4m3fnuz": "F8_E4M3FNUZ", "float8_e5m2fnuz": "F8_E5M2FNUZ", "float8_e8m0fnu": "F8_E8M0",
    "float4_e2m1fn": "F4", "float6_e2m3fn": "F6_E2M3", "float6_e3m2fn": "F6_E3M2",
}  # fmt: skip
#: PyTorch dtype names (``str(tensor.dtype)`` without ``torch.``) → safetensors dtype codes.
TORCH_NAMES = {
    "bool": "BOOL", "uint8": "U8", "int8": "I8", "int16": "I16", "uint16": "U16", "float16": "F16", "bfloat16": "BF16",
    "int32": "I32", "uint32": "U32", "float32": "F32", "complex64": "C64", "float64": "F64", "int64": "I64",
    "uint64": "U64", "float8_e4m3fn": "F8_E4M3", "float8_e5m2": "F8_E5M2", "float8_e4m3fnuz": "F8_E4M3FNUZ",
    "float8_e5m2fnuz": "F8_E5M2FNUZ", "float8_e8m0fnu": "F8_E8M0", "float4_e2m1fn_x2": "F4",
}  # fmt: skip


class UnknownDtype(ValueError):
    """A library dtype with no safetensors code, or a code that is not in the table."""


def from_buffer(name: str, dtype: str, shape: Sequence[int], data: bytes | bytearray | memoryview) -> LoadedTensor:
    """A tensor from its safetensors dtype code, shape and raw little-endian bytes."""
    if dtype not in DTYPES:
        raise UnknownDtype(f"{dtype!r} is not a safetensors dtype (one of {', '.join(DTYPES)})")
    return LoadedTensor(name, dtype, tuple(shape), bytes(data) if isinstance(data, memoryview) else data)


def from_numpy(name: str, array: Any, dtype: str | None = None) -> LoadedTensor:
    """A tensor from a NumPy array. ``dtype`` names the safetensors dtype when the library hands
    back another representation (MLX returns ``F8_E4M3`` as ``uint8``: pass ``dtype="F8_E4M3"``)."""
    import numpy as np

    code = dtype or NUMPY_NAMES.get(array.dtype.name)
    if code is None:
        raise UnknownDtype(f"NumPy dtype {array.dtype.name!r} has no safetensors code: pass dtype=")
    shape = tuple(int(d) for d in array.shape)  # before ascontiguousarray, which makes a scalar 1-d
    contiguous = np.ascontiguousarray(array)
    if contiguous.dtype.byteorder == ">":
        contiguous = contiguous.astype(contiguous.dtype.newbyteorder("<"))
    return from_buffer(name, code, shape, contiguous.tobytes())


def from_torch(name: str, tensor: Any) -> LoadedTensor:
    """A tensor from a PyTorch tensor on any device (copied back to the host)."""
    import torch

    code = TORCH_NAMES.get(str(tensor.dtype).removeprefix("torch."))
    if code is None:
        raise UnknownDtype(f"PyTorch dtype {tensor.dtype} has no safetensors code")
    host = tensor.detach().to("cpu").contiguous()
    shape = tuple(int(d) for d in host.shape)
    if code == "F4":  # packed pairs: the file's last dimension is twice PyTorch's
        shape = (*shape[:-1], shape[-1] * 2) if shape else (2,)
    data = host.reshape(-1).view(torch.uint8).numpy().tobytes() if host.numel() else b""
    return from_buffer(name, code, shape, data)


def header_dtypes(path: str) -> list[tuple[str, str]]:
    """``(name, dtype)`` for each entry whose dtype is a code of the spec, read from the header as
    a reader would (the declared length, then JSON); empty when the header cannot be read that way,
    and the library then judges the file by itself. Used only to find capability gaps."""
    try:
        with open(path, "rb") as file:  # noqa: PTH123 - a peek at the header, with its size
            prefix = file.read(8)
            size = os.fstat(file.fileno()).st_size
            length = int.from_bytes(prefix, "little")
            if len(prefix) < 8 or length > size - 8:
                return []
            root = json.loads(file.read(length).decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return []
    if not isinstance(root, dict):
        return []
    found = []
    for name, entry in root.items():
        dtype = entry.get("dtype") if name != "__metadata__" and isinstance(entry, dict) else None
        if isinstance(dtype, str) and dtype in DTYPES:
            found.append((name, dtype))
    return found
