"""The ``run``, ``report``, ``compare`` and ``adapters`` commands."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:  # the parser is built for every command, validate too: import the runner only to run
    from .corpus import Corpus
    from .corpus.model import Vector
    from .runner.results import Result, Results
    from .runner.run import Settings
    from .runner.verdicts import Policy

MIB = 1 << 20


class RunUsageError(Exception):
    pass


def run_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .adapters.registry import SelectionError

    try:
        if args.command == "run":
            return _run(args, out, err)
        if args.command == "report":
            return _report(args, out)
        if args.command == "compare":
            return _compare(args, out)
        if args.command == "adapters":
            return _adapters(out)
    except (RunUsageError, SelectionError, ValueError, OSError) as error:
        print(f"safetensors-conformance: error: {error}", file=err)
        return 2
    raise AssertionError(args.command)


def parse_policies(values: list[str]) -> dict[str, dict[str, Policy]]:
    from .runner.verdicts import POLICIES

    policies: dict[str, dict[str, Policy]] = {}
    for value in values:
        assignment, _, selection = value.partition("@")
        flag, equals, policy = assignment.partition("=")
        if not equals or policy not in POLICIES:
            raise RunUsageError(f"--policy {value!r}: expected FLAG=accept|reject|either[@SELECTION]")
        policies.setdefault(selection or "*", {})[flag.strip()] = policy
    return policies


def select_vectors(corpus: Corpus, args: argparse.Namespace) -> list[Vector]:
    chosen = []
    for vector in corpus.vectors:
        if args.vector_id and vector.id not in args.vector_id:
            continue
        if args.group and vector.group not in args.group:
            continue
        if args.requirement and not {r.upper() for r in args.requirement} & set(vector.requirements):
            continue
        if args.flag and not set(args.flag) & set(vector.flags):
            continue
        if args.no_synth and vector.synth is not None:
            continue
        chosen.append(vector)
    unknown = set(args.vector_id) - {v.id for v in corpus.vectors}
    if unknown:
        raise RunUsageError(f"no such vectors: {', '.join(sorted(unknown))}")
    if not chosen:
        raise RunUsageError("the filters select no vectors")
    return chosen


def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .adapters.registry import parse
    from .corpus import load_corpus
    from .report.summary import print_summary
    from .runner.known import NONE, KnownFailures
    from .runner.run import Settings, run

    if not args.impl:
        raise RunUsageError("name at least one implementation with --impl (see `safetensors-conformance adapters`)")
    for selection in args.impl:
        parse(selection)  # a typo fails now, not in a worker
    corpus = load_corpus()
    vectors = select_vectors(corpus, args)
    known = KnownFailures.read(Path(args.known_failures)) if args.known_failures else NONE
    settings = Settings(
        args.vector_timeout,
        args.memory_limit * MIB if args.memory_limit else None,
        args.isolation,
        parse_policies(args.policy),
        args.jobs,
    )
    folder = Path(args.out)
    if args.quiet:
        results = run(args.impl, vectors, corpus, folder / "results.jsonl", settings, fresh=args.fresh)
    else:
        results = _run_with_progress(args.impl, vectors, corpus, folder, settings, args.fresh, err)
    write_reports(results, corpus, folder)
    print_summary(results, corpus, out, known=known.reason)
    unexpected = [r for r in results.results if r.verdict.failed and not known.reason(r.implementation, r.vector)]
    stale = [
        r for r in results.results if not r.verdict.failed and r.verdict.ok and known.reason(r.implementation, r.vector)
    ]
    for result in stale:
        print(f"known failure now passes (remove it from the list): {result.implementation} {result.vector}", file=out)
    print(f"results: {folder / 'results.json'}, {folder / 'results.md'}, {folder / 'results.html'}", file=out)
    return 1 if unexpected or stale else 0


def _run_with_progress(
    selections: list[str],
    vectors: list[Vector],
    corpus: Corpus,
    folder: Path,
    settings: Settings,
    fresh: bool,
    err: TextIO,
) -> Results:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    from .runner.run import run

    console = Console(file=err)
    tasks: dict[str, TaskID] = {}
    failed: dict[str, int] = {}
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:

        def progress(selection: str, result: Result | None, total: int) -> None:
            if result is None:
                tasks[selection] = bar.add_task(selection, total=total)
                failed[selection] = 0
                return
            failed[selection] += result.verdict.failed
            label = f"{selection} [red]{failed[selection]} failed[/red]" if failed[selection] else selection
            bar.update(tasks[selection], advance=1, description=label)

        return run(selections, vectors, corpus, folder / "results.jsonl", settings, fresh=fresh, progress=progress)


def write_reports(results: Results, corpus: Corpus | None, folder: Path) -> None:
    from .report import html, markdown

    folder.mkdir(parents=True, exist_ok=True)
    results.write(folder / "results.json")
    (folder / "results.md").write_text(markdown.render(results, corpus), encoding="utf-8")
    (folder / "results.html").write_text(html.render(results, corpus), encoding="utf-8")


def _corpus_for(results: Results) -> Corpus | None:
    from .corpus import load_corpus

    corpus = load_corpus()
    return corpus if corpus.corpus_version == results.run.get("corpus_version") else None


def _report(args: argparse.Namespace, out: TextIO) -> int:
    from .report import html, markdown
    from .report.summary import print_summary
    from .runner.results import Results

    source = Path(args.results)
    results = Results.read(source)
    corpus = _corpus_for(results)
    markdown_path = Path(args.markdown) if args.markdown else source.with_suffix(".md")
    html_path = Path(args.html) if args.html else source.with_suffix(".html")
    markdown_path.write_text(markdown.render(results, corpus), encoding="utf-8")
    html_path.write_text(html.render(results, corpus), encoding="utf-8")
    print_summary(results, corpus, out)
    print(f"wrote {markdown_path} and {html_path}", file=out)
    return 0


def _compare(args: argparse.Namespace, out: TextIO) -> int:
    from .report import compare as comparing
    from .runner.results import Results

    comparison = comparing.compare(Results.read(Path(args.before)), Results.read(Path(args.after)))
    print(comparing.render(comparison, str(args.before), str(args.after)), file=out)
    return 1 if comparison.regressions else 0


def _adapters(out: TextIO) -> int:
    from .adapters.registry import registered, resolve

    for name, target in sorted(registered().items()):
        try:
            description = resolve(name).describe()
        except Exception as error:
            print(f"{name:16} broken: {type(error).__name__}: {error}  ({target})", file=out)
            continue
        status = f"{description.version}" if description.available else f"unavailable: {description.reason}"
        kinds = description.capabilities
        print(
            f"{name:16} {status:12} {description.implementation} [{kinds.kind}, {len(kinds.dtypes)} dtypes]", file=out
        )
    print(
        "also: module:attr (your adapter class), cmd:PROGRAM ARGS (one-shot), serve:PROGRAM ARGS (persistent)", file=out
    )
    return 0
