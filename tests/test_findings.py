"""results/FINDINGS.md and its findings.tsv files still describe the published matrices.

``results/findings.tsv``, ``results/recipes/findings.tsv``, ``results/checkpoints/findings.tsv`` and
``results/checkpoints-extra/findings.tsv`` assign every failing (selection, vector) pair of
``results/results.json``, ``results/recipes/results.json``, ``results/checkpoints/results.json`` and
``results/checkpoints-extra/results.json`` to a finding of FINDINGS.md; the pairs of
``results/unstable.txt`` are left out. FINDINGS.md describes the matrices in that order, one part
each, every part after the first under a heading of its own. When ``make matrix``, ``make
matrix-recipes``, ``make matrix-checkpoints`` or ``make matrix-checkpoints-extra`` changes a verdict,
these tests name what has to be revised: a pair without a finding, a finding without a section, a
count, a version, a listed vector or a reproduce command that no longer holds. Nothing here runs an
implementation; it reads the published files.
"""

from __future__ import annotations

import json
import re
import shlex
from collections import Counter
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import pytest

RESULTS = Path(__file__).resolve().parent.parent / "results"
FINDINGS = RESULTS / "FINDINGS.md"
UNSTABLE = RESULTS / "unstable.txt"
#: The verdicts that are findings, in the order FINDINGS.md counts them; every other verdict is a
#: pass, an implementation-defined choice or a skip.
FAILING = ("fail-accepted-invalid", "fail-rejected-valid", "fail-wrong-content", "crash", "timeout", "memory-limit")
#: A checkpoint loader also fails by opening the canary outside the checkpoint, or by answering
#: differently under other hash seeds and directory orders.
CHECKPOINT_FAILING = (*FAILING, "fail-read-outside", "nondeterministic")
TSV_HEADER = "selection\tvector\tfinding"
#: The command a reproduce command runs: the harness of the project's environment, on its PATH.
PROGRAM = "safetensors-conformance"
FINDING_ID = re.compile(r"F-\d{2,}")

Pair = tuple[str, str]


@dataclass(frozen=True)
class Matrix:
    """One published matrix, the findings.tsv that assigns its failing pairs, and its part of FINDINGS.md."""

    name: str
    results: Path
    tsv: Path
    #: The heading its part of FINDINGS.md begins with; ``None`` for the first part, which is the
    #: top of the file.
    heading: str | None
    #: The heading of its coverage table.
    coverage_heading: str
    #: Its failing verdicts, in the order FINDINGS.md counts them.
    failing: tuple[str, ...] = FAILING
    #: The harness its reproduce commands run: that of the environment the matrix was run in.
    program: str = PROGRAM

    @cached_property
    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.results.read_text(encoding="utf-8"))
        return data

    @cached_property
    def run(self) -> list[str]:
        """The selections that were run, in matrix order (an unavailable one has no verdicts)."""
        return [d["selection"] for d in self.data["implementations"] if d["available"]]

    @cached_property
    def verdicts(self) -> dict[Pair, str]:
        return {(r["implementation"], r["vector"]): r["verdict"] for r in self.data["results"]}

    @cached_property
    def described(self) -> dict[str, str]:
        """Each run selection as FINDINGS.md describes it: implementation and version."""
        return {d["selection"]: f"{d['implementation']} {d['version']}" for d in self.data["implementations"]}

    @cached_property
    def rows(self) -> list[tuple[str, str, str]]:
        """findings.tsv: (selection, vector, finding) rows."""
        lines = self.tsv.read_text(encoding="utf-8").splitlines()
        assert lines[:1] == [TSV_HEADER], f"{self.tsv}: the first line must be {TSV_HEADER!r}"
        rows = []
        for number, line in enumerate(lines[1:], start=2):
            fields = line.split("\t")
            assert len(fields) == 3, f"{self.tsv}:{number}: expected selection<TAB>vector<TAB>finding: {line!r}"
            assert FINDING_ID.fullmatch(fields[2]), f"{self.tsv}:{number}: {fields[2]!r} is not a finding id"
            rows.append((fields[0], fields[1], fields[2]))
        return rows

    @cached_property
    def finding_of(self) -> dict[Pair, str]:
        return {(s, v): f for s, v, f in self.rows}

    @cached_property
    def counts(self) -> dict[str, dict[str, Counter[str]]]:
        """Per finding, per selection in matrix order: the verdicts of its pairs."""
        order = {s: i for i, s in enumerate(self.data["selections"])}
        out: dict[str, dict[str, Counter[str]]] = {}
        for s, v, f in self.rows:
            out.setdefault(f, {}).setdefault(s, Counter())[self.verdicts.get((s, v), "no verdict")] += 1
        return {f: dict(sorted(d.items(), key=lambda kv: order.get(kv[0], len(order)))) for f, d in out.items()}

    def fails(self, selection: str, vector: str) -> bool:
        return self.verdicts.get((selection, vector)) in self.failing


