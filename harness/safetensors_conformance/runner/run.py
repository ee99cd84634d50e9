"""Running implementations over the corpus, isolated, streaming results as they come.

Each implementation runs in its own thread, driving one worker process (or, with
``isolation="process"``, a fresh process per vector; with ``"none"``, the adapter in this process,
for measurements). A crash, hang or memory blow-up costs one verdict and a restart, never the run.
"""

from __future__ import annotations

import os
import shlex
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from .. import __version__
from .._resources import data_path
from ..adapters.external import ProgramSession, run_once
from ..adapters.outcome import Outcome
from ..adapters.protocol import Adapter, Capabilities, Description
from ..adapters.registry import parse, registered_target, resolve
from ..adapters.serve import load_outcome
from ..corpus import Corpus
from ..corpus.checkpoints import CkptVector
from ..corpus.model import Expected, Vector
from ..format.limits import LENGTH_PREFIX_SIZE
from .results import FolderLock, Result, Results, open_stream
from .verdicts import Judgement, Policy, Verdict, judge, unsupported_dtypes

Isolation = Literal["worker", "process", "none"]
#: Selections that name a checkpoint loader (``ckpt:NAME``; see :mod:`.checkpoints`).
CHECKPOINT_PREFIX = "ckpt:"
#: The file every implementation loads once before its vectors: the spec's smallest example.
WARM_UP = data_path("vectors", "files", "examples", "minimal.safetensors")
#: Errors that say an implementation's environment is broken, not that it judged a file.
_ENVIRONMENT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "MemoryError"})
GIB = 1 << 30
#: Large files get more time: the per-vector timeout grows by one second per this many bytes of
#: file, and by one more second per this many bytes of header (a header's tensors are each
#: loaded, converted and hashed: a million of them take a minute through PyTorch).
BYTES_PER_EXTRA_SECOND = 2_000_000
HEADER_BYTES_PER_EXTRA_SECOND = 1_000_000


def deadline(timeout: float, path: Path) -> float:
    """Seconds allowed for one file: the timeout, plus time for its size and its header's size
    (the declared length, as far as the file holds it)."""
    size = path.stat().st_size
    header = 0
    if size >= LENGTH_PREFIX_SIZE:
        with path.open("rb") as file:
            header = min(int.from_bytes(file.read(LENGTH_PREFIX_SIZE), "little"), size - LENGTH_PREFIX_SIZE)
    return timeout + size / BYTES_PER_EXTRA_SECOND + header / HEADER_BYTES_PER_EXTRA_SECOND


@dataclass(frozen=True)
class Settings:
    """How implementations are run. ``policies`` maps a flag to a policy, for every implementation
    (key ``"*"``) or one selection."""

    timeout: float = 30.0
    memory_limit: int | None = 4 * GIB
    isolation: Isolation = "worker"
    policies: dict[str, dict[str, Policy]] = field(default_factory=dict)
    #: Implementations run at the same time; more than the cores makes large vectors time out.
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)

    def policy_for(self, selection: str) -> dict[str, Policy]:
        return {**self.policies.get("*", {}), **self.policies.get(selection, {})}

    def to_json(self) -> dict[str, Any]:
        return {
            "timeout": self.timeout,
            "memory_limit": self.memory_limit,
            "isolation": self.isolation,
            "policies": self.policies,
        }


def worker_command(selection: str) -> list[str]:
    """The command that serves a Python adapter over the persistent protocol."""
    target = registered_target(selection)
    return [sys.executable, "-m", "safetensors_conformance.adapters.serve", selection, *([target] if target else [])]


def worker_environment() -> dict[str, str]:
    """The worker imports what this process can: a user's ``module:attr`` adapter included."""
    paths = [p for p in sys.path if p and Path(p).is_dir()]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


