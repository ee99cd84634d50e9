"""``validate PATH...``: every input checked on its own, in this process or in worker processes.

:func:`expand` turns the command line into inputs (a file, ``-``, a checkpoint directory, an index
file, or a problem found while listing); :func:`validate_input` checks one and returns an
:class:`Outcome` (its report entries and the text it prints) instead of printing, so that a worker
process can check it and the parent print it. :func:`run_validate` prints the outcomes in input
order, so the output and the exit status are the same whatever ``--jobs`` is.

Start-up is part of every run: this module imports only the reader; the checkpoint validator, the
spec index and the worker pool are imported when an input needs them.
"""

# ruff: noqa: PLC0415, PTH112, PTH118, PTH119, PTH120
# (`validate` must start fast: the checkpoint code and the worker pool are imported where they are
# needed; paths stay strings joined as os.walk joins them, so that they read alike in the report.)

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Final, Literal, NamedTuple, TextIO

from .cli import EXIT_NONCONFORMING, EXIT_OK, EXIT_USAGE
from .format.reader import Report, check
from .textout import json_text, terminal

if TYPE_CHECKING:
    from concurrent.futures import Future
    from multiprocessing.context import BaseContext

    from .checkpoint.validate import CheckpointReport
    from .format.violations import Violation
    from .spec import Requirement

#: The name that stands for standard input.
STDIN: Final = "-"
#: The name an index file of a sharded checkpoint ends with (spec/checkpoint.md; as
#: ``checkpoint.names`` has it, which a run over plain files does not import).
INDEX_SUFFIX: Final = ".safetensors.index.json"

Kind = Literal["file", "stdin", "checkpoint", "index", "problem", "url", "url-index"]
FILE: Final = "file"
STANDARD_INPUT: Final = "stdin"
CHECKPOINT: Final = "checkpoint"  # a directory that holds sharded checkpoints: all of them
INDEX: Final = "index"  # an index file: the checkpoint it describes
PROBLEM: Final = "problem"  # found unreadable while listing; ``problem`` says why
URL: Final = "url"  # a file behind an http(s) URL: its header read by range requests (.remote)
URL_INDEX: Final = "url-index"  # an index behind a URL: its checkpoint, shards by range requests
#: What makes an argument a URL (the HTTP client is imported only for one: it costs start-up).
URL_SCHEMES: Final = ("http://", "https://")

#: Most inputs in one task of a worker process: a task costs a round trip between processes, about
#: what checking a small file costs, so tasks hold many inputs, but not so many that the last
#: tasks leave workers idle.
_CHUNK_LIMIT: Final = 64
#: Tasks per worker, so that one slow input does not leave the other workers idle at the end.
_TASKS_PER_WORKER: Final = 8


class Input(NamedTuple):
    """One input: ``shown`` is how the report names it, ``path`` what is opened."""

    shown: str
    kind: Kind
    path: str
    problem: str | None = None


class Outcome(NamedTuple):
    """What checking one input gives: its report entries, and the text it prints on each stream.

    ``out`` is empty with ``--json``; every entry's ``valid`` is ``True``, ``False``, or ``None``
    when it could not be checked (then it has an ``error``), which decides the exit status.
    """

    entries: list[dict[str, object]]
    out: str
    err: str


# --- Inputs ---------------------------------------------------------------------------------------


def expand(paths: Sequence[str]) -> Iterator[Input]:
    """Each input of the command line; directories expand to their files and checkpoints.

    Inside a directory, everything named ``*.safetensors`` that is not a directory is checked, so a
    FIFO or a dangling link is reported, not skipped; so is every directory that cannot be read. A
    directory that holds a sharded checkpoint is one input, checked as a whole (spec/checkpoint.md).
    An index file named on the command line stands for its checkpoint (pre-commit passes one so).
    """
    for raw in paths:
        if raw == STDIN:
            yield Input(raw, STANDARD_INPUT, raw)
        elif raw[:8].lower().startswith(URL_SCHEMES):
            path_part = raw.split("?", 1)[0].split("#", 1)[0]
            yield Input(raw, URL_INDEX if path_part.endswith(INDEX_SUFFIX) else URL, raw)
        elif os.path.isdir(raw):
            yield from _walk(raw)
        elif _is_index(raw):
            yield Input(os.path.dirname(raw) or os.curdir, INDEX, raw)
        else:
            yield Input(raw, FILE, raw)


def _walk(directory: str) -> Iterator[Input]:
    unreadable: list[OSError] = []
    found: list[Input] = []
    for folder, _, names in os.walk(directory, onerror=unreadable.append):
        if _holds_checkpoint(names):
            found.append(Input(folder, CHECKPOINT, folder))
        else:
            found.extend(
                Input(path, FILE, path)
                for path in (os.path.join(folder, name) for name in names if name.endswith(".safetensors"))
            )
    found.sort()
    for error in unreadable:
        where = str(error.filename)
        yield Input(where, PROBLEM, where, f"cannot read this directory: {error.strerror or error}")
    if not found and not unreadable:
        yield Input(directory, PROBLEM, directory, "no *.safetensors files in this directory")
    yield from found


