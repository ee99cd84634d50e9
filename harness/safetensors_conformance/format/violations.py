"""Violations are values: a requirement ID, a message, and where in the file it was found."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from .requirements import SHOULD_LEVEL, Req


class Violation(NamedTuple):
    """One broken requirement.

    ``offset`` is the absolute byte offset in the file where the problem starts (``None`` when no
    single byte is to blame). ``pointer`` is an RFC 6901 JSON pointer into the header (``None``
    outside the header's JSON).
    """

    requirement: Req
    message: str
    offset: int | None = None
    pointer: str | None = None

    @property
    def is_warning(self) -> bool:
        """True for SHOULD-level findings, which do not make a file non-conforming."""
        return self.requirement in SHOULD_LEVEL

    def to_json(self) -> dict[str, object]:
        return {
            "requirement": self.requirement.value,
            "message": self.message,
            "offset": self.offset,
            "pointer": self.pointer,
        }

    def __str__(self) -> str:
        where = []
        if self.offset is not None:
            where.append(f"offset {self.offset}")
        if self.pointer is not None:
            where.append(f"at {self.pointer}" if self.pointer else "at the header root")
        suffix = f" ({', '.join(where)})" if where else ""
        return f"[{self.requirement.value}] {self.message}{suffix}"


class FormatError(ValueError):
    """A file, or a writer's input, breaks MUST-level requirements.

    ``violations`` holds every MUST-level violation found before the reader had to stop, in file
    order; ``warnings`` the SHOULD-level ones; ``unreported`` counts violations left out of
    ``violations`` once the report limit was reached.
    """

    def __init__(
        self,
        violations: Sequence[Violation],
        warnings: Sequence[Violation] = (),
        unreported: int = 0,
    ) -> None:
        if not violations:
            raise ValueError("FormatError needs at least one violation")
        self.violations: tuple[Violation, ...] = tuple(violations)
        self.warnings: tuple[Violation, ...] = tuple(warnings)
        self.unreported = unreported
        more = len(self.violations) - 1 + unreported
        summary = str(self.violations[0]) + (f" (and {more} more)" if more else "")
        super().__init__(summary)

    @property
    def requirements(self) -> frozenset[Req]:
        """The IDs of the broken requirements."""
        return frozenset(v.requirement for v in self.violations)
