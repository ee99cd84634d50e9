"""The fuzzing process: atheris runs one target in-process under libFuzzer.

``python -m safetensors_conformance.fuzzing.entry [LIBFUZZER OPTIONS] [CORPUS DIRS]`` reads its
configuration from the JSON file named by ``$SAFETENSORS_FUZZ_CONFIG`` (the campaign writes
one); the scripts in ``fuzz/`` call :func:`main` with a target name instead, for ClusterFuzzLite
and for running a target by hand.

Two ways to report a finding. With ``record`` set (campaigns), the input is saved there, a few
per failure pattern, and fuzzing goes on: a divergence is met again and again, and one crash
must not end the search for others. Without it (ClusterFuzzLite, a plain run), the finding is
raised, atheris prints it, and libFuzzer saves the input as ``crash-*`` and stops.

The reference's modules are imported under atheris' instrumentation before anything else imports
them: their branches are the coverage that guides the search (an isolated implementation runs
in another process, uninstrumented).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from .targets import Finding

CONFIG_ENV: Final = "SAFETENSORS_FUZZ_CONFIG"
#: The implementation the differential script fuzzes when no configuration says (ClusterFuzzLite).
IMPL_ENV: Final = "SAFETENSORS_FUZZ_IMPL"
#: Exit status of a process whose implementation cannot start (nothing was fuzzed).
EXIT_UNAVAILABLE: Final = 3
#: Inputs kept per failure pattern and process in record mode (the smallest is minimized later).
KEPT_PER_PATTERN: Final = 3
#: The status file is rewritten at most this often.
STATUS_INTERVAL: Final = 1.0
#: The reference's modules, instrumented for coverage.
INSTRUMENTED: Final = (
    "safetensors_conformance.format.limits",
    "safetensors_conformance.format.requirements",
    "safetensors_conformance.format.dtypes",
    "safetensors_conformance.format.violations",
    "safetensors_conformance.format.jsonsyntax",
    "safetensors_conformance.format.jsontext",
    "safetensors_conformance.format.header",
    "safetensors_conformance.format.reader",
)


@dataclass
class Config:
    """What one fuzzing process does; written as JSON by the campaign."""

    target: str = "reference"
    impl: str | None = None
    policies: dict[str, str] = field(default_factory=dict)
    timeout: float = 30.0
    memory_limit: int | None = 4 << 30
    isolation: str = "worker"
    #: Where the campaign was started: a selection's relative paths (``serve:node reader.mjs``)
    #: are the user's, so the implementation starts there, not in the output folder.
    workdir: str | None = None
    #: Folder for findings (record mode); ``None`` raises them (libFuzzer's crash-* files).
    record: str | None = None
    #: Folder for inputs slower than the target's threshold.
    slow: str | None = None
    #: File rewritten with {"executions", "findings", "time"} as the process runs.
    status: str | None = None
    #: Program libFuzzer runs for -fork and -jobs (its argv[0]); a script is not one.
    launcher: str | None = None
    #: libFuzzer's own byte-level mutations only (for measuring the structure-aware mutator).
    bytes_only: bool = False
    #: Instrument the reference for coverage feedback. Without it an execution costs about 1/50
    #: (no feedback: libFuzzer mutates the seeds it keeps with -keep_seed=1, for long runs from an
    #: evolved corpus).
    coverage: bool = True

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> Config:
        return cls(**json.loads(path.read_text(encoding="utf-8")))


class Recorder:
    """Saves findings into a folder, at most :data:`KEPT_PER_PATTERN` per pattern."""

    def __init__(self, folder: Path, target: str, impl: str | None) -> None:
        self.folder = folder
        self.target = target
        self.impl = impl
        self.seen: dict[tuple[str, ...], int] = {}
        self.count = 0
        folder.mkdir(parents=True, exist_ok=True)

    def save(self, finding: Finding, data: bytes) -> None:
        self.count += 1
        pattern = finding.pattern
        kept = self.seen.get(pattern, 0)
        if kept >= KEPT_PER_PATTERN:
            return
        self.seen[pattern] = kept + 1
        name = hashlib.sha1(data, usedforsecurity=False).hexdigest()
        (self.folder / f"{name}.bin").write_bytes(data)
        note = {"target": finding.target, "impl": self.impl, "pattern": list(pattern), "detail": finding.detail}
        (self.folder / f"{name}.finding.json").write_text(json.dumps(note, indent=2) + "\n", encoding="utf-8")


def _slow_saver(folder: Path) -> Callable[[bytes, float], None]:
    folder.mkdir(parents=True, exist_ok=True)

    def save(data: bytes, seconds: float) -> None:
        name = hashlib.sha1(data, usedforsecurity=False).hexdigest()
        (folder / f"{name}.bin").write_bytes(data)
        (folder / f"{name}.seconds").write_text(f"{seconds:.3f}\n", encoding="utf-8")

    return save


class Status:
    """Counts executions and, now and then, writes them where the campaign reads them."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.executions = 0
        self.findings = 0
        self._next = 0.0

    def tick(self) -> None:
        self.executions += 1
        if self.path is not None and not self.executions & 255:
            now = time.monotonic()
            if now >= self._next:
                self._next = now + STATUS_INTERVAL
                self.write()

    def write(self) -> None:
        if self.path is None:
            return
        temporary = self.path.with_suffix(".tmp")
        data = {"executions": self.executions, "findings": self.findings, "time": time.time()}
        temporary.write_text(json.dumps(data), encoding="utf-8")
        temporary.replace(self.path)


