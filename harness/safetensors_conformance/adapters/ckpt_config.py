"""Writing a library's config file into a checkpoint vector's directory, for the adapters whose
library reads the model's config from the checkpoint directory itself (diffusers, mlx-lm).

The directory is the run's scratch copy of the vector, so adding a file to it changes no vector;
the file is never a ``*.safetensors`` name, and is written without following a link (an entry of
that name, link or not, is replaced), so the write cannot land outside the directory.
"""

from __future__ import annotations

import json
import os


def write_config(directory: str, config: dict[str, object], name: str = "config.json") -> None:
    """Write ``config`` as JSON to ``directory/name``, replacing whatever entry has that name."""
    target = os.path.join(directory, name)  # noqa: PTH118 - the path for os.open below
    if os.path.lexists(target):
        os.unlink(target)  # noqa: PTH108 - removes a link itself, never its target
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    with os.fdopen(os.open(target, flags, 0o644), "w", encoding="utf-8") as handle:
        json.dump(config, handle)
