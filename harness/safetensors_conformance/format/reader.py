"""The strict reference reader: ``spec/safetensors.md`` checked on real files.

It reads the 8-byte length, checks it against the real file size, then reads the header and
nothing else; tensor bytes are read on request, after the whole header has been validated. Memory
use is bounded by the header, so files larger than memory validate like any other.
"""

from __future__ import annotations

import gc
import io
import os
import stat
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from types import TracebackType
from typing import BinaryIO, Final, NamedTuple

from .header import Finding, Header, Sink, TensorInfo, _fast_decoders, check_header_value, fast_header, reduce_object
from .jsontext import JsonSyntaxError, byte_offsets, decode, locate, path_at, pointer
from .limits import HEADER_ALIGNMENT, JSON_WHITESPACE, LENGTH_PREFIX_SIZE, MAX_HEADER_LENGTH, WHITESPACE
from .requirements import Flag, Req
from .violations import FormatError, Violation, primary_requirement

#: A path names a file; bytes-like objects are file contents; a binary file object is read as is.
Source = str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryIO


class Report(NamedTuple):
    """Everything the reader found in one file."""

    violations: tuple[Violation, ...]
    warnings: tuple[Violation, ...]
    unreported_violations: int
    unreported_warnings: int
    header: Header | None
    file_size: int

    @property
    def conforms(self) -> bool:
        """True when no MUST-level requirement is broken (warnings do not count)."""
        return not self.violations and not self.unreported_violations

    @property
    def primary(self) -> Req | None:
        """The requirement that decides the rejection: the first unflagged MUST-level violation in
        the spec's order (section 1, *Precedence*); ``None`` when the file conforms or a reader MAY
        accept it under flags."""
        return primary_requirement(self.violations)

    def raise_for_violations(self) -> Header:
        """Return the header of a conforming file, or raise :class:`FormatError`."""
        if not self.conforms:
            raise FormatError(self.violations, self.warnings, self.unreported_violations)
        assert self.header is not None
        return self.header


def check(source: Source, *, keep_tensors: bool = True, fast: bool | None = None) -> Report:
    """Check a file against every requirement the reader can see; never raises on bad content.

    ``OSError`` is raised when the file cannot be read at all, :class:`NotRegularFileError` when a
    path names a FIFO, a device or a socket (opening one could block forever). A stream (a pipe,
    standard input) is read once, front to back: the header is kept, the rest only counted. With
    ``keep_tensors`` false the report's header lists no tensors, which saves time and memory when
    only the verdict matters.

    ``fast`` says whether a conforming header may first be decided by the optional C decoder
    (:func:`.header.fast_header`); the report is the same either way. ``None``, the default, uses
    it once this process has checked :data:`FAST_PATH_AFTER` bytes of headers; ``False`` never.
    """
    with _open(source) as handle:
        sink = Sink()
        if _is_stream(handle):
            handle, size = _spool(handle)
        else:
            size = _file_size(handle)
        header = _check_file(handle, size, sink, keep=keep_tensors, fast=fast)
    return _report(sink, header, size)


def iter_violations(source: Source) -> Iterator[Violation]:
    """Every violation of a file, MUST and SHOULD level, in file order."""
    report = check(source)
    yield from sorted(report.violations + report.warnings, key=_order)


def validate(source: Source) -> Header:
    """Return the header of a conforming file; raise :class:`FormatError` listing what is wrong."""
    return check(source).raise_for_violations()


def check_header_bytes(header: bytes, file_size: int, *, fast: bool | None = None) -> Report:
    """Check a header given as bytes, for a file of ``file_size`` bytes (prefix included)."""
    sink = Sink()
    parsed = _check_header(bytearray(header), len(header), file_size, sink, keep=True, fast=fast)
    return _report(sink, parsed, file_size)


