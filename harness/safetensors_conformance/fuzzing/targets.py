"""The two properties a campaign fuzzes; each raises :class:`Finding` when an input breaks it.

* :class:`Robustness`: on any input the reference reader (``format/reader.py``) returns a report
  or raises its own rejection error, :class:`~..format.violations.FormatError`, and nothing else
  (READER-ROBUST); ``check()`` and ``validate()`` agree on the verdict and the primary
  requirement, and the read API returns exactly the bytes the header locates; time and memory
  stay bounded.
* :class:`Differential`: an implementation, selected as with ``--impl`` and run isolated by the
  runner (``runner/run.py``'s :class:`~..runner.run.Implementation`), judged against the
  reference's verdict on the same input by the runner's own ``run_vector`` and ``judge``, with its
  declared capabilities and the flag policies: a finding is a verdict that is a failure.
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
import traceback
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from ..format import reader
from ..format.header import Header
from ..format.violations import FormatError
from ..runner.results import Result
from ..runner.run import Implementation, Settings, run_vector
from ..runner.verdicts import Policy
from .oracle import Oracle, judge_input

#: An input that takes longer is noted (not a finding): inputs are at most a few dozen KiB, and
#: the reference reads them in linear time.
SLOW_INPUT_SECONDS: Final = 1.0
#: Growth of the peak resident memory that one input may cause: the reference's memory is bounded
#: by the header (READER-BOUNDED), and inputs are capped by -max_len; a jump past this means
#: something was allocated from a declared size.
MEMORY_GROWTH_LIMIT: Final = 256 << 20
#: check() runs on every input; validate(), the read API and their agreement with it on one input
#: in this many, chosen by content so that an input always gets the same checks (libFuzzer needs
#: the same coverage for the same input).
DEEP_CHECK_EVERY: Final = 4


class Finding(Exception):
    """A property failed on an input.

    ``pattern`` names the failure without the input's details (the same bug on many inputs is one
    pattern); ``detail`` says what happened on this one.
    """

    def __init__(self, target: str, pattern: tuple[str, ...], detail: str) -> None:
        super().__init__(f"{target}: {' / '.join(pattern)}: {detail}")
        self.target = target
        self.pattern = pattern
        self.detail = detail


class TargetUnavailable(Exception):
    """The implementation to fuzz cannot run here; the message says why."""


def signature(error: BaseException) -> tuple[str, str]:
    """An exception's type and the innermost frame it came from (``reader.py:123 in _walk``)."""
    frames = traceback.extract_tb(error.__traceback__)
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno} in {frames[-1].name}" if frames else "?"
    return type(error).__name__, where


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def deep_check(data: bytes, every: int = DEEP_CHECK_EVERY) -> bool:
    """Whether this input gets the checks that read it more than once."""
    return every <= 1 or zlib.crc32(data) % every == 0


#: Where inputs are written for readers that take a path: memory-backed where there is one.
_SCRATCH: Final = Path("/dev/shm") if os.access("/dev/shm", os.W_OK) else Path(tempfile.gettempdir())  # noqa: S108


@contextmanager
def scratch_file(data: bytes, tag: str) -> Iterator[Path]:
    """``data`` in a file of this process's own, removed again after use (a fuzzing process may
    end at any moment, without running clean-up code: nothing is left to clean)."""
    path = _SCRATCH / f"safetensors-fuzz-{tag}-{os.getpid()}.safetensors"
    path.write_bytes(data)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


class Robustness:
    """The reference on any input. ``slow(data, seconds)`` hears of slow inputs."""

    name = "reference"

    def __init__(self, slow: Callable[[bytes, float], None] | None = None, deep_every: int = DEEP_CHECK_EVERY) -> None:
        self._slow = slow
        self._deep_every = deep_every

    def __call__(self, data: bytes) -> None:
        started = time.perf_counter()
        peak = _peak_rss()
        try:
            report = reader.check(data)
            if deep_check(data, self._deep_every):
                self._agree(data, report)
        except Finding:
            raise
        except Exception as error:  # FormatError too: check() never raises on content
            kind, where = signature(error)
            detail = "".join(traceback.format_exception_only(error)).strip()[:500]
            raise Finding(self.name, ("unexpected-error", kind, where), detail) from error
        elapsed = time.perf_counter() - started
        if elapsed > SLOW_INPUT_SECONDS and self._slow is not None:
            self._slow(data, elapsed)
        growth = _peak_rss() - peak
        if growth > MEMORY_GROWTH_LIMIT:
            raise Finding(
                self.name, ("memory",), f"peak resident memory grew by {growth >> 20} MiB on {len(data)} bytes"
            )

    def _agree(self, data: bytes, report: reader.Report) -> None:
        """validate() agrees with check(); an accepted file reads back as its header says."""
        try:
            header = reader.validate(data)
        except FormatError as error:
            if report.conforms:
                raise Finding(self.name, ("check-validate", "validate-rejects"), str(error)[:500]) from error
            if error.primary != report.primary:
                raise Finding(
                    self.name,
                    ("check-validate", "primary"),
                    f"check() says {report.primary}, validate() says {error.primary}",
                ) from error
            return
        if not report.conforms:
            raise Finding(self.name, ("check-validate", "validate-accepts"), f"check() says {report.primary}")
        self._read_back(data, header)

    def _read_back(self, data: bytes, header: Header) -> None:
        with scratch_file(data, "reference") as path, reader.open_file(path) as opened:
            if opened.names() != list(header.tensors) or opened.metadata != header.metadata:
                raise Finding(self.name, ("read-api", "header"), "open_file() sees another header than validate()")
            start = header.data_start
            for name, info in header.tensors.items():
                if opened.read(name) != data[start + info.begin : start + info.end]:
                    raise Finding(self.name, ("read-api", "bytes"), f"tensor {name!r} reads other bytes")
            if sum(info.nbytes for info in header.tensors.values()) != header.buffer_length:
                raise Finding(self.name, ("read-api", "coverage"), "the tensors do not cover the buffer exactly")


class Differential:
    """One implementation, run isolated, judged against the reference input by input."""

    name = "differential"

    def __init__(self, selection: str, settings: Settings, policies: dict[str, Policy] | None = None) -> None:
        self.selection = selection
        self.policies = policies if policies is not None else settings.policy_for(selection)
        self.implementation = Implementation(selection, settings)
        self.description = self.implementation.start()
        if not self.description.available:
            self.implementation.close()
            raise TargetUnavailable(f"{selection}: {self.description.reason or 'unavailable'}")
        #: Inputs the reference could not give a lenient reading of (acceptable, not judged).
        self.unjudged = 0

    def judge(self, data: bytes) -> tuple[Oracle, Result | None]:
        """The reference's judgement and the implementation's verdict (``None``: not judged)."""
        try:
            oracle = judge_input(data)
        except Exception as error:  # the reference is the oracle: it must not fail
            kind, where = signature(error)
            raise Finding("reference", ("unexpected-error", kind, where), f"{kind}: {error}"[:500]) from error
        if not oracle.judgeable:
            self.unjudged += 1
            return oracle, None
        with scratch_file(data, "differential") as path:
            result = run_vector(
                self.implementation, self.description, oracle.vector, path, oracle.expected, self.policies
            )
        return oracle, result

    def __call__(self, data: bytes) -> None:
        oracle, result = self.judge(data)
        if result is not None and result.verdict.failed:
            raise Finding(self.name, (result.verdict.value, oracle.side), result.detail or result.verdict.value)

    def close(self) -> None:
        self.implementation.close()
