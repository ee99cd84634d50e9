"""From raw findings to one minimal finding per distinct divergence, each with its sidecar.

1. Each raw input is run again through its target: the failure pattern it shows is its bucket
   (an input that no longer fails keeps the pattern it was recorded with, unminimized).
2. The smallest input of each bucket is minimized against the same predicate (same pattern):
   whole members, fields and metadata keys first, then chunks of the header text (the length
   prefix recomputed) and of the buffer.
3. Every minimized input runs through every available adapter, isolated, exactly as ``run``
   runs a vector (:func:`~..runner.run.run`), and gets its outcome pattern: the verdict of each
   adapter and the reference's side (its primary requirement, or ``accepted``).
4. Inputs with the same outcome pattern are one finding: ``findings/NAME.bin`` and
   ``findings/NAME.json``.

The sidecar (``docs/fuzzing.md``; ``vectors promote FILE`` reads it)::

    {"target": "differential" | "reference",
     "impl": "SELECTION" | null,
     "reference": {"accepted": bool, "primary": "REQ-ID" | null, "offset": int | null},
     "outcomes": {"SELECTION": "VERDICT", ...},
     "campaign": {"started": "ISO 8601", "seed": int, "executions": int}}
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from ..corpus import Corpus
from ..corpus.model import Vector
from ..runner.run import Settings, run
from .campaign import artifact_kind
from .framing import Obj, dumps, encode, frame, parse, split
from .oracle import Oracle, judge_input
from .targets import Differential, Finding, Robustness, TargetUnavailable

#: Predicate runs one minimization may spend, and seconds.
MINIMIZE_TESTS: Final = 600
MINIMIZE_SECONDS: Final = 20.0
#: What a libFuzzer artifact that does not fail again is recorded as, for the reference.
_ARTIFACT_VERDICTS: Final = {"timeout": "timeout", "oom": "memory-limit", "crash": "crash", "slow-unit": "timeout"}

Pattern = tuple[str, ...]
#: The folder, inside a campaign's output, of the triaged findings.
FINDINGS: Final = "findings"


@dataclass(frozen=True)
class CampaignInfo:
    """The campaign a finding came from, as its sidecar records it."""

    started: str
    seed: int
    executions: int


@dataclass
class Group:
    """One distinct divergence: its smallest input and what every adapter did with it."""

    name: str
    target: str
    impl: str | None
    data: bytes
    pattern: Pattern
    detail: str
    reference: dict[str, Any]
    outcomes: dict[str, str]
    members: list[Path] = field(default_factory=list)

    def sidecar(self, campaign: CampaignInfo) -> dict[str, Any]:
        return {
            "target": self.target,
            "impl": self.impl,
            "reference": self.reference,
            "outcomes": dict(sorted(self.outcomes.items())),
            "campaign": {"started": campaign.started, "seed": campaign.seed, "executions": campaign.executions},
        }

    def summary(self) -> dict[str, Any]:
        """Its entry in summary.json (with what the sidecar leaves out: the pattern and detail)."""
        return {
            "file": f"{FINDINGS}/{self.name}.bin",
            "sidecar": f"{FINDINGS}/{self.name}.json",
            "target": self.target,
            "pattern": list(self.pattern),
            "detail": self.detail,
            "reference": self.reference,
            "outcomes": dict(sorted(self.outcomes.items())),
            "size": len(self.data),
            "inputs": len(self.members),
        }


class Predicate:
    """The target a finding came from, run again on other inputs: its failure pattern or ``None``."""

    def __init__(self, target: str, impl: str | None, settings: Settings) -> None:
        self.target = target
        self._run: Callable[[bytes], None]
        self._differential: Differential | None = None
        if target == "differential":
            assert impl is not None
            self._differential = Differential(impl, settings)
            self._run = self._differential
        else:
            self._run = Robustness(deep_every=1)  # every check on every input: the crc must not decide

    def __call__(self, data: bytes) -> tuple[Pattern, str] | None:
        try:
            self._run(data)
        except Finding as finding:
            return (finding.target, *finding.pattern), finding.detail
        return None

    def close(self) -> None:
        if self._differential is not None:
            self._differential.close()


# --- Minimizing -----------------------------------------------------------------------------------


class _Budget:
    def __init__(self, tests: int, seconds: float) -> None:
        self.left = tests
        self.until = time.monotonic() + seconds

    def spend(self) -> bool:
        self.left -= 1
        return self.left >= 0 and time.monotonic() < self.until


def minimize(
    data: bytes, keeps: Callable[[bytes], bool], tests: int = MINIMIZE_TESTS, seconds: float = MINIMIZE_SECONDS
) -> bytes:
    """The smallest input found that ``keeps`` still holds for (``data`` itself if none is)."""
    budget = _Budget(tests, seconds)

    def accept(candidate: bytes) -> bool:
        return len(candidate) < len(best) and budget.spend() and keeps(candidate)

    best = data
    framed = parse(best)
    if framed is not None:
        canonical = frame(encode(dumps(framed.root)), framed.buffer)
        if accept(canonical):
            best = canonical
        best = _drop_members(best, accept)
    parts = split(best)
    if parts is not None:
        header, buffer = parts
        header = _ddmin(header, lambda h: frame(h, buffer, align=False), accept)
        buffer = _ddmin(buffer, lambda b: frame(header, b, align=False), accept)
        best = min(best, frame(header, buffer, align=False), key=len)
    else:
        best = _ddmin(best, lambda b: b, accept)
    return best


def _drop_members(data: bytes, accept: Callable[[bytes], bool]) -> bytes:
    """Remove root members, then fields of entries and metadata keys, one at a time."""
    best = data
    for depth in (0, 1):
        framed = parse(best)
        if framed is None or not isinstance(framed.root, Obj):
            return best
        containers = [framed.root] if depth == 0 else [m[1] for m in framed.root if isinstance(m[1], Obj)]
        for container in containers:
            index = len(container) - 1
            while index >= 0:
                removed = container.pop(index)
                candidate = frame(encode(dumps(framed.root)), framed.buffer)
                if accept(candidate):
                    best = candidate
                else:
                    container.insert(index, removed)
                index -= 1
    return best


def _ddmin(items: bytes, build: Callable[[bytes], bytes], accept: Callable[[bytes], bool]) -> bytes:
    """Delta debugging by complements: remove chunks while the input still fails."""
    chunks = 2
    while len(items) >= 1:
        size = max(1, -(-len(items) // chunks))
        for start in range(0, len(items), size):
            candidate = items[:start] + items[start + size :]
            if accept(build(candidate)):
                items = candidate
                chunks = max(chunks - 1, 2)
                break
        else:
            if size == 1:
                return items
            chunks = min(len(items), chunks * 2)
    return items


# --- Triage ---------------------------------------------------------------------------------------


def triage(
    raw: Sequence[Path],
    *,
    target: str,
    impl: str | None,
    settings: Settings,
    selections: Sequence[str],
    campaign: CampaignInfo,
    out: Path,
    notice: Callable[[str], None] = lambda _: None,
) -> list[Group]:
    """Minimize, run everywhere and group the raw findings; write each group into ``out``."""
    if not raw:
        return []
    try:
        predicate = Predicate(target, impl, settings)
    except TargetUnavailable as error:
        notice(f"cannot triage: {error}")
        return []
    try:
        buckets = _bucket(raw, predicate)
        notice(f"{len(raw)} raw finding(s) in {len(buckets)} pattern(s); minimizing")
        minimized: list[Group] = []
        for pattern, (members, detail, reproducible) in buckets.items():
            smallest = min(members, key=lambda path: path.stat().st_size)
            data = smallest.read_bytes()
            if reproducible:
                data = minimize(data, _keeps(predicate, pattern))
            kind = "reference" if pattern[0] == "reference" else target
            minimized.append(Group("", kind, impl if kind != "reference" else None, data, pattern, detail, {}, {}))
            minimized[-1].members = list(members)
    finally:
        predicate.close()
    _outcomes(minimized, selections, settings, out / "triage")
    return _write(_merge(minimized), campaign, out / FINDINGS)


def _keeps(predicate: Predicate, pattern: Pattern) -> Callable[[bytes], bool]:
    """Whether an input still fails the same way."""

    def keeps(candidate: bytes) -> bool:
        found = predicate(candidate)
        return found is not None and found[0] == pattern

    return keeps


def _bucket(raw: Sequence[Path], predicate: Predicate) -> dict[Pattern, tuple[list[Path], str, bool]]:
    buckets: dict[Pattern, tuple[list[Path], str, bool]] = {}
    for path in raw:
        found = predicate(path.read_bytes())
        reproducible = found is not None
        if found is None:
            found = _recorded(path)
        pattern, detail = found
        members, _, _ = buckets.setdefault(pattern, ([], detail, reproducible))
        members.append(path)
    return buckets


def _recorded(path: Path) -> tuple[Pattern, str]:
    """The pattern an input was recorded with, when running it again shows none."""
    kind = artifact_kind(path)
    if kind is not None:
        return ("reference", "libfuzzer", kind), f"libFuzzer reported a {kind} (did not fail again)"
    note = path.with_suffix(".finding.json")
    try:
        recorded = json.loads(note.read_text(encoding="utf-8"))
        return ("unreproduced", *recorded["pattern"]), str(recorded.get("detail", ""))
    except (OSError, ValueError, KeyError):
        return ("unreproduced",), "no longer fails"


def _outcomes(groups: list[Group], selections: Sequence[str], settings: Settings, work: Path) -> None:
    """Each group's reference side and the verdict of every adapter on its input.

    A failure of the reference itself is judged on the reference alone (``crash``, ``timeout``
    or ``memory-limit``): with the oracle broken there is nothing to judge the others by.
    """
    vectors: list[Vector] = []
    work.mkdir(parents=True, exist_ok=True)
    for index, group in enumerate(groups):
        oracle: Oracle | None
        try:
            oracle = judge_input(group.data)
        except Exception:  # the reference fails on it: that is the finding
            oracle = None
        group.reference = {
            "accepted": oracle is not None and oracle.accepted,
            "primary": None if oracle is None or oracle.primary is None else oracle.primary.value,
            "offset": None if oracle is None else oracle.offset,
        }
        if group.target == "reference":
            group.outcomes = {"reference": _reference_verdict(group.pattern)}
            continue
        if oracle is None or not oracle.judgeable:
            continue
        file = f"input-{index}.bin"
        (work / file).write_bytes(group.data)
        vectors.append(Vector(**{**_fields(oracle.vector), "id": f"fuzz/input-{index}", "file": file}))
    if not vectors or not selections:
        return
    corpus = Corpus(work, "fuzz", "fuzz", {}, tuple(vectors))
    results = run(list(selections), vectors, corpus, work / "results.jsonl", settings, fresh=True)
    available = {s for s, d in results.implementations.items() if d.available}
    by_vector: dict[str, dict[str, str]] = {}
    for result in results.results:
        if result.implementation in available:
            by_vector.setdefault(result.vector, {})[result.implementation] = result.verdict.value
    for index, group in enumerate(groups):
        group.outcomes.update(by_vector.get(f"fuzz/input-{index}", {}))


def _reference_verdict(pattern: Pattern) -> str:
    """The verdict a failure of the reference itself amounts to."""
    if pattern[1:2] == ("libfuzzer",):
        return _ARTIFACT_VERDICTS.get(pattern[-1], "crash")
    return "memory-limit" if "memory" in pattern else "crash"


def _fields(vector: Vector) -> dict[str, Any]:
    return {name: getattr(vector, name) for name in Vector.__dataclass_fields__}


def _merge(groups: list[Group]) -> list[Group]:
    """One group per outcome pattern (and, for the reference's own failures, per error)."""
    merged: dict[tuple[Any, ...], Group] = {}
    for group in groups:
        key: tuple[Any, ...] = (
            group.target,
            tuple(sorted(group.outcomes.items())),
            group.reference.get("primary"),
            group.reference.get("accepted"),
        )
        if group.target == "reference" or not group.outcomes:
            key += group.pattern
        kept = merged.get(key)
        if kept is None:
            merged[key] = group
        else:
            kept.members.extend(group.members)
            if len(group.data) < len(kept.data):
                kept.data, kept.pattern, kept.detail = group.data, group.pattern, group.detail
    return list(merged.values())


def _write(groups: list[Group], campaign: CampaignInfo, folder: Path) -> list[Group]:
    """Each group as NAME.bin and NAME.json; the folder holds this triage's findings only."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in [*folder.glob("*.bin"), *folder.glob("*.json")]:
        old.unlink()
    for group in groups:
        side = group.reference.get("primary") or ("accepted" if group.reference.get("accepted") else "rejected")
        verdicts = sorted({v for v in group.outcomes.values() if v not in ("pass", "skip-unsupported")})
        label = "-".join([group.target, side, *verdicts[:2]])
        digest = hashlib.sha1(group.data, usedforsecurity=False).hexdigest()[:10]
        group.name = f"{_slug(label)}-{digest}"
        (folder / f"{group.name}.bin").write_bytes(group.data)
        sidecar = json.dumps(group.sidecar(campaign), indent=2) + "\n"
        (folder / f"{group.name}.json").write_text(sidecar, encoding="utf-8")
    return groups


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80]
