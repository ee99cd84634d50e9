"""The reference checkpoint validator: ``spec/checkpoint.md`` checked on a directory as a whole.

It reads the directory's listing once, the index files, and each shard through the reference
file reader (:func:`..format.reader.check`, headers only); tensor bytes are never read. All file
access goes through :class:`.fs.Directory`, which never opens a file outside the directory's
containment root. Findings come in the spec's order within each checkpoint, so the output is the
same whatever order the file system lists entries in.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import BinaryIO, Final, NamedTuple, Protocol

from ..format.header import TensorInfo
from ..format.jsontext import locate, skip_whitespace
from ..format.limits import LENGTH_PREFIX_SIZE, MAX_HEADER_LENGTH, MAX_REPORTED_VIOLATIONS
from ..format.reader import check, read_bytes
from ..format.requirements import Flag, Req
from .findings import Finding, primary_requirement
from .fs import Directory, EntryProblem
from .index import MAX_INDEX_BYTES, TOTAL_SIZE_PATH, Entry, IndexReport, check_index
from .names import (
    caseless,
    is_index_name,
    is_stray_candidate,
    name_problem,
    portability_problem,
    set_member,
    set_member_name,
)
from .requirements import PRECEDENCE, CkptFlag, CkptReq


class CheckpointFiles(Protocol):
    """Where the validator reads a checkpoint's files from: :class:`.fs.Directory` on a file system,
    or another source with the same members (such as a directory behind a URL).

    ``entries`` are the names the source knows of (a listing); ``problem`` says why an entry may not
    be read (CKPT-FILE-LINK, CKPT-FILE-REGULAR); ``open`` gives a seekable binary file of an entry,
    which the reference reader reads; ``read`` gives an entry's whole content, up to a limit.
    """

    @property
    def path(self) -> str: ...

    @property
    def entries(self) -> Mapping[str, object]: ...

    def problem(self, name: str) -> EntryProblem | None: ...

    def open(self, name: str) -> BinaryIO: ...

    def read(self, name: str, limit: int) -> bytes: ...


#: The tensors of each shard that was read, by shard name.
_Stored = dict[str, dict[str, TensorInfo]]

#: Order of findings inside a report: the spec's order, then file, then offset.
_FILE_REQUIREMENTS: Final = {requirement: rank for rank, requirement in enumerate(Req)}


class ShardTensor(NamedTuple):
    """A tensor of a checkpoint: the shard that stores it and its entry there."""

    shard: str
    info: TensorInfo


class CheckpointReport(NamedTuple):
    """Everything the validator found in one checkpoint of a directory.

    ``index_file`` is the index file's name, or ``None`` for a shard set without an index (then
    ``prefix`` is the set's prefix). ``shards`` are the entries the checkpoint uses as shards, valid
    or not. ``tensors`` is what a conforming loader returns (by name, in the index's order, or by
    shard and offset without one): present when no unflagged MUST-level requirement is broken and
    every shard's header could be read.
    """

    directory: str
    index_file: str | None
    prefix: str | None
    shards: tuple[str, ...]
    violations: tuple[Finding, ...]
    warnings: tuple[Finding, ...]
    unreported_violations: int
    unreported_warnings: int
    tensors: dict[str, ShardTensor] | None

    @property
    def conforms(self) -> bool:
        """True when no MUST-level requirement is broken (warnings do not count)."""
        return not self.violations and not self.unreported_violations

    @property
    def primary(self) -> CkptReq | None:
        """The requirement that decides the rejection (spec section 1, *Precedence*)."""
        return primary_requirement(self.violations)

    @property
    def name(self) -> str:
        """The index file's name, or the shard set's pattern."""
        return self.index_file if self.index_file is not None else f"{self.prefix}-*-of-*.safetensors"


class DirectoryReport(NamedTuple):
    """A directory's checkpoints, and its ``*.safetensors`` files that are no checkpoint's shards."""

    directory: str
    checkpoints: tuple[CheckpointReport, ...]
    other_files: tuple[str, ...]


def check_directory(path: str | os.PathLike[str], *, root: str | os.PathLike[str] | None = None) -> DirectoryReport:
    """Check every checkpoint in a directory: one per index file or, without one, per shard set.

    ``root`` is the containment root (spec section 2), the directory itself by default. Raises
    ``OSError`` when a file cannot be read at all; never raises on bad content.
    """
    directory = Directory(path, root)
    names = list(directory.entries)
    indexes = [name for name in names if is_index_name(name)]
    reports: list[CheckpointReport]
    if indexes:
        reports = [_check_indexed(directory, index) for index in indexes]
    else:
        prefixes = sorted({member.prefix for name in names if (member := set_member(name)) is not None})
        reports = [_check_set(directory, prefix) for prefix in prefixes]
    shards = {shard for report in reports for shard in report.shards}
    others = tuple(name for name in names if name.endswith(".safetensors") and name not in shards)
    return DirectoryReport(directory.path, tuple(reports), others)


def check_checkpoint(
    path: str | os.PathLike[str], *, index: str | None = None, root: str | os.PathLike[str] | None = None
) -> CheckpointReport:
    """Check one checkpoint: the one with this index file, or the directory's only checkpoint."""
    directory = Directory(path, root)
    if index is not None:
        if index not in directory.entries:
            raise FileNotFoundError(f"{index!r} is not an entry of {directory.path}")
        return _check_indexed(directory, index)
    reports = check_directory(path, root=root).checkpoints
    if len(reports) != 1:
        raise ValueError(f"{directory.path} holds {len(reports)} checkpoints, not one")
    return reports[0]