#: Header bytes checked by the named checks alone before the fast path is used. Importing its C
#: decoder takes about as long (~20 ms) as the named checks take for 1 MB of header; a quarter of
#: that spares a command that checks one ordinary file the import, and costs one that checks
#: thousands a few milliseconds (benchmarks/bench_validate.py).
FAST_PATH_AFTER: Final = 256 * 1024
#: Header bytes this process has checked so far without the fast path (``fast=None``).
_strict_bytes = [0]


def use_fast_path() -> bool:
    """From now on, try the fast path on every header (``check(..., fast=None)``), and import its
    decoder now; returns whether it is installed. For a process about to check many files, or to
    start worker processes that will: forked ones inherit the import."""
    _strict_bytes[0] = FAST_PATH_AFTER
    return _fast_decoders() is not None


def _wants_fast(fast: bool | None, length: int) -> bool:
    if fast is not None:
        return fast
    if _strict_bytes[0] >= FAST_PATH_AFTER:
        return True
    _strict_bytes[0] += length
    return _strict_bytes[0] >= FAST_PATH_AFTER


# --- Reading --------------------------------------------------------------------------------------


class NotRegularFileError(OSError):
    """A path names something other than a regular file; ``kind`` says what."""

    def __init__(self, path: str, kind: str) -> None:
        super().__init__(f"{kind}, not a regular file (read a stream from standard input with -)")
        self.path = path
        self.kind = kind


_KINDS: Final = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
)


