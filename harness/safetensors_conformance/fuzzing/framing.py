"""An input as a fuzzer sees it: the 8-byte length, the header as a JSON tree, and the buffer.

Parsing is lenient (any JSON the standard library reads, duplicates and odd numbers kept) so that
inputs a strict reader rejects can still be mutated as structure. Writing an input back
recomputes the length prefix, and :func:`repair` makes the offsets and the buffer agree with
every well-formed entry, so that a mutated input still reaches the checks after the framing.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import Any, Final

from ..format.dtypes import BITS
from ..format.header import METADATA_KEY, byte_size
from ..format.limits import HEADER_ALIGNMENT, LENGTH_PREFIX_SIZE

#: A decoded JSON value: ``Obj``, ``list``, ``str``, ``int``, ``bool``, ``None`` or ``Raw``.
JSON = Any


class Obj(list[list[Any]]):
    """A JSON object: its members as ``[name, value]`` lists, in order, duplicates kept."""


class Raw(str):
    """Text written into the header as it is: a fraction, an exponent, ``NaN``, deep nesting."""

    __slots__ = ()


def _members(pairs: list[tuple[str, Any]]) -> Obj:
    return Obj([name, value] for name, value in pairs)


@dataclass
class Framed:
    """An input that frames: a header that decodes as JSON, and the bytes after it."""

    root: JSON
    buffer: bytes


def parse(data: bytes) -> Framed | None:
    """The input as a tree and a buffer, or ``None`` when the length or the JSON does not hold."""
    if len(data) < LENGTH_PREFIX_SIZE:
        return None
    length = int.from_bytes(data[:LENGTH_PREFIX_SIZE], "little")
    if length > len(data) - LENGTH_PREFIX_SIZE:
        return None
    try:
        text = data[LENGTH_PREFIX_SIZE : LENGTH_PREFIX_SIZE + length].decode("utf-8")
        root = json.loads(text, object_pairs_hook=_members, parse_float=Raw, parse_constant=Raw, strict=False)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None
    return Framed(root, data[LENGTH_PREFIX_SIZE + length :])


def split(data: bytes) -> tuple[bytes, bytes] | None:
    """The header bytes and the buffer of an input whose length prefix fits it, else ``None``."""
    if len(data) < LENGTH_PREFIX_SIZE:
        return None
    length = int.from_bytes(data[:LENGTH_PREFIX_SIZE], "little")
    if length > len(data) - LENGTH_PREFIX_SIZE:
        return None
    end = LENGTH_PREFIX_SIZE + length
    return data[LENGTH_PREFIX_SIZE:end], data[end:]


def frame(header: bytes, buffer: bytes, *, align: bool = True) -> bytes:
    """A whole input: the length prefix (of the header as padded), the header, the buffer.

    ``align`` pads the header with spaces to a multiple of 8, as writers do (LAYOUT-HEADER-ALIGN).
    """
    if align:
        header += b" " * (-len(header) % HEADER_ALIGNMENT)
    return len(header).to_bytes(LENGTH_PREFIX_SIZE, "little") + header + buffer


# --- Writing the header ---------------------------------------------------------------------------


@dataclass
class Style:
    """How a tree is written: compact and canonical unless the mutator asks for more."""

    #: Whitespace put between tokens, each time with probability ``spread``.
    whitespace: str = ""
    spread: float = 0.0
    #: Probability of writing a character of a string as a ``\\uXXXX`` escape.
    escape: float = 0.0
    ascii_only: bool = False
    rng: random.Random = field(default_factory=lambda: random.Random(0))  # noqa: S311 - fuzzing, not secrets


def dumps(value: JSON, style: Style | None = None) -> str:
    """The JSON text of a tree: compact unless ``style`` asks for whitespace or escapes."""
    if style is None or not (style.spread or style.escape or style.ascii_only):
        try:
            text = _compact(value, encode_basestring)
            text.encode("utf-8")
        except RecursionError:
            pass
        except UnicodeEncodeError:
            return _compact(value, _surrogate_safe)  # a lone surrogate: only an escape can carry it
        else:
            return text
    return _styled(value, style or Style())


def _compact(value: JSON, quote: Callable[[str], str]) -> str:
    kind = type(value)
    if kind is str or kind is Raw:
        return value if kind is Raw else quote(value)
    if kind is int:
        return int.__repr__(value)
    if kind is Obj:
        return "{" + ",".join(quote(str(name)) + ":" + _compact(item, quote) for name, item in value) + "}"
    if kind is list:
        return "[" + ",".join([_compact(item, quote) for item in value]) + "]"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    return str(value)


def _surrogate_safe(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return encode_basestring_ascii(text)
    return encode_basestring(text)


def _styled(value: JSON, style: Style) -> str:
    """The general writer, iterative so that no depth of tree can exhaust the stack."""
    out: list[str] = []
    # A stack of pending work: values to write, or literal text already decided.
    stack: list[tuple[bool, Any]] = [(False, value)]
    while stack:
        literal, item = stack.pop()
        if literal:
            out.append(item)
            continue
        if isinstance(item, Raw):
            out.append(item)
        elif isinstance(item, Obj):
            parts: list[tuple[bool, Any]] = [(True, "{")]
            for index, member in enumerate(item):
                if index:
                    parts.append((True, _gap(style) + ","))
                name = member[0] if isinstance(member[0], str) else str(member[0])
                parts.append((True, _gap(style) + _string(name, style) + _gap(style) + ":" + _gap(style)))
                parts.append((False, member[1]))
            parts.append((True, _gap(style) + "}"))
            stack.extend(reversed(parts))
        elif isinstance(item, list):
            parts = [(True, "[")]
            for index, element in enumerate(item):
                if index:
                    parts.append((True, _gap(style) + "," + _gap(style)))
                parts.append((False, element))
            parts.append((True, "]"))
            stack.extend(reversed(parts))
        elif isinstance(item, str):
            out.append(_string(item, style))
        elif item is True:
            out.append("true")
        elif item is False:
            out.append("false")
        elif item is None:
            out.append("null")
        else:
            out.append(str(item))
    return "".join(out)


def _gap(style: Style) -> str:
    if style.spread and style.rng.random() < style.spread:
        return style.whitespace
    return ""


def _string(text: str, style: Style) -> str:
    try:
        text.encode("utf-8")
        lone_surrogate = False
    except UnicodeEncodeError:
        lone_surrogate = True  # only an escape can carry one
    if not style.escape:
        return json.dumps(text, ensure_ascii=style.ascii_only or lone_surrogate)
    rng = style.rng
    chars = []
    for char in text:
        if rng.random() < style.escape or (lone_surrogate and 0xD800 <= ord(char) <= 0xDFFF):
            chars.append(f"\\u{ord(char):04x}" if ord(char) <= 0xFFFF else _pair(char))
        else:
            chars.append(json.dumps(char, ensure_ascii=style.ascii_only)[1:-1])
    return '"' + "".join(chars) + '"'


def _pair(char: str) -> str:
    code = ord(char) - 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def encode(text: str) -> bytes:
    """Header text as bytes; a raw surrogate (which only a mutation can put there) stays bytes."""
    return text.encode("utf-8", "surrogatepass")


# --- Keeping the arithmetic consistent ------------------------------------------------------------

FIELDS: Final = ("dtype", "shape", "data_offsets")


def entries(root: JSON) -> list[list[Any]]:
    """The root members that look like tensor entries (objects not named ``__metadata__``)."""
    if not isinstance(root, Obj):
        return []
    return [member for member in root if member[0] != METADATA_KEY and isinstance(member[1], Obj)]


def field_value(entry: Obj, name: str) -> JSON:
    """The last value of a field (the one a reader that keeps the last occurrence sees)."""
    value = None
    for member in entry:
        if member[0] == name:
            value = member[1]
    return value


def entry_size(entry: Obj) -> int | None:
    """The byte size the entry's dtype and shape call for, when both are well-formed."""
    dtype, shape = field_value(entry, "dtype"), field_value(entry, "shape")
    if type(dtype) is not str or dtype not in BITS or type(shape) is not list:
        return None
    if not all(type(dim) is int and dim >= 0 for dim in shape):
        return None
    size = byte_size(dtype, BITS[dtype], shape)
    return size if isinstance(size, int) else None


