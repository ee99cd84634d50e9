"""Results: streamed to JSON lines while a run goes, gathered into one JSON document after.

``results.jsonl`` holds one ``run`` record, one ``implementation`` record per implementation and
one ``result`` record per (implementation, vector), flushed as each arrives, so an interrupted
run loses nothing and resumes where it stopped. ``results.json`` (``schema/results.schema.json``)
is what reports, ``compare`` and other tools read.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..adapters.protocol import Description
from .verdicts import Verdict

RESULTS_FORMAT = 1


@dataclass(frozen=True)
class Result:
    implementation: str
    vector: str
    verdict: Verdict
    detail: str | None = None
    flagged: str | None = None
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "implementation": self.implementation,
            "vector": self.vector,
            "verdict": self.verdict.value,
        }
        if self.detail:
            data["detail"] = self.detail
        if self.flagged:
            data["flagged"] = self.flagged
        data["seconds"] = round(self.seconds, 6)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Result:
        return cls(
            data["implementation"],
            data["vector"],
            Verdict(data["verdict"]),
            data.get("detail"),
            data.get("flagged"),
            data.get("seconds", 0.0),
        )


@dataclass
class Results:
    """A whole run: what was run, on what, and every verdict."""

    run: dict[str, Any]
    implementations: dict[str, Description] = field(default_factory=dict)
    results: list[Result] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": RESULTS_FORMAT,
            **self.run,
            "implementations": [
                {"selection": name, **description.to_json()} for name, description in self.implementations.items()
            ],
            "results": [r.to_json() for r in self.results],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Results:
        if data.get("format") != RESULTS_FORMAT:
            raise ValueError(f"results format {data.get('format')!r} is not {RESULTS_FORMAT}")
        run = {k: v for k, v in data.items() if k not in {"format", "implementations", "results"}}
        implementations = {item["selection"]: Description.from_json(item) for item in data["implementations"]}
        return cls(run, implementations, [Result.from_json(r) for r in data["results"]])

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=1, ensure_ascii=True) + "\n", encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> Results:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))

    def by_implementation(self) -> dict[str, dict[str, Result]]:
        table: dict[str, dict[str, Result]] = {name: {} for name in self.implementations}
        for result in self.results:
            table.setdefault(result.implementation, {})[result.vector] = result
        return table


class Stream:
    """The JSON-lines file of a run in progress; safe to write from several threads."""

    def __init__(self, handle: IO[str]) -> None:
        self._handle = handle
        self._lock = threading.Lock()

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=True) + "\n"
        with self._lock:
            self._handle.write(line)
            self._handle.flush()

    def close(self) -> None:
        self._handle.close()


class StreamError(ValueError):
    """A results.jsonl that cannot be resumed; the message says why and what to do."""


class FolderInUse(StreamError):
    """Another run writes into the same results folder."""


class FolderLock:
    """One writer per results folder: an exclusive ``flock`` on ``.lock`` in it, naming its holder.

    The kernel drops the lock when the holder exits, however it exits (kill -9 included), so a
    stale lock never blocks the next run; the holder's line says who had it.
    """

    NAME = ".lock"

    def __init__(self, folder: Path) -> None:
        self.path = folder / self.NAME
        self._handle: IO[str] | None = None

    def __enter__(self) -> FolderLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise FolderInUse(
                f"{self.path.parent} is in use by another run ({holder}); wait for it to finish or use another --out"
            ) from None
        handle.seek(0)
        handle.truncate()
        started = time.strftime("%Y-%m-%d %H:%M:%S")
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}, started {started}: {' '.join(sys.argv)[:200]}\n")
        handle.flush()
        self._handle = handle
        return self

    def __exit__(self, *_: object) -> None:
        if self._handle is not None:
            self._handle.truncate(0)
            self._handle.close()  # closing releases the lock
            self._handle = None


@dataclass
class Resumed:
    """What a resume kept of an earlier stream."""

    kept: int = 0
    #: Lines that could not be read (other than a torn last line): their results are run again.
    unreadable: int = 0
    #: Results recorded twice for one (implementation, vector); the last one is kept.
    duplicates: int = 0


def _differences(before: dict[str, Any], after: dict[str, Any], prefix: str = "") -> list[str]:
    """The run-record fields that differ, each as ``name: before -> after`` (nested: ``a.b``)."""

    def short(value: object) -> str:
        text = json.dumps(value, ensure_ascii=True)
        return text if len(text) <= 60 else text[:57] + "..."

    found = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            found += _differences(old, new, f"{prefix}{key}.")
        else:
            found.append(f"{prefix}{key}: {short(old)} -> {short(new)}")
    return found


def open_stream(path: Path, run: dict[str, Any], *, fresh: bool) -> tuple[Stream, Results, Resumed]:
    """Open ``path`` for a run, resuming it if it holds the same run; returns what it already has.

    A file that holds a different run (another corpus, other implementations or settings), or whose
    run record cannot be read, is refused unless ``fresh`` says to start over: a long run is never
    silently replaced.
    """
    previous, resumed = (None, Resumed()) if fresh or not path.exists() else read_stream(path)
    if previous is not None and previous.run != run:
        raise StreamError(
            f"{path} holds a different run ({'; '.join(_differences(previous.run, run))}); "
            "use --fresh to replace it, or another --out"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    if previous is None:
        handle = path.open("w", encoding="utf-8")
        stream = Stream(handle)
        stream.write({"kind": "run", **run})
        return stream, Results(run), resumed
    # Cut a torn last line (an interrupted write), so that the next record starts a line of its own.
    with path.open("r+b") as raw:
        content = raw.read()
        raw.truncate(content.rfind(b"\n") + 1)
    return Stream(path.open("a", encoding="utf-8")), previous, resumed


def read_stream(path: Path) -> tuple[Results | None, Resumed]:
    """What a results.jsonl holds (``None`` for an empty file), and what reading it found.

    A torn last line (an interrupted write) is ignored. An ``implementation`` record that differs
    from the one before it for the same selection (the implementation was upgraded between two
    runs into the same folder) drops that selection's earlier results: they are of another version.
    One result per (implementation, vector): a later record replaces an earlier one.
    """
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = text.splitlines()
    torn = not text.endswith("\n")  # the last line was cut short by an interrupted write
    resumed = Resumed()
    if not lines:
        return None, resumed
    try:
        first = json.loads(lines[0])
    except ValueError:
        first = None
    if not isinstance(first, dict) or first.get("kind") != "run":
        raise StreamError(
            f"line 1 of {path} is not a run record, so the run it holds is unknown; "
            "use --fresh to replace it, or another --out"
        )
    first.pop("kind")
    results = Results(first)
    by_key: dict[tuple[str, str], Result] = {}
    last = len(lines) - 1
    for number, line in enumerate(lines[1:], start=1):
        try:
            record = json.loads(line)
            kind = record.pop("kind", None)
            if kind == "implementation":
                description = Description.from_json(record)
                selection = record["selection"]
                earlier = results.implementations.get(selection)
                if earlier is not None and earlier != description:
                    by_key = {key: r for key, r in by_key.items() if key[0] != selection}
                results.implementations[selection] = description
            elif kind == "result":
                result = Result.from_json(record)
                key = (result.implementation, result.vector)
                resumed.duplicates += key in by_key
                by_key[key] = result
            else:
                raise ValueError(f"unknown record kind {kind!r}")
        except (ValueError, KeyError, TypeError, AttributeError):
            if not (torn and number == last):
                resumed.unreadable += 1
    results.results = list(by_key.values())
    resumed.kept = len(results.results)
    return results, resumed
