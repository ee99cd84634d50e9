"""Serving one Python adapter behind the persistent JSON-lines protocol, in a worker process.

``python -m safetensors_conformance.adapters.serve SELECTION [TARGET]`` answers ``start``,
``load`` and ``stop`` requests on stdin/stdout exactly as an external ``serve:`` program does.
The adapter's own prints go to stderr (fd 1 is moved there), so nothing it does can corrupt the
protocol; the runner sets the memory limit and kills the process on a deadline. ``TARGET`` is the
adapter's ``module:attr``, when the runner has already looked it up, so the worker need not scan
the installed packages' entry points again.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any, TextIO

from .outcome import Outcome, from_loaded
from .protocol import Adapter, Rejected, Unsupported
from .registry import resolve


def load_outcome(adapter: Adapter, path: str) -> Outcome:
    """Run one load and say how it ended; only the adapter's own errors count as expected."""
    try:
        loaded = adapter.load(path)
    except Rejected as error:
        return Outcome("rejected", error=str(error)[:2000], error_type=type(error.__cause__ or error).__name__)
    except Unsupported as error:
        return Outcome("unsupported", error=str(error)[:2000])
    except MemoryError:
        return Outcome("memory-limit", error="MemoryError")
    except Exception as error:
        # Where it was raised, for the implementer: the innermost frames of the traceback.
        where = "".join(traceback.format_tb(error.__traceback__)[-3:]).rstrip()
        message = f"{error}"[:1500] + (f"\n{where[-1500:]}" if where else "")
        return Outcome("rejected", error=message, error_type=type(error).__name__, unexpected=True)
    return from_loaded(loaded)


def tune_collector() -> None:
    """Collector settings for a process that loads one file after another.

    A file with a million tensors makes millions of objects; at the default threshold the cyclic
    collector runs thousands of times during one load and costs a quarter of it. Collecting every
    100,000 allocations keeps it working, at a fraction of that cost, and what was imported before
    the first file is frozen out of its scans.
    """
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)


def serve(
    selection: str,
    target: str | None,
    requests: TextIO,
    replies: TextIO,
    resolver: Callable[[str, str | None], Adapter] = resolve,
) -> None:
    """Answer requests until ``stop``; ``resolver`` makes the adapter (checkpoint loaders pass theirs)."""
    adapter: Adapter | None = None
    for line in requests:
        request: dict[str, Any] = json.loads(line)
        seq, op = request.get("seq"), request.get("op")
        reply: dict[str, Any]
        if op == "start":
            try:
                adapter = resolver(selection, target)
                reply = {"started": adapter.describe().to_json()}
                gc.freeze()  # the adapter's imports, too
            except Exception as error:
                reply = {
                    "started": {
                        "implementation": selection,
                        "version": "?",
                        "available": False,
                        "reason": f"{type(error).__name__}: {error}",
                    }
                }
        elif op == "load" and adapter is not None:
            reply = load_outcome(adapter, request["path"]).to_json()
        elif op == "stop":
            replies.write(json.dumps({"seq": seq, "stopped": True}) + "\n")
            replies.flush()
            return
        else:
            reply = {"outcome": "rejected", "error": f"unknown request {op!r}", "unexpected": True}
        replies.write(json.dumps({"seq": seq, **reply}, ensure_ascii=True) + "\n")
        replies.flush()


def main() -> None:
    replies = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)  # whatever the adapter prints lands on stderr
    tune_collector()
    serve(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None, sys.stdin, replies)


if __name__ == "__main__":
    main()
