"""What changed between two runs: verdicts that moved, implementations and vectors that came or went."""

from __future__ import annotations

from dataclasses import dataclass

from ..runner.results import Results
from ..runner.verdicts import Verdict


@dataclass(frozen=True)
class Change:
    implementation: str
    vector: str
    before: Verdict
    after: Verdict

    @property
    def regression(self) -> bool:
        return not self.before.failed and self.after.failed

    @property
    def improvement(self) -> bool:
        return self.before.failed and not self.after.failed


@dataclass(frozen=True)
class Comparison:
    changes: list[Change]
    implementations_added: list[str]
    implementations_removed: list[str]
    vectors_added: list[str]
    vectors_removed: list[str]
    unchanged: int

    @property
    def regressions(self) -> list[Change]:
        return [c for c in self.changes if c.regression]


def compare(before: Results, after: Results) -> Comparison:
    old, new = before.by_implementation(), after.by_implementation()
    changes = []
    unchanged = 0
    old_vectors = {r.vector for r in before.results}
    new_vectors = {r.vector for r in after.results}
    for name in new:
        for vector, result in new[name].items():
            previous = old.get(name, {}).get(vector)
            if previous is None:
                continue
            if previous.verdict != result.verdict:
                changes.append(Change(name, vector, previous.verdict, result.verdict))
            else:
                unchanged += 1
    return Comparison(
        changes,
        [n for n in new if n not in old],
        [n for n in old if n not in new],
        sorted(new_vectors - old_vectors),
        sorted(old_vectors - new_vectors),
        unchanged,
    )


def render(comparison: Comparison, before_label: str, after_label: str) -> str:
    lines = [f"comparing {before_label} -> {after_label}"]
    for title, items in (
        ("implementations added", comparison.implementations_added),
        ("implementations removed", comparison.implementations_removed),
        ("vectors added", comparison.vectors_added),
        ("vectors removed", comparison.vectors_removed),
    ):
        if items:
            shown = ", ".join(items[:10]) + (f" and {len(items) - 10} more" if len(items) > 10 else "")
            lines.append(f"{title}: {shown}")
    for title, predicate in (("regressions", "regression"), ("improvements", "improvement")):
        chosen = [c for c in comparison.changes if getattr(c, predicate)]
        lines.append(f"{title}: {len(chosen)}")
        lines += [f"  {c.implementation} {c.vector}: {c.before.value} -> {c.after.value}" for c in chosen]
    other = [c for c in comparison.changes if not c.regression and not c.improvement]
    if other:
        lines.append(f"other changes: {len(other)}")
        lines += [f"  {c.implementation} {c.vector}: {c.before.value} -> {c.after.value}" for c in other]
    lines.append(f"unchanged: {comparison.unchanged}")
    return "\n".join(lines)
