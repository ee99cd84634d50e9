"""Violations are values: a requirement ID, a message, and where in the file it was found."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from .requirements import PRECEDENCE, SHOULD_LEVEL, Flag, Req


class Violation(NamedTuple):
    """One broken requirement.

    ``offset`` is the absolute byte offset in the file where the problem starts (``None`` when no
    single byte is to blame). ``pointer`` is an RFC 6901 JSON pointer into the header (``None``
    outside the header's JSON). ``flag`` names the implementation-defined behaviour (spec section
    12) under which a reader MAY accept the file despite this violation; ``None`` when none does.
    """

    requirement: Req
    message: str
    offset: int | None = None
    pointer: str | None = None
    flag: Flag | None = None

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
            "flag": None if self.flag is None else self.flag.value,
        }

    def __str__(self) -> str:
        where = []
        if self.offset is not None:
            where.append(f"offset {self.offset}")
        if self.pointer is not None:
            # Pointers quote attacker-controlled names: show unprintable ones escaped.
            shown = self.pointer if self.pointer.isprintable() else ascii(self.pointer)
            where.append(f"at {shown}" if self.pointer else "at the header root")
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

    @property
    def primary(self) -> Req | None:
        """The requirement that decides the rejection (see :func:`primary_requirement`)."""
        return primary_requirement(self.violations)


def primary_requirement(violations: Sequence[Violation]) -> Req | None:
    """The primary requirement among ``violations`` (spec section 1, *Precedence*).

    It is the first, in the spec's order, of the MUST-level requirements broken in a way no flag
    permits; ``None`` when there is none (the file conforms, or a reader MAY accept it under flags).
    """
    unflagged = [v.requirement for v in violations if v.flag is None and not v.is_warning]
    return min(unflagged, key=PRECEDENCE.__getitem__, default=None)
