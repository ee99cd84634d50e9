"""The reference: a strict reader and a canonical writer for ``spec/safetensors.md``.

Pure Python and the standard library, with one optional C decoder (msgspec) for conforming headers
in bulk validation; nothing here imports the harness, the CLI or pytest.
Names are imported on first use, so that ``validate`` does not pay for the writer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .lazy import lazy_exports

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


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), __all__)
