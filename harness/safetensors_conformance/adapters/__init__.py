"""Adapters make any implementation load a file the same way; see :mod:`.protocol`."""

from __future__ import annotations

from .protocol import Adapter, Capabilities, Description, Loaded, LoadedTensor, Rejected, Unsupported, Writer
from .registry import SelectionError, parse, registered, resolve

__all__ = [
    "Adapter",
    "Capabilities",
    "Description",
    "Loaded",
    "LoadedTensor",
    "Rejected",
    "SelectionError",
    "Unsupported",
    "Writer",
    "parse",
    "registered",
    "resolve",
]
