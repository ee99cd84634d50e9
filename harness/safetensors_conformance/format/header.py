"""Checks on a decoded header: structure, sizes and buffer coverage (``spec/safetensors.md`` §5-§9).

Each requirement is one small function named after it. A fast loop accepts the common case (an
entry that is exactly right) without calling them; any entry it does not accept goes through
the named checks, which say what is wrong. A property test keeps the two in agreement.

Faster still, :func:`fast_header` decides a whole conforming header with an optional C decoder
(msgspec) and a few checks over the decoded values, before any text is decoded in Python; it only
ever accepts, so every header it does not accept, and every non-conforming one, is decided by the
named checks (``tests/test_fast_path.py`` holds the two paths to identical reports).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from functools import cache
from itertools import chain
from operator import attrgetter, itemgetter
from typing import Annotated, Any, Final, Literal, NamedTuple, cast

from .dtypes import BITS, DTYPES
from .jsontext import NumberToken, Path
from .limits import CONFORMING_DEPTH, MAX_REPORTED_VIOLATIONS, U64_MAX
from .requirements import SHOULD_LEVEL, Flag, Req

METADATA_KEY: Final = "__metadata__"
#: A decoded JSON object: its members as (name, value) pairs, duplicates kept.
_Pairs = tuple[tuple[str, Any], ...]
_FIELDS: Final = ("dtype", "shape", "data_offsets")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
#: Byte alignment that DATA-ALIGNED asks of a tensor's data (packed sub-byte types: none).
_ALIGN: Final = {name: max(dtype.element_bytes, 1) for name, dtype in DTYPES.items()}


class TensorInfo(NamedTuple):
    """A tensor entry of a conforming header; ``begin`` and ``end`` are ``data_offsets``."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int

    @property
    def nbytes(self) -> int:
        return self.end - self.begin

    @property
    def data_offsets(self) -> tuple[int, int]:
        return (self.begin, self.end)


class Header:
    """What a conforming header says. Tensor infos are built on first use, in buffer order."""

    __slots__ = ("_count", "_root", "_tensors", "buffer_length", "data_start", "length", "metadata")

    def __init__(
        self,
        length: int,
        buffer_length: int,
        metadata: dict[str, str] | None,
        root: tuple[tuple[str, object], ...] | dict[str, Any] | None,
        count: int,
    ) -> None:
        self.length = length
        self.data_start = 8 + length
        self.buffer_length = buffer_length
        self.metadata = metadata
        self._root = root
        self._count = count
        self._tensors: dict[str, TensorInfo] | None = None

    @property
    def tensors(self) -> dict[str, TensorInfo]:
        if self._root is None:
            raise ValueError("this header was checked without keeping its tensor entries")
        if self._tensors is None:
            infos = []
            if type(self._root) is dict:  # from the fast path: tensor entries only, by name
                for name, entry in self._root.items():
                    begin, end = entry.data_offsets
                    infos.append(TensorInfo(name, entry.dtype, tuple(entry.shape), begin, end))
            else:
                for name, entry in cast("_Pairs", self._root):
                    if name == METADATA_KEY:
                        continue
                    if type(entry) is ExactEntry:
                        infos.append(TensorInfo(name, entry.dtype, tuple(entry.shape), entry.begin, entry.end))
                    else:
                        fields: dict[str, Any] = dict(cast("_Pairs", entry))
                        begin, end = fields["data_offsets"]
                        infos.append(TensorInfo(name, fields["dtype"], tuple(fields["shape"]), begin, end))
            infos.sort(key=lambda info: (info.begin, info.end))
            self._tensors = {info.name: info for info in infos}
        return self._tensors

    def __len__(self) -> int:
        return self._count

    def __repr__(self) -> str:
        return f"Header(length={self.length}, tensors={len(self)}, metadata={self.metadata!r})"


# --- Findings -------------------------------------------------------------------------------------


class Finding(NamedTuple):
    """A violation before it is located: header findings carry a path, buffer findings an offset."""

    requirement: Req
    message: str
    path: Path | None = None
    key: bool = False
    offset: int | None = None
    flag: Flag | None = None


