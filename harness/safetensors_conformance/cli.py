"""The ``safetensors-conformance`` command line.

``main(argv)`` returns the exit status and writes only to the streams it is given, so tests call
it directly; ``entry()`` is the console script. Heavy imports stay inside the subcommands so that
``validate`` starts fast.
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, NoReturn, TextIO

from . import __version__
from .format.reader import Report, check
from .options import register, whole_number
from .textout import json_text, terminal

if TYPE_CHECKING:
    from .format.violations import Violation
    from .spec import Requirement

EXIT_OK = 0
EXIT_NONCONFORMING = 1
EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 128 + 13


class UsageError(Exception):
    """Bad arguments or unreadable input: exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="safetensors-conformance",
        description="The safetensors specification, its reference reader, and a conformance kit.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser(
        "validate",
        help="check files against the spec",
        description="Check safetensors files against every requirement of the spec. Directories are "
        "searched for *.safetensors files. Exit status: 0 when every file conforms, 1 when any does "
        "not, 2 on usage or I/O errors. SHOULD-level findings are warnings and do not change it.",
    )
    validate.add_argument(
        "paths", nargs="+", metavar="PATH", help="a file, a directory to search, or - for standard input"
    )
    validate.add_argument("--json", action="store_true", help="print one JSON report for all files")

    cite = commands.add_parser("cite", help="print a requirement's text and link", description="Print requirements.")
    cite.add_argument("ids", nargs="+", metavar="ID", help="a requirement ID, such as BUFFER-NO-OVERLAP")

    vectors = commands.add_parser("vectors", help="list, show, check and build the vector corpus")
    actions = vectors.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="print vector ids, one per line")
    listing.add_argument("--stats", action="store_true", help="print counts per group, expect value, requirement, flag")
    listing.add_argument("--group", help="only this group (the part of the id before /)")
    listing.add_argument("--expect", choices=["valid", "invalid", "acceptable"], help="only vectors with this outcome")
    listing.add_argument("--requirement", help="only vectors citing this requirement ID")
    listing.add_argument("--flag", help="only vectors carrying this flag")
    listing.add_argument("--phase", choices=["header", "validation", "data"], help="only vectors of this phase")
    show = actions.add_parser("show", help="print a vector's manifest entry and the reference reader's report")
    show.add_argument("id", metavar="ID")
    checking = actions.add_parser("check", help="lint the corpus; exit 1 on any problem")
    checking.add_argument("--no-synth", action="store_true", help="skip the recipes (large vectors)")
    checking.add_argument("--no-regenerate", action="store_true", help="skip the byte-identical regeneration check")
    building = actions.add_parser("build", help="regenerate the corpus (in a source checkout)")
    building.add_argument("--dir", type=str, help="where to write (default: the checkout's vectors/)")
    promoting = actions.add_parser("promote", help="add fuzz findings to the corpus as vectors (in a source checkout)")
    promoting.add_argument(
        "files", nargs="+", metavar="FILE", help="a finding's bytes, FILE.bin (and its sidecar FILE.json if present)"
    )
    promoting.add_argument("--dir", type=str, help="the vectors folder to add to (default: the checkout's vectors/)")
    materialize = actions.add_parser("materialize", help="write recipe vectors into the cache and print their paths")
    materialize.add_argument("ids", nargs="*", metavar="ID", help="vector ids (default: every recipe)")

    add_run_arguments(commands)
    from .fuzz_cli import add_fuzz_arguments

    add_fuzz_arguments(commands)
    return parser


