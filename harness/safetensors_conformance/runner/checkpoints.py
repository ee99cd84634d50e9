"""Running a checkpoint loader over the checkpoint vectors, isolated, under several hash seeds.

Each seed gets its own worker process (:mod:`..adapters.checkpoint_serve`, served through the file
adapters' :class:`~..adapters.external.ProgramSession`, so limits, timeouts, restarts and outcomes
are theirs) with ``PYTHONHASHSEED`` set, and each run materialises the vector afresh beside a new
watched canary, creating its entries in another order. The verdict is, in this order:

* ``fail-read-outside`` if the canary was opened in any run (whatever the loader answered);
* ``nondeterministic`` if the runs' outcomes differ (accepted vs rejected, or other content);
* otherwise the file verdict of the (common) outcome, judged as for file vectors.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from ..adapters.checkpoint import target_of
from ..adapters.external import ProgramSession
from ..adapters.outcome import Outcome
from ..adapters.protocol import Description
from ..corpus.checkpoints import CANARY_NAME, CkptVector, materialise
from ..corpus.model import Expected, TensorDigest
from .canary import Canary
from .results import Result
from .run import CHECKPOINT_PREFIX, Settings, worker_environment
from .verdicts import Judgement, Policy, Verdict, judge, required_outcome, unsupported_dtypes

#: Hash seeds of the runs: three, so that a two-way choice left to the seed rarely agrees by chance.
DEFAULT_SEEDS: Final = (1, 2, 3)
#: How ``run --impl`` and ``pytest --impl`` name a checkpoint loader: ``ckpt:NAME`` (a built-in
#: loader) or ``ckpt:module:attr``; any other selection names a file adapter.
SELECTION_PREFIX: Final = CHECKPOINT_PREFIX


def is_checkpoint_selection(selection: str) -> bool:
    return selection.startswith(SELECTION_PREFIX)


def loader_of(selection: str) -> str:
    """The loader a selection names, without the ``ckpt:`` prefix (which is optional here)."""
    return selection[len(SELECTION_PREFIX) :] if is_checkpoint_selection(selection) else selection


@dataclass(frozen=True)
class Run:
    """One run of one vector: the seed, the outcome, and whether the canary was opened."""

    seed: int
    outcome: Outcome
    touched: bool
    seconds: float


def worker_command(selection: str) -> list[str]:
    loader = loader_of(selection)
    target_of(loader)  # a bad selection fails here, not in every worker
    return [sys.executable, "-m", "safetensors_conformance.adapters.checkpoint_serve", loader]


def expected_of(vector: CkptVector) -> Expected | None:
    """The vector's content as the file verdicts compare it (checkpoint loaders return no metadata)."""
    if vector.expected is None:
        return None
    return Expected(tuple(TensorDigest(t.name, t.dtype, t.shape, t.nbytes, t.sha256) for t in vector.expected), None)


def run_checkpoints(
    selection: str,
    vectors: Sequence[CkptVector],
    settings: Settings,
    *,
    seeds: Sequence[int] = DEFAULT_SEEDS,
    folder: Path | None = None,
) -> tuple[Description, list[Result]]:
    """Every vector under every seed; one result per vector (none when the loader is unavailable).

    ``selection`` is what the results are recorded under (``ckpt:NAME`` or ``NAME``).
    """
    runs: dict[str, list[Run]] = {v.id: [] for v in vectors}
    description: Description | None = None
    with tempfile.TemporaryDirectory(prefix="ckpt-run-") as scratch:
        for order, seed in enumerate(seeds):
            env = {**worker_environment(), "PYTHONHASHSEED": str(seed)}
            session = ProgramSession(
                worker_command(selection), timeout=settings.timeout, memory_limit=settings.memory_limit, env=env
            )
            try:
                started = session.start()
                description = description or started
                if not started.available:
                    return started, []
                for number, vector in enumerate(vectors):
                    run = Path(scratch) / f"{order}-{number}"
                    run.mkdir()
                    with Canary(run / CANARY_NAME) as canary:
                        directory = materialise(vector, run, folder=folder, order=order)
                        canary.touched()  # materialising must not count
                        began = time.perf_counter()
                        outcome = session.load(str(directory), settings.timeout)
                        seconds = time.perf_counter() - began
                        runs[vector.id].append(Run(seed, outcome, canary.touched(), seconds))
            finally:
                session.close()
    assert description is not None
    policies = settings.policy_for(selection)
    results = []
    for vector in vectors:
        judgement = verdict_of(vector, runs[vector.id], description, policies)
        seconds = sum(r.seconds for r in runs[vector.id])
        results.append(Result(selection, vector.id, judgement.verdict, judgement.detail, judgement.flagged, seconds))
    return description, results


def verdict_of(
    vector: CkptVector, runs: Sequence[Run], description: Description, policies: dict[str, Policy]
) -> Judgement:
    """The verdict of a vector's runs (see the module docstring for the order)."""
    touched = [r.seed for r in runs if r.touched]
    if touched:
        seeds = ", ".join(map(str, touched))
        return Judgement(Verdict.FAIL_READ_OUTSIDE, f"opened the canary outside the checkpoint (seed {seeds})")
    signatures = [_signature(r.outcome) for r in runs]
    if len(set(signatures)) > 1:
        shown = "; ".join(f"seed {r.seed}: {_summary(r.outcome)}" for r in runs)
        return Judgement(Verdict.NONDETERMINISTIC, f"the runs disagree: {shown}")
    expected = expected_of(vector)
    capabilities = description.capabilities
    missing = unsupported_dtypes(expected, capabilities) if vector.expect != "invalid" else set()
    if missing:
        return Judgement(Verdict.SKIP_UNSUPPORTED, f"declares no support for {', '.join(sorted(missing))}")
    outcome = runs[0].outcome
    if expected is None and outcome.kind == "accepted" and required_outcome(vector, policies) != "reject":
        # An acceptable vector whose content the reference validator does not give (a shard of
        # the file format's implementation-defined cases): accepting it is allowed, unchecked.
        return Judgement(Verdict.ACCEPTABLE_ACCEPTED, "content not checked: the reference gives none for this vector")
    return judge(vector, expected, outcome, capabilities, policies)


def _signature(outcome: Outcome) -> tuple[object, ...]:
    """What must be the same in every run: the kind of outcome and, when accepted, the content."""
    if outcome.kind != "accepted":
        return (outcome.kind,)
    tensors = None if outcome.tensors is None else tuple(sorted(outcome.tensors))
    return (outcome.kind, tensors, outcome.digest, outcome.malformed)


def _summary(outcome: Outcome) -> str:
    if outcome.kind != "accepted":
        return outcome.kind
    count = "no" if outcome.tensors is None else len(outcome.tensors)
    digest = ""
    if outcome.tensors:
        digest = " " + ",".join(f"{t.name}={(t.sha256 or '')[:8]}" for t in sorted(outcome.tensors)[:4])
    return f"accepted ({count} tensors{digest})"