def check_index_file(files: CheckpointFiles, index: str) -> CheckpointReport:
    """Check the checkpoint of the index file ``index``, an entry of ``files``, from any source."""
    if index not in files.entries:
        raise FileNotFoundError(f"{index!r} is not an entry of {files.path}")
    return _check_indexed(files, index)


# --- Collecting findings --------------------------------------------------------------------------


class _Collector:
    """Findings of one checkpoint, up to the report limit, with index pointers located at the end."""

    def __init__(self, index: IndexReport | None = None) -> None:
        self.index = index
        self.errors: list[Finding] = []
        self.warnings: list[Finding] = []
        self.unreported_errors = 0
        self.unreported_warnings = 0

    def add(self, finding: Finding) -> None:
        target = self.warnings if finding.is_warning else self.errors
        if len(target) < MAX_REPORTED_VIOLATIONS:
            target.append(finding)
        elif finding.is_warning:
            self.unreported_warnings += 1
        else:
            self.unreported_errors += 1

    def report(
        self,
        directory: CheckpointFiles,
        index: str | None,
        prefix: str | None,
        shards: Iterable[str],
        tensors: dict[str, ShardTensor] | None,
    ) -> CheckpointReport:
        violations = tuple(sorted(self.errors, key=_order))
        if primary_requirement(violations) is not None or self.unreported_errors:
            tensors = None
        return CheckpointReport(
            directory.path,
            index,
            prefix,
            tuple(sorted(set(shards))),
            violations,
            tuple(sorted(self.warnings, key=_order)),
            self.unreported_errors,
            self.unreported_warnings,
            tensors,
        )


def _order(finding: Finding) -> tuple[int, str, int, int]:
    """The spec's order; a shard's own findings follow its CKPT-SHARD-CONFORMS, in the file format's."""
    if isinstance(finding.requirement, CkptReq):
        rank, inner = PRECEDENCE[finding.requirement], -1
    else:
        rank, inner = PRECEDENCE[CkptReq.SHARD_CONFORMS], _FILE_REQUIREMENTS[finding.requirement]
    return (rank, finding.file, inner, finding.offset if finding.offset is not None else -1)


# --- A checkpoint with an index -------------------------------------------------------------------


