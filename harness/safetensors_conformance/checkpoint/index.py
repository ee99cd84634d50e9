"""Strict reading of an index file (spec ``checkpoint.md`` section 4), with located findings.

The index is decoded by the reader's own strict JSON decoder (:mod:`..format.jsontext`), which
keeps objects as tuples of ``(name, value)`` pairs, so duplicate names survive to be reported,
and keeps numbers that are not plain integers as tokens. Every finding is located by a JSON pointer
and the byte offset of the value (or of the member name) in the file.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from ..format.jsontext import JsonSyntaxError, NumberToken, Path, byte_offsets, decode, locate, path_at, pointer
from ..format.jsontext import skip_whitespace as skip_json_whitespace
from ..format.limits import MAX_REPORTED_VIOLATIONS, U64_MAX
from .findings import Finding
from .requirements import SHOULD_LEVEL, CkptReq

#: The largest index file the validator reads: the file format's header limit, for the same reason
#: (a bound before reading), and far above any real index (huggingface_hub refuses 10 MiB).
MAX_INDEX_BYTES: Final = 100_000_000

WEIGHT_MAP: Final = "weight_map"
METADATA: Final = "metadata"
TOTAL_SIZE: Final = "total_size"
_UTF8_BOM: Final = b"\xef\xbb\xbf"

#: The requirements on the index's structure: while one is broken, which tensor is in which shard
#: is not known, and the shards are not examined (spec section 1, *Precedence*).
STRUCTURAL: Final = frozenset(
    {
        CkptReq.INDEX_UTF8,
        CkptReq.INDEX_JSON,
        CkptReq.INDEX_STRINGS,
        CkptReq.INDEX_ROOT,
        CkptReq.INDEX_WEIGHT_MAP,
    }
)


class Entry(NamedTuple):
    """One member of ``weight_map``: a tensor name, its shard reference, and where it is."""

    tensor: str
    reference: str
    path: Path


class IndexReport(NamedTuple):
    """What the index says, and what is wrong with it.

    ``entries`` is ``None`` when the index's structure is broken (:data:`STRUCTURAL`, or a
    repeated member of the root or of ``weight_map``): then it does not say which shard holds which
    tensor. ``total_size`` is the value of ``metadata.total_size`` when it is well formed.
    ``findings`` stops at the report limit of each level; ``unreported`` counts (errors, warnings)
    beyond it.
    """

    findings: tuple[Finding, ...]
    entries: tuple[Entry, ...] | None
    total_size: int | None
    text: str
    start: int
    unreported: tuple[int, int] = (0, 0)

    def offsets(self, values: list[Path]) -> dict[Path, int]:
        """Byte offsets of the values at ``values`` (paths that exist in a well-formed index)."""
        found = locate(self.text, self.start, values=values, keys=[])
        return {path: offset for (path, _), offset in found.items()}


class _Pending(NamedTuple):
    requirement: CkptReq
    message: str
    path: Path | None
    key: bool = False
    offset: int | None = None


TOTAL_SIZE_PATH: Final[Path] = ((METADATA, 0), (TOTAL_SIZE, 0))


def check_index(data: bytes, file: str) -> IndexReport:
    """Check an index file's bytes against section 4 of the spec; never raises on bad content."""
    pending: list[_Pending] = []
    text, start, value = _decode(data, pending)
    entries: tuple[Entry, ...] | None = None
    total_size = None
    if value is not None:
        _check_strings_and_names(value, pending, surrogates="\\ud" in text or "\\uD" in text)
        entries, total_size = _check_structure(value, pending)
        if any(p.requirement in STRUCTURAL for p in pending):
            entries = None
    kept, unreported = _bound(pending)
    findings = _locate(kept, text, start, file)
    return IndexReport(findings, entries, total_size, text, start, unreported)


