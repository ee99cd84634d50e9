"""MLX's safetensors loader, ``mlx.core.load(path, format="safetensors", return_metadata=True)`` (``mlx``).

MLX (C++ core, CPU build ``mlx[cpu]``) reads the 8-byte length, refuses a length of 0 or of
100,000,000 or more and a header longer than the file, parses the header with nlohmann::json,
requires an object, and for each entry checks that ``data_offsets`` has two entries, that its
range holds exactly shape times element size bytes and that it ends inside the file; the tensors
are lazy arrays read from the file when evaluated. ``__metadata__`` values are converted to
strings (a non-string value throws). The adapter evaluates each array through NumPy
(``np.array``); ``bfloat16``, which NumPy lacks, is viewed as ``uint16`` first and reported as
``BF16``.

MLX has no type for F64, F4, F6, F8_E5M2 or the FNUZ types (its own "unsupported dtype"
error, turned into :class:`Unsupported` for a dtype of the spec). It returns F8_E4M3 and
F8_E8M0 as ``uint8``, exactly like U8, and gives no way to tell them apart: those two are not
declared (vectors that need them are skipped), and what MLX returns is reported as it is.

No error class is documented: every C++ exception reaches Python as ``RuntimeError``. Those MLX
throws on purpose are :class:`Rejected`: messages beginning ``[load_safetensors]`` (its checks),
``[read] Unable to read`` (its file reader, for a file shorter than what it must read),
``[json.exception.parse_error`` and ``[json.exception.out_of_range.406]`` (the JSON parser's
refusals: syntax, a number out of range), and ``[safetensor] unsupported dtype`` for a code
outside the spec. A parse error whose message quotes invalid UTF-8 reaches Python as a
``UnicodeDecodeError`` over that message (the binding cannot decode it): that is the same
rejection. nlohmann's other ``type_error`` / ``out_of_range`` exceptions (a missing field, a
value of the wrong JSON type, met while MLX reads the parsed header) are not MLX's own checks
and escape.

A dimension beyond ``int32`` is narrowed by nlohmann's conversion: it wraps, and a tensor can
come back with another (even a negative) shape; the adapter reports the shape MLX holds.
"""

from __future__ import annotations

from typing import Any

from .protocol import Capabilities, Description, Loaded, LoadedTensor, Rejected, Unsupported
from .tensors import NUMPY_NAMES, from_numpy

#: The codes ``dtype_from_safetensor_str`` maps to an MLX type of their own (F8_E4M3 and
#: F8_E8M0 map to ``uint8`` and cannot be told from U8).
_DTYPES = frozenset({"BOOL", "U8", "I8", "U16", "I16", "F16", "BF16", "U32", "I32", "F32", "C64", "U64", "I64"})
#: Every code MLX loads: an "unsupported dtype" error naming one of these quotes a code cut short
#: (the message ends at a NUL byte, so ``"F32\u0000"`` reads as ``F32``), not a capability gap.
_KNOWN = _DTYPES | {"F8_E4M3", "F8_E8M0"}
_IMPLEMENTATION = "MLX mlx.core.load (safetensors, CPU)"
#: Its own checks, its reader's short read, and the JSON parser's refusals (syntax, a number out
#: of range).
_REJECTIONS = (
    "[load_safetensors]",
    "[read] Unable to read",
    "[json.exception.parse_error",
    "[json.exception.out_of_range.406]",
)
_UNSUPPORTED_DTYPE = "[safetensor] unsupported dtype "


class Adapter:
    """``mlx``: ``mlx.core.load(path, format="safetensors", return_metadata=True)``."""

    def __init__(self) -> None:
        self.name = "mlx"

    def describe(self) -> Description:
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("mlx")
            import mlx.core  # noqa: F401 - plain ``mlx`` (no ``mlx[cpu]``) fails to import on Linux
        except (PackageNotFoundError, ImportError) as error:
            reason = f"mlx.core is not importable: {error}"
            return Description(_IMPLEMENTATION, "not installed", available=False, reason=reason)
        return Description(_IMPLEMENTATION, found, Capabilities("full", _DTYPES, metadata=True))

    def load(self, path: str) -> Loaded:
        import mlx.core as mx

        try:
            loaded: Any = mx.load(path, format="safetensors", return_metadata=True)
            arrays, metadata = loaded
            tensors = [_tensor(mx, name, array) for name, array in arrays.items()]
        except RuntimeError as error:
            verdict = _classify(str(error))
            if verdict is None:
                raise
            raise verdict from error
        except UnicodeDecodeError as error:
            if isinstance(error.object, bytes) and error.object.startswith(b"[json.exception.parse_error"):
                raise Rejected(error.object.decode("utf-8", errors="backslashreplace")) from error
            raise
        return Loaded(tensors, metadata)


def _classify(message: str) -> Rejected | Unsupported | None:
    """:class:`Rejected` or :class:`Unsupported` for MLX's own errors, ``None`` for the rest."""
    from ..format.dtypes import DTYPES

    if message.startswith(_REJECTIONS):
        return Rejected(message)
    if message.startswith(_UNSUPPORTED_DTYPE):
        code = message.removeprefix(_UNSUPPORTED_DTYPE)
        return Unsupported(f"MLX has no {code}") if code in DTYPES and code not in _KNOWN else Rejected(message)
    return None


def _tensor(mx: Any, name: str, array: Any) -> LoadedTensor:
    """An MLX array evaluated through NumPy (``bfloat16`` as its ``uint16`` bit pattern).

    A dimension that does not fit MLX's ``int32`` wraps, and can come back negative: such an
    array has no bytes to read, and is reported with MLX's shape (the runner judges it).
    """
    import numpy as np

    if any(d < 0 for d in array.shape):
        code = NUMPY_NAMES.get(str(array.dtype).removeprefix("mlx.core."), str(array.dtype))
        return LoadedTensor(name, code, tuple(array.shape), None)
    if array.dtype == mx.bfloat16:
        return from_numpy(name, np.array(array.view(mx.uint16)), dtype="BF16")
    return from_numpy(name, np.array(array))
