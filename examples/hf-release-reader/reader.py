#!/usr/bin/env python3
"""The Hugging Face ``safetensors`` library, any release from 0.3 on, behind the external-program
protocol (docs/external-protocol.md).

It runs in an environment that holds only that release and NumPy (``safe_open`` with
``framework="numpy"`` imports it), so it imports nothing of this project: the release history
(``scripts/release_history.py``) installs each release in its own virtual environment and runs
this file with that environment's Python. It calls the API that every release since 0.3 has and
the in-tree ``safetensors`` adapter uses: ``safetensors.deserialize(bytes)`` for the tensors (raw
dtype name, shape and bytes, so every dtype is compared) and ``safe_open(path,
framework="numpy").metadata()`` for ``__metadata__``.

Only ``safetensors.SafetensorError`` is the library's documented rejection; any other exception
is a rejection marked ``unexpected``. A Rust panic surfaces as ``PanicException``, which is not an
``Exception``: like the in-tree adapter, it is left to end the process, and the runner records a
crash.

    python reader.py PATH        one-shot: print the result, exit 0 (accepted) or 1 (rejected)
    python reader.py --serve     persistent: JSON lines on stdin and stdout
    python reader.py --describe  print the description
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import traceback
from types import ModuleType
from typing import IO, Any

#: Above this many tensors the reply is one content digest (the protocol's ``digest``), so a
#: million-tensor file is not a reply of a hundred megabytes.
DIGEST_ABOVE = 10_000
#: Small tensors travel with their bytes in hex, so that a wrong-content verdict can show them.
SAMPLE_BYTES = 64
SAMPLED_TENSORS = 16
#: Error messages are cut to this many characters.
MESSAGE_LIMIT = 2000
#: What the program calls; every release from 0.3.0 has all three.
API = ("deserialize", "safe_open", "SafetensorError")
IMPLEMENTATION = "safetensors (Hugging Face, deserialize)"

# Without the release the program still answers: unavailable to --describe and to start.
library: ModuleType | None
try:
    import safetensors as library
except ImportError as error:
    library, MISSING = None, f"{type(error).__name__}: {error}"


def describe() -> dict[str, Any]:
    """The description: no ``dtypes`` member, since the raw-bytes API returns every dtype the
    release knows and rejects the others, which is the behaviour being recorded."""
    if library is None:
        return {"implementation": IMPLEMENTATION, "version": "not installed", "available": False, "reason": MISSING}
    version = str(library.__version__)
    absent = [name for name in API if not hasattr(library, name)]
    if absent:
        reason = f"safetensors {version} has no {', '.join(absent)} (0.3.0 is the first release with all three)"
        return {"implementation": IMPLEMENTATION, "version": version, "available": False, "reason": reason}
    return {
        "implementation": IMPLEMENTATION,
        "version": version,
        "available": True,
        "capabilities": {"kind": "full", "devices": ["cpu"], "can_write": False},
    }


def load(module: ModuleType, path: str) -> dict[str, Any]:
    """Load the whole file the way a user of the bytes API does; raises what the library raises."""
    with open(path, "rb") as file:  # noqa: PTH123 - the bytes API takes the whole file
        content = file.read()
    views = module.deserialize(content)
    with module.safe_open(path, framework="numpy") as opened:
        metadata = opened.metadata()
    rows = []
    samples = {}
    for name, view in views:
        data = view["data"]  # a bytearray: hashed as it is, not copied
        rows.append([name, view["dtype"], list(view["shape"]), len(data), hashlib.sha256(data).hexdigest()])
        if len(rows) <= SAMPLED_TENSORS and len(data) <= SAMPLE_BYTES:
            samples[name] = data.hex()
    if len(rows) > DIGEST_ABOVE:
        summary = {"count": len(rows), "sha256": digest(rows, metadata)}
        return {"outcome": "accepted", "digest": summary, "metadata": metadata}
    tensors = [{"name": n, "dtype": d, "shape": s, "nbytes": b, "sha256": h} for n, d, s, b, h in rows]
    result: dict[str, Any] = {"outcome": "accepted", "tensors": tensors, "metadata": metadata}
    if samples:
        result["samples"] = samples
    return result


def digest(rows: list[list[Any]], metadata: dict[str, str] | None) -> str:
    """The protocol's content digest: one compact, ASCII-escaped JSON line per tensor, in code
    point order of the names (Python's string order), then the metadata with sorted keys."""
    hasher = hashlib.sha256()
    for row in sorted(rows, key=lambda r: r[0]):
        hasher.update((json.dumps(row, separators=(",", ":"), ensure_ascii=True) + "\n").encode("ascii"))
    hasher.update(json.dumps(metadata or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii"))
    return hasher.hexdigest()


def outcome(path: str) -> dict[str, Any]:
    """One load, as the protocol's result; only the library's own error is an expected rejection."""
    described = describe()
    if library is None or not described["available"]:
        return {"outcome": "rejected", "error": described["reason"], "error_type": "Unavailable", "unexpected": True}
    documented: type[BaseException] = library.SafetensorError
    try:
        return load(library, path)
    except documented as error:
        return {"outcome": "rejected", "error": str(error)[:MESSAGE_LIMIT], "error_type": type(error).__name__}
    except MemoryError:
        return {"outcome": "memory-limit", "error": "MemoryError"}
    except Exception as error:
        # Where it was raised, for the implementer: the innermost frames of the traceback.
        where = "".join(traceback.format_tb(error.__traceback__)[-3:]).rstrip()
        message = f"{error}"[:1500] + (f"\n{where[-1500:]}" if where else "")
        return {"outcome": "rejected", "error": message, "error_type": type(error).__name__, "unexpected": True}


def serve(requests: IO[str], replies: IO[str]) -> None:
    for line in requests:
        if not line.strip():
            continue
        request = json.loads(line)
        seq, op = request.get("seq"), request.get("op")
        if op == "stop":
            replies.write(json.dumps({"seq": seq, "stopped": True}) + "\n")
            replies.flush()
            return
        if op == "start":
            reply: dict[str, Any] = {"started": describe()}
        elif op == "load":
            reply = outcome(request["path"])
        else:
            reply = {"outcome": "rejected", "error": f"unknown request {op!r}", "unexpected": True}
        replies.write(json.dumps({"seq": seq, **reply}, ensure_ascii=True) + "\n")
        replies.flush()


def main(argv: list[str]) -> int:
    if argv == ["--describe"]:
        sys.stdout.write(json.dumps(describe()) + "\n")
        return 0
    if argv == ["--serve"]:
        # The protocol owns the real stdout; anything the library prints goes to stderr.
        replies = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
        os.dup2(2, 1)
        serve(sys.stdin, replies)
        return 0
    if len(argv) == 1 and not argv[0].startswith("--"):
        result = outcome(argv[0])
        sys.stdout.write(json.dumps(result, ensure_ascii=True) + "\n")
        return 1 if result["outcome"] in ("rejected", "memory-limit") else 0
    sys.stderr.write("usage: reader.py PATH | --serve | --describe\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
