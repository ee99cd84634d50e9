"""A campaign: fuzzing processes started, followed while they run, and what they found collected.

Each job is one process running atheris in-process (:mod:`.entry`) with libFuzzer's options:
``-max_total_time``, ``-dict``, ``-max_len``, ``-timeout``, ``-rss_limit_mb``, ``-seed`` and
``-artifact_prefix`` into the output folder, the folder's working corpus first (libFuzzer adds
new inputs there, and the jobs share it) and the vector files after it as seeds (read, never
written). Progress comes from libFuzzer's status lines (``#N ... cov: X ft: Y corp: Z ... exec/s:
E``) and from each process's own count of executions.

Output folder::

    config-N.json      what job N runs (entry.Config)
    launcher           the program libFuzzer re-runs for -fork and -jobs
    safetensors.dict   the dictionary
    corpus/            the working corpus
    raw/               findings as recorded (N.bin, N.finding.json) and libFuzzer's crash-*, timeout-*, oom-*
    slow/              inputs slower than the target's threshold (noted, not findings)
    logs/job-N.log     libFuzzer's output
    findings/          after triage: one NAME.bin and NAME.json per distinct divergence (the last triage's)
    triage/            the inputs triage ran through every adapter, and its results
    summary.json       statistics and findings

A campaign in a folder that already holds one continues its corpus; only what this campaign
records counts as its findings.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from .._resources import data_root
from ..runner.run import worker_environment
from . import dictionary
from .entry import CONFIG_ENV, EXIT_UNAVAILABLE, Config

#: The fuzzing process's own memory (the reference, libFuzzer's corpus); implementations run in
#: workers with their own limit.
RSS_LIMIT_MB: Final = 2048
#: Default longest input: the corpus's own limit for committed files (64 KiB).
MAX_LEN: Final = 64 * 1024
#: Seconds a job may take beyond its fuzzing time (start-up, the worker's start, final stats).
GRACE_SECONDS: Final = 60.0
_STATUS_LINE: Final = re.compile(r"^#(\d+)\s+(?:INITED|NEW|REDUCE|pulse|DONE|RELOAD)\s")
_FORK_LINE: Final = re.compile(r"^#(\d+): cov: (\d+) ft: (\d+) corp: (\d+) exec/s:? (\d+)")
_FIELDS: Final = {
    "coverage": re.compile(r"\bcov: (\d+)"),
    "features": re.compile(r"\bft: (\d+)"),
    "corpus": re.compile(r"\bcorp: (\d+)"),
    "exec_per_second": re.compile(r"\bexec/s: (\d+)"),
}
_FINAL: Final = re.compile(r"^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb):\s+(\d+)")
ARTIFACT_KINDS: Final = ("crash", "timeout", "oom", "slow-unit", "leak")


class CampaignError(Exception):
    """The campaign could not fuzz at all (the implementation does not start, atheris is missing)."""


@dataclass(frozen=True)
class Plan:
    """What to fuzz, for how long, where to write."""

    target: str
    out: Path
    seconds: float
    impl: str | None = None
    jobs: int = 1
    seed: int | None = None
    max_len: int = MAX_LEN
    timeout: float = 30.0
    memory_limit: int | None = 4 << 30
    policies: dict[str, str] = field(default_factory=dict)
    #: More libFuzzer options, passed as they are (``-use_value_profile=1``, ``-fork=4``...).
    extra: tuple[str, ...] = ()
    bytes_only: bool = False
    #: Coverage feedback from the instrumented reference; without it, throughput mode (see Config).
    coverage: bool = True
    #: The command of a fuzzing process (default: this interpreter running :mod:`.entry`).
    entry: tuple[str, ...] | None = None
    seeds: tuple[Path, ...] | None = None


@dataclass
class JobStats:
    """What one job's output says so far."""

    executions: int = 0
    coverage: int = 0
    features: int = 0
    corpus: int = 0
    exec_per_second: int = 0
    #: libFuzzer's own average over the whole job (its final statistics).
    average_exec_per_second: int = 0
    peak_rss_mb: int = 0
    returncode: int | None = None
    lines: list[str] = field(default_factory=list)

    def read_line(self, line: str) -> None:
        fork = _FORK_LINE.match(line)
        if fork:
            self.executions = max(self.executions, int(fork.group(1)))
            self.coverage, self.features, self.corpus = int(fork.group(2)), int(fork.group(3)), int(fork.group(4))
            self.exec_per_second = int(fork.group(5))
            return
        status = _STATUS_LINE.match(line)
        if status:
            self.executions = max(self.executions, int(status.group(1)))
            for name, pattern in _FIELDS.items():
                found = pattern.search(line)
                if found:
                    setattr(self, name, int(found.group(1)))
            return
        final = _FINAL.match(line)
        if final:
            name, value = final.group(1), int(final.group(2))
            if name == "number_of_executed_units":
                self.executions = max(self.executions, value)
            elif name == "average_exec_per_sec":
                self.average_exec_per_second = value
            elif name == "peak_rss_mb":
                self.peak_rss_mb = value