def _check_indexed(directory: CheckpointFiles, index: str) -> CheckpointReport:
    out = _Collector()
    problem = directory.problem(index)
    if problem is not None:
        out.add(Finding(problem.requirement, f"the index file is {problem.message}", index))
        return out.report(directory, index, None, (), None)
    _check_case(directory, [index], out)
    report = check_index(directory.read(index, MAX_INDEX_BYTES), index)
    for finding in report.findings:
        out.add(finding)
    out.unreported_errors += report.unreported[0]
    out.unreported_warnings += report.unreported[1]
    if report.entries is None:
        return out.report(directory, index, None, (), None)
    entries = report.entries
    first: dict[str, Entry] = {}
    for entry in entries:
        first.setdefault(entry.reference, entry)
    usable, present = _check_references(directory, index, report, first, out)
    stored = _read_shards(directory, usable, out)
    mapped = {entry.tensor: entry.reference for entry in entries}
    _check_mapped_stored(index, report, entries, stored, out)
    # A tensor mapped to a reference that could not be read is not looked for in other shards.
    unresolved = {entry.tensor for entry in entries if entry.reference not in stored}
    _check_copies(directory, stored, mapped, out, unresolved)
    tensors = _content(entries, stored)
    if tensors is not None and report.total_size is not None:
        _check_total_size(index, report, report.total_size, tensors, out)
    _check_strays(directory, set(present) | {index}, out)
    return out.report(directory, index, None, present, tensors)


def _check_references(
    directory: CheckpointFiles, index: str, report: IndexReport, first: dict[str, Entry], out: _Collector
) -> tuple[list[str], list[str]]:
    """CKPT-SHARD-NAME, -PORTABLE, -EXISTS, CKPT-NAMES-CASE and CKPT-FILE-* for each distinct
    reference, found at its first use. Returns the shards that may be read, and every reference that
    names an entry."""
    pending: list[tuple[CkptReq, str, Entry]] = []
    by_key: dict[str, str] = {}
    exact_keys: dict[str, list[str]] = {}
    for name in directory.entries:
        exact_keys.setdefault(caseless(name), []).append(name)
    usable: list[str] = []
    present: list[str] = []
    for reference, entry in first.items():
        reason = name_problem(reference)
        if reason is not None:
            pending.append((CkptReq.SHARD_NAME, f"the shard reference {reference!r} {reason}", entry))
            continue
        portability = portability_problem(reference)
        if portability is not None:
            pending.append((CkptReq.SHARD_PORTABLE, f"the shard reference {reference!r} {portability}", entry))
        key = caseless(reference)
        other = by_key.setdefault(key, reference)
        if other != reference:
            pending.append(
                (CkptReq.NAMES_CASE, f"the shard reference {reference!r} differs from {other!r} only in case", entry)
            )
            continue
        if reference not in directory.entries:
            near = [name for name in exact_keys.get(key, []) if name != reference]
            if near:
                message = f"no entry is named {reference!r}; {near[0]!r} differs from it only in case"
                pending.append((CkptReq.NAMES_CASE, message, entry))
            else:
                pending.append((CkptReq.SHARD_EXISTS, f"the shard {reference!r} is not in the directory", entry))
            continue
        present.append(reference)
        problem = directory.problem(reference)
        if problem is not None:
            out.add(Finding(problem.requirement, f"the shard is {problem.message}", reference))
            continue
        usable.append(reference)
    _check_case(directory, present, out, skip=set(first))
    # Locate no more than can be reported (the collector counts the rest).
    located = [entry.path for _, _, entry in pending[: 2 * MAX_REPORTED_VIOLATIONS]]
    offsets = report.offsets(located)
    for requirement, message, entry in pending:
        out.add(Finding(requirement, message, index, _pointer(entry), offsets.get(entry.path)))
    return sorted(usable), present


def _check_case(directory: CheckpointFiles, names: Iterable[str], out: _Collector, skip: Iterable[str] = ()) -> None:
    """CKPT-NAMES-CASE: no other entry differs from a checkpoint file's name only in case.

    Entries in ``skip`` (names the index references, whose clash is reported at the reference) are
    not reported again.
    """
    keys = {caseless(name): name for name in names}
    skipped = set(skip)
    for entry in directory.entries:
        name = keys.get(caseless(entry))
        if name is not None and name != entry and entry not in skipped:
            message = f"this entry differs from the checkpoint file {name!r} only in case"
            out.add(Finding(CkptReq.NAMES_CASE, message, entry))


