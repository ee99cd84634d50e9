"""The ``vectors`` subcommands of the command line."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from ._resources import checkout_root, data_root
from .corpus import Corpus, Vector, load_corpus
from .format.reader import check
from .textout import json_text, terminal


class CorpusUsageError(Exception):
    """Bad arguments for a vectors action: exit status 2."""


def run_vectors(args: argparse.Namespace, *, out: TextIO, err: TextIO) -> int:
    try:
        if args.action == "build":
            return _build(args.dir, out)
        if args.action == "promote":
            return _promote(args.files, args.dir, out)
        if args.action == "check":
            return _check(synthetic=not args.no_synth, regenerate=not args.no_regenerate, out=out)
        corpus = load_corpus()
        if args.action == "list":
            return _list(corpus, args, out)
        if args.action == "show":
            vector = _vector(corpus, args.id)
            print(json_text(vector.to_json()), file=out)
            report = check(corpus.path(vector))
            verdict = (
                "accepts"
                if report.conforms
                else "rejects: " + ", ".join(sorted({v.requirement.value for v in report.violations}))
            )
            if report.primary is not None:
                verdict += f" (primary: {report.primary.value})"
            print(f"reference reader {verdict}", file=out)
            for violation in report.violations + report.warnings:
                flag = f" [flag {violation.flag.value}]" if violation.flag is not None else ""
                print(f"  {terminal(str(violation))}{flag}", file=out)
            return 0
        if args.action == "materialize":
            ids = args.ids or [v.id for v in corpus.vectors if v.synth is not None]
            for vector_id in ids:
                print(corpus.path(_vector(corpus, vector_id)), file=out)
            return 0
    except CorpusUsageError as error:
        print(f"safetensors-conformance: error: {error}", file=err)
        return 2
    raise AssertionError(args.action)


def _vector(corpus: Corpus, vector_id: str) -> Vector:
    """A vector the user named; an unknown id is a usage error, a KeyError anywhere else a bug."""
    try:
        return corpus.get(vector_id)
    except KeyError as error:
        raise CorpusUsageError(error.args[0]) from None


def _list(corpus: Corpus, args: argparse.Namespace, out: TextIO) -> int:
    selected = [
        v
        for v in corpus.vectors
        if (args.group is None or v.group == args.group)
        and (args.expect is None or v.expect == args.expect)
        and (args.requirement is None or args.requirement.upper() in v.requirements)
        and (args.flag is None or args.flag in v.flags)
        and (args.phase is None or v.phase == args.phase)
    ]
    if not args.stats:
        for vector in selected:
            print(vector.id, file=out)
        return 0
    counts = corpus.select(tuple(selected)).stats()
    print(
        f"{counts['vectors']} vectors ({counts['committed']} files, {counts['recipes']} recipes), "
        f"corpus {corpus.corpus_version}, spec {corpus.spec_version}",
        file=out,
    )
    for title, key in (
        ("by expect", "expect"),
        ("by group", "groups"),
        ("by requirement", "requirements"),
        ("by flag", "flags"),
    ):
        print(f"\n{title}:", file=out)
        for name, count in counts[key].items():
            print(f"  {count:5d}  {name}", file=out)
    return 0


def _check(*, synthetic: bool, regenerate: bool, out: TextIO) -> int:
    from .corpus.lint import lint

    folder = data_root("vectors")
    problems = 0
    for problem in lint(folder, synthetic=synthetic, regenerate=regenerate):
        print(problem, file=out)
        problems += 1
    from .corpus.checkpoint_lint import lint_checkpoints
    from .corpus.checkpoints import load as load_checkpoints

    for problem in lint_checkpoints(folder, regenerate=regenerate):
        print(problem, file=out)
        problems += 1
    corpus = load_corpus()
    checkpoints = len(load_checkpoints(folder))
    print(
        f"{len(corpus.vectors)} vectors and {checkpoints} checkpoint vectors checked: {problems} problem(s)", file=out
    )
    return 1 if problems else 0


def _folder(directory: str | None) -> Path:
    """The vectors folder a command changes: ``--dir``, else the source checkout's."""
    if directory is not None:
        return Path(directory)
    root = checkout_root()
    if root is None:
        raise CorpusUsageError("not in a source checkout: give --dir")
    return root / "vectors"


def _build(directory: str | None, out: TextIO) -> int:
    from .corpus.generate import build, write
    from .corpus.groups import fuzz

    folder = _folder(directory)
    shipped = data_root("vectors")
    if folder.resolve() != shipped.resolve():
        # Promoted findings are definitions kept as data: another folder gets the shipped ones
        # and keeps its own.
        for relative, content in fuzz.sources(shipped).items():
            target = folder / relative
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)
    built = build(folder)
    changed, removed = write(built, folder)
    print(
        f"{folder}: {len(built.files)} files ({changed} written, {removed} removed), manifest and index updated",
        file=out,
    )
    from .corpus import checkpoints

    built_checkpoints = checkpoints.build()
    changed, removed = checkpoints.write(built_checkpoints, folder)
    print(
        f"{folder}: {len(built_checkpoints.files)} checkpoint files ({changed} written, {removed} removed), "
        f"{checkpoints.MANIFEST} updated",
        file=out,
    )
    return 0


def _promote(files: list[str], directory: str | None, out: TextIO) -> int:
    from .corpus.promote import PromotionError, promote

    folder = _folder(directory)
    if not (folder / "manifest.json").is_file():
        raise CorpusUsageError(f"{folder} is not a vectors folder (no manifest.json)")
    try:
        outcomes = promote([Path(name) for name in files], folder)
    except PromotionError as error:
        raise CorpusUsageError(terminal(str(error))) from None
    for outcome in outcomes:
        judgement = outcome.judgement
        if judgement is None:
            shown = terminal(str(outcome.path))
            print(f"{shown}: already in the corpus as {outcome.vector_id}; nothing to do", file=out)
            continue
        flags = f" under {', '.join(judgement.flags)}" if judgement.flags else ""
        cited = ", ".join(judgement.requirements)
        print(f"{outcome.vector_id}: added, {judgement.expect} ({cited}{flags}): {judgement.description}", file=out)
        for note in outcome.notes:
            print(f"  note: {note}", file=out)
    added = sum(1 for outcome in outcomes if outcome.added)
    print(
        f"{folder}: {added} vector{'' if added == 1 else 's'} added, {len(outcomes) - added} already present"
        + ("; manifest and index updated" if added else ""),
        file=out,
    )
    return 0
