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
        """From a verdict that counts as right to one that does not (a skip included: the vector is
        no longer certified)."""
        return self.before.ok and not self.after.ok

    @property
    def improvement(self) -> bool:
        return not self.before.ok and self.after.ok


@dataclass(frozen=True)
class Comparison:
    changes: list[Change]
    #: (before, after) selections compared with each other, and how they are shown.
    pairs: list[tuple[str, str, str]]
    implementations_added: list[str]
    implementations_removed: list[str]
    vectors_added: list[str]
    vectors_removed: list[str]
    unchanged: int
    #: Why nothing could be compared, when nothing could.
    empty: str | None = None

    @property
    def regressions(self) -> list[Change]:
        return [c for c in self.changes if c.regression]

    @property
    def differs(self) -> bool:
        """Anything at all changed: a verdict, an implementation or its version, the vectors."""
        renamed = any(old != new or "->" in label for old, new, label in self.pairs)
        return bool(
            self.changes
            or renamed
            or self.implementations_added
            or self.implementations_removed
            or self.vectors_added
            or self.vectors_removed
            or self.empty
        )


class PairError(ValueError):
    """A ``--pair`` that names a selection the results do not hold."""


def pair_implementations(
    before: Results, after: Results, explicit: dict[str, str] | None = None
) -> list[tuple[str, str, str]]:
    """Which implementation of ``before`` is which of ``after``: pairs given explicitly, then the same
    selection string, then the same implementation (its own name in the description), when that is
    one to one. Each pair comes with a label that shows both sides when they differ."""
    explicit = explicit or {}
    for old, new in explicit.items():
        if old not in before.implementations or new not in after.implementations:
            raise PairError(f"--pair {old}={new}: the results hold no such selection")
    pairs = dict(explicit)
    left = [s for s in before.implementations if s not in pairs]
    right = [s for s in after.implementations if s not in pairs.values()]
    for selection in list(left):
        if selection in right:
            pairs[selection] = selection
            left.remove(selection)
            right.remove(selection)
    names_before = {s: before.implementations[s].implementation for s in left}
    names_after = {s: after.implementations[s].implementation for s in right}
    for old, name in names_before.items():
        same = [new for new, other in names_after.items() if other == name]
        if len(same) == 1 and list(names_before.values()).count(name) == 1:
            pairs[old] = same[0]
    labelled = []
    for old, new in pairs.items():
        a, b = before.implementations[old], after.implementations[new]
        label = old if old == new else f"{old} -> {new}"
        if a.version != b.version:
            label += f" ({a.version} -> {b.version})"
        labelled.append((old, new, label))
    return labelled


def compare(
    before: Results,
    after: Results,
    explicit: dict[str, str] | None = None,
    unstable: frozenset[tuple[str, str]] = frozenset(),
) -> Comparison:
    """``unstable``: (selection, vector) pairs whose verdict is known to vary from run to run (an
    implementation reading out of bounds, say); they are neither changes nor unchanged."""
    old, new = before.by_implementation(), after.by_implementation()
    pairs = pair_implementations(before, after, explicit)
    changes = []
    unchanged = 0
    old_vectors = {r.vector for s, _, _ in pairs for r in old.get(s, {}).values()}
    new_vectors = {r.vector for _, s, _ in pairs for r in new.get(s, {}).values()}
    for before_selection, after_selection, label in pairs:
        for vector, result in new.get(after_selection, {}).items():
            previous = old.get(before_selection, {}).get(vector)
            if previous is None or (after_selection, vector) in unstable:
                continue
            if previous.verdict != result.verdict:
                changes.append(Change(label, vector, previous.verdict, result.verdict))
            else:
                unchanged += 1
    empty = None
    if not after.results:
        empty = "the second results hold no verdicts: nothing was tested"
    elif not before.results:
        empty = "the first results hold no verdicts: nothing was tested"
    elif not pairs:
        empty = "the two results share no implementation (pair them with --pair BEFORE=AFTER)"
    elif not changes and not unchanged:
        empty = "the paired implementations share no vector"
    if empty is not None:  # vectors "removed" because nothing ran would be a false alarm
        old_vectors = new_vectors = set()
    paired_old = {p[0] for p in pairs}
    paired_new = {p[1] for p in pairs}
    return Comparison(
        changes,
        pairs,
        [n for n in new if n not in paired_new],
        [n for n in old if n not in paired_old],
        sorted(new_vectors - old_vectors),
        sorted(old_vectors - new_vectors),
        unchanged,
        empty,
    )


def render(comparison: Comparison, before_label: str, after_label: str) -> str:
    lines = [f"comparing {before_label} -> {after_label}"]
    if comparison.empty:
        lines.append(f"nothing compared: {comparison.empty}")
    for _, _, label in comparison.pairs:
        lines.append(f"compared: {label}")
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
