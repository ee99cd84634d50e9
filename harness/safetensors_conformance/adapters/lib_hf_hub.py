"""huggingface_hub's local header parser, ``parse_local_safetensors_file_metadata(path)`` (``huggingface-hub``).

It reads the 8-byte length, refuses a length over ``constants.SAFETENSORS_MAX_HEADER_LENGTH``
(25,000,000 bytes) and a file shorter than the header, decodes the header as UTF-8 with
``errors="ignore"`` (invalid bytes are dropped), parses it with Python's ``json`` and keeps, for
each entry other than ``__metadata__``, a ``TensorInfo`` of its ``dtype``, ``shape`` and
``data_offsets`` as the JSON holds them, checked no further; ``__metadata__`` is returned as it
is (``{}`` when absent). It never reads the data buffer: the adapter is header-only and reports
names, dtype codes, shapes and metadata unchanged.

Documented rejection: ``huggingface_hub.errors.SafetensorsParsingError`` (a header that is too
short, too long, truncated, not JSON, or an entry without ``dtype``/``shape``/``data_offsets``);
that is :class:`Rejected`. Anything else (an ``AttributeError`` for a header that is not an
object, a ``TypeError`` for an entry that is not one) escapes.
"""

from __future__ import annotations

from typing import Any

from ..format.dtypes import DTYPES
from .protocol import Capabilities, Description, Loaded, LoadedTensor, Rejected

_IMPLEMENTATION = "huggingface_hub parse_local_safetensors_file_metadata"


class Adapter:
    """``huggingface-hub``: ``parse_local_safetensors_file_metadata(path)``, header only."""

    def __init__(self) -> None:
        self.name = "huggingface-hub"

    def describe(self) -> Description:
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("huggingface_hub")
            from huggingface_hub import parse_local_safetensors_file_metadata  # noqa: F401 - in this version?
        except (PackageNotFoundError, ImportError) as error:
            reason = f"huggingface_hub.parse_local_safetensors_file_metadata is not importable: {error}"
            return Description(_IMPLEMENTATION, "not installed", available=False, reason=reason)
        # Dtype codes come back as the header's strings: every dtype is reported as it is.
        return Description(_IMPLEMENTATION, found, Capabilities("header-only", frozenset(DTYPES), metadata=True))

    def load(self, path: str) -> Loaded:
        from huggingface_hub import parse_local_safetensors_file_metadata
        from huggingface_hub.errors import SafetensorsParsingError

        try:
            parsed = parse_local_safetensors_file_metadata(path)
        except SafetensorsParsingError as error:
            raise Rejected(str(error)) from error
        tensors = [_tensor(name, info.dtype, info.shape) for name, info in parsed.tensors.items()]
        metadata: Any = parsed.metadata
        return Loaded(tensors, metadata)


def _tensor(name: Any, dtype: Any, shape: Any) -> LoadedTensor:
    """The header's fields as the library keeps them (a JSON list becomes a tuple); the runner
    judges what cannot be content."""
    return LoadedTensor(name, dtype, tuple(shape) if isinstance(shape, list) else shape, None)
