"""Vector definitions, one module per group; the group is the first part of each vector's id."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib import import_module

from ..build import Draft

#: Groups in manifest order.
GROUPS = (
    "framing",
    "utf8",
    "start",
    "padding",
    "root",
    "json",
    "strings",
    "depth",
    "duplicates",
    "metadata",
    "entries",
    "names",
    "dtypes",
    "shapes",
    "numbers",
    "sizes",
    "offsets",
    "buffer",
    "scale",
    "polyglots",
    "examples",
)


def drafts() -> Iterator[tuple[str, Draft]]:
    """Every draft of every group, with its group, in manifest order."""
    for group in GROUPS:
        module = import_module(f".{group}", __name__)
        make: Callable[[], Iterator[Draft]] = module.drafts
        for draft in make():
            yield group, draft