def _is_index(path: str) -> bool:
    name = os.path.basename(path)
    return name.endswith(INDEX_SUFFIX) and len(name) > len(INDEX_SUFFIX)


def _holds_checkpoint(names: list[str]) -> bool:
    """An index file or a shard set member among a directory's names; the checkpoint code is
    imported only for a directory that may hold one."""
    if not any(n.endswith(INDEX_SUFFIX) or ("-of-" in n and n.endswith(".safetensors")) for n in names):
        return False
    from .checkpoint.names import holds_checkpoint

    return holds_checkpoint(names)


# --- One input ------------------------------------------------------------------------------------


def validate_input(item: Input, *, as_json: bool) -> Outcome:
    """Check one input; never raises for what an input holds (an unreadable one is an entry too).

    Standard input is read by the process that calls this, so :func:`run_validate` checks it itself.
    """
    out = io.StringIO()
    err = io.StringIO()
    entries: list[dict[str, object]] = []
    if item.kind == CHECKPOINT:
        from .checkpoint_cli import validate_directory

        found = validate_directory(item.path, as_json=as_json, out=out, err=err)
        entries.extend(found.results)
        # Its other *.safetensors files are still files to check.
        entries.extend(_check_file(file, file, None, as_json, out, err) for file in found.files)
    elif item.kind in (INDEX, URL_INDEX):
        entries.append(_check_index(item, as_json, out, err))
    elif item.kind == URL:
        from .remote import check_url

        entries.append(
            _check_file(item.shown, item.path, None, as_json, out, err, lambda url: check_url(url, keep_tensors=False))
        )
    else:
        entries.append(_check_file(item.shown, item.path, item.problem, as_json, out, err))
    return Outcome(entries, out.getvalue(), err.getvalue())


def _check_file(
    shown: str,
    path: str,
    problem: str | None,
    as_json: bool,
    out: TextIO,
    err: TextIO,
    checker: Callable[[str], Report] | None = None,
) -> dict[str, object]:
    """One file's entry; ``checker`` reads it otherwise than from a local path (a URL)."""
    report: Report | None = None
    if problem is None:
        try:
            if checker is not None:
                report = checker(path)
            else:
                report = check(sys.stdin.buffer if path == STDIN else path, keep_tensors=False)
        except OSError as error:
            problem = error.strerror or str(error)
        except Exception as error:  # a bug in the reader: exit 2, and say which file showed it
            problem = f"internal error: {type(error).__name__}: {error}"
    if report is None:
        if not as_json:
            err.write(f"ERROR {terminal(shown)}: {terminal(str(problem))}\n")
        return _error_entry(shown, str(problem))
    if not as_json:
        _print_report(shown, report, out)
    return _report_json(shown, report)


def _check_index(item: Input, as_json: bool, out: TextIO, err: TextIO) -> dict[str, object]:
    """The checkpoint of one index, local or behind a URL (its shards then read by range
    requests), reported as ``validate DIR`` reports a checkpoint."""
    from .checkpoint_cli import print_report as print_checkpoint
    from .checkpoint_cli import report_json as checkpoint_json

    report: CheckpointReport | None = None
    try:
        if item.kind == URL_INDEX:
            from .remote import check_checkpoint_url

            report = check_checkpoint_url(item.path)
        else:
            from .checkpoint.validate import check_checkpoint

            report = check_checkpoint(item.shown, index=os.path.basename(item.path))
    except OSError as error:  # RemoteError too: the server, the network, a lying size
        problem = error.strerror or str(error)
    except Exception as error:  # a bug in the validator: exit 2, and say which index showed it
        problem = f"internal error: {type(error).__name__}: {error}"
    if report is not None:
        if not as_json:
            print_checkpoint(item.shown, report, out)
        return checkpoint_json(item.shown, report)
    # Unreadable: named as given, as an unreadable file is.
    if not as_json:
        err.write(f"ERROR {terminal(item.path)}: {terminal(problem)}\n")
    return _error_entry(item.path, problem)


def _error_entry(shown: str, problem: str) -> dict[str, object]:
    return {"path": shown, "valid": None, "error": problem, "violations": [], "warnings": []}


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
    out.write(f"{'PASS' if report.conforms else 'FAIL'}  {terminal(path)}{detail}\n")
    for kind, findings, unreported in (
        ("error", report.violations, report.unreported_violations),
        ("warning", report.warnings, report.unreported_warnings),
    ):
        for finding in findings:
            out.write(f"  {kind:7} {_describe(finding)}\n")
            requirement = index.get(finding.requirement.value)
            if requirement is not None:
                out.write(f"          {requirement.url}\n")
        if unreported:
            out.write(f"  {kind:7} ... and {unreported} more {kind}{'' if unreported == 1 else 's'} not shown\n")