COMMITTED = Matrix("committed", RESULTS / "results.json", RESULTS / "findings.tsv", None, "## Coverage")
RECIPES = Matrix(
    "recipes",
    RESULTS / "recipes" / "results.json",
    RESULTS / "recipes" / "findings.tsv",
    "## The recipe matrix (results/recipes/)",
    "### Coverage of the recipe matrix",
)
CHECKPOINTS = Matrix(
    "checkpoints",
    RESULTS / "checkpoints" / "results.json",
    RESULTS / "checkpoints" / "findings.tsv",
    "## The checkpoint matrix (results/checkpoints/)",
    "### Coverage of the checkpoint matrix",
    CHECKPOINT_FAILING,
)
#: DeepSpeed and vLLM, run in the environment scripts/extra-loaders.sh builds, with its harness.
CHECKPOINTS_EXTRA = Matrix(
    "checkpoints-extra",
    RESULTS / "checkpoints-extra" / "results.json",
    RESULTS / "checkpoints-extra" / "findings.tsv",
    "## The DeepSpeed and vLLM loaders (results/checkpoints-extra/)",
    "### Coverage of the DeepSpeed and vLLM loaders",
    CHECKPOINT_FAILING,
    f".venv-loaders/bin/{PROGRAM}",
)
#: The matrices in the order FINDINGS.md describes them.
ALL = (COMMITTED, RECIPES, CHECKPOINTS, CHECKPOINTS_EXTRA)
MATRICES = [pytest.param(matrix, id=matrix.name) for matrix in ALL]
#: The matrices whose part follows another's and opens with a count of its own.
LATER = [pytest.param(matrix, id=matrix.name) for matrix in ALL if matrix.heading is not None]


@dataclass(frozen=True)
class Section:
    """One finding's section of FINDINGS.md, and the matrix it describes."""

    finding: str
    matrix: Matrix
    body: str

    def affected(self) -> dict[str, tuple[str, int, str]]:
        """The "Implementations affected" list: selection -> (description, count, verdict breakdown)."""
        start, end = self.body.find("**Implementations affected**"), self.body.find("**Minimal vector:**")
        assert 0 <= start < end, f"{self.finding}: no 'Implementations affected' list before 'Minimal vector'"
        rows = re.findall(r"^- `([^`]+)` — (.*): (\d+)((?: \([^)]*\))?)$", self.body[start:end], flags=re.M)
        return {selection: (described, int(n), breakdown) for selection, described, n, breakdown in rows}

    def minimal(self) -> re.Match[str]:
        found = re.search(r"^\*\*Minimal vector:\*\* `([^`]+)` .*Fails for: (.+)\.$", self.body, flags=re.M)
        assert found, f"{self.finding}: no '**Minimal vector:** `ID` ... Fails for: ...' line"
        return found

    def named(self, names: str) -> list[str]:
        """The selections a "fails for" list names: ``all affected``, or short labels."""
        if names.strip() == "all affected":
            return list(self.affected())
        return [selection_of(name.strip()) for name in names.split(",")]


@cache
def document() -> str:
    return FINDINGS.read_text(encoding="utf-8")