@dataclass(frozen=True)
class Snapshot:
    """The whole campaign at one moment (what the progress display shows)."""

    elapsed: float
    seconds: float
    executions: int
    exec_per_second: float
    coverage: int
    features: int
    corpus: int
    findings: int
    jobs_running: int


@dataclass
class Summary:
    """A finished campaign, before triage adds its findings."""

    plan: Plan
    started: str
    seed: int
    elapsed: float
    jobs: list[JobStats]
    raw: list[Path]
    slow: list[Path]
    corpus: int
    command: list[str]

    @property
    def executions(self) -> int:
        return sum(job.executions for job in self.jobs)

    @property
    def exec_per_second(self) -> float:
        return self.executions / self.elapsed if self.elapsed else 0.0

    @property
    def coverage(self) -> int:
        return max((job.coverage for job in self.jobs), default=0)

    @property
    def features(self) -> int:
        return max((job.features for job in self.jobs), default=0)

    def to_json(self, findings: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
        plan = self.plan
        return {
            "target": plan.target,
            "impl": plan.impl,
            "started": self.started,
            "seed": self.seed,
            "seconds": plan.seconds,
            "elapsed": round(self.elapsed, 3),
            "jobs": plan.jobs,
            "max_len": plan.max_len,
            "executions": self.executions,
            "exec_per_second": round(self.exec_per_second, 1),
            "coverage_feedback": plan.coverage,
            "coverage": self.coverage if plan.coverage else None,
            "features": self.features if plan.coverage else None,
            "corpus": self.corpus,
            "findings": list(findings),
            "raw": [str(path.relative_to(plan.out)) for path in self.raw],
            "slow": [str(path.relative_to(plan.out)) for path in self.slow],
            "per_job": [
                {
                    "executions": job.executions,
                    "coverage": job.coverage,
                    "features": job.features,
                    "exec_per_second": job.exec_per_second,
                    "average_exec_per_second": job.average_exec_per_second,
                    "peak_rss_mb": job.peak_rss_mb,
                    "returncode": job.returncode,
                }
                for job in self.jobs
            ],
            "command": self.command,
        }


class Campaign:
    """Runs a :class:`Plan`; :meth:`run` blocks until every job has ended."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.out = plan.out
        self.corpus = self.out / "corpus"
        self.raw = self.out / "raw"
        self.slow = self.out / "slow"
        self.logs = self.out / "logs"
        self.seed = plan.seed if plan.seed is not None else int.from_bytes(os.urandom(4), "little") >> 1
        self.stats = [JobStats() for _ in range(plan.jobs)]
        self._processes: list[subprocess.Popen[bytes]] = []
        self._since = 0.0

    def prepare(self) -> list[list[str]]:
        """Make the folder and each job's command line."""
        for folder in (self.corpus, self.raw, self.slow, self.logs):
            folder.mkdir(parents=True, exist_ok=True)
        dict_path = self.out / "safetensors.dict"
        dict_path.write_text(dictionary.text(), encoding="utf-8")
        launcher = self.out / "launcher"
        entry = list(self.plan.entry or (sys.executable, "-m", "safetensors_conformance.fuzzing.entry"))
        launcher.write_text(f'#!/bin/sh\nexec {shlex.join(entry)} "$@"\n', encoding="utf-8")
        launcher.chmod(0o755)
        seeds = self.plan.seeds if self.plan.seeds is not None else (data_root("vectors") / "files",)
        commands = []
        for job in range(self.plan.jobs):
            config = Config(
                target=self.plan.target,
                impl=self.plan.impl,
                policies=dict(self.plan.policies),
                timeout=self.plan.timeout,
                memory_limit=self.plan.memory_limit,
                record=str(self.raw.resolve()),
                slow=str(self.slow.resolve()),
                status=str((self.out / f"status-{job}.json").resolve()),
                launcher=str(launcher.resolve()),
                bytes_only=self.plan.bytes_only,
                coverage=self.plan.coverage,
                workdir=str(Path.cwd()),
            )
            config.write(self.out / f"config-{job}.json")
            commands.append(
                [
                    str(launcher.resolve()),
                    str(self.corpus.resolve()),
                    *(str(Path(seed).resolve()) for seed in seeds),
                    f"-max_total_time={max(1, round(self.plan.seconds))}",
                    f"-dict={dict_path.resolve()}",
                    f"-max_len={self.plan.max_len}",
                    f"-timeout={int(self.plan.timeout * 2 + 10)}",
                    f"-rss_limit_mb={RSS_LIMIT_MB}",
                    f"-seed={self.seed + job}",
                    f"-artifact_prefix={self.raw.resolve()}/",
                    "-print_final_stats=1",
                    *(() if self.plan.coverage else ("-keep_seed=1",)),
                    *self.plan.extra,
                ]
            )
        return commands

    def run(self, progress: Callable[[Snapshot], None] | None = None, interval: float = 0.5) -> Summary:
        commands = self.prepare()
        started = datetime.now(UTC).isoformat(timespec="seconds")
        self._since = time.time() - 1  # what earlier campaigns in this folder left is not this one's
        begin = time.monotonic()
        deadline = begin + self.plan.seconds + GRACE_SECONDS
        readers = []
        try:
            for job, command in enumerate(commands):
                # What this process can import, the fuzzing process can (a user's module:attr adapter).
                env = {**worker_environment(), CONFIG_ENV: str((self.out / f"config-{job}.json").resolve())}
                process = subprocess.Popen(
                    command,
                    cwd=self.out,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                self._processes.append(process)
                reader = threading.Thread(target=self._follow, args=(job, process), daemon=True)
                reader.start()
                readers.append(reader)
            while any(p.poll() is None for p in self._processes):
                if time.monotonic() > deadline:
                    self.stop()
                    break
                if progress is not None:
                    progress(self.snapshot(time.monotonic() - begin))
                time.sleep(interval)
        except BaseException:
            self.stop()
            raise
        for reader in readers:
            reader.join(timeout=10)
        elapsed = time.monotonic() - begin
        for job, process in enumerate(self._processes):
            self.stats[job].returncode = process.wait()
        if progress is not None:
            progress(self.snapshot(elapsed))
        unavailable = [job for job in self.stats if job.returncode == EXIT_UNAVAILABLE]
        if unavailable and len(unavailable) == len(self.stats):
            reason = next((line for line in unavailable[0].lines if "cannot start" in line), None)
            raise CampaignError(reason or "the fuzzing process could not start its target")
        return Summary(
            plan=self.plan,
            started=started,
            seed=self.seed,
            elapsed=elapsed,
            jobs=self.stats,
            raw=raw_findings(self.raw, self._since),
            slow=sorted(p for p in self.slow.glob("*.bin") if p.stat().st_mtime >= self._since),
            corpus=sum(1 for path in self.corpus.iterdir() if path.is_file()),
            command=commands[0],
        )

    def _follow(self, job: int, process: subprocess.Popen[bytes]) -> None:
        """Read a job's output line by line: into its log, and into its statistics."""
        assert process.stdout is not None
        stats = self.stats[job]
        with process.stdout, (self.logs / f"job-{job}.log").open("wb") as log:
            for raw in process.stdout:
                log.write(raw)
                line = raw.decode("utf-8", "replace").rstrip("\n")
                stats.read_line(line)
                if "cannot start" in line or "Error" in line:
                    stats.lines.append(line)

    def snapshot(self, elapsed: float) -> Snapshot:
        executions = 0
        for job, stats in enumerate(self.stats):
            counted = _read_status(self.out / f"status-{job}.json")
            executions += max(stats.executions, counted.get("executions", 0))
        # Inputs saved (a few per failure pattern), not every time a failure recurred.
        findings = len(raw_findings(self.raw, self._since))
        return Snapshot(
            elapsed=elapsed,
            seconds=self.plan.seconds,
            executions=executions,
            exec_per_second=executions / elapsed if elapsed > 0 else 0.0,
            coverage=max((s.coverage for s in self.stats), default=0),
            features=max((s.features for s in self.stats), default=0),
            corpus=max((s.corpus for s in self.stats), default=0),
            findings=findings,
            jobs_running=sum(1 for p in self._processes if p.poll() is None),
        )

    def stop(self) -> None:
        """Stop every job now (its process group: libFuzzer's -fork children and workers too)."""
        for process in self._processes:
            if process.poll() is None:
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for process in self._processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def raw_findings(folder: Path, since: float = 0.0) -> list[Path]:
    """Recorded findings (``*.bin``) and libFuzzer's artifacts (``crash-*`` and the like),
    written at ``since`` (a time stamp) or later."""
    if not folder.is_dir():
        return []
    found = [
        p
        for p in folder.iterdir()
        if p.is_file() and (p.suffix == ".bin" or artifact_kind(p) is not None) and p.stat().st_mtime >= since
    ]
    return sorted(found)


def artifact_kind(path: Path) -> str | None:
    """``crash``, ``timeout``, ``oom``... for a file libFuzzer wrote, else ``None``."""
    return next((kind for kind in ARTIFACT_KINDS if path.name.startswith(kind + "-")), None)


def _read_status(path: Path) -> dict[str, int]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