def _describe(violation: Violation) -> str:
    where = []
    if violation.offset is not None:
        where.append(f"offset {violation.offset}")
    if violation.pointer is not None:
        where.append(terminal(violation.pointer) or "header root")
    location = f" at {', '.join(where)}" if where else ""
    flag = f" [flag {violation.flag.value}]" if violation.flag is not None else ""
    return f"{violation.requirement.value}{location}: {terminal(violation.message)}{flag}"


# --- Many inputs ----------------------------------------------------------------------------------


def run_validate(paths: Sequence[str], *, as_json: bool, jobs: int = 1, out: TextIO, err: TextIO) -> int:
    """``validate``: check every input (in ``jobs`` worker processes when above 1), print, return the status."""
    results: list[dict[str, object]] = []
    items = list(expand(paths))
    for outcome in _outcomes(items, as_json=as_json, jobs=jobs):
        results.extend(outcome.entries)
        if outcome.out:
            out.write(outcome.out)
        if outcome.err:
            err.write(outcome.err)
    if as_json:
        out.write(json_text(results))
        out.write("\n")
    else:
        out.write(_summary(results) + "\n")
    if any(r["valid"] is None for r in results):
        return EXIT_USAGE
    return EXIT_NONCONFORMING if any(r["valid"] is False for r in results) else EXIT_OK


def _summary(results: list[dict[str, object]]) -> str:
    conforming = sum(1 for r in results if r["valid"] is True)
    others = len(results) - conforming
    checkpoints = sum(1 for r in results if "checkpoint" in r)
    files = len(results) - checkpoints
    counted = f"{files} file{'' if files == 1 else 's'}"
    if checkpoints:
        counted = f"{checkpoints} checkpoint{'' if checkpoints == 1 else 's'} and {counted}"
    verbs = f"conform{'s' if conforming == 1 else ''}", f"do{'es' if others == 1 else ''} not"
    return f"{counted}: {conforming} {verbs[0]}, {others} {verbs[1]}"


def _outcomes(items: list[Input], *, as_json: bool, jobs: int) -> Iterator[Outcome]:
    """The outcome of each input, in order; with ``jobs`` above 1, runs of inputs other than
    standard input go to worker processes in chunks, while this process reads standard input."""
    chunks = _chunks(items, jobs) if jobs > 1 else []
    if sum(1 for chunk in chunks if chunk[0].kind != STANDARD_INPUT) < 2:
        for item in items:
            yield validate_input(item, as_json=as_json)
        return
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from .format.reader import use_fast_path

    use_fast_path()  # once here, not in every worker: forked workers inherit the decoder
    workers = min(jobs, len(chunks))
    with ProcessPoolExecutor(workers, mp_context=_context()) as pool:
        pending: list[Future[list[Outcome]] | None] = [
            None if chunk[0].kind == STANDARD_INPUT else pool.submit(_validate_chunk, chunk, as_json)
            for chunk in chunks
        ]
        try:
            for chunk, future in zip(chunks, pending, strict=True):
                if future is None:
                    yield from (validate_input(item, as_json=as_json) for item in chunk)
                    continue
                try:
                    outcomes = future.result()
                except BrokenProcessPool:  # a worker died (killed, or out of memory): a result, not a crash
                    outcomes = [_died(item, as_json) for item in chunk]
                yield from outcomes
        finally:
            pool.shutdown(cancel_futures=True)


def _chunks(items: list[Input], jobs: int) -> list[list[Input]]:
    """Consecutive inputs in chunks of about equal size; standard input is a chunk of its own."""
    size = max(1, min(_CHUNK_LIMIT, len(items) // (jobs * _TASKS_PER_WORKER)))
    chunks: list[list[Input]] = []
    for item in items:
        if item.kind == STANDARD_INPUT:
            chunks.append([item])
        elif chunks and chunks[-1][0].kind != STANDARD_INPUT and len(chunks[-1]) < size:
            chunks[-1].append(item)
        else:
            chunks.append([item])
    return chunks


def _validate_chunk(items: list[Input], as_json: bool) -> list[Outcome]:
    """A worker's task."""
    return [validate_input(item, as_json=as_json) for item in items]


def _died(item: Input, as_json: bool) -> Outcome:
    problem = "internal error: the worker process checking this input died"
    text = "" if as_json else f"ERROR {terminal(item.shown)}: {problem}\n"
    return Outcome([_error_entry(item.shown, problem)], "", text)


def _context() -> BaseContext:
    """Fork where it is safe (one thread, not macOS): workers start at once, with every module this
    process has imported. Elsewhere spawn, which starts each worker as a fresh interpreter."""
    import multiprocessing
    import threading

    if sys.platform != "darwin" and "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")