@cache
def parts() -> dict[str, str]:
    """FINDINGS.md cut where each later matrix's heading begins: the text of each part, by matrix name."""
    text, starts = document(), [0]
    for matrix in ALL[1:]:
        assert matrix.heading is not None, f"the {matrix.name} matrix follows another, so it needs a heading"
        found = re.search(rf"^{re.escape(matrix.heading)}$", text, flags=re.M)
        assert found, f"FINDINGS.md has no heading {matrix.heading!r}"
        assert found.start() > starts[-1], f"{matrix.heading!r} comes before the part it should follow"
        starts.append(found.start())
    ends = [*starts[1:], len(text)]
    return {matrix.name: text[start:end] for matrix, start, end in zip(ALL, starts, ends, strict=True)}


def part(matrix: Matrix) -> str:
    """The text of FINDINGS.md that describes ``matrix``."""
    return parts()[matrix.name]


@cache
def labels() -> dict[str, str]:
    """Short label by selection, from the table of implementations at the top of FINDINGS.md."""
    return {selection: label for label, selection in re.findall(r"^\| (\S+) \| `([^`]+)` \|", document(), flags=re.M)}


def selection_of(label: str) -> str:
    by_label = {label: selection for selection, label in labels().items()}
    assert label in by_label, f"FINDINGS.md names {label!r}, which its table of implementations lacks"
    return by_label[label]


@cache
def unstable() -> frozenset[Pair]:
    """``unstable.txt`` read as ``compare --unstable`` reads it: the selection, then the vector id."""
    pairs = set()
    for line in UNSTABLE.read_text(encoding="utf-8").splitlines():
        words = line.split("#", 1)[0].split()
        if words:
            pairs.add((" ".join(words[:-1]), words[-1]))
    return frozenset(pairs)


@cache
def sections() -> tuple[Section, ...]:
    """Every ``## F-NN:`` or ``### F-NN:`` section, up to the next heading of its level or above."""
    found = []
    for matrix in ALL:
        text = part(matrix)
        for head in re.finditer(r"^(#{2,3}) (F-\d+): .+$", text, flags=re.M):
            following = re.compile(rf"^#{{2,{len(head.group(1))}}} ", flags=re.M).search(text, head.end())
            found.append(Section(head.group(2), matrix, text[head.end() : following.start() if following else None]))
    return tuple(found)


def sections_of(matrix: Matrix) -> list[Section]:
    return [s for s in sections() if s.matrix is matrix]


def tally(matrix: Matrix, *, count_first: bool) -> str:
    """The verdicts of the pairs of a matrix's findings.tsv, in the order of its failing verdicts:
    ``1780 fail-accepted-invalid, 37 ...`` (an introduction) or ``fail-accepted-invalid 1780, ...``."""
    counts = Counter(matrix.verdicts[(s, v)] for s, v, _ in matrix.rows)
    return ", ".join(f"{counts[v]} {v}" if count_first else f"{v} {counts[v]}" for v in matrix.failing if counts[v])


def breakdown(counts: Counter[str]) -> str:
    """The verdicts after a count in an "Implementations affected" list, unless all accepted invalid."""
    if set(counts) == {"fail-accepted-invalid"}:
        return ""
    return " (" + ", ".join(f"{n} {v}" for v, n in sorted(counts.items(), key=lambda kv: -kv[1])) + ")"


def vectors_of(n: int) -> str:
    return f"{n} vector" if n == 1 else f"{n} vectors"


def check(problems: list[str], what: str) -> None:
    assert not problems, f"{len(problems)} {what}:\n  " + "\n  ".join(problems)


# *** findings.tsv against the matrices ***


@pytest.mark.parametrize("matrix", MATRICES)
def test_every_failing_pair_is_in_findings_tsv_once(matrix: Matrix) -> None:
    listed = Counter((s, v) for s, v, _ in matrix.rows)
    failing = {pair for pair in matrix.verdicts if matrix.fails(*pair) and pair not in unstable()}
    problems = [f"{s}\t{v}: listed {n} times" for (s, v), n in listed.items() if n > 1]
    for s, v in sorted(failing - set(listed)):
        problems.append(f"{s}\t{v}: fails ({matrix.verdicts[(s, v)]}) but has no finding")
    for s, v in sorted(set(listed) - failing):
        why = "it is in unstable.txt" if (s, v) in unstable() else f"its verdict is {matrix.verdicts.get((s, v))}"
        problems.append(f"{s}\t{v}: has a finding, but {why}")
    check(problems, f"pairs of {matrix.tsv.relative_to(RESULTS)} disagree with {matrix.results.relative_to(RESULTS)}")


