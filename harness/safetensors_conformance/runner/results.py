"""Results: streamed to JSON lines while a run goes, gathered into one JSON document after.

``results.jsonl`` holds one ``run`` record, one ``implementation`` record per implementation and
one ``result`` record per (implementation, vector), flushed as each arrives, so an interrupted
run loses nothing and resumes where it stopped. ``results.json`` (``schema/results.schema.json``)
is what reports, ``compare`` and other tools read.
"""

from __future__ import annotations

import json
import threading
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


def open_stream(path: Path, run: dict[str, Any], *, fresh: bool) -> tuple[Stream, Results]:
    """Open ``path`` for a run, resuming it if it holds the same run; returns what it already has.

    A file that holds a different run (another corpus, other settings) is not touched unless
    ``fresh`` says to start over.
    """
    previous = None if fresh or not path.exists() else read_stream(path)
    if previous is not None and previous.run != run:
        raise ValueError(
            f"{path} holds a different run (corpus, implementations or settings differ); use --fresh to replace it"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    if previous is None:
        handle = path.open("w", encoding="utf-8")
        stream = Stream(handle)
        stream.write({"kind": "run", **run})
        return stream, Results(run)
    # Cut a torn last line (an interrupted write), so that the next record starts a line of its own.
    with path.open("r+b") as raw:
        content = raw.read()
        raw.truncate(content.rfind(b"\n") + 1)
    return Stream(path.open("a", encoding="utf-8")), previous


def read_stream(path: Path) -> Results | None:
    """What a results.jsonl holds; a torn last line (an interrupted write) is ignored."""
    results: Results | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        kind = record.pop("kind", None)
        if kind == "run":
            results = Results(record)
        elif results is None:
            return None
        elif kind == "implementation":
            results.implementations[record["selection"]] = Description.from_json(record)
        elif kind == "result":
            results.results.append(Result.from_json(record))
    return results
