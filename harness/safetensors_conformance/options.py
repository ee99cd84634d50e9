"""Options that `run` and the pytest plugin share, defined once and registered on both faces.

Each option has one spelling, one meaning and one destination everywhere, and its value is
checked when it is parsed, so a bad value is a usage error on both faces.
"""

from __future__ import annotations

import argparse
from typing import Any, NamedTuple, Protocol


class Option(NamedTuple):
    """One option; a NamedTuple, not a dataclass, because `validate` builds this parser at start-up."""

    flag: str
    dest: str
    settings: dict[str, Any]


def positive_number(text: str) -> float:
    """A number of seconds greater than zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r}: must be a number of seconds above 0")
    return value


def whole_number(minimum: int) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r}: must be at least {minimum}")
        return value

    parse.__name__ = f"whole number >= {minimum}"
    return parse


def _repeatable(metavar: str, text: str) -> dict[str, Any]:
    return {"action": "append", "default": [], "metavar": metavar, "help": f"{text} (repeatable)"}


SHARED = (
    Option(
        "--impl",
        "impl",
        _repeatable(
            "SELECTION", "implementation: NAME, NAME:key=value, module:attr, cmd:PROGRAM ARGS, serve:PROGRAM ARGS"
        ),
    ),
    Option("--requirement", "requirement", _repeatable("ID", "only vectors citing this requirement ID")),
    Option("--flag", "flag", _repeatable("FLAG", "only vectors carrying this flag")),
    Option(
        "--phase",
        "phase",
        {
            "action": "append",
            "default": [],
            "choices": ["header", "validation", "data"],
            "help": "only vectors of this phase: header (the prefix and header alone), validation (sizes and "
            "the file length; a header-only reader may not see these), data (content read back) (repeatable)",
        },
    ),
    Option("--vector-id", "vector_id", _repeatable("ID", "only this vector id")),
    Option("--group", "group", _repeatable("GROUP", "only vectors of this group (the part of the id before /)")),
    Option("--no-synth", "no_synth", {"action": "store_true", "help": "leave out the large recipe vectors"}),
    Option("--synth-only", "synth_only", {"action": "store_true", "help": "only the large recipe vectors"}),
    Option(
        "--policy",
        "policy",
        _repeatable("FLAG=POLICY[@SELECTION]", "accept, reject or either (default) for an implementation-defined flag"),
    ),
    Option(
        "--known-failures",
        "known_failures",
        {"metavar": "FILE", "help": "expected failures, one per line: [SELECTION] VECTOR_ID  # reason"},
    ),
    Option(
        "--vector-timeout",
        "vector_timeout",
        {
            "type": positive_number,
            "default": 30.0,
            "metavar": "SECONDS",
            "help": "per vector, plus 1 s per 2 MB of file and per 1 MB of header (default: 30)",
        },
    ),
    Option(
        "--memory-limit",
        "memory_limit",
        {
            "type": whole_number(0),
            "default": 4096,
            "metavar": "MIB",
            "help": "resident memory per worker and its children, 0 for none (default: 4096)",
        },
    ),
)


class _Registers(Protocol):
    def __call__(self, *flags: str, **settings: Any) -> Any: ...


def register(add: _Registers) -> None:
    """Register every shared option with ``add`` (``ArgumentParser.add_argument`` or pytest's ``addoption``)."""
    for option in SHARED:
        add(option.flag, dest=option.dest, **option.settings)
