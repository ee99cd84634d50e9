"""Branch coverage of the reference (``format/``) reached by the vector corpus alone.

    python scripts/format_coverage.py [--synth] [--reasons FILE] [--json]

Every committed vector of ``vectors/manifest.json`` is read through each entry point a user calls
with a file: ``check`` on a path (keeping tensors or not), on bytes and on a stream (as standard
input is read), ``iter_violations``, ``validate`` and ``load``, each finding rendered as the CLI
renders it; a file the reader accepts is then read lazily through ``open_file`` and written back
with ``serialize`` and ``write_file``. Nothing else runs while coverage measures, so a branch
counts as reached only if a vector takes it. ``--synth`` adds the recipe vectors; they reach no
branch the committed files miss and take minutes, so they are left out by default.

The arcs coverage reports can differ between Python versions; the list was made with CPython 3.11.

Every branch left unreached, and every run of statements that no unreached branch leads into
(a function no entry point calls), is a *gap*. A gap is named by its place in the innermost
function (or class) that holds it, as line offsets from that function's ``def`` line, so that
editing code above it does not rename it: ``format/FILE:SCOPE+FROM->+TO`` for a branch (``exit``
when it leaves the function) and ``format/FILE:SCOPE+FIRST[-+LAST]`` for statements. SCOPE is the
qualified name (``Class.method``, ``outer.inner``), ``#2`` for a second definition of one name,
``<module>`` (offsets are then line numbers) outside any. Each gap must be listed with its
reason in ``tests/coverage-unreached.txt``; the script fails when one is not (printing its source),
when a listed one is no gap now (reached, or its code changed: the list stays true), or when the
reference does anything but accept or reject with its own error, or reads one vector differently
depending on how it is given.

Exit status: 0 when the list matches and the reference behaved, 1 otherwise.
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import coverage

ROOT = Path(__file__).resolve().parents[1]
MEASURED = "safetensors_conformance.format"
REASONS = ROOT / "tests" / "coverage-unreached.txt"


@dataclass(frozen=True)
class Gap:
    """A branch or a run of statements no vector reaches; ``source`` shows the code involved."""

    key: str
    source: str


class ReasonsError(ValueError):
    """A bad line of the reasons file: ``problem`` is "no reason" or "listed twice"."""

    def __init__(self, path: Path, line: int, key: str, problem: str) -> None:
        super().__init__(f"{path.name}:{line}: {key}: {problem}")
        self.line = line
        self.key = key
        self.problem = problem


@dataclass(frozen=True)
class Comparison:
    unlisted: tuple[Gap, ...]
    stale: tuple[str, ...]


class _Stream(io.RawIOBase):
    """The file's bytes as a pipe gives them: readable once, front to back, not seekable."""

    def __init__(self, content: bytes) -> None:
        super().__init__()
        self._content = io.BytesIO(content)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._content.readinto(buffer)


def vector_paths(manifest: dict[str, Any], *, synth: bool) -> Iterator[tuple[str, Path]]:
    """(id, file) of every committed vector, and of every recipe when ``synth`` (materialised)."""
    for vector in manifest["vectors"]:
        if "file" in vector:
            yield vector["id"], ROOT / "vectors" / vector["file"]
        elif synth:
            from safetensors_conformance.corpus import synth as recipes  # noqa: PLC0415

            recipe, params = vector["synth"]["recipe"], vector["synth"]["params"]
            yield vector["id"], recipes.materialize(recipe, params, vector["sha256"], vector["size"])


#: Vectors up to this size are also read from bytes and from a stream (every committed one is).
STREAMED_LIMIT = 1 << 20


