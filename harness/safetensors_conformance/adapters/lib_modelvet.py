"""modelvet's safetensors verifier, ``modelvet.verify_path(path, format="safetensors")`` (``modelvet``).

modelvet is a freestanding C11 structural validator (its own JSON scanner, fixed arena, policy
caps such as 8,192 tensors and 1,024 metadata entries) bound with ctypes. It reads the whole
file and returns a ``Report``: a verdict, ACCEPT or REJECT, with the first violation's code,
offset and details. It returns no tensors and no metadata: the adapter is a validator.

Documented rejection: a ``Report`` whose verdict is REJECT (``report.accepted`` false): a
malformed file is a normal result, never an exception. That is :class:`Rejected`, with the
violation's symbol, offset and details. Its exceptions (``ModelvetArgumentError``,
``ModelvetArenaError``, ``ModelvetError`` for a missing native library) are reserved for API
misuse and resource exhaustion, not verdicts, and escape.
"""

from __future__ import annotations

from ..format.dtypes import DTYPES
from .protocol import Capabilities, Description, Loaded, Rejected

_IMPLEMENTATION = "modelvet verify_path (safetensors, C11)"


class Adapter:
    """``modelvet``: ``verify_path(path, format="safetensors")``, its verdict only."""

    def __init__(self) -> None:
        self.name = "modelvet"

    def describe(self) -> Description:
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("modelvet")
            import modelvet  # type: ignore[import-untyped]
        except (PackageNotFoundError, ImportError) as error:
            reason = f"modelvet is not importable: {error}"
            return Description(_IMPLEMENTATION, "not installed", available=False, reason=reason)
        try:
            library = modelvet.library_version()  # the native library loads?
        except modelvet.ModelvetError as error:
            reason = f"modelvet's native library does not load: {error}"
            return Description(_IMPLEMENTATION, found, available=False, reason=reason)
        # Its dtype table is the spec's 22 codes; a validator returns none of them.
        capabilities = Capabilities("validator", frozenset(DTYPES), metadata=False)
        return Description(f"{_IMPLEMENTATION}, C library {library}", found, capabilities)

    def load(self, path: str) -> Loaded:
        import modelvet

        report = modelvet.verify_path(path, format="safetensors")
        if not report.accepted:
            detail = f"detail {report.details[0]}, {report.details[1]}"
            raise Rejected(f"{report.violation_name} ({report.violation}) at offset {report.offset}, {detail}")
        return Loaded(None, None)