def test_every_finding_has_a_section_and_every_section_a_finding() -> None:
    in_tsv = {f for matrix in ALL for f in matrix.counts}
    headed = Counter(section.finding for section in sections())
    problems = [f"{f}: {n} sections" for f, n in headed.items() if n > 1]
    problems += [f"{f}: in a findings.tsv, but without a section" for f in sorted(in_tsv - set(headed))]
    problems += [f"{f}: has a section, but no pair in any findings.tsv" for f in sorted(set(headed) - in_tsv)]
    for section in sections():
        if section.finding in in_tsv and section.finding not in section.matrix.counts:
            problems.append(f"{section.finding}: described under the {section.matrix.name} matrix, which has none")
    check(problems, "findings without a section or sections without a finding")


# *** counts ***


@pytest.mark.parametrize("matrix", MATRICES)
def test_the_summary_table_counts_the_tsv(matrix: Matrix) -> None:
    text = part(matrix)
    rows = re.findall(r"^\| \[(F-\d+)\]\(#[^)]*\) .* \| [A-Z0-9-]+ \| (.*) \| (\d+) \|$", text, flags=re.M)
    assert rows, f"FINDINGS.md has no summary table for the {matrix.name} matrix"
    table = {f: (impls, int(n)) for f, impls, n in rows}
    problems = [f"{f}: has pairs, but no row" for f in sorted(set(matrix.counts) - set(table))]
    problems += [f"{f}: has a row, but no pairs" for f in sorted(set(table) - set(matrix.counts))]
    for f in sorted(set(table) & set(matrix.counts)):
        per_selection = matrix.counts[f]
        impls = ", ".join(f"{labels()[s]} ({sum(c.values())})" for s, c in per_selection.items())
        pairs = sum(sum(c.values()) for c in per_selection.values())
        if table[f] != (impls, pairs):
            problems.append(f"{f}: row says {table[f][0]!r} | {table[f][1]}; {matrix.tsv.name}: {impls!r} | {pairs}")
    total = re.search(r"^Total: (\d+) failing pairs in (\d+) findings\.$", text, flags=re.M)
    assert total, f"no 'Total: N failing pairs in M findings.' line for the {matrix.name} matrix"
    if (int(total.group(1)), int(total.group(2))) != (len(matrix.rows), len(matrix.counts)):
        problems.append(f"{total.group(0)!r}: {len(matrix.rows)} pairs in {len(matrix.counts)} findings")
    check(problems, f"summary counts of the {matrix.name} matrix are stale")


@pytest.mark.parametrize("matrix", MATRICES)
def test_the_coverage_table_counts_the_tsv(matrix: Matrix) -> None:
    heading = matrix.coverage_heading
    assert heading in part(matrix), f"FINDINGS.md has no heading {heading!r} in the {matrix.name} part"
    coverage = part(matrix).split(heading, 1)[1]
    rows = re.findall(r"^\| (\S+) \| (\d+) \| (.*?) ?\|$", coverage, flags=re.M)
    table = {selection_of(label): (cells, int(n)) for label, n, cells in rows}
    per_selection: dict[str, Counter[str]] = {s: Counter() for s in matrix.run}
    for s, _, f in matrix.rows:
        per_selection.setdefault(s, Counter())[f] += 1
    problems = [f"{s}: has a row, but was not run" for s in sorted(set(table) - set(per_selection))]
    for s, findings in per_selection.items():
        cells = ", ".join(f"{f} ({n})" for f, n in sorted(findings.items(), key=lambda kv: int(kv[0][2:])))
        if table.get(s) != (cells, sum(findings.values())):
            said = "no row" if s not in table else f"{table[s][1]} | {table[s][0]}"
            problems.append(
                f"{labels()[s]}: the row says {said}; {matrix.tsv.name} has {sum(findings.values())} | {cells}"
            )
    sentence = re.search(
        r"^(\d+) of (\d+) failing \(implementation, vector\) pairs .*? By verdict: ([^.]*)\.", coverage, re.M
    )
    assert sentence, f"no 'N of N failing ... By verdict: ...' sentence under {heading!r}"
    n, verdicts = len(matrix.rows), tally(matrix, count_first=False)
    if sentence.groups() != (str(n), str(n), verdicts):
        problems.append(f"{sentence.group(0)!r}: {matrix.tsv.name} has {n} of {n}, by verdict {verdicts}")
    check(problems, f"coverage rows of the {matrix.name} matrix are stale")


