"""Building blocks for vector definitions: drafts, byte-level file builders, expected content.

A group module (``corpus/groups/*.py``) yields :class:`Draft` objects. Valid content comes from
the reference writer; malformed content is put together byte by byte here, so that every vector
is a deliberate, minimal change to a conforming file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..format.dtypes import DTYPES
from ..format.reader import Tensor
from ..format.writer import canonical_order, serialize
from .model import Expected, ExpectedTensor

SPEC_RANGE = ">=1.0.0"
#: Requirements and flags added after 1.0.0: a vector citing one holds from that version on.
INTRODUCED = {"SIZE-PACKED-ROWS": "1.1.0", "DATA-BOOL": "1.1.0", "packed-rows": "1.1.0", "bool-values": "1.1.0"}


def spec_range(requirements: Sequence[str], flags: Sequence[str]) -> str:
    """The spec versions whose rules give a vector its expected outcome."""
    since = max((INTRODUCED[name] for name in (*requirements, *flags) if name in INTRODUCED), default=None)
    return SPEC_RANGE if since is None else f">={since}"


#: The phase in which a reader meets each requirement's violation (manifest field ``phase``).
_VALIDATION = ("OFFSETS-ORDER", "SIZE-", "BUFFER-")


def phase_of(expect: str, requirements: Sequence[str]) -> str:
    if expect != "invalid":
        return "data"
    return "validation" if requirements[0].startswith(_VALIDATION) else "header"


@dataclass(frozen=True, slots=True)
class Draft:
    """A vector as a group defines it, before it gets its hash and place in the manifest."""

    name: str
    description: str
    expect: str
    requirements: tuple[str, ...]
    content: bytes | None = None
    synth: tuple[str, dict[str, Any]] | None = None
    flags: tuple[str, ...] = ()
    expected: Expected | None = None
    source: str = "generator"
    #: The spec range, when the vector's outcome was decided by a later version than its rules
    #: (e.g. the primary requirement under 1.1.0's precedence); default: from its requirements.
    spec: str | None = None
    #: The manifest's provenance, when the draft brings its own (a fuzz finding's campaign);
    #: default: the source and the group module that defines it.
    provenance: dict[str, Any] | None = None


# --- Byte-level builders ----------------------------------------------------------------------------


def frame(header: str | bytes, data: bytes = b"", *, pad: bool = True, length: int | None = None) -> bytes:
    """A file: the length prefix, the header (space-padded to a multiple of 8 unless ``pad`` is
    false), then ``data``. ``length`` overrides the declared header length."""
    text = header.encode("utf-8") if isinstance(header, str) else header
    if pad:
        text += b" " * (-len(text) % 8)
    return (len(text) if length is None else length).to_bytes(8, "little") + text + data


def entry(dtype: str = "U8", shape: str | Sequence[int] = (2,), offsets: str | Sequence[int] = (0, 2)) -> str:
    """The JSON text of a tensor entry; ``shape`` and ``offsets`` may be given as raw JSON text."""
    shape_text = shape if isinstance(shape, str) else json.dumps(list(shape), separators=(",", ":"))
    offsets_text = offsets if isinstance(offsets, str) else json.dumps(list(offsets), separators=(",", ":"))
    return f'{{"dtype":{json.dumps(dtype)},"shape":{shape_text},"data_offsets":{offsets_text}}}'


def obj(*members: tuple[str, str]) -> str:
    """A JSON object from (name, raw value text) members; names are JSON-encoded, duplicates kept."""
    return "{" + ",".join(f"{json.dumps(name, ensure_ascii=False)}:{value}" for name, value in members) + "}"


def pattern(count: int, seed: int = 1) -> bytes:
    """Deterministic, non-repeating-looking bytes, so that a reader returning the wrong range shows."""
    return bytes((seed * 37 + i * 101 + (i >> 8) * 7) & 0xFF for i in range(count))


def tensor(dtype: str, shape: Sequence[int], seed: int = 1) -> Tensor:
    """A tensor of the given dtype and shape whose bytes are :func:`pattern`; for ``BOOL``, the
    pattern's low bits, since any other byte breaks DATA-BOOL (the ``values-bool-*`` vectors of
    the dtypes group hold those on purpose)."""
    count = 1
    for dim in shape:
        count *= dim
    data = pattern(count * DTYPES[dtype].bits // 8, seed)
    if dtype == "BOOL":
        data = bytes(byte & 1 for byte in data)
    return Tensor(dtype, tuple(shape), data)


def expected_of(tensors: Iterable[tuple[str, Tensor]], metadata: dict[str, str] | None) -> Expected:
    """Expected content of a file holding ``tensors`` (in buffer order) and ``metadata``."""
    return Expected(tuple(ExpectedTensor.of(name, t.dtype, t.shape, t.data) for name, t in tensors), metadata)


def canonical(tensors: dict[str, Tensor], metadata: dict[str, str] | None = None) -> tuple[bytes, str, bytes]:
    """The reference writer's file for ``tensors``: (file, header JSON without padding, buffer)."""
    content = serialize(tensors, metadata)
    length = int.from_bytes(content[:8], "little")
    return content, content[8 : 8 + length].decode("utf-8").rstrip(" "), content[8 + length :]


def _laid_out(tensors: dict[str, Tensor], metadata: dict[str, str] | None, order: Sequence[str] | None) -> Expected:
    """Expected content of ``tensors`` in buffer ``order`` (default: the canonical writer's)."""
    ordered = [(n, tensors[n]) for n in order] if order is not None else canonical_order(tensors.items())
    return expected_of(ordered, metadata)


# --- Drafts -----------------------------------------------------------------------------------------


def valid(
    name: str,
    description: str,
    requirements: Sequence[str],
    tensors: dict[str, Tensor],
    metadata: dict[str, str] | None = None,
    *,
    content: bytes | None = None,
    order: Sequence[str] | None = None,
) -> Draft:
    """A conforming file: the canonical one for ``tensors``, or ``content`` laid out in ``order``."""
    file = content if content is not None else canonical(tensors, metadata)[0]
    return Draft(name, description, "valid", tuple(requirements), file, expected=_laid_out(tensors, metadata, order))


def invalid(name: str, description: str, requirement: str, content: bytes) -> Draft:
    """A file that breaks exactly ``requirement``."""
    return Draft(name, description, "invalid", (requirement,), content)


def acceptable(
    name: str,
    description: str,
    requirement: str,
    flag: str,
    content: bytes,
    tensors: dict[str, Tensor],
    *,
    metadata: dict[str, str] | None = None,
    order: Sequence[str] | None = None,
) -> Draft:
    """A file whose reader outcome is implementation-defined (``flag``); accepting it means
    returning exactly ``tensors`` and ``metadata``."""
    expected = _laid_out(tensors, metadata, order)
    return Draft(name, description, "acceptable", (requirement,), content, flags=(flag,), expected=expected)
