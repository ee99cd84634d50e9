"""The closed list of verdicts, and how an outcome on a vector becomes one.

Every tool (run, report, compare, the pytest plugin) uses these values and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, Protocol

from ..adapters.outcome import Outcome, short_repr
from ..adapters.protocol import Capabilities
from ..corpus.model import Expected, TensorDigest

Policy = Literal["accept", "reject", "either"]
POLICIES: tuple[Policy, ...] = ("accept", "reject", "either")


class Verdict(StrEnum):
    PASS = "pass"  # noqa: S105 - a verdict, not a password
    ACCEPTABLE_ACCEPTED = "acceptable-accepted"
    ACCEPTABLE_REJECTED = "acceptable-rejected"
    FAIL_ACCEPTED_INVALID = "fail-accepted-invalid"
    FAIL_REJECTED_VALID = "fail-rejected-valid"
    FAIL_WRONG_CONTENT = "fail-wrong-content"
    CRASH = "crash"
    TIMEOUT = "timeout"
    MEMORY_LIMIT = "memory-limit"
    SKIP_UNSUPPORTED = "skip-unsupported"
    # Checkpoint vectors only (a file vector never gets these):
    FAIL_READ_OUTSIDE = "fail-read-outside"  # the loader opened the canary outside the checkpoint
    NONDETERMINISTIC = "nondeterministic"  # runs under other hash seeds or directory orders disagreed

    @property
    def ok(self) -> bool:
        """A verdict that does not count against the implementation."""
        return self in OK

    @property
    def failed(self) -> bool:
        return self not in OK and self is not Verdict.SKIP_UNSUPPORTED


OK = frozenset({Verdict.PASS, Verdict.ACCEPTABLE_ACCEPTED, Verdict.ACCEPTABLE_REJECTED})


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    detail: str | None = None
    #: Set when the implementation rejected the file through an unexpected internal error
    #: (KeyError, IndexError, RecursionError...): the rejection counts, but it is flagged.
    flagged: str | None = None


class Judged(Protocol):
    """What judging needs of a vector: a file vector, or a checkpoint vector."""

    @property
    def expect(self) -> str: ...
    @property
    def requirements(self) -> tuple[str, ...]: ...
    @property
    def flags(self) -> tuple[str, ...]: ...


def required_outcome(vector: Judged, policies: dict[str, Policy]) -> Policy:
    """What the implementation must do with the vector: accept, reject, or either."""
    if vector.expect == "valid":
        return "accept"
    if vector.expect == "invalid":
        return "reject"
    chosen = {policies.get(flag, "either") for flag in vector.flags}
    if "reject" in chosen:
        return "reject"
    return "accept" if "accept" in chosen else "either"


def unsupported_dtypes(expected: Expected | None, capabilities: Capabilities) -> set[str]:
    """Dtypes the vector's content needs that the implementation declared it cannot return."""
    if expected is None or capabilities.kind == "validator":
        return set()
    return {t.dtype for t in expected.tensors} - capabilities.dtypes


def judge(
    vector: Judged, expected: Expected | None, outcome: Outcome, capabilities: Capabilities, policies: dict[str, Policy]
) -> Judgement:
    if outcome.kind in ("crash", "timeout", "memory-limit"):
        # A program reports its own memory-limit with an error message; the runner finds the rest.
        return Judgement(Verdict(outcome.kind), outcome.detail or outcome.error)
    if outcome.kind == "unsupported":
        return Judgement(Verdict.SKIP_UNSUPPORTED, outcome.error)
    required = required_outcome(vector, policies)
    if outcome.kind == "rejected":
        flagged = f"unexpected {outcome.error_type or 'error'}" if outcome.unexpected else None
        detail = f"{outcome.error_type + ': ' if outcome.error_type else ''}{outcome.error or ''}".strip() or None
        if required == "accept":
            return Judgement(Verdict.FAIL_REJECTED_VALID, detail, flagged)
        verdict = Verdict.ACCEPTABLE_REJECTED if vector.expect == "acceptable" else Verdict.PASS
        return Judgement(verdict, detail, flagged)
    if required == "reject":
        return Judgement(Verdict.FAIL_ACCEPTED_INVALID, f"accepted a file that breaks {', '.join(vector.requirements)}")
    if outcome.malformed is not None:
        return Judgement(Verdict.FAIL_WRONG_CONTENT, f"returned what cannot be content: {outcome.malformed}")
    assert expected is not None
    problem = content_problem(expected, outcome, capabilities)
    if problem:
        return Judgement(Verdict.FAIL_WRONG_CONTENT, problem)
    return Judgement(Verdict.ACCEPTABLE_ACCEPTED if vector.expect == "acceptable" else Verdict.PASS)


def content_problem(expected: Expected, outcome: Outcome, capabilities: Capabilities) -> str | None:
    """How what the implementation returned differs from what the file holds, or ``None``."""
    if capabilities.kind == "validator":
        return None
    if outcome.digest is not None:
        if outcome.digest.count != len(expected.tensors):
            return f"{outcome.digest.count} tensors, expected {len(expected.tensors)}"
        digest = expected.content_digest(bytes_=capabilities.kind != "header-only", metadata=capabilities.metadata)
        if outcome.digest.sha256 != digest:
            return "content differs (reported as one digest: names, dtypes, shapes, bytes or metadata)"
        return None
    if outcome.tensors is None:
        return "returned no tensors"
    if capabilities.metadata and (outcome.metadata or None) != (expected.metadata or None):
        return f"metadata {short_repr(outcome.metadata, 80)}, expected {short_repr(expected.metadata, 80)}"
    returned: dict[str, TensorDigest] = {}
    for tensor in outcome.tensors:
        if tensor.name in returned:
            return f"tensor {tensor.name!r} returned twice"
        returned[tensor.name] = tensor
    wanted = {t.name: t for t in expected.tensors}
    missing, extra = wanted.keys() - returned.keys(), returned.keys() - wanted.keys()
    if missing or extra:
        parts = [
            f"missing {sorted(missing)[:5]}" if missing else "",
            f"unexpected {sorted(extra)[:5]}" if extra else "",
        ]
        return "tensors differ: " + "; ".join(p for p in parts if p)
    for name, want in wanted.items():
        got = returned[name]
        if got.dtype != want.dtype:
            return f"tensor {name!r}: dtype {got.dtype}, expected {want.dtype}"
        if got.shape != want.shape:
            return f"tensor {name!r}: shape {list(got.shape)}, expected {list(want.shape)}"
        if capabilities.kind == "full":
            if got.sha256 is None:
                return f"tensor {name!r}: no bytes returned"
            if got.nbytes != want.nbytes or got.sha256 != want.sha256:
                sample = (outcome.samples or {}).get(name)
                shown = f" (returned {_hex(sample)})" if sample is not None else ""
                return (
                    f"tensor {name!r}: {got.nbytes} bytes with sha256 {got.sha256[:12]}...{shown}, "
                    f"expected {want.nbytes} bytes with {(want.sha256 or '')[:12]}..."
                )
    return None


def _hex(text: str) -> str:
    return " ".join(text[i : i + 2] for i in range(0, len(text), 2)) or "no bytes"
