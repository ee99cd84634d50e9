"""``validate DIR`` for a directory that holds a sharded checkpoint (``spec/checkpoint.md``).

The command line calls :func:`validate_directory` for each such directory it meets; the
checkpoint validator and the spec index are imported here, so a run over plain files never loads
them. Each checkpoint becomes one entry of the report; the directory's other ``*.safetensors``
files are handed back to be checked as files, as before.
"""

from __future__ import annotations

import os
from typing import NamedTuple, TextIO

from .checkpoint.validate import CheckpointReport, check_directory
from .spec import load_all
from .textout import terminal


class Validated(NamedTuple):
    """What one directory gave: report entries, files still to check, and the verdicts so far."""

    results: list[dict[str, object]]
    files: list[str]
    nonconforming: bool
    io_error: bool


def validate_directory(directory: str, *, as_json: bool, out: TextIO, err: TextIO) -> Validated:
    """Check every checkpoint of ``directory``; print its text report unless ``as_json``."""
    try:
        found = check_directory(directory)
    except OSError as error:
        return _broken(directory, error.strerror or str(error), as_json=as_json, err=err)
    except Exception as error:  # a bug in the validator: exit 2, and say which directory showed it
        return _broken(directory, f"internal error: {type(error).__name__}: {error}", as_json=as_json, err=err)
    results = []
    for report in found.checkpoints:
        results.append(report_json(directory, report))
        if not as_json:
            print_report(directory, report, out)
    # Joined as the directory walk joins them, so that paths read alike in the report.
    files = [os.path.join(directory, name) for name in found.other_files]  # noqa: PTH118
    return Validated(results, files, any(not r.conforms for r in found.checkpoints), io_error=False)


def _broken(directory: str, problem: str, *, as_json: bool, err: TextIO) -> Validated:
    if not as_json:
        err.write(f"ERROR {terminal(directory)}: {terminal(problem)}\n")
    entry: dict[str, object] = {"path": directory, "valid": None, "error": problem, "violations": [], "warnings": []}
    return Validated([entry], [], nonconforming=False, io_error=True)


def report_json(directory: str, report: CheckpointReport) -> dict[str, object]:
    primary = report.primary
    return {
        "path": directory,
        "valid": report.conforms,
        "checkpoint": {
            "index": report.index_file,
            "prefix": report.prefix,
            "shards": list(report.shards),
            "tensors": None if report.tensors is None else len(report.tensors),
        },
        "primary": None if primary is None else primary.value,
        "violations": [f.to_json() for f in report.violations],
        "warnings": [f.to_json() for f in report.warnings],
        "unreported_violations": report.unreported_violations,
        "unreported_warnings": report.unreported_warnings,
    }


def print_report(directory: str, report: CheckpointReport, out: TextIO) -> None:
    # Both parts of the spec: a shard's own findings cite the file format.
    index = load_all() if report.violations or report.warnings else {}
    shards = len(report.shards)
    detail = f"{shards} shard{'' if shards == 1 else 's'}"
    if report.tensors is not None:
        detail += f", {len(report.tensors)} tensor{'' if len(report.tensors) == 1 else 's'}"
    if report.primary is not None:
        detail = f"primary: {report.primary.value}"
    elif not report.conforms:
        detail = "every violation is flagged: implementation-defined"
    verdict = "PASS" if report.conforms else "FAIL"
    out.write(f"{verdict}  {terminal(directory)} [checkpoint {terminal(report.name)}] ({detail})\n")
    for kind, findings, unreported in (
        ("error", report.violations, report.unreported_violations),
        ("warning", report.warnings, report.unreported_warnings),
    ):
        for finding in findings:
            where = [terminal(finding.file)]
            if finding.offset is not None:
                where.append(f"offset {finding.offset}")
            if finding.pointer is not None:
                where.append(terminal(finding.pointer) or "the root")
            flag = f" [flag {finding.flag.value}]" if finding.flag is not None else ""
            out.write(
                f"  {kind:7} {finding.requirement.value} in {', '.join(where)}: {terminal(finding.message)}{flag}\n"
            )
            requirement = index.get(finding.requirement.value)
            if requirement is not None:
                out.write(f"          {requirement.url}\n")
        if unreported:
            out.write(f"  {kind:7} ... and {unreported} more {kind}{'' if unreported == 1 else 's'} not shown\n")
