"""A fuzzing process whose reference has a planted bug, for tests/test_fuzz.py.

The reader's ``check`` is wrapped so that it raises KeyError on one kind of conforming file that
no vector is: a file holding an I16 tensor of rank 3. The fuzzer must make one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from safetensors_conformance.fuzzing.entry import main

if TYPE_CHECKING:  # the reader is imported by main(), under instrumentation, and not before
    from safetensors_conformance.format.reader import Report


def triggers(report: Report) -> bool:
    """Whether the planted bug fires on a file the reference reports this way."""
    header = report.header
    tensors = header.tensors.values() if report.conforms and header is not None else ()
    return any(info.dtype == "I16" and len(info.shape) == 3 for info in tensors)


def plant() -> None:
    from safetensors_conformance.format import reader  # noqa: PLC0415 - after main() instruments it

    check = reader.check

    def planted(source: reader.Source, *, keep_tensors: bool = True) -> reader.Report:
        report = check(source, keep_tensors=keep_tensors)
        if triggers(report):
            raise KeyError("planted")
        return report

    reader.check = planted


if __name__ == "__main__":
    main("reference", setup=plant)