class Implementation:
    """One selected implementation, run the way the settings say."""

    def __init__(self, selection: str, settings: Settings) -> None:
        self.selection = selection
        self.settings = settings
        kind, target, _ = parse(selection)
        self.one_shot = kind == "cmd"
        self.argv = shlex.split(target) if kind in ("cmd", "serve") else worker_command(selection)
        self.env = None if kind in ("cmd", "serve") else worker_environment()
        self.session: ProgramSession | None = None
        self.adapter: Adapter | None = None

    def start(self) -> Description:
        """Start the implementation and prove it can load the smallest valid file.

        An implementation that cannot within the memory limit, or whose own imports fail, is
        described as unavailable, with the reason: the environment is at fault (a limit too small
        for the implementation to start), and it is "not run", never a verdict on every vector. A
        crash or a hang on that file stays a verdict of its own, on its own vector.
        """
        description = self._start()
        if not description.available:
            return description
        outcome = self.outcome(WARM_UP)
        # Stopped by the runner's memory watch (no error of its own): the limit is too small. An
        # implementation that itself fails to allocate for 8 bytes of data has a bug, a verdict.
        broken = (outcome.kind == "memory-limit" and outcome.error is None) or (
            outcome.kind == "rejected" and outcome.unexpected and outcome.error_type in _ENVIRONMENT_ERRORS
        )
        if not broken:
            return description
        why = outcome.detail or outcome.error or outcome.kind
        reason = f"cannot load the smallest valid file ({WARM_UP.name}): {outcome.error_type or outcome.kind}: {why}"
        return replace(description, available=False, reason=reason)

    def _start(self) -> Description:
        if self.settings.isolation == "none":
            self.adapter = resolve(self.selection)
            return self.adapter.describe()
        if self.one_shot:
            adapter = resolve(self.selection)
            return adapter.describe()
        self.session = ProgramSession(
            self.argv, timeout=self.settings.timeout, memory_limit=self.settings.memory_limit, env=self.env
        )
        description = self.session.start()
        if self.settings.isolation == "process":
            self.session.close()
        return description

    def outcome(self, file: Path) -> Outcome:
        """Run one file within its :func:`deadline`."""
        path = str(file)
        if self.adapter is not None:
            external: Callable[[str], Outcome] | None = getattr(self.adapter, "outcome", None)
            return external(path) if external is not None else load_outcome(self.adapter, path)
        timeout = deadline(self.settings.timeout, file)
        if self.one_shot:
            return run_once(self.argv, path, timeout=timeout, memory_limit=self.settings.memory_limit)
        assert self.session is not None
        outcome = self.session.load(path, timeout)
        if self.settings.isolation == "process":
            self.session.close()
        return outcome

    def kill(self) -> None:
        """Stop the program at once, without asking (a run was interrupted)."""
        if self.session is not None:
            self.session.close(graceful=False)

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
        close = getattr(self.adapter, "close", None)
        if close is not None:
            close()


class ExpectedCache:
    """Expected content per vector, computed once (recipes compute theirs, which takes seconds)."""

    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus
        self._known: dict[str, Expected | None] = {}
        self._lock = threading.Lock()

    def get(self, vector: Vector) -> Expected | None:
        with self._lock:
            if vector.id not in self._known:
                self._known[vector.id] = self.corpus.expected(vector)
            return self._known[vector.id]


def run_vector(
    implementation: Implementation,
    description: Description,
    vector: Vector,
    path: Path,
    expected: Expected | None,
    policies: dict[str, Policy],
) -> Result:
    """One verdict: skip what the implementation cannot represent, else run and judge."""
    capabilities: Capabilities = description.capabilities
    missing = unsupported_dtypes(expected, capabilities) if vector.expect != "invalid" else set()
    if missing:
        return Result(
            implementation.selection,
            vector.id,
            Verdict.SKIP_UNSUPPORTED,
            f"declares no support for {', '.join(sorted(missing))}",
        )
    started = time.perf_counter()
    outcome = implementation.outcome(path)
    seconds = time.perf_counter() - started
    judgement: Judgement = judge(vector, expected, outcome, capabilities, policies)
    return Result(implementation.selection, vector.id, judgement.verdict, judgement.detail, judgement.flagged, seconds)


Progress = Callable[[str, Result | None, int], None]
Notice = Callable[[str], None]


def run(
    selections: Sequence[str],
    vectors: Sequence[Vector],
    corpus: Corpus,
    results_path: Path,
    settings: Settings,
    *,
    fresh: bool = False,
    progress: Progress | None = None,
    notice: Notice | None = None,
    checkpoint_vectors: Sequence[CkptVector] = (),
) -> Results:
    """Run every implementation on every vector; results stream to ``results_path`` (JSON lines).

    A ``ckpt:`` selection is a checkpoint loader: it runs over ``checkpoint_vectors`` instead, under
    every hash seed (:mod:`.checkpoints`), and its results are streamed when its runs are done.

    ``progress(selection, result, total)`` is called once per implementation with ``None`` when
    it starts, then once per verdict. ``notice(text)`` hears what a resume kept and dropped. One
    run at a time may write into a folder (:class:`FolderLock`).
    """
    with FolderLock(results_path.parent):
        return _run(
            selections,
            vectors,
            checkpoint_vectors,
            corpus,
            results_path,
            settings,
            fresh,
            progress,
            notice or (lambda _: None),
        )


