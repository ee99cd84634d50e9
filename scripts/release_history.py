"""Release history: the conformance matrix over past releases of an implementation.

``python scripts/release_history.py`` (``make history``) installs each release of a series in an
environment of its own under ``.history/`` (kept and reused: a folder whose marker names the same
install is not built again), runs every release over the committed vectors through the
external-program protocol, and writes, per series, into ``results/history/SERIES/``:

* ``results.json`` and ``results.md``: the matrix, one implementation per release, named after it
  (``safetensors==0.3.3``, ``@huggingface/hub@2.14.6``);
* ``history.md``: for every vector whose verdict differs between releases, the verdict of each
  release in order, and what each release changed relative to the one before it, grouped by
  requirement.

Two series are known: the Hugging Face ``safetensors`` library (PyPI; each release in a virtual
environment with NumPy, read by ``examples/hf-release-reader/reader.py``) and ``@huggingface/hub``
(npm; each release in a ``node_modules`` of its own, read by a copy of
``examples/hf-hub-js/reader.mjs`` placed beside it, so that it loads that release). Building the
environments needs the package registries; the run itself needs nothing outside the machine.
``--report-only`` renders ``history.md`` and ``results.md`` again from the ``results.json`` there.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from importlib.metadata import version as installed_version
from pathlib import Path

from safetensors_conformance.corpus import Corpus, load_corpus
from safetensors_conformance.report import markdown
from safetensors_conformance.report.model import LEGEND, SYMBOLS, citations_of
from safetensors_conformance.report.spec_html import requirement_url
from safetensors_conformance.runner.results import Result, Results
from safetensors_conformance.runner.run import Settings, run
from safetensors_conformance.runner.verdicts import Verdict
from safetensors_conformance.spec import load_index

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".history"
OUT = ROOT / "results" / "history"
#: results/history/SERIES/*.md link to the spec page published beside the main matrix.
SPEC_URL = "../../spec.html"
#: The file each built environment holds once its install finished; it names the install.
MARKER = ".release-history.json"
#: After a rejection through an unexpected internal error (the rejection counts, but is flagged).
FLAG_MARK = "†"
#: Vectors named per line of the summary before the rest are counted.
NAMED_PER_LINE = 8
#: The longest detail quoted in the summary.
GIST_CHARACTERS = 100


# --- The history table, derived from results ---------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One release's verdict on one vector (``None``: not run), and whether its rejection was flagged."""

    verdict: Verdict | None
    flagged: bool = False

    @classmethod
    def of(cls, result: Result | None) -> Cell:
        return cls(None) if result is None else cls(result.verdict, bool(result.flagged))

    def text(self) -> str:
        if self.verdict is None:
            return "—"
        return SYMBOLS[self.verdict] + (FLAG_MARK if self.flagged else "")


@dataclass(frozen=True)
class Row:
    """A vector whose verdict is not the same in every release: its cells in release order."""

    vector: str
    requirement: str
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Change:
    """One vector whose verdict differs between a release and the one before it, with what the
    runner said about each verdict (the error of a rejection, what was wrong with content)."""

    vector: str
    requirement: str
    before: Cell
    after: Cell
    before_detail: str | None = None
    after_detail: str | None = None


@dataclass(frozen=True)
class Step:
    """What one release changed relative to the release before it."""

    release: str
    previous: str
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class History:
    releases: tuple[str, ...]
    rows: tuple[Row, ...]
    steps: tuple[Step, ...]


def requirement_of(vector_id: str, citations: Mapping[str, tuple[str, ...]]) -> str:
    """The requirement a vector is filed under: the first it cites (an invalid vector cites
    exactly one), or its group when the corpus of the run is not at hand."""
    cited = citations.get(vector_id)
    return cited[0] if cited else vector_id.split("/", maxsplit=1)[0]


def history(results: Results, releases: Sequence[str], citations: Mapping[str, tuple[str, ...]]) -> History:
    """The vectors whose verdict changes across ``releases`` (implementations of ``results``, in
    release order), and each release's changes relative to the one before it."""
    table = results.by_implementation()
    missing = [r for r in releases if r not in table]
    if missing:
        raise ValueError(f"no results for {', '.join(missing)}")
    vector_ids = list(results.run.get("vectors") or dict.fromkeys(r.vector for r in results.results))
    rows = []
    for vector_id in vector_ids:
        cells = tuple(Cell.of(table[release].get(vector_id)) for release in releases)
        if len(set(cells)) > 1:
            rows.append(Row(vector_id, requirement_of(vector_id, citations), cells))
    steps = []
    for index in range(1, len(releases)):
        old, new = table[releases[index - 1]], table[releases[index]]
        changes = tuple(
            Change(
                row.vector,
                row.requirement,
                row.cells[index - 1],
                row.cells[index],
                _detail(old.get(row.vector)),
                _detail(new.get(row.vector)),
            )
            for row in rows
            if row.cells[index - 1] != row.cells[index]
        )
        steps.append(Step(releases[index], releases[index - 1], changes))
    return History(tuple(releases), tuple(rows), tuple(steps))