class Sink:
    """Collects findings up to the report limit and counts the rest."""

    def __init__(self) -> None:
        self.errors: list[Finding] = []
        self.warnings: list[Finding] = []
        self.unreported_errors = 0
        self.unreported_warnings = 0

    def add(
        self,
        requirement: Req,
        message: str,
        path: Path | None = None,
        *,
        key: bool = False,
        offset: int | None = None,
        flag: Flag | None = None,
    ) -> None:
        if requirement in SHOULD_LEVEL:
            if len(self.warnings) < MAX_REPORTED_VIOLATIONS:
                self.warnings.append(Finding(requirement, message, path, key, offset, flag))
            else:
                self.unreported_warnings += 1
        elif len(self.errors) < MAX_REPORTED_VIOLATIONS:
            self.errors.append(Finding(requirement, message, path, key, offset, flag))
        else:
            self.unreported_errors += 1

    @property
    def failed(self) -> bool:
        return bool(self.errors) or self.unreported_errors > 0


def describe(value: object) -> str:
    """How a decoded JSON value reads in a message."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return f"the string {_short(value)!r}"
    if type(value) is tuple or type(value) is ExactEntry:
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, NumberToken):
        return f"the number {_short(value.text)}"
    return f"the number {_short(str(value))}"


def _bytes(count: int) -> str:
    return f"{count} byte{'' if count == 1 else 's'}"


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- The named checks -----------------------------------------------------------------------------


def check_root_object(root: object, sink: Sink) -> bool:
    """HEADER-ROOT-OBJECT: the header's JSON value is an object."""
    if type(root) is tuple:
        return True
    sink.add(Req.HEADER_ROOT_OBJECT, f"the header must be a JSON object, found {describe(root)}", ())
    return False


def check_metadata(value: object, path: Path, sink: Sink) -> dict[str, str] | None:
    """META-OBJECT, META-STRING-VALUES, META-UNIQUE-KEYS."""
    if type(value) is not tuple:
        detail = " (readers may treat it as absent: flag metadata-null)" if value is None else ""
        flag = Flag.METADATA_NULL if value is None else None
        sink.add(Req.META_OBJECT, f"__metadata__ must be an object, found {describe(value)}{detail}", path, flag=flag)
        return None
    result: dict[str, str] = {}
    seen: dict[str, int] = {}
    for key, item in value:
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        member: Path = (*path, (key, occurrence))
        if occurrence:
            sink.add(Req.META_UNIQUE_KEYS, f"metadata key {_short(key)!r} appears more than once", member, key=True)
        if type(item) is not str:
            sink.add(Req.META_STRING_VALUES, f"metadata value must be a string, found {describe(item)}", member)
        elif not occurrence:
            result[key] = item
    return result


def check_entry_object(value: object, path: Path, sink: Sink) -> bool:
    """ENTRY-OBJECT: every root member other than __metadata__ is a tensor entry object."""
    if type(value) is tuple:
        return True
    sink.add(Req.ENTRY_OBJECT, f"a tensor entry must be an object, found {describe(value)}", path)
    return False


def check_entry_fields(entry: tuple[tuple[str, object], ...], path: Path, sink: Sink) -> dict[str, object]:
    """ENTRY-FIELDS-REQUIRED and ENTRY-FIELDS-KNOWN; returns the last value of each known field."""
    seen: dict[str, int] = {}
    fields: dict[str, object] = {}
    for name, value in entry:
        occurrence = seen.get(name, 0)
        seen[name] = occurrence + 1
        member: Path = (*path, (name, occurrence))
        if name in _FIELDS:
            if occurrence:
                sink.add(Req.ENTRY_FIELDS_REQUIRED, f"field {name!r} appears more than once", member, key=True)
            fields[name] = value
        elif not occurrence:
            sink.add(
                Req.ENTRY_FIELDS_KNOWN,
                f"unknown field {_short(name)!r} in a tensor entry (readers may ignore it: flag entry-unknown-fields)",
                member,
                key=True,
                flag=Flag.ENTRY_UNKNOWN_FIELDS,
            )
    missing = [name for name in _FIELDS if name not in fields]
    if missing:
        sink.add(Req.ENTRY_FIELDS_REQUIRED, f"tensor entry lacks {', '.join(map(repr, missing))}", path)
    return fields


def _field_path(path: Path, entry: tuple[tuple[str, object], ...], field: str) -> Path:
    """Path of the last occurrence of ``field`` (the one whose value is checked)."""
    occurrence = sum(1 for name, _ in entry if name == field) - 1
    return (*path, (field, occurrence))


