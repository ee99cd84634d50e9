"""The shape every report shares: vectors grouped by requirement, one cell per implementation."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ..corpus import Corpus
from ..runner.results import Result, Results
from ..runner.verdicts import Verdict
from ..spec import Requirement, load_all

#: One or two characters per verdict, for matrices.
SYMBOLS = {
    Verdict.PASS: "✓",
    Verdict.ACCEPTABLE_ACCEPTED: "✓a",
    Verdict.ACCEPTABLE_REJECTED: "✓r",
    Verdict.FAIL_ACCEPTED_INVALID: "✗a",
    Verdict.FAIL_REJECTED_VALID: "✗r",
    Verdict.FAIL_WRONG_CONTENT: "✗c",
    Verdict.CRASH: "!!",
    Verdict.TIMEOUT: "T",
    Verdict.MEMORY_LIMIT: "M",
    Verdict.SKIP_UNSUPPORTED: "·",
    Verdict.FAIL_READ_OUTSIDE: "✗o",
    Verdict.NONDETERMINISTIC: "≠",
}
LEGEND = {
    Verdict.PASS: "pass",
    Verdict.ACCEPTABLE_ACCEPTED: "implementation-defined, accepted and read right",
    Verdict.ACCEPTABLE_REJECTED: "implementation-defined, rejected",
    Verdict.FAIL_ACCEPTED_INVALID: "accepted a file it must reject",
    Verdict.FAIL_REJECTED_VALID: "rejected a file it must accept",
    Verdict.FAIL_WRONG_CONTENT: "accepted, but returned other content",
    Verdict.CRASH: "crashed",
    Verdict.TIMEOUT: "did not finish in time",
    Verdict.MEMORY_LIMIT: "ran out of memory",
    Verdict.SKIP_UNSUPPORTED: "cannot represent a dtype it needs (declared)",
    Verdict.FAIL_READ_OUTSIDE: "opened a file outside the checkpoint (checkpoints only)",
    Verdict.NONDETERMINISTIC: "answered differently under other hash seeds or directory orders (checkpoints only)",
}


@dataclass(frozen=True)
class Row:
    """Vectors that got the same verdict from every implementation, shown once."""

    pattern: tuple[Verdict | None, ...]
    vectors: tuple[str, ...]


@dataclass(frozen=True)
class Section:
    requirement: str
    spec: Requirement | None
    rows: tuple[Row, ...]
    vectors: int


def sections(results: Results, corpus: Corpus | None) -> list[Section]:
    """Vectors grouped under every requirement they cite, rows folded by outcome pattern.

    A valid vector that exercises several requirements appears in each of their sections, so no
    requirement's section is missing (``DATA-ENCODING`` is only ever cited second). Requirements
    come in spec order; within one, rows with failures come first.
    """
    index = load_all()
    order = {rid: i for i, rid in enumerate(index)}
    table = results.by_implementation()
    names = list(results.implementations)
    citations = citations_of(corpus)
    vector_ids = list(dict.fromkeys(r.vector for r in results.results))
    grouped: dict[str, list[str]] = {}
    for vector_id in vector_ids:
        for requirement in citations.get(vector_id, (vector_id.split("/")[0],)):
            grouped.setdefault(requirement, []).append(vector_id)
    out = []
    for requirement in sorted(grouped, key=lambda r: (order.get(r, len(order)), r)):
        patterns: dict[tuple[Verdict | None, ...], list[str]] = {}
        for vector_id in grouped[requirement]:
            pattern = tuple(_verdict(table[name].get(vector_id)) for name in names)
            patterns.setdefault(pattern, []).append(vector_id)
        rows = sorted(
            (Row(pattern, tuple(ids)) for pattern, ids in patterns.items()),
            key=lambda row: (not any(v is not None and v.failed for v in row.pattern), row.vectors[0]),
        )
        out.append(Section(requirement, index.get(requirement), tuple(rows), len(grouped[requirement])))
    return out


def citations_of(corpus: Corpus | None) -> dict[str, tuple[str, ...]]:
    """Every requirement each vector cites (none known without the corpus of the run).

    A checkpoint vector that cites none (a conforming checkpoint) is filed under its group,
    ``ckpt/valid``, so the checkpoint rows stay together after the file format's.
    """
    if corpus is None:
        return {}
    from ..corpus.checkpoints import load  # noqa: PLC0415 (only a report needs the checkpoint manifest)

    citations = {v.id: v.requirements for v in corpus.vectors}
    for vector in load():
        citations[vector.id] = vector.requirements or ("/".join(vector.id.split("/")[:2]),)
    return citations


def flagged(results: Results) -> list[Result]:
    """Rejections through an unexpected internal error: they count, but an implementer must see them."""
    return [r for r in results.results if r.flagged]


def _verdict(result: Result | None) -> Verdict | None:
    return None if result is None else result.verdict


def totals(results: Results) -> dict[str, Counter[Verdict]]:
    counts: dict[str, Counter[Verdict]] = {name: Counter() for name in results.implementations}
    for result in results.results:
        counts.setdefault(result.implementation, Counter())[result.verdict] += 1
    return counts


def failures(results: Results) -> list[Result]:
    return [r for r in results.results if r.verdict.failed]
