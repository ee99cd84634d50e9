"""pytest plugin: ``pytest --impl=NAME`` certifies an implementation, one test item per vector.

Works in any directory (no test files needed). Items are named ``IMPL::GROUP/NAME`` so ``-k``
selects by vector id; ``--requirement``, ``--flag`` and ``--vector-id`` narrow the corpus;
``--policy FLAG=accept|reject|either[@IMPL]`` sets the policy for an implementation-defined flag;
``--known-failures FILE`` marks expected failures, strictly (a listed vector that passes fails).
Each implementation runs in an isolated worker process, as with ``safetensors-conformance run``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .options import register

if TYPE_CHECKING:
    from .adapters.protocol import Description
    from .corpus import Corpus
    from .corpus.model import Vector
    from .runner.known import KnownFailures
    from .runner.results import Result
    from .runner.run import Implementation, Settings


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("safetensors-conformance", "certify a safetensors implementation against the vector corpus")
    register(group.addoption, pytest=True)


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
        from .runner_cli import RunUsageError, select_vectors, settings_from

        def get(dest: str) -> Any:
            return config.getoption(dest, default=None)

        self.corpus: Corpus = load_corpus()
        known = config.getoption("known_failures")
        try:  # the same checks as `run`, reported the way pytest reports bad options
            self.settings: Settings = settings_from(get)
            self.known: KnownFailures = KnownFailures.read(Path(known)) if known else NONE
            self.vectors: list[Vector] = select_vectors(self.corpus, get)
        except (RunUsageError, ValueError, OSError) as error:
            raise pytest.UsageError(str(error)) from None
        self.implementations: dict[str, tuple[Implementation, Description]] = {}

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

    def close(self) -> None:
        for implementation, _ in self.implementations.values():
            implementation.close()


class ImplementationNode(pytest.Collector):
    """All vectors of one implementation."""

    def collect(self) -> list[pytest.Item]:  # items are made by the plugin, not collected from files
        return []


class VectorItem(pytest.Item):
    """One vector run on one implementation."""

    def __init__(self, *, vector: Vector, selection: str, certification: Certification, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.vector = vector
        self.selection = selection
        self.certification = certification
        for requirement in vector.requirements:
            self.user_properties.append(("requirement", requirement))

    def runtest(self) -> None:
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


def describe_failure(vector: Vector, result: Result, corpus: Corpus) -> str:
    """Failure text: the requirement and its link, the vector, what was expected and observed."""
    from .spec import load_index

    index = load_index()
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
    lines.append(f"  observed:    {result.detail or result.verdict.value}")
    if result.flagged:
        lines.append(f"  flagged:     {result.flagged}")
    lines.append(f"  file:        {corpus.path(vector)}")
    return "\n".join(lines)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    selections: list[str] = config.getoption("impl")
    if not selections:
        return
    from .adapters.registry import SelectionError, parse

    for selection in selections:
        try:
            parse(selection)
        except SelectionError as error:
            raise pytest.UsageError(f"--impl {selection!r}: {error}") from None
    certification = Certification(config)
    config.stash[_CERTIFICATION] = certification
    for selection in selections:
        node = ImplementationNode.from_parent(session, name=selection, nodeid=selection)
        for vector in certification.vectors:
            item = VectorItem.from_parent(
                node, name=vector.id, vector=vector, selection=selection, certification=certification
            )
            reason = certification.known.reason(selection, vector.id)
            if reason:
                item.add_marker(pytest.mark.xfail(reason=reason, raises=VectorFailure, strict=True))
            items.append(item)


def pytest_sessionfinish(session: pytest.Session) -> None:
    certification = session.config.stash.get(_CERTIFICATION, None)
    if certification is not None:
        certification.close()


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    selections = config.getoption("impl")
    if not selections:
        return None
    from .corpus import load_corpus

    corpus = load_corpus()
    corpus_text = f"corpus {corpus.corpus_version}, spec {corpus.spec_version}"
    return [f"safetensors-conformance: {corpus_text}, implementations: {', '.join(selections)}"]


_CERTIFICATION = pytest.StashKey[Certification]()