def add_run_arguments(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    running = commands.add_parser(
        "run",
        help="certify implementations against the corpus",
        description="Run implementations over the vector corpus in isolated worker processes and write "
        "results.jsonl (streamed), results.json, results.md and results.html. Exit status: 0 when no "
        "verdict is a failure (apart from known failures), 1 otherwise or when an implementation could not "
        "run, 2 on usage errors.",
    )
    register(running.add_argument)
    running.add_argument(
        "--out", default="conformance-results", metavar="DIR", help="where results go (default: %(default)s)"
    )
    running.add_argument("--fresh", action="store_true", help="discard results.jsonl instead of resuming it")
    running.add_argument(
        "--isolation",
        choices=["worker", "process", "none"],
        default="worker",
        help="worker processes (default), a process per vector, or none",
    )
    running.add_argument(
        "--jobs",
        type=whole_number(1),
        default=os.cpu_count() or 1,
        help="implementations run at once (default: the number of cores)",
    )
    running.add_argument("--quiet", action="store_true", help="no progress bar")
    running.add_argument(
        "--spec-url",
        metavar="URL",
        help="where requirement links point, #anchor appended (default: spec.html, written beside the reports)",
    )

    reporting = commands.add_parser(
        "report",
        help="render results.json again as Markdown and HTML",
        description="Render a results.json (or the results.jsonl stream of a run, an interrupted one "
        "included) as Markdown and HTML, and print the summary.",
    )
    reporting.add_argument("results", metavar="RESULTS", help="results.json or results.jsonl")
    reporting.add_argument("--markdown", metavar="PATH", help="default: next to the results")
    reporting.add_argument("--html", metavar="PATH", help="default: next to the results")
    reporting.add_argument(
        "--spec-url",
        metavar="URL",
        help="where requirement links point, #anchor appended (default: spec.html, written beside the reports)",
    )

    comparing_parser = commands.add_parser(
        "compare",
        help="what changed between two results.json (exit 1 on regressions)",
        description="List the verdicts that changed between two runs. Implementations are paired by "
        "selection, then by the implementation's own name (two releases of one library pair up). Exit "
        "status: 0 when nothing regressed, 1 on a regression (a verdict that was right and is not, a "
        "skip included) or when nothing could be compared, 2 on usage errors.",
    )
    comparing_parser.add_argument("before", metavar="BEFORE", help="results.json or results.jsonl")
    comparing_parser.add_argument("after", metavar="AFTER", help="results.json or results.jsonl")
    comparing_parser.add_argument(
        "--exact",
        action="store_true",
        help="exit 1 on any change (a verdict, an implementation's version, a vector added or removed), not "
        "only on regressions: for checking a published matrix",
    )
    comparing_parser.add_argument(
        "--unstable",
        metavar="FILE",
        help="pairs 'SELECTION VECTOR_ID  # why', one per line, whose verdict varies between runs: not compared",
    )
    comparing_parser.add_argument(
        "--pair",
        action="append",
        default=[],
        metavar="BEFORE=AFTER",
        help="compare these two selections with each other (repeatable)",
    )

    listing = commands.add_parser(
        "adapters",
        help="list the registered adapters and whether they work here",
        description="Describe every registered adapter, or the selections given (NAME, NAME:key=value, "
        "module:attr, cmd:..., serve:...): available here or why not, version, kind, dtypes.",
    )
    listing.add_argument("selections", nargs="*", metavar="SELECTION", help="describe these instead")
    listing.add_argument("--json", action="store_true", help="print a JSON array")


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_request:  # argparse reports usage errors by exiting
        return EXIT_USAGE if exit_request.code else EXIT_OK
    try:
        if args.command == "validate":
            return run_validate(args.paths, as_json=args.json, out=out, err=err)
        if args.command == "cite":
            return run_cite(args.ids, out=out)
        if args.command == "vectors":
            from .corpus_cli import run_vectors

            return run_vectors(args, out=out, err=err)
        if args.command in ("run", "report", "compare", "adapters"):
            from .runner_cli import run_command

            return run_command(args, out, err)
        if args.command == "fuzz":
            from .fuzz_cli import run_fuzz

            return run_fuzz(args, out, err)
    except UsageError as error:
        print(f"safetensors-conformance: error: {error}", file=err)
        return EXIT_USAGE
    raise AssertionError(f"unhandled command {args.command!r}")


def entry() -> NoReturn:
    """Console script: no cyclic garbage collection (the decoded headers hold no cycles, and walking
    them costs more than checking them), and no tear-down of what is left at exit."""
    gc.disable()
    # A name may hold a lone surrogate and a file name may not be UTF-8: never die printing one.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    try:
        status = main()
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        # The reader of our output went away (`... | head`): the verdict is unknown, so neither 0
        # nor 1; 141 is what a program killed by SIGPIPE reports to the shell.
        status = EXIT_BROKEN_PIPE
    except Exception:  # a bug: say so, and never let it read as "does not conform"
        import traceback

        traceback.print_exc()
        print("safetensors-conformance: internal error (the traceback above is a bug report)", file=sys.stderr)
        sys.stderr.flush()
        status = EXIT_USAGE
    os._exit(status)


# --- validate -------------------------------------------------------------------------------------

#: The name that stands for standard input.
STDIN = "-"


def _expand(paths: Sequence[str]) -> Iterator[tuple[str, str | None, str | None]]:
    """Each input as (display path, file, problem); directories expand to their .safetensors files.

    Inside a directory, everything named ``*.safetensors`` that is not a directory is checked, so a
    FIFO or a dangling link is reported, not skipped; so is every directory that cannot be read. A
    directory that holds a sharded checkpoint is yielded as itself, with neither file nor problem:
    it is checked as a whole (spec/checkpoint.md).
    """
    for raw in paths:
        if raw != STDIN and os.path.isdir(raw):
            unreadable: list[OSError] = []
            found: list[tuple[str, bool]] = []
            for folder, _, names in os.walk(raw, onerror=unreadable.append):
                if _holds_checkpoint(names):
                    found.append((folder, True))
                else:
                    found.extend((os.path.join(folder, name), False) for name in names if name.endswith(".safetensors"))
            found.sort()
            for error in unreadable:
                yield str(error.filename), None, f"cannot read this directory: {error.strerror or error}"
            if not found and not unreadable:
                yield raw, None, "no *.safetensors files in this directory"
            for file, is_checkpoint in found:
                yield file, None if is_checkpoint else file, None
        else:
            yield raw, raw, None


def _holds_checkpoint(names: list[str]) -> bool:
    """An index file or a shard set member among a directory's names; the checkpoint code is
    imported only for a directory that may hold one."""
    if not any(n.endswith(".safetensors.index.json") or ("-of-" in n and n.endswith(".safetensors")) for n in names):
        return False
    from .checkpoint.names import holds_checkpoint

    return holds_checkpoint(names)


def run_validate(paths: Sequence[str], *, as_json: bool, out: TextIO, err: TextIO) -> int:
    results: list[dict[str, object]] = []
    io_error = nonconforming = False

    def check_one(shown: str, path: str | None, problem: str | None) -> None:
        nonlocal io_error, nonconforming
        report: Report | None = None
        if problem is None and path is not None:
            try:
                report = check(sys.stdin.buffer if path == STDIN else path, keep_tensors=False)
            except OSError as error:
                problem = error.strerror or str(error)
            except Exception as error:  # a bug in the reader: exit 2, and say which file showed it
                problem = f"internal error: {type(error).__name__}: {error}"
        result: dict[str, object]
        if report is None:
            io_error = True
            result = {"path": shown, "valid": None, "error": problem, "violations": [], "warnings": []}
            if not as_json:
                print(f"ERROR {terminal(shown)}: {terminal(str(problem))}", file=err)
        else:
            nonconforming |= not report.conforms
            result = _report_json(shown, report)
            if not as_json:
                _print_report(shown, report, out)
        results.append(result)

    for shown, path, problem in _expand(paths):
        if path is None and problem is None:  # a directory that holds a sharded checkpoint
            from .checkpoint_cli import validate_directory

            found = validate_directory(shown, as_json=as_json, out=out, err=err)
            results.extend(found.results)
            nonconforming |= found.nonconforming
            io_error |= found.io_error
            for file in found.files:  # its other *.safetensors files are still files to check
                check_one(file, file, None)
        else:
            check_one(shown, path, problem)
    if as_json:
        out.write(json_text(results))
        out.write("\n")
    else:
        conforming = sum(1 for r in results if r["valid"] is True)
        others = len(results) - conforming
        checkpoints = sum(1 for r in results if "checkpoint" in r)
        files = len(results) - checkpoints
        counted = f"{files} file{'' if files == 1 else 's'}"
        if checkpoints:
            counted = f"{checkpoints} checkpoint{'' if checkpoints == 1 else 's'} and {counted}"
        print(
            f"{counted}: {conforming} "
            f"conform{'s' if conforming == 1 else ''}, {others} do{'es' if others == 1 else ''} not",
            file=out,
        )
    if io_error:
        return EXIT_USAGE
    return EXIT_NONCONFORMING if nonconforming else EXIT_OK


def _report_json(path: str, report: Report) -> dict[str, object]:
    primary = report.primary
    return {
        "path": path,
        "valid": report.conforms,
        "primary": None if primary is None else primary.value,
        "violations": [v.to_json() for v in report.violations],
        "warnings": [w.to_json() for w in report.warnings],
        "unreported_violations": report.unreported_violations,
        "unreported_warnings": report.unreported_warnings,
    }


def _print_report(path: str, report: Report, out: TextIO) -> None:
    index: dict[str, Requirement] = {}
    if report.violations or report.warnings:
        from .spec import load_index  # only a report with findings needs the spec index

        index = load_index()
    header = report.header
    detail = f" ({len(header)} tensor{'' if len(header) == 1 else 's'})" if header is not None else ""
    if report.primary is not None:
        detail = f" (primary: {report.primary.value})"
    elif not report.conforms:
        detail = " (every violation is flagged: implementation-defined)"
    print(f"{'PASS' if report.conforms else 'FAIL'}  {terminal(path)}{detail}", file=out)
    for kind, findings, unreported in (
        ("error", report.violations, report.unreported_violations),
        ("warning", report.warnings, report.unreported_warnings),
    ):
        for finding in findings:
            print(f"  {kind:7} {_describe(finding)}", file=out)
            requirement = index.get(finding.requirement.value)
            if requirement is not None:
                print(f"          {requirement.url}", file=out)
        if unreported:
            print(f"  {kind:7} ... and {unreported} more {kind}{'' if unreported == 1 else 's'} not shown", file=out)


def _describe(violation: Violation) -> str:
    where = []
    if violation.offset is not None:
        where.append(f"offset {violation.offset}")
    if violation.pointer is not None:
        where.append(terminal(violation.pointer) or "header root")
    location = f" at {', '.join(where)}" if where else ""
    flag = f" [flag {violation.flag.value}]" if violation.flag is not None else ""
    return f"{violation.requirement.value}{location}: {terminal(violation.message)}{flag}"


# --- cite -----------------------------------------------------------------------------------------


def run_cite(ids: Sequence[str], *, out: TextIO) -> int:
    import difflib

    from .spec import load_all, lookup, requirement_text

    found: list[Requirement] = []
    for requirement_id in ids:
        requirement = lookup(requirement_id)
        if requirement is None:
            close = difflib.get_close_matches(requirement_id.upper(), list(load_all()), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise UsageError(f"unknown requirement {requirement_id!r}{hint}")
        found.append(requirement)
    for number, requirement in enumerate(found):
        if number:
            print(file=out)
        print(
            f"{requirement.id} — {requirement.scope} requirement, {requirement.level} (§{requirement.section})",
            file=out,
        )
        print(requirement.url, file=out)
        print(file=out)
        print(requirement_text(requirement), file=out)
    return EXIT_OK