def read_every_way(path: Path, scratch: Path) -> list[str]:
    """Run one vector through every entry point; return what went wrong (nothing, normally).

    Imported here, not at the top: the reference must be imported while coverage measures.
    """
    from safetensors_conformance.format import FormatError, check, iter_violations, load, validate  # noqa: PLC0415

    problems: list[str] = []
    report = check(path)
    _render(report.violations + report.warnings, report.primary)
    check(path, keep_tensors=False)
    # The optional C decoder decides conforming headers in bulk validation: same report, always.
    for fast in (False, True):
        again = check(path, fast=fast)
        if (again.violations, again.warnings) != (report.violations, report.warnings):
            problems.append(f"check with fast={fast} reports otherwise")
    list(iter_violations(path))
    for what, read in (("validate", validate), ("load", load)):
        try:
            read(path)
        except FormatError as error:
            _render(error.violations + error.warnings, error.primary, str(error), error.requirements)
            if report.conforms:
                problems.append(f"{what} rejects a file check accepts")
        else:
            if not report.conforms:
                problems.append(f"{what} accepts a file check rejects")
    if report.conforms:
        _read_back(path, scratch)
    if path.stat().st_size <= STREAMED_LIMIT:
        content = path.read_bytes()
        for what, source in (("bytes", content), ("a stream", io.BufferedReader(_Stream(content)))):
            if check(source).violations != report.violations:
                problems.append(f"check reads {what} differently from the path")
    return problems


def _render(violations: tuple[Any, ...], *shown: object) -> None:
    """Use a report as ``validate`` prints it: each finding as text and JSON, with its spec anchor."""
    for violation in violations:
        str(violation)
        violation.to_json()
        _ = violation.is_warning, violation.requirement.anchor


def _read_back(path: Path, scratch: Path) -> None:
    """Read a conforming file lazily, tensor by tensor, and write it back with the writer."""
    from safetensors_conformance.format import load, open_file, serialize, write_file  # noqa: PLC0415

    tensors, metadata = load(path)
    with open_file(path) as file:
        names = file.names()
        assert (len(file), list(file), file.metadata) == (len(names), names, metadata)
        assert len(file.read_buffer()) == file.header.buffer_length
        for name in names:
            info = file.info(name)
            assert name in file
            assert (info.data_offsets, info.nbytes) == ((info.begin, info.end), len(tensors[name].data))
            assert file.read(name) == tensors[name].data
    serialize(tensors, metadata)
    write_file(scratch / "written.safetensors", tensors, metadata)  # the first call creates, the rest replace


def measure(*, synth: bool) -> tuple[dict[str, Any], list[str], int]:
    """Coverage of ``format/`` over the corpus: the JSON report, the reference's misbehaviours, and
    how many vectors were read."""
    manifest = json.loads((ROOT / "vectors" / "manifest.json").read_text(encoding="utf-8"))
    # Coverage's own defaults, whatever the project configures: only TYPE_CHECKING blocks are excluded.
    cov = coverage.Coverage(branch=True, source_pkgs=[MEASURED], data_file=None, config_file=False)
    problems: list[str] = []
    count = 0
    with tempfile.TemporaryDirectory() as scratch:
        cov.start()
        try:
            for vector_id, path in vector_paths(manifest, synth=synth):
                count += 1
                try:
                    found = read_every_way(path, Path(scratch))
                except Exception as error:  # anything but the rejection error is a finding
                    found = [f"{type(error).__name__}: {error}"[:300]]
                problems.extend(f"{vector_id}: {problem}" for problem in found)
        finally:
            cov.stop()
        report_path = Path(scratch) / "coverage.json"
        cov.json_report(outfile=str(report_path))
        data: dict[str, Any] = json.loads(report_path.read_text(encoding="utf-8"))
    return data, problems, count


MODULE_SCOPE = "<module>"


def scopes(source: str) -> list[tuple[str, int]]:
    """For each line (index 0 unused), the innermost function or class holding it, as (qualified
    name, line of its ``def`` or ``class``); ``(MODULE_SCOPE, 0)`` outside any."""
    count = source.count("\n") + 2
    result = [(MODULE_SCOPE, 0)] * count
    seen: dict[str, int] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                qualname = prefix + child.name
                seen[qualname] = seen.get(qualname, 0) + 1
                name = qualname if seen[qualname] == 1 else f"{qualname}#{seen[qualname]}"
                end = child.end_lineno or child.lineno
                # Outer scopes are visited first, so inner ones overwrite their lines.
                result[child.lineno : end + 1] = [(name, child.lineno)] * (end + 1 - child.lineno)
                visit(child, qualname + ".")
            else:
                visit(child, prefix)

    visit(ast.parse(source), "")
    return result


