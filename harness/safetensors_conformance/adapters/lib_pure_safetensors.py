"""pure-safetensors, ``pure_safetensors.SafeTensors(path, "r")`` (``pure-safetensors``).

A pure-Python reader: it parses the header with Python's ``json``, validates it with a
marshmallow schema (unknown keys refused, non-negative integer shapes and offsets, begin <= end),
checks each tensor's size and that tensors do not overlap, and memory-maps the file. The adapter
reads ``SafeTensors.metadata`` and, for each entry of ``SafeTensors.tensors``, the raw buffer that
``as_buffer()[name]`` maps (bytes, the library's dtype and shape), copied before the file is
closed.

Documented rejections: ``pure_safetensors.exc.SafeTensorError`` (and its subclasses
``SafeTensorHeaderError``, ``SafeTensorEmptyFileError``) and ``marshmallow.ValidationError`` from
the schema; ``json.JSONDecodeError`` and ``UnicodeDecodeError`` from its ``json.loads`` of the
header. Those are :class:`Rejected`. It knows the classic dtypes only (BOOL, BF16, U8-U64, I8-I64,
F16, F32, F64) and raises ``KeyError`` on any other code while loading the header: for a code of
the spec that is :class:`Unsupported`, for an unknown code the ``KeyError`` escapes.
"""

from __future__ import annotations

from .protocol import Capabilities, Description, Loaded, LoadedTensor, Rejected, Unsupported
from .tensors import from_buffer

#: ``pure_safetensors.safetensors.dtypes``.
_DTYPES = frozenset({"BOOL", "BF16", "U8", "U16", "U32", "U64", "I8", "I16", "I32", "I64", "F16", "F32", "F64"})
_IMPLEMENTATION = "pure-safetensors SafeTensors(path, 'r')"


class Adapter:
    """``pure-safetensors``: ``SafeTensors(path, "r")``, its ``metadata`` and ``as_buffer()``."""

    def __init__(self) -> None:
        self.name = "pure-safetensors"

    def describe(self) -> Description:
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("pure-safetensors")
            import pure_safetensors  # type: ignore[import-untyped]  # noqa: F401 - marshmallow 4 breaks it
        except (PackageNotFoundError, ImportError) as error:
            reason = f"pure-safetensors is not importable: {error}"
            return Description(_IMPLEMENTATION, "not installed", available=False, reason=reason)
        return Description(_IMPLEMENTATION, found, Capabilities("full", _DTYPES, metadata=True))

    def load(self, path: str) -> Loaded:
        import json

        import marshmallow
        from pure_safetensors import SafeTensors
        from pure_safetensors.exc import SafeTensorError  # type: ignore[import-untyped]

        from ..format.dtypes import DTYPES

        try:
            opened = SafeTensors(path, "r")
        except (SafeTensorError, marshmallow.ValidationError, json.JSONDecodeError, UnicodeDecodeError) as error:
            raise Rejected(str(error)) from error
        except KeyError as error:  # its dtype table, looked up while the header loads
            code = error.args[0] if error.args else None
            if isinstance(code, str) and code in DTYPES and code not in _DTYPES:
                raise Unsupported(f"pure-safetensors has no {code}") from error
            raise
        with opened:
            buffers = opened.as_buffer()
            tensors: list[LoadedTensor] = []
            for name in opened.tensors:
                buffer, dtype, shape = buffers[name]
                tensors.append(from_buffer(name, dtype.name, shape, bytes(buffer)))
            metadata = opened.metadata
        return Loaded(tensors, metadata)
