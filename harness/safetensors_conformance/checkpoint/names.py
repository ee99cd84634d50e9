"""Names in a checkpoint directory: index files, shard sets, and the checks on shard references.

Everything here looks at strings only; nothing touches the file system. The command line imports
this module to decide whether a directory holds a checkpoint, so it stays small.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final, NamedTuple

#: What names an index file (spec section 2).
INDEX_SUFFIX: Final = ".safetensors.index.json"
#: What every shard reference ends with (CKPT-SHARD-NAME), exactly, in lower case.
SHARD_SUFFIX: Final = ".safetensors"

#: A member of a shard set (spec section 7): PREFIX-IIIII-of-NNNNN.safetensors, at least five
#: ASCII digits each (``\d`` would also match other scripts' digits).
_SET_MEMBER: Final = re.compile(r"(?P<prefix>.+)-(?P<number>[0-9]{5,})-of-(?P<total>[0-9]{5,})\.safetensors", re.DOTALL)

#: CKPT-SHARD-NAME: printable ASCII, and none of the separators of any platform.
_PRINTABLE_ASCII: Final = re.compile(r"[\x20-\x7e]*")
_SEPARATORS: Final = "/\\:"
#: CKPT-SHARD-NAME: device names Windows reserves in every directory, with any extension.
_DEVICES: Final = frozenset(
    {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}
)
#: CKPT-SHARD-PORTABLE: the POSIX portable file name character set, not starting with '.' or '-'.
_PORTABLE: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")
#: CKPT-SHARD-PORTABLE: the longest file name of the common file systems, in bytes.
MAX_NAME_BYTES: Final = 255


class SetMember(NamedTuple):
    """A shard set member's name, split: ``PREFIX-NUMBER-of-TOTAL.safetensors``."""

    prefix: str
    number: int
    total: int


def is_index_name(name: str) -> bool:
    return name.endswith(INDEX_SUFFIX) and len(name) > len(INDEX_SUFFIX)


def set_member(name: str) -> SetMember | None:
    """The parts of a shard set member's name; ``None`` for any other name."""
    match = _SET_MEMBER.fullmatch(name)
    if match is None:
        return None
    return SetMember(match["prefix"], int(match["number"]), int(match["total"]))


def set_member_name(prefix: str, number: int, total: int) -> str:
    """The name a writer gives shard ``number`` of ``total`` (CKPT-WRITER-NAMES)."""
    return f"{prefix}-{number:05d}-of-{total:05d}{SHARD_SUFFIX}"


def holds_checkpoint(names: Iterable[str]) -> bool:
    """True when a directory with these entries holds a sharded checkpoint: an index file, or a
    member of a shard set."""
    return any(is_index_name(name) or set_member(name) is not None for name in names)


def is_stray_candidate(name: str) -> bool:
    """CKPT-NO-STRAY: names that listing functions match with ``*.safetensors``, in any case."""
    return name.lower().endswith(SHARD_SUFFIX)


def name_problem(reference: str) -> str | None:
    """CKPT-SHARD-NAME: why a shard reference is not a plain file name, or ``None``."""
    if not _PRINTABLE_ASCII.fullmatch(reference):
        bad = next(c for c in reference if not "\x20" <= c <= "\x7e")
        return f"holds U+{ord(bad):04X}, which is not printable ASCII"
    separator = next((c for c in reference if c in _SEPARATORS), None)
    if separator is not None:
        return f"holds {separator!r}, a path separator on some platform"
    if not reference.endswith(SHARD_SUFFIX):
        return f"does not end with {SHARD_SUFFIX!r}"
    # Windows ignores trailing spaces when it matches a device name ("CON .safetensors").
    stem = reference.split(".", 1)[0].rstrip(" ").upper()
    if stem in _DEVICES:
        return f"names the Windows device {stem}"
    return None


def portability_problem(reference: str) -> str | None:
    """CKPT-SHARD-PORTABLE: why a shard reference is not a portable name, or ``None``."""
    if len(reference.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        return f"is longer than {MAX_NAME_BYTES} bytes"
    if reference[:1] in (".", "-"):
        return f"begins with {reference[0]!r}"
    if not _PORTABLE.fullmatch(reference):
        bad = next(c for c in reference if not (c.isascii() and (c.isalnum() or c in "._-")))
        return f"holds {bad!r}, which is not in the portable file name character set"
    return None


def caseless(name: str) -> str:
    """The key under which CKPT-NAMES-CASE compares names: the canonical caseless match of Unicode
    (section 3.13), NFD(casefold(NFD(name)))."""
    if name.isascii():
        return name.lower()
    import unicodedata  # noqa: PLC0415 - only non-ASCII entries need it

    return unicodedata.normalize("NFD", unicodedata.normalize("NFD", name).casefold())
