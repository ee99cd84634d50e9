"""Validate a list of files, checkpoints and URLs on a Ray cluster, one JSON report per input.

    python -m safetensors_conformance.ray_validate INPUT... --out DIR [--address ADDRESS] [--num-cpus N]

An INPUT is a file, a directory, a URL, or ``@LIST``: a text file with one of those per line
(blank lines and lines starting with ``#`` are skipped). A directory is split on this machine into
the inputs ``validate DIR`` would report: each folder that holds a sharded checkpoint is one input
(validated as a whole, its subfolders with it), every other ``*.safetensors`` file is one input.
Local paths are made absolute, so that a rerun from another directory finds the same reports.

Each input's report, ``DIR/<name>-<hash>.json``, is what ``safetensors-conformance validate --json
INPUT`` prints for it, byte for byte: a list of entries. Ray Data tasks produce them by running
that command in-process, for many files at once where the output splits into one entry per file
(see :func:`validate_inputs`). The driver writes the reports as results stream in,
each atomically (a temporary file, then a rename), so an interrupted run keeps every report it wrote
and a rerun skips the inputs whose report exists (``--retry-errors`` also redoes those that hold an
error, such as an unreachable URL). The last line is a summary; the exit status is ``validate``'s:
0 when every input conforms, 1 when any does not, 2 when any could not be checked or on usage errors.

Ray is the optional extra ``safetensors-conformance[ray]``; ``validate`` itself never imports this
module. On a cluster every node needs this package installed, the inputs readable at the same path
(or reachable by URL), and the driver alone writes ``DIR``. See ``docs/hub-scale.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NamedTuple, TextIO

from .checkpoint.names import holds_checkpoint
from .cli import main as cli_main
from .textout import json_text, terminal

if TYPE_CHECKING:
    from ray.data import Dataset

EXIT_OK: Final = 0
EXIT_NONCONFORMING: Final = 1
EXIT_USAGE: Final = 2

#: Characters a report's file name keeps from its input; the rest become ``_``.
_UNSAFE_NAME: Final = re.compile(r"[^A-Za-z0-9._-]+")
#: How much of the input's tail a report's name shows; the hash makes it unique.
_NAME_TAIL: Final = 80
#: Hex digits of the input's SHA-256 in a report's name: 64 bits, no collision in any real list.
_HASH_DIGITS: Final = 16
#: Inputs per Ray Data block, each block one task and one ``validate`` call: enough that the call's
#: start-up is small beside the checks, few enough that reports stream back steadily (a task's
#: reports are written when it ends, and an interrupted task's are lost).
BATCH: Final = 64


class Outcome(NamedTuple):
    """What one input's report says: conforms (0), does not (1) or could not be checked (2)."""

    input: str
    status: int


def is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


# --- Inputs ---------------------------------------------------------------------------------------


def collect_inputs(arguments: Iterable[str]) -> list[str]:
    """The inputs to validate, each once, in the order given (a directory's in sorted order)."""
    seen: dict[str, None] = {}
    for argument in arguments:
        if argument.startswith("@"):
            lines = [line.strip() for line in Path(argument[1:]).read_text(encoding="utf-8").splitlines()]
            raws: Iterable[str] = [line for line in lines if line and not line.startswith("#")]
        else:
            raws = [argument]
        for raw in raws:
            for found in _expand(raw):
                seen.setdefault(found, None)
    return list(seen)


def _expand(raw: str) -> list[str]:
    if raw == "-":
        raise ValueError("standard input cannot be validated on a cluster: write it to a file")
    if is_url(raw):
        return [raw]
    # os.path, as validate walks: the same strings for the same files, links kept as links.
    path = os.path.abspath(raw)  # noqa: PTH100
    if not os.path.isdir(path):  # noqa: PTH112
        return [path]  # a file, or a missing path that validate reports
    found: list[str] = []
    for folder, subfolders, names in os.walk(path, onerror=lambda error: found.append(str(error.filename))):
        if holds_checkpoint(names):
            found.append(folder)
            subfolders.clear()  # validate checks a checkpoint's folder with everything under it
        else:
            found.extend(os.path.join(folder, n) for n in names if n.endswith(".safetensors"))  # noqa: PTH118
    # No file in it: the directory itself, for which validate reports that.
    return sorted(found) or [path]


# --- Reports --------------------------------------------------------------------------------------


def report_name(input_path: str) -> str:
    """The file name of an input's report: its tail, readable, and a hash of all of it."""
    encoded = input_path.encode("utf-8", "surrogatepass")
    digest = hashlib.sha256(encoded).hexdigest()[:_HASH_DIGITS]
    tail = _UNSAFE_NAME.sub("_", input_path.rstrip("/"))[-_NAME_TAIL:].lstrip("._-")
    return f"{tail}-{digest}.json" if tail else f"{digest}.json"