def _detail(result: Result | None) -> str | None:
    return None if result is None else result.flagged or result.detail


def gist(detail: str | None) -> str:
    """One short line of a detail: its last line (a crash's is the error that ended the
    program), cut to :data:`GIST_CHARACTERS`."""
    if not detail:
        return "accepted and read right"
    lines = [line.strip() for line in detail.strip().splitlines() if line.strip()]
    text = lines[-1] if lines else ""
    return text if len(text) <= GIST_CHARACTERS else text[: GIST_CHARACTERS - 1] + "…"


def _code(text: str) -> str:
    """Text as inline code in a list item: a backtick in it cannot end it early."""
    return "`" + text.replace("`", "'") + "`"


def _requirement_order() -> Callable[[str], tuple[int, str]]:
    order = {rid: i for i, rid in enumerate(load_index())}
    return lambda requirement: (order.get(requirement, len(order)), requirement)


def _requirement_title(requirement: str, spec_url: str) -> str:
    known = load_index().get(requirement)
    return f"[`{requirement}`]({requirement_url(spec_url, known)})" if known else f"`{requirement}`"


def _named(vectors: Sequence[str]) -> str:
    shown = ", ".join(f"`{v}`" for v in vectors[:NAMED_PER_LINE])
    rest = len(vectors) - NAMED_PER_LINE
    return shown + (f" and {rest} more" if rest > 0 else "")


def render(found: History, results: Results, how: str, spec_url: str = SPEC_URL) -> str:
    """``history.md``: the releases, what each changed, then every vector that changed."""
    described = results.implementations
    label = {r: described[r].version if r in described else r for r in found.releases}
    first = described.get(found.releases[0])
    title = first.implementation if first is not None else found.releases[0]
    by_requirement = _requirement_order()
    counts = {r: dict.fromkeys(Verdict, 0) for r in found.releases}
    for result in results.results:
        if result.implementation in counts:
            counts[result.implementation][result.verdict] += 1
    lines = [
        f"# Release history: {title}",
        "",
        f"Corpus {results.run.get('corpus_version')} · spec {results.run.get('spec_version')} · "
        f"safetensors-conformance {results.run.get('tool_version')} · {len(results.run.get('vectors') or [])} vectors",
        "",
        how,
        "",
        "Generated by `make history` (`scripts/release_history.py`) from `results.json` in this folder;",
        "`results.md` has the whole matrix. Symbols: "
        + "; ".join(f"{SYMBOLS[v]} {text}" for v, text in LEGEND.items())
        + f"; {FLAG_MARK} rejected through an unexpected internal error; — not run.",
        "",
        "| release | passed | failed | skipped | vectors changed since the release before |",
        "|---|---:|---:|---:|---:|",
    ]
    changed = {step.release: len(step.changes) for step in found.steps}
    for release in found.releases:
        tally = counts[release]
        ok = sum(n for v, n in tally.items() if v.ok)
        failed = sum(n for v, n in tally.items() if v.failed)
        skipped = tally[Verdict.SKIP_UNSUPPORTED]
        available = described.get(release)
        if available is not None and not available.available:
            lines.append(f"| `{release}` | unavailable: {available.reason} | | | |")
            continue
        lines.append(f"| `{release}` | {ok} | {failed} | {skipped} | {changed.get(release, '')} |")
    lines += ["", "## What each release changed", ""]
    unchanged = [label[step.release] for step in found.steps if not step.changes]
    if unchanged:
        lines += [f"No verdict changed in {', '.join(unchanged)} (each against the release before it).", ""]
    for step in found.steps:
        if not step.changes:
            continue
        heading = f"### {label[step.release]} (after {label[step.previous]})"
        lines += [heading, "", f"{len(step.changes)} vectors changed verdict.", ""]
        grouped: dict[str, dict[tuple[Cell, Cell], list[Change]]] = {}
        for change in step.changes:
            grouped.setdefault(change.requirement, {}).setdefault((change.before, change.after), []).append(change)
        for requirement in sorted(grouped, key=by_requirement):
            for (before, after), changes in grouped[requirement].items():
                # What the runner said about the first of them, before and after: the reason
                # behind a verdict (a pass may be a rejection for another cause).
                example = changes[0]
                lines += [
                    f"- {_requirement_title(requirement, spec_url)}: {before.text()} → {after.text()} "
                    f"({len(changes)}): {_named([c.vector for c in changes])}",
                    f"  - `{example.vector}` before: {_code(gist(example.before_detail))}; "
                    f"after: {_code(gist(example.after_detail))}",
                ]
        lines.append("")
    lines += ["## Every vector whose verdict differs between releases", ""]
    if not found.rows:
        lines += ["Every release gave every vector the same verdict.", ""]
    sections: dict[str, list[Row]] = {}
    for row in found.rows:
        sections.setdefault(row.requirement, []).append(row)
    for requirement in sorted(sections, key=by_requirement):
        lines += [
            f"### {_requirement_title(requirement, spec_url)}",
            "",
            "| vector | " + " | ".join(label[r] for r in found.releases) + " |",
            "|---|" + ":---:|" * len(found.releases),
        ]
        lines += [
            f"| `{row.vector}` | " + " | ".join(c.text() for c in row.cells) + " |" for row in sections[requirement]
        ]
        lines.append("")
    return "\n".join(lines)


