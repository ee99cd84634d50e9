"""Options that `run` and the pytest plugin share, defined once and registered on both faces.

Each option has the same meaning and destination everywhere; only a flag's spelling may differ
where pytest already owns a name (``--timeout`` is ``--vector-timeout`` under pytest).
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol


class Option(NamedTuple):
    """One option; a NamedTuple, not a dataclass, because `validate` builds this parser at start-up."""

    cli: str
    dest: str
    settings: dict[str, Any]
    pytest: str | None = None  # the pytest spelling, when it differs

    @property
    def pytest_flag(self) -> str:
        return self.pytest or self.cli


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
    Option("--id", "vector_id", _repeatable("ID", "only this vector id"), pytest="--vector-id"),
    Option("--no-synth", "no_synth", {"action": "store_true", "help": "leave out the large recipe vectors"}),
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
        "--timeout",
        "vector_timeout",
        {
            "type": float,
            "default": 30.0,
            "metavar": "SECONDS",
            "help": "per vector, plus 1 s per 2 MB of file and per 1 MB of header (default: 30)",
        },
        pytest="--vector-timeout",
    ),
    Option(
        "--memory-limit",
        "memory_limit",
        {
            "type": int,
            "default": 4096,
            "metavar": "MIB",
            "help": "address-space limit per worker, 0 for none (default: 4096)",
        },
    ),
)


class _Registers(Protocol):
    def __call__(self, *flags: str, **settings: Any) -> Any: ...


def register(add: _Registers, *, pytest: bool) -> None:
    """Register every shared option with ``add`` (``ArgumentParser.add_argument`` or pytest's ``addoption``)."""
    for option in SHARED:
        add(option.pytest_flag if pytest else option.cli, dest=option.dest, **option.settings)
