"""Adapters make any implementation load a file the same way; see :mod:`.protocol`."""

from __future__ import annotations

from ..format.dtypes import DTYPES
from .protocol import (
    ALL_DTYPES,
    Adapter,
    Capabilities,
    Description,
    Loaded,
    LoadedTensor,
    Rejected,
    Unsupported,
    Writer,
)
from .registry import SelectionError, parse, registered, resolve
from .tensors import UnknownDtype, from_buffer, from_numpy, from_torch

__all__ = [
    "ALL_DTYPES",
    "DTYPES",
    "Adapter",
    "Capabilities",
    "Description",
    "Loaded",
    "LoadedTensor",
    "Rejected",
    "SelectionError",
    "UnknownDtype",
    "Unsupported",
    "Writer",
    "from_buffer",
    "from_numpy",
    "from_torch",
    "parse",
    "registered",
    "resolve",
]