def _bound(pending: list[_Pending]) -> tuple[list[_Pending], tuple[int, int]]:
    """At most the report limit of findings of each level, so that locating them stays bounded."""
    errors = [p for p in pending if p.requirement not in SHOULD_LEVEL]
    warnings = [p for p in pending if p.requirement in SHOULD_LEVEL]
    limit = MAX_REPORTED_VIOLATIONS
    unreported = (max(len(errors) - limit, 0), max(len(warnings) - limit, 0))
    return errors[:limit] + warnings[:limit], unreported


def _decode(data: bytes, pending: list[_Pending]) -> tuple[str, int, object]:
    """CKPT-INDEX-UTF8 and CKPT-INDEX-JSON; the text, where its value starts, and the value."""
    if data.startswith(_UTF8_BOM):
        pending.append(_Pending(CkptReq.INDEX_UTF8, "the index begins with a UTF-8 byte order mark", None, offset=0))
        return "", 0, None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        pending.append(
            _Pending(
                CkptReq.INDEX_UTF8,
                f"byte 0x{data[error.start]:02x} is not UTF-8 ({error.reason})",
                None,
                offset=error.start,
            )
        )
        return "", 0, None
    start = skip_json_whitespace(text, 0)
    try:
        decoded = decode(text, start)
    except JsonSyntaxError as error:
        offset = byte_offsets(text, [error.position])[0]
        pending.append(_Pending(CkptReq.INDEX_JSON, f"the index is not JSON: {error.message}", None, offset=offset))
        return text, start, None
    end = skip_json_whitespace(decoded.text, decoded.end)
    if end < len(text):
        offset = byte_offsets(text, [end])[0]
        message = f"the index continues after its JSON value with {text[end]!r}"
        pending.append(_Pending(CkptReq.INDEX_JSON, message, None, offset=offset))
    pending.extend(
        _Pending(
            CkptReq.INDEX_STRINGS,
            "a string nested deep in the index holds an unpaired surrogate escape",
            path_at(decoded.text, start, position),
            offset=byte_offsets(text, [position])[0],
        )
        for position in decoded.deep_surrogates
    )
    return decoded.text, start, decoded.value


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _check_strings_and_names(root: object, pending: list[_Pending], *, surrogates: bool) -> None:
    """CKPT-INDEX-STRINGS and CKPT-INDEX-UNIQUE-KEYS, in every object and array of the index.

    ``surrogates`` says whether the text holds a surrogate escape at all: UTF-8 text cannot encode
    a surrogate, so without a ``\\uD8..``-``\\uDF..`` escape no string needs looking at.
    """
    stack: list[tuple[object, Path]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if type(node) is tuple:
            repeated = len({name for name, _ in node}) != len(node)
            seen: dict[str, int] = {}
            for name, child in node:
                occurrence = 0
                if repeated:
                    occurrence = seen.get(name, 0)
                    seen[name] = occurrence + 1
                member: Path = (*path, (name, occurrence))
                if occurrence:
                    message = f"member {name!r} appears more than once"
                    pending.append(_Pending(CkptReq.INDEX_UNIQUE_KEYS, message, member, key=True))
                if surrogates and _has_surrogate(name):
                    message = "a member name holds an unpaired surrogate"
                    pending.append(_Pending(CkptReq.INDEX_STRINGS, message, member, key=True))
                if surrogates or type(child) in (tuple, list):
                    stack.append((child, member))
        elif type(node) is list:
            stack.extend((child, (*path, i)) for i, child in enumerate(node))
        elif surrogates and type(node) is str and _has_surrogate(node):
            pending.append(_Pending(CkptReq.INDEX_STRINGS, "a string holds an unpaired surrogate", path))


def _check_structure(root: object, pending: list[_Pending]) -> tuple[tuple[Entry, ...] | None, int | None]:
    """CKPT-INDEX-ROOT to CKPT-INDEX-MEMBERS-KNOWN; the entries and ``total_size`` when well formed."""
    if type(root) is not tuple:
        pending.append(_Pending(CkptReq.INDEX_ROOT, f"the index is {_describe(root)}, not an object", ()))
        return None, None
    members: dict[str, list[object]] = {}
    for name, value in root:
        members.setdefault(name, []).append(value)
    pending.extend(
        _Pending(CkptReq.INDEX_MEMBERS_KNOWN, f"unknown member {name!r}; loaders ignore it", ((name, 0),), key=True)
        for name in members
        if name not in (WEIGHT_MAP, METADATA)
    )
    total_size = _check_metadata(members.get(METADATA), pending)
    return _check_weight_map(members.get(WEIGHT_MAP), pending), total_size


def _check_weight_map(values: list[object] | None, pending: list[_Pending]) -> tuple[Entry, ...] | None:
    """CKPT-INDEX-WEIGHT-MAP: an object of strings; ``None`` when it does not say which shard holds what."""
    if values is None:
        pending.append(_Pending(CkptReq.INDEX_WEIGHT_MAP, "the index has no member 'weight_map'", ()))
        return None
    if len(values) > 1:
        return None  # reported as a repeated member; which one a loader reads is the question
    weight_map = values[0]
    where: Path = ((WEIGHT_MAP, 0),)
    if type(weight_map) is not tuple:
        message = f"'weight_map' is {_describe(weight_map)}, not an object"
        pending.append(_Pending(CkptReq.INDEX_WEIGHT_MAP, message, where))
        return None
    entries = []
    seen: set[str] = set()
    ambiguous = False
    for tensor, reference in weight_map:
        if tensor in seen:
            ambiguous = True
            continue
        seen.add(tensor)
        path: Path = (*where, (tensor, 0))
        if type(reference) is not str:
            message = f"the shard of {tensor!r} is {_describe(reference)}, not a string"
            pending.append(_Pending(CkptReq.INDEX_WEIGHT_MAP, message, path))
            continue
        entries.append(Entry(tensor, reference, path))
    return None if ambiguous else tuple(entries)


def _check_metadata(values: list[object] | None, pending: list[_Pending]) -> int | None:
    """CKPT-INDEX-METADATA and CKPT-INDEX-TOTAL-SIZE; the value of a well-formed ``total_size``."""
    if values is None:
        return None
    metadata = values[0]
    if type(metadata) is not tuple:
        pending.append(
            _Pending(CkptReq.INDEX_METADATA, f"'metadata' is {_describe(metadata)}, not an object", ((METADATA, 0),))
        )
        return None
    sizes = [value for name, value in metadata if name == TOTAL_SIZE]
    if not sizes:
        return None
    size = sizes[0]
    if type(size) is int and 0 <= size <= U64_MAX:
        return size
    if type(size) is int or (type(size) is NumberToken and size.is_integer_syntax and not size.text.startswith("-")):
        problem = "exceeds 2^64 - 1"
    elif type(size) is NumberToken:
        problem = f"is written {size.text}, not as plain decimal digits"
    else:
        problem = f"is {_describe(size)}, not a number"
    pending.append(_Pending(CkptReq.INDEX_TOTAL_SIZE, f"'total_size' {problem}", TOTAL_SIZE_PATH))
    return None


def _describe(value: object) -> str:
    if type(value) is tuple:
        return "an object"
    if type(value) is list:
        return "an array"
    if type(value) is str:
        return "a string"
    if type(value) is bool:
        return "true" if value else "false"
    if value is None:
        return "null"
    return "a number"


def _locate(pending: list[_Pending], text: str, start: int, file: str) -> tuple[Finding, ...]:
    """Give each finding its pointer and byte offset, found by one walk over the index text."""
    wanted = [p for p in pending if p.offset is None and p.path is not None]
    found = locate(
        text,
        start,
        values=[p.path for p in wanted if p.path is not None and not p.key],
        keys=[p.path for p in wanted if p.path is not None and p.key],
    )
    findings = []
    for item in pending:
        offset = item.offset
        if offset is None and item.path is not None:
            offset = found.get((item.path, item.key))
        findings.append(
            Finding(item.requirement, item.message, file, None if item.path is None else pointer(item.path), offset)
        )
    return tuple(sorted(findings, key=lambda f: (f.offset is None, f.offset or 0)))
