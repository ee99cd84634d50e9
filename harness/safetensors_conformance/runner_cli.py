"""The ``run``, ``report``, ``compare`` and ``adapters`` commands."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:  # the parser is built for every command, validate too: import the runner only to run
    from .corpus import Corpus
    from .corpus.checkpoints import CkptVector
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
            return _adapters(args, out)
    except (RunUsageError, SelectionError, ValueError, OSError) as error:
        print(f"safetensors-conformance: error: {error}", file=err)
        return 2
    raise AssertionError(args.command)


def parse_policies(values: list[str], selections: list[str]) -> dict[str, dict[str, Policy]]:
    """``--policy FLAG=POLICY[@SELECTION]``: the flag must be one of the spec's and the selection
    one of those run, or the policy would silently apply to nothing."""
    from .format.requirements import Flag
    from .runner.verdicts import POLICIES

    known = sorted(f.value for f in Flag)
    policies: dict[str, dict[str, Policy]] = {}
    for value in values:
        assignment, at, selection = value.partition("@")
        flag, equals, policy = assignment.partition("=")
        flag = flag.strip()
        if not equals or policy not in POLICIES:
            raise RunUsageError(f"--policy {value!r}: expected FLAG=accept|reject|either[@SELECTION]")
        if flag not in known:
            raise RunUsageError(f"--policy {value!r}: unknown flag {flag!r}; the flags are {', '.join(known)}")
        if at and selection not in selections:
            raise RunUsageError(f"--policy {value!r}: {selection!r} is not one of the --impl selections")
        policies.setdefault(selection or "*", {})[flag] = policy
    return policies


def check_selections(selections: list[str]) -> None:
    """Each ``--impl`` once, each one well-formed: a typo fails now, not in a worker."""
    from .adapters.checkpoint import target_of
    from .adapters.registry import parse
    from .runner.run import CHECKPOINT_PREFIX

    twice = sorted({s for s in selections if selections.count(s) > 1})
    if twice:
        raise RunUsageError(f"--impl names {', '.join(twice)} more than once")
    for selection in selections:
        if selection.startswith(CHECKPOINT_PREFIX):
            target_of(selection[len(CHECKPOINT_PREFIX) :])
        else:
            parse(selection)


def split_selections(selections: list[str]) -> tuple[list[str], list[str]]:
    """File adapters and checkpoint loaders (``ckpt:NAME``), each in the order given."""
    from .runner.run import CHECKPOINT_PREFIX

    loaders = [s for s in selections if s.startswith(CHECKPOINT_PREFIX)]
    return [s for s in selections if s not in loaders], loaders


def select_all(
    corpus: Corpus, get: Callable[[str], Any], selections: list[str]
) -> tuple[list[Vector], list[CkptVector]]:
    """The file vectors for the file adapters and the checkpoint vectors for the ``ckpt:`` loaders
    among ``selections``. An id of either kind is known to ``--vector-id``; a selection whose kind
    of vector the filters leave out would be certified on nothing, which is a usage error."""
    from .corpus.checkpoints import load as load_checkpoints

    files, loaders = split_selections(selections)
    known_ids = {v.id for v in load_checkpoints()}
    vectors = select_vectors(corpus, get, also_known=known_ids, may_be_empty=bool(loaders))
    if files and not vectors:
        raise RunUsageError(f"the filters select no file vectors for {', '.join(files)} (only checkpoint vectors)")
    checkpoint_vectors = select_checkpoint_vectors(get) if loaders else []
    if loaders and not checkpoint_vectors:
        raise RunUsageError(f"the filters select no checkpoint vectors for {', '.join(loaders)}")
    return (vectors if files else []), checkpoint_vectors


def select_checkpoint_vectors(get: Callable[[str], Any]) -> list[CkptVector]:
    """The checkpoint vectors the filter options select: ``--vector-id``, ``--requirement`` and
    ``--flag`` apply to them as to files (``--group``, ``--phase`` and the recipe options do not)."""
    from .corpus.checkpoints import load

    vectors = load()
    ids = set(get("vector_id") or [])
    requirements, flags = {r.upper() for r in get("requirement")}, set(get("flag"))
    return [
        v
        for v in vectors
        if (not ids or v.id in ids)
        and (not requirements or requirements & set(v.requirements))
        and (not flags or flags & set(v.flags))
    ]


def select_vectors(
    corpus: Corpus, get: Callable[[str], Any], *, also_known: Collection[str] = (), may_be_empty: bool = False
) -> list[Vector]:
    """The vectors the shared filter options select (``get`` reads an option by its dest; the
    pytest plugin has no ``group``); unknown ids and an empty selection are usage errors.
    ``also_known``: other ids ``--vector-id`` may name (checkpoint vectors); ``may_be_empty``: the
    run has other vectors (a checkpoint loader's), so selecting no file is not an error."""
    ids, groups, phases = get("vector_id"), get("group") or [], set(get("phase") or [])
    if get("no_synth") and get("synth_only"):
        raise RunUsageError("--no-synth and --synth-only exclude each other")
    requirements, flags = {r.upper() for r in get("requirement")}, set(get("flag"))
    chosen = [
        vector
        for vector in corpus.vectors
        if (not ids or vector.id in ids)
        and (not groups or vector.group in groups)
        and (not requirements or requirements & set(vector.requirements))
        and (not flags or flags & set(vector.flags))
        and (not phases or vector.phase in phases)
        and not (get("no_synth") and vector.synth is not None)
        and not (get("synth_only") and vector.synth is None)
    ]
    unknown = set(ids) - {v.id for v in corpus.vectors} - set(also_known)
    if unknown:
        raise RunUsageError(f"no such vectors: {', '.join(sorted(unknown))}")
    if not chosen and not may_be_empty:
        raise RunUsageError("the filters select no vectors")
    return chosen


def settings_from(get: Callable[[str], Any], **more: Any) -> Settings:
    """Settings from the shared options (``more``: what only one face sets, isolation and jobs)."""
    from .runner.run import Settings

    memory = get("memory_limit")
    return Settings(
        get("vector_timeout"),
        memory * MIB if memory else None,
        policies=parse_policies(get("policy"), get("impl") or []),
        **more,
    )


def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .corpus import load_corpus
    from .report.summary import print_summary
    from .runner.known import NONE, KnownFailures
    from .runner.run import run

    if not args.impl:
        raise RunUsageError("name at least one implementation with --impl (see `safetensors-conformance adapters`)")
    check_selections(args.impl)
    corpus = load_corpus()
    vectors, checkpoint_vectors = select_all(corpus, lambda dest: getattr(args, dest), args.impl)
    known = KnownFailures.read(Path(args.known_failures)) if args.known_failures else NONE
    settings = settings_from(lambda dest: getattr(args, dest), isolation=args.isolation, jobs=args.jobs)
    folder = Path(args.out)

    def notice(text: str) -> None:
        print(text, file=err)

    if checkpoint_vectors and args.isolation != "worker":
        # Their seeds are properties of a process: they never run in this one, nor one per vector.
        notice(f"--isolation {args.isolation} applies to file adapters; checkpoint loaders run in a worker per seed")

    try:
        if args.quiet:
            results = run(
                args.impl,
                vectors,
                corpus,
                folder / "results.jsonl",
                settings,
                fresh=args.fresh,
                notice=notice,
                checkpoint_vectors=checkpoint_vectors,
            )
        else:
            results = _run_with_progress(
                args.impl, vectors, corpus, folder, settings, args.fresh, err, checkpoint_vectors
            )
    except KeyboardInterrupt:
        print(
            f"interrupted: the results so far are in {folder / 'results.jsonl'}; run the same command again to resume",
            file=err,
        )
        return 130
    write_reports(results, corpus, folder, args.spec_url)
    print_summary(results, corpus, out, known=known.reason)
    unexpected = [r for r in results.results if r.verdict.failed and not known.reason(r.implementation, r.vector)]
    stale = [r for r in results.results if r.verdict.ok and known.reason(r.implementation, r.vector)]
    for result in stale:
        print(f"known failure now passes (remove it from the list): {result.implementation} {result.vector}", file=out)
    # An implementation that could not run was not certified: that must not read as a pass.
    not_run = {s: d for s, d in results.implementations.items() if not d.available}
    for selection, description in not_run.items():
        print(f"not run: {selection}: {description.reason}", file=out)
    print(f"results: {folder / 'results.json'}, {folder / 'results.md'}, {folder / 'results.html'}", file=out)
    return 1 if unexpected or stale or not_run else 0


def _run_with_progress(
    selections: list[str],
    vectors: list[Vector],
    corpus: Corpus,
    folder: Path,
    settings: Settings,
    fresh: bool,
    err: TextIO,
    checkpoint_vectors: Sequence[CkptVector] = (),
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

        return run(
            selections,
            vectors,
            corpus,
            folder / "results.jsonl",
            settings,
            fresh=fresh,
            progress=progress,
            notice=lambda text: console.print(text, markup=False, highlight=False),
            checkpoint_vectors=checkpoint_vectors,
        )


def write_reports(results: Results, corpus: Corpus | None, folder: Path, spec_url: str | None = None) -> None:
    """results.json, results.md, results.html and, when the reports link to it, spec.html."""
    from .report import html, markdown
    from .report.spec_html import DEFAULT_SPEC_URL, write_spec_pages

    folder.mkdir(parents=True, exist_ok=True)
    results.write(folder / "results.json")
    url = spec_url or DEFAULT_SPEC_URL
    (folder / "results.md").write_text(markdown.render(results, corpus, url), encoding="utf-8")
    (folder / "results.html").write_text(html.render(results, corpus, url), encoding="utf-8")
    if url == DEFAULT_SPEC_URL:
        write_spec_pages(folder)


def _corpus_for(results: Results) -> Corpus | None:
    from .corpus import load_corpus

    corpus = load_corpus()
    return corpus if corpus.corpus_version == results.run.get("corpus_version") else None


def _report(args: argparse.Namespace, out: TextIO) -> int:
    from .report import html, markdown
    from .report.spec_html import DEFAULT_SPEC_URL, write_spec_pages
    from .report.summary import print_summary

    source = Path(args.results)
    results = read_results(source)
    corpus = _corpus_for(results)
    markdown_path = Path(args.markdown) if args.markdown else source.with_suffix(".md")
    html_path = Path(args.html) if args.html else source.with_suffix(".html")
    url = args.spec_url or DEFAULT_SPEC_URL
    markdown_path.write_text(markdown.render(results, corpus, url), encoding="utf-8")
    html_path.write_text(html.render(results, corpus, url), encoding="utf-8")
    if url == DEFAULT_SPEC_URL:
        write_spec_pages(html_path.parent)
    print_summary(results, corpus, out)
    print(f"wrote {markdown_path} and {html_path}", file=out)
    return 0


def _compare(args: argparse.Namespace, out: TextIO) -> int:
    from .report import compare as comparing

    unstable: set[tuple[str, str]] = set()
    if args.unstable:
        for line in Path(args.unstable).read_text(encoding="utf-8").splitlines():
            words = line.split("#", 1)[0].split()
            if words:
                if len(words) < 2:
                    raise RunUsageError(f"{args.unstable}: expected 'SELECTION VECTOR_ID  # why', got {line!r}")
                unstable.add((" ".join(words[:-1]), words[-1]))
    before, after = read_results(Path(args.before)), read_results(Path(args.after))
    explicit = dict(_split_pair(value, before, after) for value in args.pair)
    comparison = comparing.compare(before, after, explicit, frozenset(unstable))
    print(comparing.render(comparison, str(args.before), str(args.after)), file=out)
    if args.exact and comparison.differs:
        return 1
    return 1 if comparison.regressions or comparison.empty else 0


def _split_pair(value: str, before: Results, after: Results) -> tuple[str, str]:
    """BEFORE=AFTER, split at the ``=`` that leaves a selection of each side (selections such as
    ``safetensors==0.3.0`` or ``NAME:key=value`` hold ``=`` themselves)."""
    splits = [
        (value[:i], value[i + 1 :])
        for i, char in enumerate(value)
        if char == "=" and value[:i] in before.implementations and value[i + 1 :] in after.implementations
    ]
    if len(splits) == 1:
        return splits[0]
    if not splits:
        if "=" not in value.strip("="):
            raise RunUsageError(f"--pair {value!r}: expected BEFORE=AFTER (two selections)")
        raise RunUsageError(f"--pair {value!r}: no split names a selection of the first results and one of the second")
    raise RunUsageError(f"--pair {value!r}: ambiguous, it splits into selections in {len(splits)} ways")


def read_results(path: Path) -> Results:
    """A results.json, or the results.jsonl stream of a run (an interrupted one included)."""
    from .runner.results import Results, read_stream

    if path.suffix == ".jsonl":
        results, _ = read_stream(path)
        if results is None:
            raise RunUsageError(f"{path} is empty")
        return results
    return Results.read(path)


def _adapters(args: argparse.Namespace, out: TextIO) -> int:
    """Every registered adapter (or the selections given), described here: a table, or JSON."""
    import json

    from .adapters.checkpoint import BUILT_IN, resolve_loader
    from .adapters.protocol import Description
    from .adapters.registry import registered, resolve
    from .runner.run import CHECKPOINT_PREFIX

    rows: list[dict[str, Any]] = []
    targets = dict(sorted(registered().items()))
    loaders = {f"{CHECKPOINT_PREFIX}{name}": target for name, target in sorted(BUILT_IN.items())}
    for selection in args.selections or [*targets, *loaders]:
        try:
            if selection.startswith(CHECKPOINT_PREFIX):
                description = resolve_loader(selection[len(CHECKPOINT_PREFIX) :]).describe()
            else:
                description = resolve(selection).describe()
        except Exception as error:  # a broken adapter is listed, not fatal
            description = Description(selection, "?", available=False, reason=f"{type(error).__name__}: {error}")
        capabilities = description.capabilities
        rows.append(
            {
                "name": selection,
                "available": description.available,
                "version": description.version,
                "kind": capabilities.kind,
                "dtypes": sorted(capabilities.dtypes),
                "devices": list(capabilities.devices),
                "implementation": description.implementation,
                "reason": description.reason,
                "target": targets.get(selection) or loaders.get(selection),
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2), file=out)
        return 0
    header = ["name", "available", "version", "kind", "dtypes", "implementation / why unavailable"]
    table = [header] + [
        [
            row["name"],
            "yes" if row["available"] else "no",
            row["version"],
            row["kind"],
            str(len(row["dtypes"])),
            row["implementation"] if row["available"] else row["reason"] or "unavailable",
        ]
        for row in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]) - 1)]
    for line in table:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=False)) + "  " + line[-1], file=out
        )
    print(
        "also: module:attr (your adapter class), cmd:PROGRAM ARGS (one-shot), serve:PROGRAM ARGS (persistent),"
        " ckpt:module:attr (your checkpoint loader); name any of them to describe it",
        file=out,
    )
    return 0