def _run(
    selections: Sequence[str],
    vectors: Sequence[Vector],
    checkpoint_vectors: Sequence[CkptVector],
    corpus: Corpus,
    results_path: Path,
    settings: Settings,
    fresh: bool,
    progress: Progress | None,
    notice: Notice,
) -> Results:
    run_record = {
        "tool_version": __version__,
        "corpus_version": corpus.corpus_version,
        "spec_version": corpus.spec_version,
        "selections": list(selections),
        "vectors": [v.id for v in vectors] + [v.id for v in checkpoint_vectors],
        "settings": settings.to_json(),
    }
    stream, results, resumed = open_stream(results_path, run_record, fresh=fresh)
    if resumed.kept or resumed.unreadable:
        notice(
            f"resuming {results_path}: kept {resumed.kept} result{'' if resumed.kept == 1 else 's'}"
            + (f"; {resumed.unreadable} unreadable line(s) are run again" if resumed.unreadable else "")
            + (f"; {resumed.duplicates} repeated result(s) dropped" if resumed.duplicates else "")
        )
    done = {(r.implementation, r.vector) for r in results.results}
    paths = {v.id: corpus.path(v) for v in vectors}  # recipes are materialised here, once, before any thread
    expected = ExpectedCache(corpus)
    lock = threading.Lock()
    slots = threading.Semaphore(max(settings.jobs, 1))
    errors: list[BaseException] = []

    def drive(selection: str) -> None:
        with slots:
            if selection.startswith(CHECKPOINT_PREFIX):
                drive_checkpoints(selection)
            else:
                drive_one(selection)

    def record(selection: str, description: Description) -> None:
        """Note the implementation's description; results made by another version are dropped."""
        with lock:
            earlier = results.implementations.get(selection)
            if earlier != description:
                # Another version or adapter than the one that made the kept results: run again.
                stale = [r for r in results.results if r.implementation == selection]
                if earlier is not None and stale:
                    notice(
                        f"{selection}: now {description.implementation} {description.version}, "
                        f"was {earlier.implementation} {earlier.version}: "
                        f"its {len(stale)} earlier results are run again"
                    )
                    results.results[:] = [r for r in results.results if r.implementation != selection]
                    done.difference_update((selection, r.vector) for r in stale)
                stream.write({"kind": "implementation", "selection": selection, **description.to_json()})
            results.implementations[selection] = description

    def emit(result: Result, total: int) -> None:
        stream.write({"kind": "result", **result.to_json()})
        with lock:
            results.results.append(result)
        if progress:
            progress(result.implementation, result, total)

    def drive_checkpoints(selection: str) -> None:
        from .checkpoints import run_checkpoints  # noqa: PLC0415 (it imports this module)

        try:
            pending = [v for v in checkpoint_vectors if (selection, v.id) not in done]
            if progress:
                progress(selection, None, len(pending))
            description, found = run_checkpoints(selection, pending, settings)
            if results.implementations.get(selection, description) != description:
                # The kept results came from another version: the whole set is run again.
                pending = list(checkpoint_vectors)
                description, found = run_checkpoints(selection, pending, settings)
            record(selection, description)
            for result in found:
                emit(result, len(pending))
        except BaseException as error:  # a bug here must not hang the other threads
            errors.append(error)

    def drive_one(selection: str) -> None:
        implementation = Implementation(selection, settings)
        live.append(implementation)
        try:
            description = implementation.start()
            record(selection, description)
            pending = [v for v in vectors if (selection, v.id) not in done]
            if progress:
                progress(selection, None, len(pending))
            if not description.available:
                return
            policies = settings.policy_for(selection)
            for vector in pending:
                result = run_vector(
                    implementation, description, vector, paths[vector.id], expected.get(vector), policies
                )
                emit(result, len(pending))
        except BaseException as error:  # a bug here must not hang the other threads
            errors.append(error)
        finally:
            implementation.close()

    live: list[Implementation] = []
    threads = [threading.Thread(target=drive, args=(s,), name=f"run {s}", daemon=True) for s in selections]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    except KeyboardInterrupt:
        # Stop every program now, hung ones included (they run in sessions of their own, so the
        # terminal's Ctrl-C never reached them); what was streamed stays valid for a resume.
        for implementation in live:
            implementation.kill()
        raise
    finally:
        stream.close()
    if errors:
        raise errors[0]
    described = results.implementations
    results.implementations = {s: described[s] for s in selections if s in described}
    ids = [v.id for v in vectors] + [v.id for v in checkpoint_vectors]
    order = {vector_id: i for i, vector_id in enumerate(ids)}
    position = {s: i for i, s in enumerate(selections)}
    results.results.sort(key=lambda r: (position.get(r.implementation, len(position)), order.get(r.vector, len(order))))
    return results
