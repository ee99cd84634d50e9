"""Helpers shared by the tests: build files byte by byte; figures shown at the end of the run."""

from __future__ import annotations

import struct

import pytest

_SUMMARY = pytest.StashKey[list[str]]()


@pytest.fixture
def terminal_summary(request: pytest.FixtureRequest) -> list[str]:
    """Lines appended here are printed after the test results (the format coverage figure)."""
    return request.config.stash.setdefault(_SUMMARY, [])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = terminalreporter.config.stash.get(_SUMMARY, [])
    if lines:
        terminalreporter.section("figures", sep="-")
        for line in lines:
            terminalreporter.line(line)


def make_file(header: str | bytes, data: bytes = b"", *, padding: int = 0, length: int | None = None) -> bytes:
    """A file with the given header text (plus ``padding`` spaces), declared length and buffer."""
    text = header.encode("utf-8") if isinstance(header, str) else header
    text += b" " * padding
    return struct.pack("<Q", len(text) if length is None else length) + text + data


def entry(dtype: str = "U8", shape: str = "[2]", offsets: str = "[0,2]") -> str:
    """The JSON text of a tensor entry, fields in canonical order."""
    return f'{{"dtype":"{dtype}","shape":{shape},"data_offsets":{offsets}}}'


def buffer_at(content: bytes, buffer_offset: int) -> int:
    """Absolute offset in a file of an offset in its buffer."""
    return 8 + int.from_bytes(content[:8], "little") + buffer_offset