def test_the_introduction_counts_the_committed_matrix() -> None:
    data, intro = COMMITTED.data, document().split("## Summary", 1)[0]
    problems = []
    covers = re.search(
        r"over (\d+) committed vectors \(corpus (\S+), spec (\S+), safetensors-conformance (\S+);", intro
    )
    assert covers, "the introduction does not say how many committed vectors the matrix covers"
    versions = (str(len(data["vectors"])), data["corpus_version"], data["spec_version"], data["tool_version"])
    if covers.groups() != versions:
        problems.append(f"{covers.group(0)!r}: results.json has {versions}")
    holds = re.search(
        r"The matrix holds (\d+) failing verdicts\..*? the other (\d+) failing .*? here \(([^;]*);", intro
    )
    assert holds, "the introduction does not say how many failing verdicts and pairs the matrix holds"
    everything = sum(1 for pair in COMMITTED.verdicts if COMMITTED.fails(*pair))
    verdicts = tally(COMMITTED, count_first=True)
    if holds.groups() != (str(everything), str(len(COMMITTED.rows)), verdicts):
        problems.append(
            f"{holds.group(0)!r}: results.json {everything}, findings.tsv {len(COMMITTED.rows)} ({verdicts})"
        )
    check(problems, "counts in the introduction are stale")


@pytest.mark.parametrize("matrix", LATER)
def test_each_later_part_opens_with_the_count_of_its_matrix(matrix: Matrix) -> None:
    holds = re.search(
        r"^The \w+ matrix holds (\d+) failing \(implementation, vector\) pairs \(([^;)]*)[;)].*? in (\d+) findings",
        part(matrix),
        flags=re.M,
    )
    assert holds, f"the {matrix.name} part does not say how many failing pairs and findings its matrix holds"
    counted = (str(len(matrix.rows)), tally(matrix, count_first=True), str(len(matrix.counts)))
    problems = [] if holds.groups() == counted else [f"{holds.group(0)!r}: {matrix.tsv.name} has {counted}"]
    check(problems, f"counts at the start of the {matrix.name} part are stale")


@pytest.mark.parametrize("matrix", MATRICES)
def test_each_section_counts_its_implementations(matrix: Matrix) -> None:
    data, problems = matrix.data, []
    for section in sections_of(matrix):
        listed, want = section.affected(), matrix.counts.get(section.finding, {})
        if list(listed) != list(want):
            said, counted = [labels().get(s, s) for s in listed], [labels()[s] for s in want]
            problems.append(f"{section.finding}: lists {said}, {matrix.tsv.name} has pairs of {counted}")
            continue
        for s, (described, n, verdicts) in listed.items():
            if (n, verdicts) != (sum(want[s].values()), breakdown(want[s])):
                problems.append(
                    f"{section.finding} {labels()[s]}: {n}{verdicts}, not {sum(want[s].values())}{breakdown(want[s])}"
                )
            if described != matrix.described[s]:
                problems.append(f"{section.finding} {labels()[s]}: {described!r}, not {matrix.described[s]!r}")
        impls = "; ".join(
            f"{labels()[s]} = {matrix.described[s]} ({vectors_of(sum(c.values()))})" for s, c in want.items()
        )
        versions = f"corpus {data['corpus_version']}, spec {data['spec_version']}"
        line = f"Observed with safetensors-conformance {data['tool_version']} ({versions}) in: {impls}."
        observed = re.findall(r"^Observed with .*$", section.body, flags=re.M)
        if observed != [line]:
            problems.append(f"{section.finding}: the bug report says {observed}, not [{line!r}]")
    check(problems, f"per-finding counts of the {matrix.name} matrix are stale")


# *** vectors and commands ***


