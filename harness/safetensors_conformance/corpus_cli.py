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
    corpus = load_corpus()
    print(f"{len(corpus.vectors)} vectors checked: {problems} problem(s)", file=out)
    return 1 if problems else 0


def _build(directory: str | None, out: TextIO) -> int:
    from .corpus.generate import build, write

    if directory is None:
        root = checkout_root()
        if root is None:
            raise CorpusUsageError("not in a source checkout: give --dir")
        folder = root / "vectors"
    else:
        folder = Path(directory)
    built = build()
    changed, removed = write(built, folder)
    print(
        f"{folder}: {len(built.files)} files ({changed} written, {removed} removed), manifest and index updated",
        file=out,
    )
    return 0
