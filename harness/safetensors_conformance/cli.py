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
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn, TextIO

from . import __version__
from .options import register, whole_number

if TYPE_CHECKING:
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
        "searched for *.safetensors files and sharded checkpoints; an index file "
        "(*.safetensors.index.json) stands for its checkpoint. Exit status: 0 when every file conforms, "
        "1 when any does not, 2 on usage or I/O errors. SHOULD-level findings are warnings and do not "
        "change it.",
    )
    validate.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="a file, a directory to search, an index file (for its checkpoint), or - for standard input",
    )
    validate.add_argument("--json", action="store_true", help="print one JSON report for all files")
    validate.add_argument(
        "--jobs",
        type=whole_number(1),
        default=1,
        metavar="N",
        help="check inputs in N worker processes; the output is the same, in input order (default: 1)",
    )

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
            from .validate_cli import run_validate

            return run_validate(args.paths, as_json=args.json, jobs=args.jobs, out=out, err=err)
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
