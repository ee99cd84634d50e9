"""The canonical writer: only conforming files, always the same bytes for the same input.

Canonical form (``spec/safetensors.md`` §10, writer recommendations): ``__metadata__`` first with
keys sorted, tensors in buffer order, ordered by descending dtype rank then name (so every
tensor starts on a multiple of its element size), compact JSON, header padded with spaces to a
multiple of 8. Input that cannot be written as a conforming file is refused with a
:class:`FormatError` naming the requirement it would break.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import BinaryIO

from .dtypes import DTYPES
from .header import METADATA_KEY, Sink, byte_size
from .jsontext import pointer
from .limits import HEADER_ALIGNMENT, LENGTH_PREFIX_SIZE, MAX_HEADER_LENGTH
from .reader import Tensor, check_header_bytes
from .requirements import Req
from .violations import FormatError, Violation

TensorInput = Mapping[str, Tensor] | Iterable[tuple[str, Tensor]]


def serialize(tensors: TensorInput, metadata: Mapping[str, str] | None = None) -> bytes:
    """The bytes of a conforming file holding ``tensors`` and ``metadata``."""
    prefix, ordered = _prepare(tensors, metadata)
    return b"".join([prefix, *(tensor.data for _, tensor in ordered)])


def write_file(path: str | os.PathLike[str], tensors: TensorInput, metadata: Mapping[str, str] | None = None) -> None:
    """Write a conforming file; an existing file at ``path`` is replaced only once writing succeeded."""
    prefix, ordered = _prepare(tensors, metadata)
    target = Path(path)
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=".safetensors-", suffix=".tmp")
    temporary = Path(name)
    try:
        # mkstemp makes the file 0600; give it the mode of the file it replaces, or what the umask
        # leaves of 0666, as open() would.
        try:
            mode = stat.S_IMODE(target.stat().st_mode)
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
        os.fchmod(handle, mode)
        with os.fdopen(handle, "wb") as out:
            _write_all(out, prefix, ordered)
        temporary.replace(target)
    except BaseException:
        temporary.unlink()
        raise


def _umask() -> int:
    mask = os.umask(0)  # the only way to read it is to set it
    os.umask(mask)
    return mask


def _write_all(out: BinaryIO, prefix: bytes, ordered: list[tuple[str, Tensor]]) -> None:
    out.write(prefix)
    for _, tensor in ordered:
        out.write(tensor.data)


def canonical_order(items: Iterable[tuple[str, Tensor]]) -> list[tuple[str, Tensor]]:
    """The order the canonical writer lays tensors out in: widest dtype first, then by name."""
    return sorted(items, key=lambda item: (-DTYPES[item[1].dtype].rank, item[0]))


def _prepare(tensors: TensorInput, metadata: Mapping[str, str] | None) -> tuple[bytes, list[tuple[str, Tensor]]]:
    items = list(tensors.items() if isinstance(tensors, Mapping) else tensors)
    sink = Sink()
    _check_metadata(metadata, sink)
    seen: set[str] = set()
    for name, tensor in items:
        _check_tensor(name, tensor, name in seen, sink)
        seen.add(name)
    if sink.failed:
        _refuse(sink)
    ordered = canonical_order(items)
    document: dict[str, object] = {}
    if metadata is not None:
        document[METADATA_KEY] = {key: metadata[key] for key in sorted(metadata)}
    offset = 0
    for name, tensor in ordered:
        document[name] = {
            "dtype": tensor.dtype,
            "shape": list(tensor.shape),
            "data_offsets": [offset, offset + len(tensor.data)],
        }
        offset += len(tensor.data)
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % HEADER_ALIGNMENT)
    if len(text) > MAX_HEADER_LENGTH:
        sink.add(Req.LAYOUT_HEADER_LIMIT, f"the header would take {len(text):,} bytes, more than {MAX_HEADER_LENGTH:,}")
        _refuse(sink)
    # The reader has the last word: a file the writer produces must pass every check. The SHOULD
    # rules on names and on the shapes of packed tensors are about the caller's input, not the layout.
    report = check_header_bytes(text, LENGTH_PREFIX_SIZE + len(text) + offset)
    callers = (Req.NAME_PORTABLE, Req.SIZE_PACKED_ROWS)
    unexpected = report.violations + tuple(w for w in report.warnings if w.requirement not in callers)
    if unexpected:
        raise AssertionError(f"writer produced a non-canonical header: {unexpected}")
    return len(text).to_bytes(LENGTH_PREFIX_SIZE, "little") + text, ordered


def _check_metadata(metadata: object, sink: Sink) -> None:
    """Callers without type checking can pass anything: say what is wrong with it."""
    if metadata is None:
        return
    if not isinstance(metadata, Mapping):
        sink.add(Req.META_OBJECT, f"metadata must be a mapping of strings to strings, not {type(metadata).__name__}")
        return
    for key, value in metadata.items():
        path = ((METADATA_KEY, 0), (str(key), 0))
        if not isinstance(key, str):
            sink.add(Req.META_OBJECT, f"metadata key {key!r} is not a string", path)
        elif not _encodable(key):
            sink.add(Req.HEADER_STRINGS, f"metadata key {key!r} holds an unpaired surrogate", path)
        if not isinstance(value, str):
            sink.add(Req.META_STRING_VALUES, f"metadata value {value!r} is not a string", path)
        elif not _encodable(value):
            sink.add(Req.HEADER_STRINGS, f"metadata value {value!r} holds an unpaired surrogate", path)


def _check_tensor(name: object, tensor: Tensor, repeated: bool, sink: Sink) -> None:
    path = ((str(name), 0),)
    if not isinstance(name, str):
        sink.add(Req.HEADER_STRINGS, f"tensor name {name!r} is not a string", path)
        return
    if name == METADATA_KEY:
        sink.add(Req.WRITER_RESERVED_NAME, "a tensor cannot be named __metadata__", path)
    if repeated:
        sink.add(Req.HEADER_UNIQUE_NAMES, f"tensor name {name!r} is given more than once", path)
    if not _encodable(name):
        sink.add(Req.HEADER_STRINGS, f"tensor name {name!r} holds an unpaired surrogate", path)
    dtype_name: object = tensor.dtype
    dtype = DTYPES.get(dtype_name) if isinstance(dtype_name, str) else None
    if dtype is None:
        sink.add(Req.DTYPE_KNOWN, f"unknown dtype {tensor.dtype!r}", (*path, ("dtype", 0)))
    dims: tuple[object, ...] = tensor.shape
    for dim in dims:
        if type(dim) is not int:
            sink.add(Req.SHAPE_ARRAY, f"dimension {dim!r} is not an integer", (*path, ("shape", 0)))
            return
        if dim < 0:
            sink.add(Req.NUMBER_FORM, f"dimension {dim} is negative", (*path, ("shape", 0)))
            return
    if dtype is None:
        return
    size = byte_size(dtype.name, dtype.bits, list(tensor.shape))
    if isinstance(size, tuple):
        sink.add(*size, path)
    elif len(tensor.data) != size:
        message = f"shape {list(tensor.shape)} of {dtype.name} takes {size} bytes, but {len(tensor.data)} were given"
        sink.add(Req.SIZE_MATCH, message, path)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _refuse(sink: Sink) -> None:
    violations = [Violation(f.requirement, f.message, None, pointer(f.path) if f.path else None) for f in sink.errors]
    raise FormatError(violations, unreported=sink.unreported_errors)