def check_dtype(value: object, path: Path, sink: Sink) -> int | None:
    """DTYPE-KNOWN: the dtype is a name from the dtype table, matched exactly."""
    if type(value) is str and value in BITS:
        return BITS[value]
    if type(value) is str:
        hint = next((name for name in BITS if name.lower() == value.lower()), None)
        detail = f" (names are case-sensitive: {hint!r})" if hint else ""
        sink.add(Req.DTYPE_KNOWN, f"unknown dtype {_short(value)!r}{detail}", path)
    else:
        sink.add(Req.DTYPE_KNOWN, f"dtype must be a string, found {describe(value)}", path)
    return None


def check_number(value: object, path: Path, container: Req, what: str, sink: Sink) -> int | None:
    """NUMBER-FORM and NUMBER-RANGE for one element of shape or data_offsets.

    A value that is not a number at all breaks ``container`` (SHAPE-ARRAY or OFFSETS-PAIR).
    """
    if type(value) is int:
        if value < 0:
            sink.add(Req.NUMBER_FORM, f"{what} {value} is negative: it must be an unsigned integer", path)
            return None
        if value > U64_MAX:
            sink.add(Req.NUMBER_RANGE, f"{what} {_short(str(value))} exceeds 2^64-1", path)
            return None
        return value
    if isinstance(value, NumberToken):
        if value.text.startswith("-"):
            sink.add(Req.NUMBER_FORM, f"{what} {_short(value.text)} has a minus sign", path)
        elif value.is_integer_syntax:
            sink.add(Req.NUMBER_RANGE, f"{what} with {len(value.text)} digits exceeds 2^64-1", path)
        else:
            sink.add(Req.NUMBER_FORM, f"{what} {_short(value.text)} has a fraction or exponent", path)
        return None
    sink.add(container, f"{what} must be a number, found {describe(value)}", path)
    return None


def check_shape(value: object, path: Path, sink: Sink) -> list[int] | None:
    """SHAPE-ARRAY (plus NUMBER-FORM and NUMBER-RANGE for each dimension)."""
    if type(value) is not list:
        sink.add(Req.SHAPE_ARRAY, f"shape must be an array, found {describe(value)}", path)
        return None
    dims = [check_number(dim, (*path, i), Req.SHAPE_ARRAY, "dimension", sink) for i, dim in enumerate(value)]
    return None if None in dims else dims  # type: ignore[return-value]


def check_offsets(value: object, path: Path, sink: Sink) -> tuple[int, int] | None:
    """OFFSETS-PAIR and OFFSETS-ORDER (plus NUMBER-FORM and NUMBER-RANGE for each offset)."""
    if type(value) is not list or len(value) != 2:
        found = f"an array of {len(value)}" if type(value) is list else describe(value)
        sink.add(Req.OFFSETS_PAIR, f"data_offsets must be an array of two numbers, found {found}", path)
        return None
    begin = check_number(value[0], (*path, 0), Req.OFFSETS_PAIR, "offset", sink)
    end = check_number(value[1], (*path, 1), Req.OFFSETS_PAIR, "offset", sink)
    if begin is None or end is None:
        return None
    if begin > end:
        sink.add(Req.OFFSETS_ORDER, f"data_offsets [{begin}, {end}] end before they begin", path)
        return None
    return begin, end


def byte_size(dtype: str, bits: int, shape: list[int]) -> int | tuple[Req, str]:
    """The byte size of a tensor, or the SIZE-LIMIT or SIZE-WHOLE-BYTES problem that prevents one.

    The reader and the writer both size tensors here.
    """
    nonzero = bits
    for dim in shape:
        nonzero *= dim or 1
    if nonzero > U64_MAX:
        return Req.SIZE_LIMIT, f"shape {shape} of {dtype} takes more than 2^64-1 bits"
    total_bits = 0 if 0 in shape else nonzero
    if total_bits % 8:
        return Req.SIZE_WHOLE_BYTES, f"{total_bits // bits} {dtype} elements take {total_bits} bits, not whole bytes"
    return total_bits // 8


def check_size(
    dtype: str, bits: int, shape: list[int], offsets: tuple[int, int] | None, *, paths: tuple[Path, Path], sink: Sink
) -> bool:
    """SIZE-LIMIT, SIZE-WHOLE-BYTES and SIZE-MATCH; True when the size is right."""
    shape_path, offsets_path = paths
    size = byte_size(dtype, bits, shape)
    if isinstance(size, tuple):
        sink.add(*size, shape_path)
        return False
    if offsets is not None and offsets[1] - offsets[0] != size:
        sink.add(
            Req.SIZE_MATCH,
            f"shape {shape} of {dtype} takes {_bytes(size)}, "
            f"but data_offsets [{offsets[0]}, {offsets[1]}] span {offsets[1] - offsets[0]}",
            offsets_path,
        )
        return False
    return True