@pytest.mark.parametrize("matrix", MATRICES)
def test_listed_vectors_fail_for_the_implementations_named(matrix: Matrix) -> None:
    problems = []
    for section in sections_of(matrix):
        minimal = section.minimal()
        listed = [(minimal.group(1), minimal.group(2))]
        listed += re.findall(r"^- `([^`]+)` — .*\(fails for: ([^)]*)\)$", section.body, flags=re.M)
        problems += [
            f"{section.finding}: {s}\t{vector}: listed as failing, its verdict is {matrix.verdicts.get((s, vector))}"
            for vector, names in listed
            for s in section.named(names)
            if not matrix.fails(s, vector)
        ]
    check(problems, f"listed vectors of the {matrix.name} matrix do not fail as stated")


@pytest.mark.parametrize("matrix", MATRICES)
def test_outcome_lines_match_the_matrix(matrix: Matrix) -> None:
    problems = []
    for section in sections_of(matrix):
        vector = section.minimal().group(1)
        outcome = re.search(r"^- outcome across the matrix: (.+)\.$", section.body, flags=re.M)
        assert outcome, f"{section.finding}: no outcome line"
        seen: Counter[str] = Counter()
        for group in outcome.group(1).split("; "):
            named = re.fullmatch(r"(?:[a-z ]+ \(([^)]+)\)|(skip-unsupported)): (.+)", group)
            assert named, f"{section.finding}: cannot read the outcome group {group!r}"
            tag = named.group(1) or named.group(2)
            for s in map(selection_of, named.group(3).split(", ")):
                seen[s] += 1
                if tag == "this finding" or FINDING_ID.fullmatch(tag):
                    said, actual = section.finding if tag == "this finding" else tag, matrix.finding_of.get((s, vector))
                else:
                    said, actual = tag, matrix.verdicts.get((s, vector))
                if said != actual:
                    problems.append(
                        f"{section.finding}: {s}\t{vector}: the outcome line says {said}, the matrix has {actual}"
                    )
        problems += [f"{section.finding}: the outcome line omits {s}" for s in matrix.run if not seen[s]]
        problems += [f"{section.finding}: the outcome line names {s} {n} times" for s, n in seen.items() if n > 1]
    check(problems, f"outcome lines of the {matrix.name} matrix are stale")


@pytest.mark.parametrize("matrix", MATRICES)
def test_reproduce_commands_name_only_failing_implementations(matrix: Matrix) -> None:
    problems = []
    for section in sections_of(matrix):
        # Whatever path comes before the program, so that a command of another environment is seen.
        commands = re.findall(rf"^ *(\S*{re.escape(PROGRAM)} run .*)$", section.body, flags=re.M)
        assert commands, f"{section.finding}: no reproduce command"
        for command in dict.fromkeys(commands):  # the bug report repeats the command
            words = shlex.split(command)
            if words[0] != matrix.program:
                problems.append(f"{section.finding}: {command!r} does not run {matrix.program}")
            impls = [words[i + 1] for i, word in enumerate(words) if word == "--impl"]
            vectors = [words[i + 1] for i, word in enumerate(words) if word == "--vector-id"]
            if not impls or not vectors:
                problems.append(f"{section.finding}: {command!r} names no --impl or no --vector-id")
            unknown = [v for v in vectors if v not in matrix.data["vectors"]]
            if unknown:
                problems.append(f"{section.finding}: {command!r}: {unknown} are not vectors of the matrix")
            passing = [s for s in impls if not any(matrix.fails(s, v) for v in vectors)]
            problems += [f"{section.finding}: {command!r}: {s} fails none of {vectors}" for s in passing]
    check(problems, f"reproduce commands of the {matrix.name} matrix do not reproduce its findings")


def test_links_within_findings_md_resolve() -> None:
    """Every ``](#anchor)`` names a heading, slugged the way GitHub does it."""
    headings = re.findall(r"^#{1,6} (.+)$", document(), flags=re.M)
    anchors = {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}
    broken = sorted(set(re.findall(r"\]\(#([^)]+)\)", document())) - anchors)
    check([f"#{anchor}" for anchor in broken], "links in FINDINGS.md name no heading")