def main(target: str | None = None, argv: list[str] | None = None, setup: Callable[[], None] | None = None) -> None:
    """Fuzz ``target`` (or what ``$SAFETENSORS_FUZZ_CONFIG`` says) until libFuzzer stops.

    ``setup`` runs once the reference is imported (instrumented), before the target is made.
    """
    import atheris  # type: ignore[import-untyped]  # noqa: PLC0415 - only a fuzzing process needs it

    argv = list(sys.argv if argv is None else argv)
    configured = os.environ.get(CONFIG_ENV)
    config = Config.read(Path(configured)) if configured else Config(target=target or "reference")
    if target is not None and not configured:
        config.target = target
    if config.target == "differential" and config.impl is None:
        config.impl = os.environ.get(IMPL_ENV, "safetensors")
    if getattr(sys, "frozen", False):
        config.isolation = "none"  # a bundled program cannot start a Python worker

    if config.coverage:
        already = [name for name in INSTRUMENTED if name in sys.modules]
        if already:
            sys.stderr.write(f"warning: imported before instrumentation, no coverage from {', '.join(already)}\n")
        with atheris.instrument_imports(include=["safetensors_conformance"]):
            for name in INSTRUMENTED:
                __import__(name)

    if setup is not None:
        setup()
    from .mutator import crossover, mutate  # noqa: PLC0415 - after the instrumented imports
    from .targets import Differential, Finding, Robustness, TargetUnavailable  # noqa: PLC0415

    run: Callable[[bytes], None]
    if config.target == "reference":
        run = Robustness(slow=_slow_saver(Path(config.slow)) if config.slow else None)
    elif config.target == "differential":
        from ..runner.run import Settings  # noqa: PLC0415

        settings = Settings(
            timeout=config.timeout,
            memory_limit=config.memory_limit,
            isolation=config.isolation,  # type: ignore[arg-type]
            policies={"*": config.policies},  # type: ignore[dict-item]
        )
        assert config.impl is not None
        if config.workdir is not None:
            os.chdir(config.workdir)  # workers (and their restarts) inherit it
        try:
            run = Differential(config.impl, settings)
        except TargetUnavailable as error:
            sys.stderr.write(f"safetensors-conformance fuzz: cannot start {error}\n")
            sys.exit(EXIT_UNAVAILABLE)
    else:
        sys.stderr.write(f"safetensors-conformance fuzz: unknown target {config.target!r}\n")
        sys.exit(EXIT_UNAVAILABLE)

    recorder = Recorder(Path(config.record), config.target, config.impl) if config.record else None
    status = Status(Path(config.status) if config.status else None)

    def test_one_input(data: bytes) -> None:
        status.tick()
        try:
            run(data)
        except Finding as finding:
            status.findings += 1
            if recorder is None:
                raise
            recorder.save(finding, data)

    def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
        return mutate(data, max_size, seed, atheris.Mutate)

    def custom_crossover(first: bytes, second: bytes, max_size: int, seed: int) -> bytes:
        return crossover(first, second, max_size, seed)

    if config.launcher:
        argv[0] = config.launcher
    if config.bytes_only:
        atheris.Setup(argv, test_one_input)
    else:
        atheris.Setup(argv, test_one_input, custom_mutator=custom_mutator, custom_crossover=custom_crossover)
    try:
        atheris.Fuzz()
    finally:
        status.write()


if __name__ == "__main__":
    main()
