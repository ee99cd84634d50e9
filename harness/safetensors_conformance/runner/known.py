"""Known failures: vectors an implementation is expected to fail, each with a reason.

One per line: ``VECTOR_ID`` (every implementation) or ``IMPLEMENTATION VECTOR_ID`` (one; the
selection may contain spaces, the id is the last word), then an optional ``# reason``. An
implementation that passes a listed vector is reported too: the list is strict, so it cannot
quietly go stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class KnownFailures:
    entries: dict[tuple[str | None, str], str]

    def reason(self, implementation: str, vector: str) -> str | None:
        """Why the vector is expected to fail for this implementation, or ``None`` if it is not."""
        return self.entries.get((implementation, vector), self.entries.get((None, vector)))

    @classmethod
    def read(cls, path: Path) -> KnownFailures:
        entries: dict[tuple[str | None, str], str] = {}
        for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            text, _, reason = raw.partition("#")
            words = text.split()
            if not words:
                continue
            if "/" not in words[-1]:
                raise ValueError(f"{path}:{number}: {words[-1]!r} is not a vector id (GROUP/NAME)")
            implementation = " ".join(words[:-1]) or None
            entries[(implementation, words[-1])] = reason.strip() or "listed as a known failure"
        return cls(entries)


NONE = KnownFailures({})