def gaps(data: dict[str, Any]) -> list[Gap]:
    """Every unreached branch, then every run of unexecuted statements no unreached branch leads into."""
    found: list[Gap] = []
    for filename, info in sorted(data["files"].items()):
        path = Path(filename).resolve()
        name = f"{path.parent.name}/{path.name}"  # format/FILE, wherever the package is installed
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        scope_of = scopes(source)

        def text(line: int, lines: list[str] = lines) -> str:
            return lines[line - 1].strip()

        def place(first: int, *more: int, scope_of: list[tuple[str, int]] = scope_of) -> tuple[str, list[str]]:
            """The scope of ``first`` and the offsets of ``first`` and ``more`` from its def line."""
            scope, line = scope_of[first]
            return scope, [f"+{n - line}" for n in (first, *more)]

        targets = set()
        for start, end in info["missing_branches"]:
            scope, offsets = place(start, *([] if end < 0 else [end]))
            target = "exit" if end < 0 else offsets[1]
            shown = "leaves the function" if end < 0 else text(end)
            found.append(Gap(f"{name}:{scope}{offsets[0]}->{target}", f"{text(start)}  ->  {shown}"))
            targets.add(end)
        missing = set(info["missing_lines"])
        statements = sorted(missing | set(info["executed_lines"]))
        run: list[int] = []
        for line in [*statements, None]:
            if line is not None and line in missing:
                run.append(line)
                continue
            if run and run[0] not in targets:
                scope, offsets = place(run[0], *run[1:][-1:])
                found.append(Gap(f"{name}:{scope}{'-'.join(offsets)}", text(run[0])))
            run = []
    return found


def read_reasons(path: Path) -> dict[str, str]:
    """``KEY  REASON`` per line; blank lines and lines starting with # are ignored."""
    reasons: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        key, _, reason = line.strip().partition(" ")
        if not reason.strip():
            raise ReasonsError(path, number, key, "no reason")
        if key in reasons:
            raise ReasonsError(path, number, key, "listed twice")
        reasons[key] = reason.strip()
    return reasons


def compare(found: list[Gap], reasons: dict[str, str]) -> Comparison:
    keys = {gap.key for gap in found}
    return Comparison(
        unlisted=tuple(gap for gap in found if gap.key not in reasons),
        stale=tuple(key for key in reasons if key not in keys),
    )


def summary(totals: dict[str, Any]) -> str:
    return (
        f"format/ coverage from the corpus: {totals['covered_branches']}/{totals['num_branches']} branches "
        f"({totals['percent_branches_covered']:.1f}%), {totals['covered_lines']}/{totals['num_statements']} "
        f"statements ({totals['percent_statements_covered']:.1f}%)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--synth", action="store_true", help="also materialise and read the recipe vectors")
    parser.add_argument("--reasons", type=Path, default=REASONS, help="the list of unreached gaps and reasons")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON document")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    data, problems, count = measure(synth=args.synth)
    found = gaps(data)
    reasons = read_reasons(args.reasons)
    result = compare(found, reasons)
    seconds = time.perf_counter() - began
    if args.json:
        document = {
            "vectors": count,
            "seconds": round(seconds, 2),
            "totals": data["totals"],
            "summary": summary(data["totals"]),
            "gaps": [{"key": g.key, "source": g.source, "reason": reasons.get(g.key)} for g in found],
            # The source of an unlisted gap and the reason of a stale one say what they are.
            "unlisted": [{"key": g.key, "source": g.source} for g in result.unlisted],
            "stale": [{"key": key, "reason": reasons[key]} for key in result.stale],
            "problems": problems,
        }
        print(json.dumps(document, indent=1))
    else:
        print(f"{summary(data['totals'])}; {count} vectors in {seconds:.1f} s")
        for gap in found:
            print(f"  {gap.key}  {reasons.get(gap.key, '(no reason listed)')}")
        for gap in result.unlisted:
            print(f"unreached and not listed in {args.reasons.name}: {gap.key}  {gap.source}")
        for key in result.stale:
            changed = "no such gap now (reached, or its code changed)"
            print(f"listed in {args.reasons.name} but {changed}: {key}  {reasons[key]}")
        for problem in problems:
            print(f"reference misbehaves: {problem}")
    return 1 if result.unlisted or result.stale or problems else 0


if __name__ == "__main__":
    sys.exit(main())