def _read_shards(directory: CheckpointFiles, shards: Iterable[str], out: _Collector) -> _Stored:
    """CKPT-SHARD-CONFORMS, through the reference reader; the tensors of each conforming shard."""
    stored: _Stored = {}
    for shard in shards:
        with directory.open(shard) as handle:
            report = check(handle)
        for v in (*report.violations, *report.warnings):
            out.add(Finding(v.requirement, v.message, shard, v.pointer, v.offset, v.flag))
        if not report.conforms:
            primary = report.primary
            flag: Flag | None = None
            if primary is None:
                flag = next((v.flag for v in report.violations if v.flag is not None), None)
                message = "the shard is not a conforming file, but every violation is flagged"
            else:
                message = f"the shard is not a conforming file (primary: {primary.value})"
            out.add(Finding(CkptReq.SHARD_CONFORMS, message, shard, flag=flag))
        if report.header is not None:
            stored[shard] = report.header.tensors
    return stored


def _check_mapped_stored(
    index: str, report: IndexReport, entries: tuple[Entry, ...], stored: _Stored, out: _Collector
) -> None:
    """CKPT-MAPPED-STORED: each mapped name is stored in its shard (checked in shards that were read)."""
    missing = [entry for entry in entries if entry.reference in stored and entry.tensor not in stored[entry.reference]]
    offsets = report.offsets([entry.path for entry in missing[:MAX_REPORTED_VIOLATIONS]])
    for entry in missing:
        elsewhere = sorted(shard for shard, tensors in stored.items() if entry.tensor in tensors)
        where = f"; it is stored in {elsewhere[0]!r}" if elsewhere else ""
        out.add(
            Finding(
                CkptReq.MAPPED_STORED,
                f"the index maps {entry.tensor!r} to {entry.reference!r}, which does not store it{where}",
                index,
                _pointer(entry),
                offsets.get(entry.path),
            )
        )


def _check_copies(
    directory: CheckpointFiles,
    stored: _Stored,
    mapped: dict[str, str] | None,
    out: _Collector,
    unresolved: frozenset[str] | set[str] = frozenset(),
) -> None:
    """CKPT-TENSOR-UNIQUE and CKPT-SHARD-MAPPED (``mapped`` is ``None`` for a set without an index).

    Of several copies of a name, the one in the shard the index maps it to (or, failing that, in the
    first shard in order) is kept; every other copy breaks CKPT-TENSOR-UNIQUE, and a kept copy that
    the index does not map to its shard breaks CKPT-SHARD-MAPPED, unless the index maps the name to a
    reference that could not be read (``unresolved``): that reference's finding is the cause.
    """
    holders: dict[str, list[str]] = {}
    for shard, tensors in stored.items():
        for name in tensors:
            holders.setdefault(name, []).append(shard)
    found: list[tuple[CkptReq, str, str, str, CkptFlag | None]] = []
    for name, shards in holders.items():
        target = None if mapped is None else mapped.get(name)
        keep = target if target in shards else shards[0]
        message = f"{name!r} is also stored in {keep!r}"
        found.extend((CkptReq.TENSOR_UNIQUE, message, shard, name, None) for shard in shards if shard != keep)
        if mapped is not None and target != keep and name not in unresolved:
            message = f"{name!r} is stored here but the index does not map it to this shard"
            found.append((CkptReq.SHARD_MAPPED, message, keep, name, CkptFlag.UNMAPPED_TENSORS))
    offsets = _key_offsets(directory, [(shard, name) for _, _, shard, name, _ in found[: 2 * MAX_REPORTED_VIOLATIONS]])
    for requirement, message, shard, name, flag in found:
        out.add(Finding(requirement, message, shard, _header_pointer(name), offsets.get((shard, name)), flag))


