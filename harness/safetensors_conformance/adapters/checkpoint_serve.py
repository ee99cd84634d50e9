"""Serving one checkpoint loader in a worker process, over the file adapters' persistent protocol.

``python -m safetensors_conformance.adapters.checkpoint_serve SELECTION`` answers ``start``, ``load``
(the path is a checkpoint directory) and ``stop`` exactly as :mod:`.serve` does, so the runner's
sessions, limits and outcomes are the file adapters'. The runner starts one such worker per hash
seed (``PYTHONHASHSEED``), which is why the seed is a property of the process, not of a request.
"""

from __future__ import annotations

import os
import sys

from .checkpoint import AsAdapter, resolve_loader
from .protocol import Adapter
from .serve import serve, tune_collector


def _resolve(selection: str, _target: str | None) -> Adapter:
    return AsAdapter(resolve_loader(selection))


def main() -> None:
    replies = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)  # whatever the loader prints lands on stderr
    tune_collector()
    serve(sys.argv[1], None, sys.stdin, replies, _resolve)


if __name__ == "__main__":
    main()