def offsets_of(entry: Obj) -> tuple[int, int] | None:
    value = field_value(entry, "data_offsets")
    if type(value) is list and len(value) == 2 and all(type(v) is int for v in value) and 0 <= value[0] <= value[1]:
        return value[0], value[1]
    return None


Fill = Callable[[str, int], bytes]


def repair(root: JSON, buffer: bytes, budget: int, fill: Fill) -> bytes | None:
    """Give every well-formed entry the offsets its size calls for, end to end in buffer order,
    keeping the bytes it had where it had them; returns the new buffer (trailing bytes dropped).

    Entries whose size cannot be known keep their offsets and get no bytes. ``None`` (and nothing
    changed) when the sizes add up to more than ``budget`` bytes. ``fill(dtype, count)`` makes the
    bytes of a tensor that grew.
    """
    slots = []
    total = 0
    for position, member in enumerate(entries(root)):
        entry = member[1]
        size = entry_size(entry)
        if size is None or not any(name == "data_offsets" for name, _ in entry):
            continue
        total += size
        old = offsets_of(entry)
        slots.append((old[0] if old else len(buffer), position, entry, size, old))
    if total > budget:
        return None
    slots.sort(key=lambda slot: (slot[0], slot[1]))
    new = bytearray()
    for _, _, entry, size, old in slots:
        chunk = buffer[old[0] : old[1]][:size] if old else b""
        if len(chunk) < size:
            chunk += fill(field_value(entry, "dtype"), size - len(chunk))
        for member in entry:
            if member[0] == "data_offsets":
                member[1] = [len(new), len(new) + size]
        new += chunk
    return bytes(new)
