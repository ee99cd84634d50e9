"""safetensors-conformance: the safetensors specification, its reference reader and writer, and a
conformance kit for any implementation.

The package re-exports the reference (:mod:`safetensors_conformance.format`); names are imported
on first use, which keeps the command line's start-up short.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import format as _format

if TYPE_CHECKING:
    from .format import (
        DTYPES,
        DType,
        FormatError,
        Header,
        Report,
        Req,
        SafetensorsFile,
        Source,
        Tensor,
        TensorInfo,
        Violation,
        check,
        iter_violations,
        load,
        open_file,
        serialize,
        validate,
        write_file,
    )

__version__ = "0.1.0"
__all__ = [
    "DTYPES",
    "DType",
    "FormatError",
    "Header",
    "Report",
    "Req",
    "SafetensorsFile",
    "Source",
    "Tensor",
    "TensorInfo",
    "Violation",
    "__version__",
    "check",
    "iter_violations",
    "load",
    "open_file",
    "serialize",
    "validate",
    "write_file",
]


def __getattr__(name: str) -> object:
    if name in _format.__all__:
        value = getattr(_format, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