def check_packed_rows(dtype: str, bits: int, shape: list[int], path: Path, sink: Sink) -> None:
    """SIZE-PACKED-ROWS (SHOULD; flag packed-rows): each row of a sub-byte tensor starts on a byte."""
    per_byte_run = 8 // math.gcd(bits, 8)  # F4: 2 elements make a byte, F6: 4 elements make 3 bytes
    if shape and shape[-1] % per_byte_run:
        sink.add(
            Req.SIZE_PACKED_ROWS,
            f"the last dimension of {dtype} shape {shape} is not a multiple of {per_byte_run}, so its rows do not "
            "start on byte boundaries (readers that pack along the last dimension may reject it: flag packed-rows)",
            (*path, len(shape) - 1),
            flag=Flag.PACKED_ROWS,
        )


def check_name(name: str, path: Path, sink: Sink) -> None:
    """NAME-PORTABLE (SHOULD): names are not empty and hold no control characters."""
    if not name:
        sink.add(Req.NAME_PORTABLE, "tensor name is empty", path, key=True)
        return
    control = _CONTROL.search(name)
    if control:
        sink.add(
            Req.NAME_PORTABLE, f"tensor name contains control character U+{ord(control.group()):04X}", path, key=True
        )


def check_strings(root: object, sink: Sink) -> None:
    """HEADER-STRINGS: no string (name or value) holds an unpaired surrogate."""
    stack: list[tuple[object, Path]] = [(root, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if _has_surrogate(value):
                sink.add(Req.HEADER_STRINGS, "string holds an unpaired surrogate escape", path)
        elif type(value) is tuple:
            seen: dict[str, int] = {}
            for name, item in value:
                occurrence = seen.get(name, 0)
                seen[name] = occurrence + 1
                member: Path = (*path, (name, occurrence))
                if _has_surrogate(name):
                    sink.add(Req.HEADER_STRINGS, "member name holds an unpaired surrogate escape", member, key=True)
                stack.append((item, member))
        elif isinstance(value, list):
            stack.extend((item, (*path, i)) for i, item in enumerate(value))


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


# --- Driver ---------------------------------------------------------------------------------------


class _Range(NamedTuple):
    name: str
    path: Path
    begin: int
    end: int


def check_header_value(
    root: object, length: int, buffer_length: int, sink: Sink, *, surrogates: bool, escapes: bool, keep: bool = True
) -> Header | None:
    """Run every structure, size and buffer check on a decoded header.

    ``surrogates`` and ``escapes`` say whether the header text holds ``\\u`` surrogate escapes or
    any escape at all (or a DEL), which the string checks need to look for; without them the
    checks are known to pass and are skipped. Returns the header when no MUST-level requirement
    is broken.
    """
    if type(root) is ExactEntry:
        root = root.pairs()
    if surrogates:
        check_strings(root, sink)
    if not check_root_object(root, sink):
        return None
    assert type(root) is tuple
    data_start = 8 + length
    names = set(map(itemgetter(0), root))
    if len(names) == len(root):
        metadata = _fast_pass(root, data_start, buffer_length, sink)
    else:
        metadata = _slow_pass(root, data_start, buffer_length, sink)
    if "" in names or escapes:
        for name in names:
            if name != METADATA_KEY:
                check_name(name, ((name, 0),), sink)
    if sink.failed:
        return None
    return Header(length, buffer_length, metadata, root if keep else None, len(root) - (metadata is not None))


class ExactEntry:
    """A tensor entry object that is exactly right on its own, as the decoder hands it over.

    :func:`reduce_object` builds one instead of a tuple of pairs for the common case, so a large
    conforming header is checked while it is decoded and kept small. It accepts nothing the named
    checks reject (a property test holds it to that); anything else stays a tuple and goes to them.
    Zero-size tensors go to them too (SIZE-LIMIT ignores their zero dimensions).
    """

    __slots__ = ("begin", "dtype", "end", "shape")

    def __init__(self, dtype: str, shape: list[int], begin: int, end: int) -> None:
        self.dtype = dtype
        self.shape = shape
        self.begin = begin
        self.end = end

    def pairs(self) -> _Pairs:
        """The object as the plain decoder would give it (fields in canonical order)."""
        return (("dtype", self.dtype), ("shape", self.shape), ("data_offsets", [self.begin, self.end]))


def reduce_object(
    pairs: list[tuple[str, Any]], bits_of: dict[str, int] = BITS, limit: int = U64_MAX, exact: type = ExactEntry
) -> object:
    """``object_pairs_hook`` of the decoder: an :class:`ExactEntry` when the object is one, else a tuple."""
    if len(pairs) == 3:
        (key0, dtype), (key1, shape), (key2, offsets) = pairs
        if key0 != "dtype" or key1 != "shape" or key2 != "data_offsets":
            fields = dict(pairs)
            if len(fields) != 3 or "dtype" not in fields or "shape" not in fields or "data_offsets" not in fields:
                return tuple(pairs)
            dtype, shape, offsets = fields["dtype"], fields["shape"], fields["data_offsets"]
        if type(dtype) is str and type(shape) is list and type(offsets) is list and len(offsets) == 2:
            bits = bits_of.get(dtype)
            begin, end = offsets
            # Sub-byte dtypes go to the named checks, which also judge their rows (SIZE-PACKED-ROWS).
            if (
                bits is not None
                and not bits & 7
                and type(begin) is int
                and type(end) is int
                and 0 <= begin <= end <= limit
            ):
                size = bits
                for dim in shape:
                    if type(dim) is not int or dim <= 0:
                        return tuple(pairs)
                    size *= dim
                if size <= limit and not size & 7 and size >> 3 == end - begin:
                    return exact(dtype, shape, begin, end)
    return tuple(pairs)


def restore_objects(value: object, depth: int = CONFORMING_DEPTH) -> object:
    """``value`` with each :class:`ExactEntry` down to ``depth`` levels turned back into a tuple of pairs.

    Only root members are read as tensor entries; anywhere else (the root itself, metadata, inside
    arrays or unknown fields) an exact-looking object is an ordinary object again. The checks never
    look deeper than a conforming header goes, so neither does this (nor does it recurse far).
    """
    if type(value) is ExactEntry:
        return value.pairs()
    if depth <= 1:
        return value
    if type(value) is tuple:
        return tuple((name, restore_objects(item, depth - 1)) for name, item in value)
    if type(value) is list:
        return [restore_objects(item, depth - 1) for item in value]
    return value


def _fast_pass(
    root: tuple[tuple[str, object], ...], data_start: int, buffer_length: int, sink: Sink
) -> dict[str, str] | None:
    """One loop over names known to be unique; entries that are exactly right never leave it.

    When those entries also come in buffer order, starting at 0, their coverage is proven by the
    loop itself and only the end of the buffer is left to check.
    """
    align_of = _ALIGN
    slow: list[tuple[str, object]] = []
    metadata = None
    chained = True
    chain_end = 0
    exact_type = ExactEntry
    for item in root:
        name, entry = item
        if type(entry) is not exact_type:
            if name == METADATA_KEY:
                metadata = check_metadata(restore_objects(entry), ((name, 0),), sink)
            else:
                slow.append(item)
            continue
        if name == METADATA_KEY:
            metadata = check_metadata(entry.pairs(), ((name, 0),), sink)
            continue
        dtype = entry.dtype
        begin = entry.begin
        end = entry.end
        if begin != chain_end:
            chained = False
        chain_end = end
        if (data_start + begin) % align_of[dtype]:
            _misaligned(name, dtype, data_start + begin, sink)
    if not slow and chained:
        if chain_end < buffer_length:
            _trailing(data_start, chain_end, buffer_length, sink)
        if chain_end <= buffer_length:
            return metadata
    ranges = [
        _Range(name, ((name, 0), ("data_offsets", 0)), entry.begin, entry.end)
        for name, entry in root
        if type(entry) is exact_type and name != METADATA_KEY
    ]
    complete = True
    for name, entry in slow:
        checked = _check_entry(name, 0, restore_objects(entry), data_start, sink)
        if checked is None:
            complete = False
        else:
            ranges.append(checked)
    _check_buffer(ranges, data_start, buffer_length, complete, sink)
    return metadata


def _slow_pass(
    root: tuple[tuple[str, object], ...], data_start: int, buffer_length: int, sink: Sink
) -> dict[str, str] | None:
    """Every entry through the named checks; used when names repeat (HEADER-UNIQUE-NAMES).

    Only the first entry of a repeated name takes part in the buffer checks, and gaps are not
    judged: which entry a reader keeps decides what the buffer holds.
    """
    seen: dict[str, int] = {}
    metadata = None
    ranges: list[_Range] = []
    for name, entry in root:
        occurrence = seen.get(name, 0)
        seen[name] = occurrence + 1
        path: Path = ((name, occurrence),)
        if occurrence:
            sink.add(Req.HEADER_UNIQUE_NAMES, f"name {_short(name)!r} appears more than once", path, key=True)
        entry = restore_objects(entry)
        if name == METADATA_KEY:
            checked_metadata = check_metadata(entry, path, sink)
            if not occurrence:
                metadata = checked_metadata
            continue
        checked = _check_entry(name, occurrence, entry, data_start, sink)
        if checked is not None and not occurrence:
            ranges.append(checked)
    _check_buffer(ranges, data_start, buffer_length, False, sink)
    return metadata


def _check_entry(name: str, occurrence: int, entry: object, data_start: int, sink: Sink) -> _Range | None:
    """The named checks for one tensor entry; returns its byte range when that is well-formed."""
    path: Path = ((name, occurrence),)
    if not check_entry_object(entry, path, sink):
        return None
    assert type(entry) is tuple
    fields = check_entry_fields(entry, path, sink)
    bits = shape = offsets = None
    if "dtype" in fields:
        bits = check_dtype(fields["dtype"], _field_path(path, entry, "dtype"), sink)
    shape_path = _field_path(path, entry, "shape")
    offsets_path = _field_path(path, entry, "data_offsets")
    if "shape" in fields:
        shape = check_shape(fields["shape"], shape_path, sink)
    if "data_offsets" in fields:
        offsets = check_offsets(fields["data_offsets"], offsets_path, sink)
    if bits is not None and shape is not None:
        dtype = fields["dtype"]
        assert isinstance(dtype, str)
        sized = check_size(dtype, bits, shape, offsets, paths=(shape_path, offsets_path), sink=sink)
        if sized and bits % 8:
            check_packed_rows(dtype, bits, shape, shape_path, sink)
        if offsets is not None and sized and offsets[1] > offsets[0] and (data_start + offsets[0]) % _ALIGN[dtype]:
            _misaligned(name, dtype, data_start + offsets[0], sink)
    if offsets is None:
        return None
    return _Range(name, offsets_path, offsets[0], offsets[1])


def _misaligned(name: str, dtype: str, position: int, sink: Sink) -> None:
    sink.add(
        Req.DATA_ALIGNED,
        f"tensor {_short(name)!r} ({dtype}) starts at file offset {position}, not a multiple of {_ALIGN[dtype]}",
        ((name, 0), ("data_offsets", 0)),
        offset=position,
    )


def _trailing(data_start: int, chain_end: int, buffer_length: int, sink: Sink) -> None:
    """BUFFER-NO-TRAILING: the buffer ends where the last tensor ends."""
    extra = buffer_length - chain_end
    sink.add(
        Req.BUFFER_NO_TRAILING,
        f"{_bytes(extra)} after the last tensor (buffer offset {chain_end}) belong{'s' if extra == 1 else ''} "
        "to no tensor",
        offset=data_start + chain_end,
    )


def _check_buffer(ranges: list[_Range], data_start: int, buffer_length: int, complete: bool, sink: Sink) -> None:
    """BUFFER-BOUNDS, BUFFER-NO-OVERLAP, BUFFER-NO-GAP and BUFFER-NO-TRAILING.

    Gaps and trailing bytes are only judged when every entry's range is known (``complete``):
    otherwise the entry whose range is unknown may be the one that covers them.
    """
    for item in ranges:
        if item.end > buffer_length:
            sink.add(
                Req.BUFFER_BOUNDS,
                f"tensor {_short(item.name)!r} ends at buffer offset {item.end}, "
                f"past the end of the {buffer_length}-byte buffer",
                item.path,
                offset=data_start + min(item.begin, buffer_length),
            )
    # The chain holds every range, in bounds or not: a tensor past the end still leaves a gap
    # before it (reported after BUFFER-BOUNDS, which takes precedence).
    chain = sorted(ranges, key=lambda r: (r.begin, r.end))
    covered = 0
    last = None
    for item in chain:
        if item.begin < covered:
            assert last is not None
            sink.add(
                Req.BUFFER_NO_OVERLAP,
                f"tensor {_short(item.name)!r} (buffer bytes {item.begin}..{item.end}) overlaps "
                f"tensor {_short(last.name)!r} (buffer bytes {last.begin}..{last.end})",
                item.path,
                offset=data_start + min(item.begin, buffer_length),
            )
        elif item.begin > covered and complete:
            sink.add(
                Req.BUFFER_NO_GAP,
                f"buffer bytes {covered}..{item.begin} before tensor {_short(item.name)!r} belong to no tensor",
                item.path,
                offset=data_start + min(covered, buffer_length),
            )
        if item.end >= covered:
            covered = item.end
            last = item
    if complete and covered < buffer_length:
        _trailing(data_start, covered, buffer_length, sink)


# --- The fast path: a whole conforming header through a C decoder ----------------------------------

#: Bytes per element of the dtypes the fast path takes; packed sub-byte dtypes go to the named
#: checks, which also judge their rows (SIZE-PACKED-ROWS).
_WIDTHS: Final = {name: bits // 8 for name, bits in BITS.items() if not bits & 7}
#: Padding longer than this goes to the named checks (a conforming writer pads at most 7 bytes).
_FAST_PADDING: Final = 64
_COMMA: Final = 0x2C
_OPEN_BRACE: Final = 0x7B


class _FastDecoders(NamedTuple):
    """msgspec decoders for a header's root (its tensor entries) and for its ``__metadata__``."""

    root: Callable[[memoryview], dict[str, Any]]
    metadata: Callable[[memoryview], dict[str, str]]
    errors: tuple[type[Exception], ...]
    metadata_first: re.Pattern[bytes]


@cache
def _fast_decoders() -> _FastDecoders | None:
    """The decoders, made on first use; ``None`` when msgspec is not installed."""
    try:
        import msgspec  # noqa: PLC0415 - optional, and its import costs more than a small header
    except ImportError:
        return None
    # A typed decoder: what does not have exactly this form is an error, found in C.
    positive = Annotated[int, msgspec.Meta(gt=0)]
    unsigned = Annotated[int, msgspec.Meta(ge=0)]
    entry = msgspec.defstruct(
        "FastEntry",
        [
            ("dtype", cast("Any", Literal)[tuple(_WIDTHS)]),
            ("shape", tuple[positive, ...]),
            ("data_offsets", tuple[unsigned, unsigned]),
        ],
        forbid_unknown_fields=True,
        gc=False,  # no cycles; millions of entries must not be walked by the collector
    )
    return _FastDecoders(
        msgspec.json.Decoder(dict[str, entry]).decode,  # type: ignore[valid-type]
        msgspec.json.Decoder(dict[str, str]).decode,
        # A malformed header (DecodeError, ValidationError), bad UTF-8 in a string, a number too
        # long for the decoder: each is left to the named checks, which say what is wrong.
        (msgspec.MsgspecError, ValueError, RecursionError, OverflowError),
        re.compile(rb'\{[ \t\n\r]*"__metadata__"[ \t\n\r]*:[ \t\n\r]*\{'),
    )


def fast_header(raw: bytearray, length: int, buffer_length: int, *, keep: bool = True) -> Header | None:
    """The header of ``raw`` when it is certainly conforming and gives no finding at all; else ``None``.

    ``raw`` is the header as read (``length`` bytes; it is patched during the call and restored),
    ``buffer_length`` the bytes after it. ``None`` decides nothing: the caller runs the named
    checks, which alone report findings. What this path proves, and how:

    * HEADER-UTF8, HEADER-JSON: msgspec's strict RFC 8259 decoder (and Python's UTF-8 decoder for a
      header that is not ASCII); HEADER-START and HEADER-PADDING: ``{`` first, only spaces after ``}``;
    * HEADER-STRINGS, NAME-PORTABLE: the text holds no escape, so every string is its literal
      text, which JSON keeps free of control characters but DEL; no name is empty or holds DEL;
    * HEADER-ROOT-OBJECT, ENTRY-OBJECT, ENTRY-FIELDS-REQUIRED, ENTRY-FIELDS-KNOWN, DTYPE-KNOWN,
      SHAPE-ARRAY, OFFSETS-PAIR, META-OBJECT, META-STRING-VALUES: the decoder's types (``__metadata__``
      is taken only as the first member, and decoded on its own);
    * HEADER-UNIQUE-NAMES, META-UNIQUE-KEYS and repeated fields: the decoder keeps the last of
      repeated names, so the text's colons are counted: one per member, plus those inside strings,
      which without escapes are the decoded strings' own;
    * NUMBER-FORM: integers only by type; no ``-`` outside strings (counted as colons are, since
      ``-0`` decodes to 0); NUMBER-RANGE, SIZE-LIMIT: bounded by the buffer's length;
    * SIZE-MATCH, SIZE-WHOLE-BYTES (byte-sized dtypes, no zero dimension), DATA-ALIGNED, and
      BUFFER-BOUNDS, -NO-OVERLAP, -NO-GAP, -NO-TRAILING: the entries tile the buffer exactly.
    """
    decoders = _fast_decoders()
    if decoders is None or raw[:1] != b"{" or b"\\" in raw:
        return None
    tail = raw[-_FAST_PADDING:].rstrip(b" ")
    if tail[-1:] != b"}" or (not raw.isascii() and not _is_utf8(raw)):
        return None
    metadata: dict[str, str] | None = None
    try:
        match = decoders.metadata_first.match(raw)
        if match is None:
            with memoryview(raw) as view:
                root = decoders.root(view)
        else:
            # Metadata holds only strings, so its object ends at the first "}" outside a string; a
            # string holds no escaped quote here, so a "}" is inside one after an odd count of them.
            close = raw.find(b"}", match.end())
            while close >= 0 and raw.count(b'"', match.end(), close) % 2:
                close = raw.find(b"}", close + 1)
            with memoryview(raw) as view:
                metadata = decoders.metadata(view[match.end() - 1 : close + 1])
            comma = close + 1
            if raw[comma : comma + 1] != b",":
                return None  # no tensors, or space before the comma: the named checks decide
            # The other members, decoded as an object of their own from where the comma was.
            raw[comma] = _OPEN_BRACE
            try:
                with memoryview(raw) as view:
                    root = decoders.root(view[comma:])
            finally:
                raw[comma] = _COMMA
    except decoders.errors:
        return None
    # A name the decoded types cannot rule out: a second __metadata__ (HEADER-UNIQUE-NAMES), an
    # empty name or one with DEL, the one control character JSON lets through (NAME-PORTABLE); and
    # no member after the comma that followed the metadata.
    if METADATA_KEY in root or "" in root or (metadata is not None and not root):
        return None
    if b"\x7f" in raw and "\x7f" in "".join(root):
        return None
    if not _counts_match(raw, root, metadata):
        return None
    data_start = 8 + length
    widths = _WIDTHS
    chained = True
    chain_end = 0
    for entry in root.values():
        begin, end = entry.data_offsets
        width = widths[entry.dtype]
        size = width
        for dim in entry.shape:
            size *= dim
        if end - begin != size or (data_start + begin) % width:
            return None
        if begin != chain_end:
            chained = False
        chain_end = end
    if not chained:  # entries out of buffer order: sort their ranges, and check they tile
        ranges = list(chain.from_iterable(sorted(map(attrgetter("data_offsets"), root.values()))))
        if ranges[0] != 0 or ranges[2::2] != ranges[1:-1:2]:
            return None
        chain_end = ranges[-1]
    # Every size and offset is at most the buffer's length, so the bits of every tensor fit in 64.
    if chain_end != buffer_length or buffer_length > U64_MAX >> 3:
        return None
    return Header(length, buffer_length, metadata, root if keep else None, len(root))


def _is_utf8(raw: bytearray) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _counts_match(raw: bytearray, root: dict[str, Any], metadata: dict[str, str] | None) -> bool:
    """No repeated name anywhere, and no number with a sign, judged by counting characters.

    A colon is one per member or inside a string; a minus sign is in a number or inside a string.
    Every string of the decoded header is a name, a metadata key or value, a field name or a dtype
    (neither holds either character); a repeated member's strings are not among them, so the
    counts of the decoded strings add up to those of the text only when no member was dropped.
    """
    members = 4 * len(root) + (0 if metadata is None else 1 + len(metadata))
    colons = raw.count(b":")
    dashes = raw.count(b"-") if b"-" in raw else 0  # a search stops at the first; a count reads all
    if colons == members and not dashes:
        return True
    strings = "".join(root)
    if metadata is not None:
        strings += "".join(metadata) + "".join(metadata.values())
    return colons == members + strings.count(":") and dashes == strings.count("-")