def _key_offsets(directory: CheckpointFiles, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Byte offsets of tensor names in their (conforming) shards' headers."""
    offsets: dict[tuple[str, str], int] = {}
    by_shard: dict[str, list[str]] = {}
    for shard, name in keys:
        by_shard.setdefault(shard, []).append(name)
    for shard, names in by_shard.items():
        with directory.open(shard) as handle:
            length = int.from_bytes(read_bytes(handle, 0, LENGTH_PREFIX_SIZE, "the header length"), "little")
            text = read_bytes(handle, LENGTH_PREFIX_SIZE, min(length, MAX_HEADER_LENGTH), "the header").decode()
        found = locate(text, skip_whitespace(text, 0), values=[], keys=[((name, 0),) for name in names])
        for ((step, *_), _), position in found.items():
            assert isinstance(step, tuple)
            offsets[(shard, step[0])] = LENGTH_PREFIX_SIZE + position
    return offsets


def _content(entries: Iterable[Entry], stored: _Stored) -> dict[str, ShardTensor] | None:
    """The mapped tensors, when every one was found in its shard."""
    tensors: dict[str, ShardTensor] = {}
    for entry in entries:
        info = stored.get(entry.reference, {}).get(entry.tensor)
        if info is None:
            return None
        tensors[entry.tensor] = ShardTensor(entry.reference, info)
    return tensors


def _check_total_size(
    index: str, report: IndexReport, total_size: int, tensors: dict[str, ShardTensor], out: _Collector
) -> None:
    """CKPT-TOTAL-SIZE-MATCH: ``total_size`` is the sum of the mapped tensors' byte sizes."""
    total = sum(tensor.info.nbytes for tensor in tensors.values())
    if total != total_size:
        offset = report.offsets([TOTAL_SIZE_PATH]).get(TOTAL_SIZE_PATH)
        message = f"'total_size' is {total_size:,}, but the mapped tensors hold {total:,} bytes"
        out.add(Finding(CkptReq.TOTAL_SIZE_MATCH, message, index, "/metadata/total_size", offset))


def _check_strays(directory: CheckpointFiles, files: set[str], out: _Collector) -> None:
    """CKPT-NO-STRAY: ``*.safetensors`` entries that are not the checkpoint's shards."""
    for name in directory.entries:
        if is_stray_candidate(name) and name not in files:
            message = "this file is not a shard of the checkpoint; loaders must not read it"
            out.add(Finding(CkptReq.NO_STRAY, message, name, flag=CkptFlag.STRAY_FILES))


# --- A shard set without an index -----------------------------------------------------------------


def _check_set(directory: Directory, prefix: str) -> CheckpointReport:
    """CKPT-SET-COMPLETE, then every member as a shard (spec section 7)."""
    out = _Collector()
    members = sorted(
        ((member, name) for name in directory.entries if (member := set_member(name)) and member.prefix == prefix),
        key=lambda item: (item[0].number, item[1]),
    )
    total = members[0][0].total
    complete: dict[int, str] = {}
    for member, name in members:
        if member.total != total:
            wrong = f"declares {member.total} shards, but {members[0][1]!r} declares {total}"
        elif not 1 <= member.number <= total:
            wrong = f"is shard {member.number} of {total}, outside 1 to {total}"
        elif member.number in complete:
            wrong = f"is shard {member.number} again, after {complete[member.number]!r}"
        else:
            complete[member.number] = name
            continue
        out.add(Finding(CkptReq.SET_COMPLETE, f"this member of the shard set {wrong}", name))
    for number in range(1, total + 1):
        if number not in complete:
            expected = set_member_name(prefix, number, total)
            out.add(Finding(CkptReq.SET_COMPLETE, f"shard {number} of {total} is missing", expected))
    names = [name for _, name in members]
    _check_case(directory, names, out)
    usable = []
    for name in sorted(complete.values()):
        problem = directory.problem(name)
        if problem is None:
            usable.append(name)
        else:
            out.add(Finding(problem.requirement, f"the shard is {problem.message}", name))
    stored = _read_shards(directory, usable, out)
    ordered = {name: stored[name] for _, name in members if name in stored}
    _check_copies(directory, ordered, None, out)
    tensors: dict[str, ShardTensor] | None = None
    if len(stored) == len(members):
        tensors = {}
        for shard, infos in ordered.items():
            for tensor, info in infos.items():
                tensors.setdefault(tensor, ShardTensor(shard, info))
    _check_strays(directory, set(names), out)
    return out.report(directory, None, prefix, names, tensors)


def _pointer(entry: Entry) -> str:
    return "/weight_map/" + _escape(entry.tensor)


def _header_pointer(name: str) -> str:
    return "/" + _escape(name)


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")
