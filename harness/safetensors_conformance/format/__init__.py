"""The reference: a strict reader and a canonical writer for ``spec/safetensors.md``.

Pure Python and standard library only; nothing here imports the harness, the CLI or pytest.
Names are imported on first use, so that ``validate`` does not pay for the writer.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .dtypes import DTYPES, DType
    from .header import Header, TensorInfo
    from .reader import Report, SafetensorsFile, Source, Tensor, check, iter_violations, load, open_file, validate
    from .requirements import Req
    from .violations import FormatError, Violation
    from .writer import serialize, write_file

_EXPORTS = {
    "DTYPES": "dtypes",
    "DType": "dtypes",
    "Header": "header",
    "TensorInfo": "header",
    "Report": "reader",
    "SafetensorsFile": "reader",
    "Source": "reader",
    "Tensor": "reader",
    "check": "reader",
    "iter_violations": "reader",
    "load": "reader",
    "open_file": "reader",
    "validate": "reader",
    "Req": "requirements",
    "FormatError": "violations",
    "Violation": "violations",
    "serialize": "writer",
    "write_file": "writer",
}

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
    "check",
    "iter_violations",
    "load",
    "open_file",
    "serialize",
    "validate",
    "write_file",
]


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
