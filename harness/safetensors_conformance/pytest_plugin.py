"""pytest plugin: ``pytest --impl=NAME`` certifies an implementation, one test item per vector.

Works in any directory (no test files needed). Items are named ``IMPL::GROUP/NAME`` so ``-k``
selects by vector id; ``--requirement``, ``--flag`` and ``--vector-id`` narrow the corpus;
``--policy FLAG=accept|reject|either[@IMPL]`` sets the policy for an implementation-defined flag;
``--known-failures FILE`` marks expected failures, strictly (a listed vector that passes fails).
Each implementation runs in an isolated worker process, as with ``safetensors-conformance run``.
``--impl=ckpt:NAME`` certifies a checkpoint loader on the checkpoint vectors: its runs (every
vector under every hash seed) happen when its first item runs, and each item reports its vector.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .options import register

if TYPE_CHECKING:
    from .adapters.protocol import Description
    from .corpus import Corpus
    from .corpus.checkpoints import CkptVector
    from .corpus.model import Vector
    from .runner.known import KnownFailures
    from .runner.results import Result
    from .runner.run import Implementation, Settings


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("safetensors-conformance", "certify a safetensors implementation against the vector corpus")
    register(group.addoption)


class VectorFailure(Exception):
    """A verdict that counts against the implementation."""

    def __init__(self, result: Result) -> None:
        super().__init__(result.verdict.value)
        self.result = result


class Certification:
    """The state of one pytest session: the corpus, settings, and a running worker per implementation."""

    def __init__(self, config: pytest.Config) -> None:
        from .corpus import load_corpus
        from .runner.known import NONE, KnownFailures
        from .runner_cli import RunUsageError, select_all, settings_from

        def get(dest: str) -> Any:
            return config.getoption(dest, default=None)

        self.corpus: Corpus = load_corpus()
        known = config.getoption("known_failures")
        try:  # the same checks as `run`, reported the way pytest reports bad options
            self.settings: Settings = settings_from(get)
            self.known: KnownFailures = KnownFailures.read(Path(known)) if known else NONE
            selected = select_all(self.corpus, get, config.getoption("impl"))
            self.vectors: list[Vector] = selected[0]
            self.checkpoint_vectors: list[CkptVector] = selected[1]
        except (RunUsageError, ValueError, OSError) as error:
            raise pytest.UsageError(str(error)) from None
        self.implementations: dict[str, tuple[Implementation, Description]] = {}
        self.loaders: dict[str, tuple[Description, dict[str, Result]]] = {}

    def run_checkpoint(self, selection: str, vector: CkptVector) -> Result:
        """The loader's result for one vector; the first call runs all its vectors (per seed, a
        worker goes through every vector: running them one by one would start three per vector)."""
        from .runner.checkpoints import run_checkpoints

        if selection not in self.loaders:
            description, found = run_checkpoints(selection, self.checkpoint_vectors, self.settings)
            self.loaders[selection] = (description, {r.vector: r for r in found})
        description, results = self.loaders[selection]
        if not description.available:
            pytest.skip(f"{selection} is unavailable here: {description.reason}")
        return results[vector.id]

    def started(self, selection: str) -> tuple[Implementation, Description]:
        if selection not in self.implementations:
            from .runner.run import Implementation

            implementation = Implementation(selection, self.settings)
            self.implementations[selection] = (implementation, implementation.start())
        return self.implementations[selection]

    def run(self, selection: str, vector: Vector) -> Result:
        from .runner.run import run_vector

        implementation, description = self.started(selection)
        if not description.available:
            pytest.skip(f"{selection} is unavailable here: {description.reason}")
        return run_vector(
            implementation,
            description,
            vector,
            self.corpus.path(vector),
            self.corpus.expected(vector),
            self.settings.policy_for(selection),
        )

    def not_run(self) -> dict[str, str]:
        """Implementations that could not run here, with the reason."""
        described = {s: d for s, (_, d) in self.implementations.items()} | {s: d for s, (d, _) in self.loaders.items()}
        return {s: d.reason or "unavailable" for s, d in described.items() if not d.available}

    def close(self) -> None:
        for implementation, _ in self.implementations.values():
            implementation.close()


class ImplementationNode(pytest.Collector):
    """All vectors of one implementation: one item per vector, collected like any test."""

    def collect(self) -> list[pytest.Item]:
        from .runner.run import CHECKPOINT_PREFIX

        certification = self.config.stash[_CERTIFICATION]
        items: list[pytest.Item] = []
        chosen = certification.checkpoint_vectors if self.name.startswith(CHECKPOINT_PREFIX) else certification.vectors
        for vector in chosen:
            item = VectorItem.from_parent(
                self, name=vector.id, vector=vector, selection=self.name, certification=certification
            )
            reason = certification.known.reason(self.name, vector.id)
            if reason:
                item.add_marker(pytest.mark.xfail(reason=reason, raises=VectorFailure, strict=True))
            items.append(item)
        return items


class VectorItem(pytest.Item):
    """One vector run on one implementation."""

    def __init__(
        self, *, vector: Vector | CkptVector, selection: str, certification: Certification, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.vector = vector
        self.selection = selection
        self.certification = certification
        for requirement in vector.requirements:
            self.user_properties.append(("requirement", requirement))

    def runtest(self) -> None:
        from .corpus.checkpoints import CkptVector

        if isinstance(self.vector, CkptVector):
            result = self.certification.run_checkpoint(self.selection, self.vector)
        else:
            result = self.certification.run(self.selection, self.vector)
        self.user_properties.append(("verdict", result.verdict.value))
        if result.verdict.failed:
            raise VectorFailure(result)
        if not result.verdict.ok:
            pytest.skip(result.detail or result.verdict.value)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if not isinstance(excinfo.value, VectorFailure):
            return str(super().repr_failure(excinfo, style))
        return describe_failure(self.vector, excinfo.value.result, self.certification.corpus)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"{self.selection}::{self.vector.id}"


def describe_failure(vector: Vector | CkptVector, result: Result, corpus: Corpus) -> str:
    """Failure text: the requirement and its link, the vector, what was expected and observed."""
    from .corpus.checkpoints import CkptVector
    from .spec import load_all

    index = load_all()
    must = {"valid": "accept it and return the expected content", "invalid": "reject it"}.get(
        vector.expect, "reject it, or accept it and return the expected content"
    )
    lines = [f"{vector.id} on {result.implementation}: {result.verdict.value}", f"  vector:      {vector.description}"]
    for requirement in vector.requirements:
        entry = index.get(requirement)
        if entry is not None:
            lines.append(f"  requirement: {entry.id} ({entry.scope}, {entry.level}) {entry.url}")
            lines.append(f"               {entry.statement}")
    if vector.flags:
        lines.append(f"  flags:       {', '.join(vector.flags)}")
    lines.append(f"  expected:    {vector.expect}: a reader must {must}")
    observed = (result.detail or result.verdict.value).splitlines() or [""]
    lines.append(f"  observed:    {observed[0]}")
    lines += [f"               {line}" for line in observed[1:]]  # a traceback's frames, a stderr tail
    if result.flagged:
        lines.append(f"  flagged:     {result.flagged}")
    if isinstance(vector, CkptVector):
        for finding in vector.findings[:5]:
            where = finding.get("pointer")
            at = f" at {where!r}" if where is not None else ""
            lines.append(f"  reference:   {finding['requirement']} in {finding['file']}{at}")
        lines.append(f"  directory:   {corpus.root / vector.directory}")
        return "\n".join(lines)
    path = corpus.path(vector)
    lines += _evidence(vector, result, path)
    lines.append(f"  file:        {path}")
    return "\n".join(lines)


#: Tensors up to this many bytes are shown in full, in hex, when content differs.
SHOW_BYTES = 64


def _evidence(vector: Vector, result: Result, path: Path) -> list[str]:
    """What the reference reader found: why the file must be rejected, or what it holds."""
    from .format.reader import check, open_file
    from .runner.verdicts import Verdict

    if result.verdict is Verdict.FAIL_ACCEPTED_INVALID:
        report = check(path)
        primary = report.primary
        found = [v for v in report.violations if v.flag is None] or list(report.violations)
        lines = [f"  reference:   rejects it{f' (primary: {primary.value})' if primary else ''}:"]
        for violation in found[:5]:
            where = ", ".join(
                part
                for part in (
                    f"offset {violation.offset}" if violation.offset is not None else "",
                    f"pointer {violation.pointer!r}" if violation.pointer is not None else "",
                )
                if part
            )
            lines.append(f"               {violation.requirement.value} at {where or 'the file'}: {violation.message}")
        return lines
    if result.verdict is Verdict.FAIL_WRONG_CONTENT and vector.expect != "invalid":
        try:
            with open_file(path) as opened:
                small = [(n, i) for n, i in list(opened.header.tensors.items())[:8] if i.nbytes <= SHOW_BYTES]
                shown = [
                    f"               {n!r} {i.dtype} {list(i.shape)}: {opened.read(n).hex(' ') or '(no bytes)'}"
                    for n, i in small
                ]
                metadata = opened.metadata
        except (OSError, ValueError):
            return []
        lines = [f"  file holds:  metadata {metadata!r}"]
        return lines + shown
    return []


def pytest_collection(session: pytest.Session) -> None:
    """Check the options and load the corpus before anything is collected (usage errors first)."""
    config = session.config
    selections: list[str] = config.getoption("impl")
    if not selections:
        return
    from .adapters.registry import SelectionError
    from .runner_cli import RunUsageError, check_selections

    try:
        check_selections(selections)
    except (RunUsageError, SelectionError) as error:
        raise pytest.UsageError(str(error)) from None
    config.stash[_CERTIFICATION] = Certification(config)


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """The first directory pytest was asked to collect holds the implementations' nodes, first, so
    that pytest collects and counts their items like any others."""
    report = yield
    config = collector.config
    if _CERTIFICATION not in config.stash or config.stash.get(_PLACED, False):
        return report
    if not isinstance(collector, pytest.Directory) or report.outcome != "passed":
        return report
    wanted = {(config.invocation_params.dir / arg.split("::")[0]).resolve() for arg in config.args}
    if collector.path.resolve() in wanted:
        config.stash[_PLACED] = True
        nodes = [
            ImplementationNode.from_parent(collector, name=selection, nodeid=selection)
            for selection in config.getoption("impl")
        ]
        report.result[:0] = nodes
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """When pytest was given only files, no directory holds the nodes: collect them here."""
    if _CERTIFICATION not in config.stash or config.stash.get(_PLACED, False):
        return
    for selection in config.getoption("impl"):
        node = ImplementationNode.from_parent(session, name=selection, nodeid=selection)
        items.extend(node.collect())


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A session that could not run an implementation tested nothing for it: it fails, as `run` does."""
    certification = session.config.stash.get(_CERTIFICATION, None)
    if certification is None:
        return
    certification.close()
    if certification.not_run() and session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    certification = config.stash.get(_CERTIFICATION, None)
    if certification is None:
        return
    for selection, reason in certification.not_run().items():
        terminalreporter.write_line(f"not run: {selection}: {reason} (nothing was certified)", red=True, bold=True)


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    selections = config.getoption("impl")
    if not selections:
        return None
    from .corpus import load_corpus

    corpus = load_corpus()
    corpus_text = f"corpus {corpus.corpus_version}, spec {corpus.spec_version}"
    return [f"safetensors-conformance: {corpus_text}, implementations: {', '.join(selections)}"]


_CERTIFICATION = pytest.StashKey[Certification]()
_PLACED = pytest.StashKey[bool]()