def status_of(entries: object) -> int | None:
    """The exit status ``validate`` gives for these report entries; ``None`` if they are not a report."""
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
        return None
    verdicts = [e.get("valid") for e in entries]
    if any(v is None for v in verdicts):
        return EXIT_USAGE
    return EXIT_OK if all(v is True for v in verdicts) else EXIT_NONCONFORMING


def read_report(path: Path) -> int | None:
    """The status of a report written earlier; ``None`` when there is none (or it is not a report)."""
    try:
        return status_of(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


def write_report(directory: Path, input_path: str, text: str) -> None:
    """Write a report atomically: a reader (or a rerun) sees the whole report or none."""
    descriptor, name = tempfile.mkstemp(dir=directory, prefix=".", suffix=".partial")
    temporary = Path(name)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
        temporary.replace(directory / report_name(input_path))
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


# --- The task -------------------------------------------------------------------------------------


def validate_input(input_path: str) -> str:
    """``validate --json INPUT``, run in this process: the text it prints (a list of entries).

    When validate prints no report (a bug, or a usage error), the text is a report of one error
    entry, shaped like validate's own for an unreadable input.
    """
    out, err = io.StringIO(), io.StringIO()
    problem: str | None = None
    try:
        # argparse writes usage errors to sys.stderr, whatever stream main is given.
        with contextlib.redirect_stdout(err), contextlib.redirect_stderr(err):
            status = cli_main(["validate", "--json", input_path], stdout=out, stderr=err)
    except Exception as error:  # a bug in validate: a report that says so, not a lost task
        problem = f"internal error: {type(error).__name__}: {error}"
    else:
        text = out.getvalue()
        try:
            entries = json.loads(text)
        except ValueError:
            entries = None
        if status_of(entries) is not None:
            return text
        problem = f"validate exited {status} without a report: {err.getvalue().strip()[-500:]}"
    entry: dict[str, object] = {"path": input_path, "valid": None, "error": problem, "violations": [], "warnings": []}
    return json_text([entry]) + "\n"


def validate_inputs(inputs: Sequence[str]) -> list[str]:
    """The report of each input, as :func:`validate_input` gives it, for many inputs at once.

    A command line per input costs more than checking an ordinary shard, so the local paths that
    are not directories go to one ``validate --json`` together. Its output is kept only if it
    splits into one entry per input, in order, each naming its input, as it does for files; each
    entry is then written alone, as ``validate --json`` writes a one-file report. Otherwise (and
    for directories and URLs, whose reports may hold several entries) each input is run alone.
    """
    together = [i for i in inputs if not is_url(i) and not os.path.isdir(i)]  # noqa: PTH112
    split: dict[str, str] = {}
    if len(together) > 1:
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                cli_main(["validate", "--json", *together], stdout=out, stderr=io.StringIO())
            entries = json.loads(out.getvalue())
        except Exception:  # each input alone, below, shows which one and how
            entries = None
        if isinstance(entries, list) and [e.get("path") if isinstance(e, dict) else None for e in entries] == together:
            split = {i: json_text([e]) + "\n" for i, e in zip(together, entries, strict=True)}
    return [split.get(i) or validate_input(i) for i in inputs]


def _validate_batch(batch: dict[str, Any]) -> dict[str, list[Any]]:
    """One Ray Data batch: inputs travel as bytes: Arrow strings must be UTF-8, and a file name need not be."""
    encoded = list(batch["input"])
    reports = validate_inputs([i.decode("utf-8", "surrogatepass") for i in encoded])
    return {"input": encoded, "report": reports}


# --- The run --------------------------------------------------------------------------------------


def pending(inputs: Sequence[str], directory: Path, *, retry_errors: bool) -> tuple[list[str], list[Outcome]]:
    """The inputs still to validate, and the outcomes of those whose report a run already wrote."""
    todo: list[str] = []
    done: list[Outcome] = []
    for input_path in inputs:
        status = read_report(directory / report_name(input_path))
        if status is None or (retry_errors and status == EXIT_USAGE):
            todo.append(input_path)
        else:
            done.append(Outcome(input_path, status))
    return todo, done


def run_on_ray(todo: Sequence[str], directory: Path, *, batch: int = BATCH) -> Iterator[Outcome]:
    """Validate ``todo`` with Ray Data on the cluster Ray is connected to; write each report."""
    import ray.data  # noqa: PLC0415 (the optional extra: imported only when a run has work to do)

    items = [{"input": i.encode("utf-8", "surrogatepass")} for i in todo]
    dataset: Dataset = ray.data.from_items(items, override_num_blocks=-(-len(items) // batch))
    for row in dataset.map_batches(_validate_batch, batch_size=batch, num_cpus=1).iter_rows():
        input_path, text = bytes(row["input"]).decode("utf-8", "surrogatepass"), str(row["report"])
        write_report(directory, input_path, text)
        status = status_of(json.loads(text))
        yield Outcome(input_path, EXIT_USAGE if status is None else status)


@contextlib.contextmanager
def connected(address: str | None, num_cpus: int | None, *, quiet: bool) -> Iterator[None]:
    """Ray, connected: to the cluster at ``address``, to the one this process already joined, or to
    a new local one with ``num_cpus`` CPUs. Only a connection made here is closed here."""
    import logging  # noqa: PLC0415

    import ray.data  # noqa: PLC0415 (the optional extra)

    if ray.is_initialized():
        yield
        return
    ray.init(
        address=address,
        num_cpus=num_cpus,
        include_dashboard=False,
        logging_level=logging.WARNING if quiet else logging.INFO,
    )
    if quiet:  # Ray Data logs its progress through its own logger when no terminal shows a bar
        logging.getLogger("ray.data").setLevel(logging.WARNING)
    try:
        yield
    finally:
        ray.shutdown()


def summary(outcomes: Sequence[Outcome], reused: int, directory: Path) -> str:
    counts = [sum(1 for o in outcomes if o.status == s) for s in (EXIT_OK, EXIT_NONCONFORMING, EXIT_USAGE)]
    total = len(outcomes)
    line = f"{total} input{'' if total == 1 else 's'}: {counts[0]} conform{'s' if counts[0] == 1 else ''}, "
    line += f"{counts[1]} do{'es' if counts[1] == 1 else ''} not, {counts[2]} could not be checked"
    if reused:
        line += f" ({reused} reported by an earlier run)"
    return f"{line}; reports in {terminal(str(directory))}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m safetensors_conformance.ray_validate",
        description="Validate files, checkpoints and URLs on a Ray cluster with Ray Data, writing one "
        "`validate --json` report per input into --out. A rerun skips the inputs whose report exists. "
        "Exit status: 0 when every input conforms, 1 when any does not, 2 when any could not be checked "
        "or on usage errors.",
    )
    parser.add_argument(
        "inputs", nargs="+", metavar="INPUT", help="a file, a directory, a URL, or @LIST (a file of those, one a line)"
    )
    parser.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="where the reports go (created if needed)"
    )
    parser.add_argument("--address", help="a running cluster's address (ray://HOST:PORT, auto); default: a local one")
    parser.add_argument("--num-cpus", type=int, metavar="N", help="CPUs of the local cluster (default: all)")
    parser.add_argument("--retry-errors", action="store_true", help="also redo inputs whose report is an error")
    parser.add_argument("--quiet", action="store_true", help="no Ray progress or information logs")
    return parser


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_request:  # argparse reports usage errors by exiting
        return EXIT_USAGE if exit_request.code else EXIT_OK
    if args.address is not None and args.num_cpus is not None:
        err.write("ray_validate: error: --num-cpus sizes a local cluster; a cluster at --address has its own\n")
        return EXIT_USAGE
    try:
        inputs = collect_inputs(args.inputs)
        args.out.mkdir(parents=True, exist_ok=True)
    except (OSError, ValueError) as error:
        err.write(f"ray_validate: error: {terminal(str(error))}\n")
        return EXIT_USAGE
    if not inputs:
        err.write("ray_validate: error: no inputs (an empty list?)\n")
        return EXIT_USAGE
    todo, outcomes = pending(inputs, args.out, retry_errors=args.retry_errors)
    reused = len(outcomes)
    if todo:
        try:
            import ray  # noqa: F401, PLC0415 (only to say which extra is missing)
        except ImportError:
            err.write("ray_validate: error: Ray is not installed: pip install 'safetensors-conformance[ray]'\n")
            return EXIT_USAGE
        try:
            with connected(args.address, args.num_cpus, quiet=args.quiet):
                outcomes.extend(run_on_ray(todo, args.out))
        except Exception as error:  # Ray failed (a lost node, a worker that died): what is written stays
            err.write(f"ray_validate: error: the run stopped: {type(error).__name__}: {terminal(str(error))}\n")
            err.write(summary(outcomes, reused, args.out) + "; run again to resume\n")
            return EXIT_USAGE
    out.write(summary(outcomes, reused, args.out) + "\n")
    statuses = {o.status for o in outcomes}
    return max(statuses) if statuses else EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