def renamed(results: Results, names: Mapping[str, str]) -> Results:
    """The same results with each selection (a ``serve:`` command line) named after its release."""
    return Results(
        {**results.run, "selections": [names[s] for s in results.run["selections"]]},
        {names[s]: d for s, d in results.implementations.items()},
        [replace(r, implementation=names[r.implementation]) for r in results.results],
    )


# --- Series of releases and their environments ------------------------------------------------


class BuildError(RuntimeError):
    """An environment could not be built; the message holds the installer's output."""


def _build(folder: Path, install: dict[str, object], steps: Sequence[Sequence[str]]) -> float:
    """Run ``steps`` to build ``folder`` unless its marker already names ``install``; seconds taken."""
    marker = folder / MARKER
    if marker.is_file() and json.loads(marker.read_text(encoding="utf-8")) == install:
        return 0.0
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    started = time.perf_counter()
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, check=False, cwd=folder)
        if done.returncode != 0:
            raise BuildError(f"{shlex.join(step)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    marker.write_text(json.dumps(install, sort_keys=True) + "\n", encoding="utf-8")
    return time.perf_counter() - started


@dataclass(frozen=True)
class Series:
    """An implementation's releases, how to install one, and how to run it over the protocol."""

    key: str
    releases: tuple[str, ...]
    #: The implementation's name for a release (results.json's selection).
    name: Callable[[str], str]
    #: Builds (or reuses) the release's environment under the cache; returns its folder and the
    #: seconds the build took (0 when reused).
    build: Callable[[Path, str], tuple[Path, float]]
    #: The ``serve:`` selection that runs the release in its environment.
    selection: Callable[[Path], str]
    how: str
    needs: tuple[str, ...] = ()


HF_READER = ROOT / "examples" / "hf-release-reader" / "reader.py"
HUB_READER = ROOT / "examples" / "hf-hub-js" / "reader.mjs"


def _numpy_pin() -> str:
    """NumPy for the release environments: the version this project's environment has."""
    return f"numpy=={installed_version('numpy')}"


def _build_hf(cache: Path, release: str) -> tuple[Path, float]:
    folder = cache / "venvs" / f"safetensors-{release}"
    requirements = [f"safetensors=={release}", _numpy_pin()]
    python = str(folder / "bin" / "python")
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input"]
    steps = [[sys.executable, "-m", "venv", str(folder)], [*pip, *requirements]]
    install: dict[str, object] = {"python": sys.version.split()[0], "requirements": requirements}
    return folder, _build(folder, install, steps)


def _build_hub(cache: Path, release: str) -> tuple[Path, float]:
    folder = cache / "npm" / f"hub-{release}"
    package = {"private": True, "type": "module", "dependencies": {"@huggingface/hub": release}}
    write = [
        sys.executable,
        "-c",
        "import sys, pathlib; pathlib.Path('package.json').write_text(sys.argv[1])",
        json.dumps(package, indent=2) + "\n",
    ]
    steps = [write, ["npm", "install", "--silent", "--no-audit", "--no-fund"]]
    seconds = _build(folder, {"package": package}, steps)
    # The reader resolves the library from its own folder: a copy beside this node_modules loads
    # this release. Copied every time, so that it is always the project's current reader.
    shutil.copyfile(HUB_READER, folder / "reader.mjs")
    return folder, seconds


SERIES = {
    "safetensors": Series(
        "safetensors",
        # Every release on PyPI from 0.3.0 (the first with the API the reader uses) to the
        # project's pin, so that each change is placed at the release that made it (0.6.0 is
        # not on PyPI).
        (
            *("0.3.0", "0.3.1", "0.3.2", "0.3.3"),
            *("0.4.0", "0.4.1", "0.4.2", "0.4.3", "0.4.4", "0.4.5"),
            *("0.5.0", "0.5.1", "0.5.2", "0.5.3"),
            *("0.6.1", "0.6.2", "0.7.0", "0.8.0"),
        ),
        lambda release: f"safetensors=={release}",
        _build_hf,
        lambda folder: f"serve:{shlex.quote(str(folder / 'bin' / 'python'))} {shlex.quote(str(HF_READER))} --serve",
        "Each release is installed with NumPy in a virtual environment of its own and read by "
        "`examples/hf-release-reader/reader.py --serve` under that environment's Python "
        "(`safetensors.deserialize` for tensors and raw bytes, `safe_open(...).metadata()` for metadata).",
    ),
    "hub-js": Series(
        "hub-js",
        # Releases of each major line (0.15.2 is the first whose parseSafetensorsMetadata takes a
        # file path and a fetch function, as the reader calls it), the two around the release
        # that began to check tensor entries (2.14.6; 2.14.5 was never published), and the pin
        # of examples/hf-hub-js/package.json.
        ("0.15.2", "1.0.0", "2.0.1", "2.10.1", "2.14.4", "2.14.6", "2.17.5"),
        lambda release: f"@huggingface/hub@{release}",
        _build_hub,
        lambda folder: f"serve:node {shlex.quote(str(folder / 'reader.mjs'))} --serve",
        "Each release is installed by npm into a `node_modules` folder of its own and read by a copy of "
        "`examples/hf-hub-js/reader.mjs --serve` placed beside it (`parseSafetensorsMetadata` over a local "
        "fetch; header only: names, dtypes, shapes and metadata).",
        needs=("node", "npm"),
    ),
}


# --- Running and writing -----------------------------------------------------------------------


def history_of(results: Results, corpus: Corpus | None) -> History:
    """The history of a series' results: its implementations are its releases, in order."""
    return history(results, list(results.implementations), citations_of(corpus))


def write(folder: Path, results: Results, corpus: Corpus | None, how: str) -> History:
    """results.json, results.md and history.md of one series."""
    folder.mkdir(parents=True, exist_ok=True)
    results.write(folder / "results.json")
    (folder / "results.md").write_text(markdown.render(results, corpus, SPEC_URL), encoding="utf-8")
    found = history_of(results, corpus)
    (folder / "history.md").write_text(render(found, results, how), encoding="utf-8")
    return found


def run_series(series: Series, corpus: Corpus, cache: Path, out: Path, *, jobs: int, synth: bool) -> History:
    names: dict[str, str] = {}
    for release in series.releases:
        folder, seconds = series.build(cache, release)
        print(f"{series.name(release)}: {f'built in {seconds:.1f} s' if seconds else 'reused'} ({folder})")
        names[series.selection(folder)] = series.name(release)
    vectors = [v for v in corpus.vectors if synth or v.synth is None]
    started = time.perf_counter()
    raw = run(
        list(names), vectors, corpus, cache / "runs" / series.key / "results.jsonl", Settings(jobs=jobs), fresh=True
    )
    seconds = time.perf_counter() - started
    print(f"{series.key}: {len(series.releases)} releases x {len(vectors)} vectors in {seconds:.1f} s")
    not_run = [f"{names[s]}: {d.reason}" for s, d in raw.implementations.items() if not d.available]
    if not_run:
        raise BuildError("not run: " + "; ".join(not_run))
    found = write(out / series.key, renamed(raw, names), corpus, series.how)
    for step in found.steps:
        print(f"  {step.release}: {len(step.changes)} vectors changed since {step.previous}")
    return found


def report_only(series: Series, corpus: Corpus, out: Path) -> None:
    folder = out / series.key
    results = Results.read(folder / "results.json")
    same = corpus if corpus.corpus_version == results.run.get("corpus_version") else None
    write(folder, results, same, series.how)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--only", action="append", choices=sorted(SERIES), help="only this series (repeatable)")
    parser.add_argument("--cache", type=Path, default=CACHE, help="where environments are built and kept")
    parser.add_argument("--out", type=Path, default=OUT, help="where each series' folder is written")
    parser.add_argument("--jobs", type=int, default=2, help="releases run at the same time")
    parser.add_argument("--synth", action="store_true", help="include the large recipe vectors")
    parser.add_argument("--report-only", action="store_true", help="render again from results.json; run nothing")
    args = parser.parse_args(argv)
    corpus = load_corpus()
    for key in args.only or list(SERIES):
        series = SERIES[key]
        if args.report_only:
            report_only(series, corpus, args.out)
            continue
        absent = [tool for tool in series.needs if shutil.which(tool) is None]
        if absent:
            print(f"{key}: skipped, {', '.join(absent)} not found", file=sys.stderr)
            continue
        try:
            run_series(series, corpus, args.cache.resolve(), args.out, jobs=args.jobs, synth=args.synth)
        except BuildError as error:
            print(f"{key}: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