def _open(source: Source) -> AbstractContextManager[BinaryIO]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(source))
    if isinstance(source, (str, os.PathLike)):
        # Non-blocking, so that a FIFO without a writer cannot hang the open; then only a regular
        # file is read (the flag changes nothing for those).
        fd = os.open(source, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            os.close(fd)
            kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
            raise NotRegularFileError(os.fsdecode(source), kind)
        return os.fdopen(fd, "rb")
    return nullcontext(source)


def _is_stream(handle: BinaryIO) -> bool:
    """True for a pipe, terminal or other handle whose size cannot be known without reading it."""
    try:
        return not stat.S_ISREG(os.fstat(handle.fileno()).st_mode)
    except (AttributeError, OSError, io.UnsupportedOperation):
        return not handle.seekable()


#: A stream is read at most this far past the end of the last tensor its header declares: enough
#: to count trailing bytes exactly in any real file, and an end to reading an endless stream.
STREAM_SLACK = 1 << 30


def _spool(stream: BinaryIO) -> tuple[BinaryIO, int]:
    """Read a stream once: keep the length prefix and the header (at most the header limit), count
    the rest, up to what the header declares plus :data:`STREAM_SLACK` (nothing more when the header
    declares no buffer that could be checked). Returns the kept bytes as a file, and the length."""
    kept = _read_up_to(stream, LENGTH_PREFIX_SIZE)
    budget = 0
    if len(kept) == LENGTH_PREFIX_SIZE:
        length = int.from_bytes(kept, "little")
        if length <= MAX_HEADER_LENGTH:
            header = _read_up_to(stream, length)
            kept += header
            end = _declared_end(header) if len(header) == length else None
            budget = 0 if end is None else end + STREAM_SLACK
    size = len(kept)
    chunk = bytearray(1 << 20)
    while budget > 0:
        count = stream.readinto(memoryview(chunk)[: min(len(chunk), budget)])  # type: ignore[attr-defined]
        if not count:
            break
        size += count
        budget -= count
    return io.BytesIO(kept), size


def _declared_end(header: bytes) -> int | None:
    """The largest tensor end a header declares, read as the checks read it (after any leading
    whitespace, up to the end of its JSON value, however deep); ``None`` when the verdict cannot
    depend on the buffer (the header is not UTF-8 JSON, or not an object)."""
    try:
        text = header.decode("utf-8")
        start = 0
        while start < len(text) and text[start] in WHITESPACE:
            start += 1
        root = decode(text, start).value
    except (UnicodeDecodeError, JsonSyntaxError):
        return None
    if type(root) is not tuple:
        return None
    ends = [
        offsets[-1]
        for name, entry in root
        if name != "__metadata__" and type(entry) is tuple
        for field, offsets in entry
        if field == "data_offsets" and type(offsets) is list and offsets
    ]
    return max((end for end in ends if type(end) is int and end >= 0), default=0)


def _read_up_to(stream: BinaryIO, count: int) -> bytes:
    parts = []
    while count > 0:
        part = stream.read(count)
        if not part:
            break
        parts.append(part)
        count -= len(part)
    return b"".join(parts)


def _file_size(handle: BinaryIO) -> int:
    try:
        return os.fstat(handle.fileno()).st_size
    except (AttributeError, OSError, io.UnsupportedOperation):
        return handle.seek(0, io.SEEK_END)


def read_bytes(handle: BinaryIO, offset: int, count: int, what: str) -> bytes:
    """Read exactly ``count`` bytes at ``offset``; every read of the reader goes through here."""
    handle.seek(offset)
    data = handle.read(count)
    if len(data) != count:
        raise OSError(f"file ended while reading {what}: got {len(data)} of {count} bytes at offset {offset}")
    return data


def _check_file(
    handle: BinaryIO, size: int, sink: Sink, *, keep: bool = True, fast: bool | None = None
) -> Header | None:
    if size < LENGTH_PREFIX_SIZE:
        sink.add(
            Req.LAYOUT_LENGTH_PREFIX,
            f"file has {size} byte{'' if size == 1 else 's'}, fewer than the 8-byte header length",
            offset=0,
        )
        return None
    length = int.from_bytes(read_bytes(handle, 0, LENGTH_PREFIX_SIZE, "the header length"), "little")
    if length > MAX_HEADER_LENGTH:
        sink.add(Req.LAYOUT_HEADER_LIMIT, f"header length {length} exceeds {MAX_HEADER_LENGTH:,} bytes", offset=0)
        return None
    if LENGTH_PREFIX_SIZE + length > size:
        sink.add(
            Req.LAYOUT_HEADER_BOUNDS,
            f"header length {length} runs past the end of the file "
            f"({size - LENGTH_PREFIX_SIZE} byte{'' if size - LENGTH_PREFIX_SIZE == 1 else 's'} follow the length)",
            offset=0,
        )
        return None
    # A buffer of our own, which the fast path may patch: the copy costs nothing beside the checks,
    # and the bytes it is made from are freed before anything is decoded (as is the buffer, once the
    # named checks have its text).
    raw = bytearray(read_bytes(handle, LENGTH_PREFIX_SIZE, length, "the header"))
    return _check_header(raw, length, size, sink, keep=keep, fast=fast)


def _check_header(
    raw: bytearray, length: int, size: int, sink: Sink, *, keep: bool, fast: bool | None
) -> Header | None:
    """Every check of the header bytes, with the fast path first when it is wanted and available."""
    if length % HEADER_ALIGNMENT:
        sink.add(Req.LAYOUT_HEADER_ALIGN, f"header length {length} is not a multiple of {HEADER_ALIGNMENT}", offset=0)
    if _wants_fast(fast, length):
        header = fast_header(raw, length, size - LENGTH_PREFIX_SIZE - length, keep=keep)
        if header is not None:
            return header
    text = _decode_utf8(raw, sink)
    raw.clear()  # the buffer is ours, and the named checks read only the text: free it first
    return _check_text(text, length, size, sink, keep=keep)


def _decode_utf8(raw: bytes | bytearray, sink: Sink) -> str | None:
    """HEADER-UTF8: the header is well-formed UTF-8."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        sink.add(
            Req.HEADER_UTF8,
            f"byte 0x{raw[error.start]:02x} at header offset {error.start} is not UTF-8 ({error.reason})",
            offset=LENGTH_PREFIX_SIZE + error.start,
        )
        return None


def _check_text(text: str | None, length: int, size: int, sink: Sink, *, keep: bool = True) -> Header | None:
    base = LENGTH_PREFIX_SIZE
    if text is None:
        return None
    start = _check_start(text, base, sink)
    collector_was_enabled = gc.isenabled()
    gc.disable()  # the decoded tree has no cycles; collecting while building it costs a third of the time
    try:
        try:
            decoded = decode(text, start, reduce_object)
        except JsonSyntaxError as error:
            offset = base + byte_offsets(text, [error.position])[0]
            sink.add(Req.HEADER_JSON, f"the header is not JSON: {error.message}", offset=offset)
            return None
        _check_padding(decoded.text, decoded.end, base, sink)
        text = decoded.text
        for position, offset in zip(
            decoded.deep_surrogates, byte_offsets(text, list(decoded.deep_surrogates)), strict=True
        ):
            sink.add(
                Req.HEADER_STRINGS,
                "a string nested deeper than any conforming header holds an unpaired surrogate escape",
                path_at(text, start, position),
                offset=base + offset,
            )
        header = check_header_value(
            decoded.value,
            length,
            size - base - length,
            sink,
            surrogates="\\ud" in text or "\\uD" in text,
            escapes="\\" in text or "\x7f" in text,
            keep=keep,
        )
        _locate(sink, decoded.text, start, base)
        # Without ``keep`` nothing holds the tree any more: free it while the collector is off, so
        # that switching it back on does not make it walk a million dead objects.
        del decoded
    finally:
        if collector_was_enabled:
            gc.enable()
    return header


def _check_start(text: str, base: int, sink: Sink) -> int:
    """HEADER-START: no whitespace (in the spec's wide sense) precedes the JSON value.

    Returns where decoding should begin: after the whole run of leading whitespace, so that the
    rest of the header is still checked.
    """
    if text[:1] not in WHITESPACE:
        return 0
    end = 1
    while end < len(text) and text[end] in WHITESPACE:
        end += 1
    bad = next((i for i in range(end) if text[i] not in JSON_WHITESPACE), None)
    if bad is None:
        sink.add(
            Req.HEADER_START,
            f"the header begins with JSON whitespace ({_char(text[0])}) before the JSON value "
            "(readers may skip it: flag header-leading-whitespace)",
            offset=base,
            flag=Flag.HEADER_LEADING_WHITESPACE,
        )
    else:
        what = "a byte order mark" if text[bad] == "\ufeff" else f"{_char(text[bad])}, which is not JSON whitespace,"
        sink.add(
            Req.HEADER_START,
            f"the header begins with {what} before the JSON value",
            offset=base + byte_offsets(text, [bad])[0],
        )
    return end


def _check_padding(text: str, end: int, base: int, sink: Sink) -> None:
    """HEADER-PADDING: only spaces (0x20) follow the JSON value."""
    rest = text[end:]
    spaces = len(rest) - len(rest.lstrip(" "))
    if spaces == len(rest):
        return
    bad = next((i for i in range(spaces, len(rest)) if rest[i] not in JSON_WHITESPACE), None)
    if bad is None:
        sink.add(
            Req.HEADER_PADDING,
            f"the padding after the JSON value holds {_char(rest[spaces])}; only spaces (0x20) may follow it "
            "(readers may accept JSON whitespace: flag header-trailing-whitespace)",
            offset=base + byte_offsets(text, [end + spaces])[0],
            flag=Flag.HEADER_TRAILING_WHITESPACE,
        )
        return
    char = rest[bad]
    if char in WHITESPACE:
        message = f"the padding after the JSON value holds {_char(char)}, which is not JSON whitespace"
    else:
        message = f"the header continues after its JSON value with {_char(char)}"
    sink.add(
        Req.HEADER_PADDING,
        f"{message}; only spaces (0x20) may follow it",
        offset=base + byte_offsets(text, [end + bad])[0],
    )


def _char(char: str) -> str:
    if char.isprintable() and not char.isspace():
        return f"{char!r} (U+{ord(char):04X})"
    return f"U+{ord(char):04X}"


def _locate(sink: Sink, text: str, start: int, base: int) -> None:
    """Give header findings their byte offsets, found by walking the header text once."""
    pending = [f for f in (*sink.errors, *sink.warnings) if f.offset is None and f.path is not None]
    if not pending:
        return
    values = [f.path for f in pending if f.path is not None and not f.key]
    keys = [f.path for f in pending if f.path is not None and f.key]
    found = locate(text, start, values=values, keys=keys)

    def place(finding: Finding) -> Finding:
        if finding.offset is not None or finding.path is None:
            return finding
        position = found.get((finding.path, finding.key))
        offset = None if position is None else base + position
        return finding._replace(offset=offset)

    sink.errors[:] = map(place, sink.errors)
    sink.warnings[:] = map(place, sink.warnings)


def _report(sink: Sink, header: Header | None, size: int) -> Report:
    def convert(findings: list[Finding]) -> tuple[Violation, ...]:
        violations = (
            Violation(f.requirement, f.message, f.offset, None if f.path is None else pointer(f.path), f.flag)
            for f in findings
        )
        return tuple(sorted(violations, key=_order))

    return Report(
        violations=convert(sink.errors),
        warnings=convert(sink.warnings),
        unreported_violations=sink.unreported_errors,
        unreported_warnings=sink.unreported_warnings,
        header=header if not sink.failed else None,
        file_size=size,
    )


def _order(violation: Violation) -> tuple[bool, int]:
    return (violation.offset is None, violation.offset or 0)


# --- Lazy access to tensors -----------------------------------------------------------------------


class Tensor(NamedTuple):
    """A tensor's dtype name, shape and raw little-endian bytes."""

    dtype: str
    shape: tuple[int, ...]
    data: bytes


class SafetensorsFile:
    """A conforming file, open for reading tensors one at a time.

    Opening validates the whole header (and raises :class:`FormatError` if the file does not
    conform) before any tensor is exposed; tensor bytes are read only when asked for.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._handle: BinaryIO = _open(path).__enter__()  # a regular file, closed by close()
        try:
            sink = Sink()
            size = _file_size(self._handle)
            parsed = _check_file(self._handle, size, sink)
            self.report = _report(sink, parsed, size)
            self.header = self.report.raise_for_violations()
        except BaseException:
            self._handle.close()
            raise

    @property
    def metadata(self) -> dict[str, str] | None:
        return self.header.metadata

    def names(self) -> list[str]:
        """Tensor names in buffer order."""
        return list(self.header.tensors)

    def info(self, name: str) -> TensorInfo:
        return self.header.tensors[name]

    def read(self, name: str) -> bytes:
        """The raw bytes of one tensor."""
        info = self.header.tensors[name]
        return read_bytes(self._handle, self.header.data_start + info.begin, info.nbytes, f"tensor {name!r}")

    def read_buffer(self) -> bytes:
        """The whole byte buffer (every tensor's bytes, in buffer order)."""
        return read_bytes(self._handle, self.header.data_start, self.header.buffer_length, "the buffer")

    def tensor(self, name: str) -> Tensor:
        info = self.header.tensors[name]
        return Tensor(info.dtype, info.shape, self.read(name))

    def __iter__(self) -> Iterator[str]:
        return iter(self.header.tensors)

    def __len__(self) -> int:
        return len(self.header)

    def __contains__(self, name: object) -> bool:
        return name in self.header.tensors

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> SafetensorsFile:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


def open_file(path: str | os.PathLike[str]) -> SafetensorsFile:
    """Validate a file and open it for reading tensors lazily."""
    return SafetensorsFile(path)


def load(path: str | os.PathLike[str]) -> tuple[dict[str, Tensor], dict[str, str] | None]:
    """Validate a file and read every tensor (in buffer order) and the metadata."""
    with open_file(path) as file:
        return {name: file.tensor(name) for name in file}, file.metadata
