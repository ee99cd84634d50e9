"""safetensors-print's reader, ``safetensors_print.reader.read_report(path)`` (``safetensors-print``).

``read_report`` describes a file instead of loading it: it reads the 8-byte length and the
header (at most 100,000,000 bytes, inside the file), strips trailing whitespace and NUL bytes,
parses the rest with Python's ``json`` (recording duplicate keys) and records every departure
from the specification as an ``Issue`` of severity ``error`` or ``warning`` (tensor fields,
dtypes, offsets against the data buffer, size agreement, gaps, overlaps, metadata values,
padding). It never reads tensor data for the report: the adapter is header-only, and reports
the report's tensors (name, dtype code, shape) and ``Report.metadata``.

Rejection, as the tool documents it: ``SafetensorsFormatError`` from ``read_report`` when the
header cannot be read at all (exit status 3), and a report with an issue of severity ``error``
(``Report.has_errors``; exit status 1, "the file violates the specification"). Both are
:class:`Rejected`; warnings (duplicate keys, ``__metadata__`` null, tensors out of offset order)
leave the file accepted. Any other exception escapes.
"""

from __future__ import annotations

from ..format.dtypes import DTYPES
from .protocol import Capabilities, Description, Loaded, LoadedTensor, Rejected

_IMPLEMENTATION = "safetensors-print reader.read_report"


class Adapter:
    """``safetensors-print``: ``read_report(path)``, its tensors and metadata; errors reject."""

    def __init__(self) -> None:
        self.name = "safetensors-print"

    def describe(self) -> Description:
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("safetensors-print")
            from safetensors_print.reader import read_report  # type: ignore[import-untyped]  # noqa: F401 - in this version?
        except (PackageNotFoundError, ImportError) as error:
            reason = f"safetensors_print.reader.read_report is not importable: {error}"
            return Description(_IMPLEMENTATION, "not installed", available=False, reason=reason)
        # It knows every dtype of the spec and reports the header's code as it is.
        return Description(_IMPLEMENTATION, found, Capabilities("header-only", frozenset(DTYPES), metadata=True))

    def load(self, path: str) -> Loaded:
        from safetensors_print.reader import ERROR, SafetensorsFormatError, read_report

        try:
            report = read_report(path)
        except SafetensorsFormatError as error:
            raise Rejected(str(error)) from error
        if report.has_errors:
            errors = [issue.message for issue in report.issues if issue.severity == ERROR]
            raise Rejected("; ".join(errors))
        tensors = [LoadedTensor(t.name, t.dtype_name, tuple(t.shape), None) for t in report.tensors]
        return Loaded(tensors, dict(report.metadata))
