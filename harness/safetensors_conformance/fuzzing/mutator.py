"""A structure-aware custom mutator for libFuzzer (``atheris.Setup(..., custom_mutator=mutate)``).

Byte flips rarely get past a safetensors reader's first checks: one changed byte in the length
prefix or the JSON ends the read before any tensor entry is looked at. So most calls here decode
the header as JSON, change it as a tree (names with escapes and unicode, ``__metadata__``,
dtypes from the spec's table, shapes, offsets, metadata, duplicates, whitespace, nesting), and
write it back with the length recomputed and, most of the time, the offsets and the buffer made
to agree with the new sizes (:func:`.framing.repair`). A share of the calls, and every input that
does not decode, is mutated as text or bytes instead, so the framing itself is fuzzed too.

Every choice comes from ``random.Random(seed)``, with the seed libFuzzer passes, so a campaign
is reproducible from its ``-seed``; the byte-level fallback is libFuzzer's own mutator when it is
given (``atheris.Mutate``), which draws from the same seeded engine.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from ..format.dtypes import BITS
from ..format.header import METADATA_KEY
from ..format.limits import LENGTH_PREFIX_SIZE, MAX_HEADER_LENGTH, U64_MAX
from .framing import JSON, Obj, Raw, Style, dumps, encode, entries, field_value, frame, parse, repair, split

#: ``(data, max_size) -> bytes``: libFuzzer's byte-level mutator, or :func:`flip_bytes` without it.
ByteMutator = Callable[[bytes, int], bytes]

#: Share of calls mutated as bytes although the input decodes: the framing and the JSON syntax
#: need fuzzing too, and a tree cannot express a broken one.
BYTE_LEVEL_SHARE: Final = 0.1
#: Share of tree mutations written back without repairing the offsets (besides the mutations that
#: break the arithmetic on purpose): the buffer checks must see inconsistent files too.
UNREPAIRED_SHARE: Final = 0.1
#: Share of inputs that do not frame for which a fresh small file is made instead.
FRESH_SHARE: Final = 0.05
#: Bytes kept free for the header to grow when the buffer is sized (a larger header makes the
#: input too long, and the call falls back to the byte-level mutator).
_HEADER_SLACK: Final = 256

INTERESTING_INTS: Final = (
    *range(9),
    15,
    16,
    255,
    256,
    1023,
    1024,
    65535,
    65536,
    2**31 - 1,
    2**31,
    2**32 - 1,
    2**32,
    2**53 - 1,
    2**53,
    2**53 + 1,
    2**63 - 1,
    2**63,
    U64_MAX,
    U64_MAX + 1,
    10**20,
    MAX_HEADER_LENGTH,
    MAX_HEADER_LENGTH + 1,
)
#: Number texts a strict reader must judge: fractions, exponents, signs, leading zeros, overlong.
RAW_NUMBERS: Final = (
    "1.0",
    "0.5",
    "1e2",
    "1E0",
    "2e-0",
    "-0",
    "-0.0",
    "-1",
    "01",
    "2.",
    "+1",
    "0x10",
    "NaN",
    "Infinity",
    "-Infinity",
    "1e400",
    "18446744073709551616",
    "184467440737095516150",
    "9007199254740993",
    "00000000000000000000001",
    "9" * 4301,  # longer than Python converts to an int by default
)
STRINGS: Final = (
    "",
    "x",
    "weight",
    "model.layers.0.self_attn.q_proj.weight",
    METADATA_KEY,
    "__metadata__ ",
    "__METADATA__",
    "_metadata_",
    "dtype",
    "shape",
    "data_offsets",
    "format",
    "pt",
    "\u00e9",
    "e\u0301",
    "\u212b",
    "\u00c5",
    "\U0001f600",
    "\ud800",
    "\udfff",
    "\udc00\ud800",
    "\ud800\udc00",
    "\x00",
    "a\x00b",
    "\t",
    "\n",
    "\x1f",
    "\x7f",
    "\u0085",
    "\u00a0",
    "\u2028",
    "\ufeff",
    "\ufffd",
    "\uffff",
    "../../etc/passwd",
    "a/b\\c",
    "<script>",
    '"',
    "\\",
    "\\u0000",
)
LONG_LENGTHS: Final = (255, 256, 1024, 4096, 20000)
DTYPE_NEAR_MISSES: Final = (
    "F8_E4M3FN",
    "F8",
    "FP8",
    "F32 ",
    " F32",
    "float32",
    "F16\u0000",
    "",
    "U128",
    "I4",
    "F6",
    "C128",
    "Q4_0",
    "BOOLEAN",
    "bool",
    "\u0046\u0033\u0032",
)
FIELD_NAMES: Final = ("Dtype", "DTYPE", "offsets", "data_offset", "dtype ", "extra", "", METADATA_KEY, "shape\u0000")
LEADING: Final = ("", " ", "\t", "\n", "\r", "\r\n", "\ufeff", "\u00a0", "\u2028", "\x0b", "\x0c", "\x1c", "   ")
TRAILING: Final = ("", "\t", "\n", "\r", "\r\n", "\x00", "\u00a0", "\u3000", " x", "}", "]", ",", "{}", " \n ")
GAPS: Final = (" ", "\t", "\n", "\r\n", "  ", "\r")
DEPTHS: Final = (2, 3, 4, 10, 64, 200, 1000, 5000, 20000)
LENGTH_PREFIXES: Final = (0, 1, 7, MAX_HEADER_LENGTH, MAX_HEADER_LENGTH + 1, 2**32, 2**63, U64_MAX)
_DTYPES: Final = tuple(BITS)


class SplitMix(random.Random):
    """``random.Random`` drawing from SplitMix64: seeding the Mersenne Twister anew for every call
    would cost as much as the mutation itself, and libFuzzer's seed must decide every choice."""

    _MASK: Final = (1 << 64) - 1

    def __init__(self, seed: int = 0) -> None:
        self.state = seed & self._MASK
        super().__init__(seed)

    def seed(self, a: object = None, version: int = 2) -> None:
        self.state = (a if isinstance(a, int) else hash(a)) & self._MASK

    def _next(self) -> int:
        self.state = state = (self.state + 0x9E3779B97F4A7C15) & self._MASK
        state = ((state ^ (state >> 30)) * 0xBF58476D1CE4E5B9) & self._MASK
        state = ((state ^ (state >> 27)) * 0x94D049BB133111EB) & self._MASK
        return state ^ (state >> 31)

    def random(self) -> float:
        return (self._next() >> 11) * (1.0 / (1 << 53))

    def getrandbits(self, k: int, /) -> int:
        bits = 0
        for _ in range(0, k, 64):
            bits = (bits << 64) | self._next()
        return bits >> (-k % 64) if k % 64 else bits

    def getstate(self) -> tuple[int]:
        return (self.state,)

    def setstate(self, state: tuple[int]) -> None:  # type: ignore[override]
        self.state = state[0]


@dataclass
class _State:
    """One mutation in progress: the tree, the buffer, and how the input will be written."""

    root: JSON
    buffer: bytes
    rng: random.Random
    max_size: int
    repair: bool
    style: Style
    #: Bytes the header had before: the buffer is sized to leave room for about as many.
    header_size: int = 0
    leading: str = ""
    trailing: str = ""
    align: bool = True
    length: Callable[[int], int] | None = None
    cut: int = 0


def mutate(data: bytes, max_size: int, seed: int, byte_mutate: ByteMutator | None = None) -> bytes:
    """One mutation of ``data`` of at most ``max_size`` bytes, decided by ``seed``."""
    rng = SplitMix(seed)
    by_bytes = byte_mutate or _flipper(rng)
    if rng.random() < BYTE_LEVEL_SHARE:
        return by_bytes(data, max_size)
    framed = parse(data)
    if framed is None:
        if rng.random() < FRESH_SHARE:
            made = _fresh(rng, max_size)
            if made is not None:
                return made
        return _mutate_text(data, max_size, rng, by_bytes)
    header_size = len(data) - len(framed.buffer) - LENGTH_PREFIX_SIZE
    state = _State(
        framed.root, framed.buffer, rng, max_size, rng.random() >= UNREPAIRED_SHARE, Style(rng=rng), header_size
    )
    for _ in range(_count(rng)):
        operator = rng.choices(_OPERATORS, _WEIGHTS)[0]
        operator(state)
    result = _write(state)
    return result if result is not None and len(result) <= max_size else by_bytes(data, max_size)


def crossover(first: bytes, second: bytes, max_size: int, seed: int) -> bytes:
    """libFuzzer's custom crossover: tensor entries (with their bytes) of ``second`` join
    ``first``; inputs that do not decode are spliced as bytes."""
    rng = SplitMix(seed)
    one, two = parse(first), parse(second)
    if one is None or two is None or not isinstance(one.root, Obj) or not isinstance(two.root, Obj) or not two.root:
        cut_one, cut_two = rng.randint(0, len(first)), rng.randint(0, len(second))
        return (first[:cut_one] + second[cut_two:])[:max_size]
    buffer = bytearray(one.buffer)
    for member in rng.sample(list(two.root), min(len(two.root), rng.randint(1, 3))):
        member = copy.deepcopy(member)
        if isinstance(member[1], Obj):
            value = field_value(member[1], "data_offsets")
            if type(value) is list and len(value) == 2 and all(type(v) is int for v in value) and value[0] <= value[1]:
                chunk = two.buffer[value[0] : value[1]]
                for item in member[1]:
                    if item[0] == "data_offsets":
                        item[1] = [len(buffer), len(buffer) + len(chunk)]
                buffer += chunk
        if any(existing[0] == member[0] for existing in one.root) and rng.random() < 0.5:
            member[0] = f"{member[0]}.{rng.randrange(1000)}"
        one.root.insert(rng.randint(0, len(one.root)), member)
    state = _State(one.root, bytes(buffer), rng, max_size, True, Style(rng=rng), len(first) - len(one.buffer))
    result = _write(state)
    return result if result is not None and len(result) <= max_size else first[:max_size]


def _count(rng: random.Random) -> int:
    """How many operators one call applies: mostly one, sometimes a few."""
    count = 1
    while count < 6 and rng.random() < 0.35:
        count += 1
    return count


def _write(state: _State) -> bytes | None:
    if state.repair:
        room = state.max_size - LENGTH_PREFIX_SIZE - state.header_size - _HEADER_SLACK
        fixed = repair(state.root, state.buffer, room, _filler(state.rng))
        if fixed is not None:
            state.buffer = fixed
    header = encode(state.leading + dumps(state.root, state.style) + state.trailing)
    if len(header) + LENGTH_PREFIX_SIZE > state.max_size:
        return None
    out = frame(header, state.buffer, align=state.align)
    if state.length is not None:
        declared = max(0, min(U64_MAX, state.length(int.from_bytes(out[:LENGTH_PREFIX_SIZE], "little"))))
        out = declared.to_bytes(LENGTH_PREFIX_SIZE, "little") + out[LENGTH_PREFIX_SIZE:]
    if state.cut:
        out = out[: max(0, len(out) - state.cut)]
    return out


def _filler(rng: random.Random) -> Callable[[str, int], bytes]:
    def fill(dtype: str, count: int) -> bytes:
        if dtype == "BOOL":
            return bytes(b & 1 for b in rng.randbytes(min(count, 64))) + bytes(max(0, count - 64))
        if count <= 64:
            return rng.randbytes(count)
        return (rng.randbytes(64) * (count // 64 + 1))[:count]

    return fill


def _flipper(rng: random.Random) -> ByteMutator:
    """A byte-level mutator for when libFuzzer's is not there (tests, triage): flip, insert,
    delete or copy a few bytes."""

    def flip(data: bytes, max_size: int) -> bytes:
        out = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            choice = rng.randrange(4)
            position = rng.randint(0, len(out))
            if choice == 0 and out:
                position = min(position, len(out) - 1)
                out[position] ^= 1 << rng.randrange(8)
            elif choice == 1:
                out[position:position] = bytes([rng.choice((0, 0x20, 0x22, 0x5B, 0x7B, 0xFF, rng.randrange(256)))])
            elif choice == 2 and out:
                del out[position : position + rng.randint(1, 8)]
            elif out:
                start = rng.randrange(len(out))
                out[position:position] = out[start : start + rng.randint(1, 16)]
        return bytes(out[:max_size])

    return flip


def _mutate_text(data: bytes, max_size: int, rng: random.Random, by_bytes: ByteMutator) -> bytes:
    """An input whose header is not JSON: change the header as text, then frame it again; one
    that does not even frame is left to the byte-level mutator."""
    parts = split(data)
    if parts is None:
        return by_bytes(data, max_size)
    header, buffer = parts
    room = max_size - LENGTH_PREFIX_SIZE - len(buffer)
    if room <= 0:
        return by_bytes(data, max_size)
    choice = rng.randrange(4)
    position = rng.randint(0, len(header))
    if choice == 0:
        token = encode(rng.choice(_TOKENS))
        header = header[:position] + token + header[position:]
    elif choice == 1:
        header = header[:position] + header[position + rng.randint(1, 16) :]
    elif choice == 2:
        token = encode(rng.choice(_TOKENS))
        header = header[:position] + token + header[position + len(token) :]
    else:
        header = by_bytes(header, room)
    return frame(header[:room], buffer, align=rng.random() < 0.8)[:max_size]


def _fresh(rng: random.Random, max_size: int) -> bytes | None:
    """A small file made from nothing: a few tensors of small shapes, sometimes metadata."""
    root = Obj()
    if rng.random() < 0.3:
        root.append([METADATA_KEY, Obj([["format", "pt"]])])
    for index in range(rng.randint(0, 3)):
        root.append([f"t{index}", _new_entry(rng)])
    state = _State(root, b"", rng, max_size, True, Style(rng=rng))
    return _write(state)


def _new_entry(rng: random.Random) -> Obj:
    shape = [rng.randint(0, 4) for _ in range(rng.randint(0, 3))]
    return Obj([["dtype", rng.choice(_DTYPES)], ["shape", shape], ["data_offsets", [0, 0]]])


# --- Values -----------------------------------------------------------------------------------


def _string(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.05:
        return rng.choice("ab\u00e9\U0001f600") * rng.choice(LONG_LENGTHS)
    if roll < 0.15:
        return "".join(rng.choice(STRINGS) for _ in range(rng.randint(2, 3)))
    return rng.choice(STRINGS)


def _name(rng: random.Random, taken: list[str]) -> str:
    roll = rng.random()
    if taken and roll < 0.15:
        return rng.choice(taken)  # a duplicate name
    if taken and roll < 0.3:
        base = rng.choice(taken)
        return rng.choice((base + rng.choice(STRINGS), base.upper(), base[:-1], base + " ", "\ufeff" + base))
    if roll < 0.45:
        return f"t{rng.randrange(100)}"
    return _string(rng)


def _number(rng: random.Random) -> JSON:
    roll = rng.random()
    if roll < 0.6:
        return rng.randint(0, 8)
    if roll < 0.85:
        return rng.choice(INTERESTING_INTS)
    if roll < 0.9:
        return -rng.choice((1, 2, 2**63))
    return Raw(rng.choice(RAW_NUMBERS))


def _value(rng: random.Random, depth: int = 0) -> JSON:
    """Any JSON value, mostly small: what metadata values and ignored fields hold."""
    roll = rng.random()
    if roll < 0.4:
        return _string(rng)
    if roll < 0.55:
        return _number(rng)
    if roll < 0.65:
        return rng.choice((True, False, None))
    if roll < 0.75:
        return _deep(rng)
    if depth > 3:
        return []
    if roll < 0.87:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return Obj([[_string(rng), _value(rng, depth + 1)] for _ in range(rng.randint(0, 3))])


def _deep(rng: random.Random) -> Raw:
    """Nesting deeper than any conforming header, written as text so that no stack is used."""
    depth = rng.choice(DEPTHS)
    if rng.random() < 0.5:
        return Raw("[" * depth + rng.choice(("", "1", '"\\ud800"', "1.5")) + "]" * depth)
    return Raw('{"a":' * depth + rng.choice(("1", "[]", '"x"', '"\\udc00"')) + "}" * depth)


def _dtype(rng: random.Random) -> JSON:
    roll = rng.random()
    if roll < 0.75:
        return rng.choice(_DTYPES)
    if roll < 0.85:
        name = rng.choice(_DTYPES)
        return rng.choice((name.lower(), name.title(), name + "\u0000", name.replace("_", "")))
    if roll < 0.95:
        return rng.choice(DTYPE_NEAR_MISSES)
    return rng.choice((0, 32, None, True, [], Obj(), Raw("1.0"), ["F32"]))


# --- Operators --------------------------------------------------------------------------------


def _entry(state: _State) -> Obj | None:
    """A tensor entry to change; a new one when the header has none."""
    found = entries(state.root)
    if found:
        return found[state.rng.randrange(len(found))][1]  # type: ignore[no-any-return]
    if isinstance(state.root, Obj):
        entry = _new_entry(state.rng)
        state.root.append([f"t{state.rng.randrange(100)}", entry])
        return entry
    return None


def _field(entry: Obj, name: str, value: JSON) -> None:
    """Set the last occurrence of a field (or add it)."""
    for member in reversed(entry):
        if member[0] == name:
            member[1] = value
            return
    entry.append([name, value])


def rename(state: _State) -> None:
    """A member's name: duplicates, escapes, unicode, control characters, ``__metadata__``."""
    if not isinstance(state.root, Obj) or not state.root:
        return
    member = state.root[state.rng.randrange(len(state.root))]
    member[0] = _name(state.rng, [m[0] for m in state.root])


def dtype(state: _State) -> None:
    """A dtype from the table (the sizes follow), a near miss, or not a string."""
    entry = _entry(state)
    if entry is not None:
        _field(entry, "dtype", _dtype(state.rng))


def shape(state: _State) -> None:
    """Dimensions added, dropped or changed to values near the limits, or not numbers."""
    entry = _entry(state)
    if entry is None:
        return
    rng = state.rng
    value = field_value(entry, "shape")
    dims = list(value) if type(value) is list else []
    choice = rng.randrange(7)
    if choice == 0:
        dims.insert(rng.randint(0, len(dims)), rng.randint(0, 8) if rng.random() < 0.7 else _number(rng))
    elif choice == 1 and dims:
        dims.pop(rng.randrange(len(dims)))
    elif choice in (2, 3) and dims:
        dims[rng.randrange(len(dims))] = _number(rng)
    elif choice == 4:
        dims = rng.choice(([], [0], [1], [2**32, 2**32], [U64_MAX], [2**63, 2], [3] * 64))
    elif choice == 5 and dims:
        dims[rng.randrange(len(dims))] = rng.choice((True, None, "2", [2], Obj(), Raw("2.0"), -1))
    else:
        _field(entry, "shape", rng.choice((None, "2", 2, Obj(), Raw("[2]"), [[2]])))
        return
    _field(entry, "shape", dims)


def offsets(state: _State) -> None:
    """data_offsets broken on purpose: swapped, off by one, aliasing another tensor, past the
    end, the wrong length, not numbers. The arithmetic is left as it is."""
    entry = _entry(state)
    if entry is None:
        return
    state.repair = False
    rng = state.rng
    value = field_value(entry, "data_offsets")
    pair = list(value) if type(value) is list else [0, 0]
    begin = pair[0] if pair and type(pair[0]) is int else 0
    end = pair[1] if len(pair) > 1 and type(pair[1]) is int else begin
    others = [m[1] for m in entries(state.root) if m[1] is not entry]
    choice = rng.randrange(9)
    if choice == 0:
        new: JSON = [end, begin]
    elif choice == 1:
        new = [begin, end + rng.choice((-1, 1, 8))]
    elif choice == 2:
        new = [begin + rng.choice((-1, 1)), end]
    elif choice == 3 and others:
        other = field_value(rng.choice(others), "data_offsets")
        new = copy.deepcopy(other)  # aliasing or overlapping another tensor
    elif choice == 4:
        shift = rng.choice((1, 8, len(state.buffer) or 1))
        new = [begin + shift, end + shift]
    elif choice == 5:
        new = [begin, len(state.buffer) + rng.choice((0, 1, 2**32))]
    elif choice == 6:
        new = rng.choice(([begin], [begin, end, end], [], [begin, [end]]))
    elif choice == 7:
        new = [begin, end]
        new[rng.randrange(2)] = _number(rng)
    else:
        new = rng.choice((None, "0,1", Obj([["0", begin]]), begin))
    _field(entry, "data_offsets", new)


def metadata(state: _State) -> None:
    """__metadata__ added, removed, null, not an object, with non-string values, duplicate keys,
    repeated, or moved."""
    if not isinstance(state.root, Obj):
        return
    rng = state.rng
    members = state.root
    found = next((m for m in members if m[0] == METADATA_KEY), None)
    if found is None:
        found = [METADATA_KEY, Obj([["format", "pt"]])]
        members.insert(0 if rng.random() < 0.7 else len(members), found)
    value = found[1]
    choice = rng.randrange(9)
    if not isinstance(value, Obj) or choice == 0:
        found[1] = rng.choice((None, [], "pt", 1, True, Obj(), Obj([["format", "pt"]])))
    elif choice in (1, 2):
        value.append([_string(rng), _string(rng)])
    elif choice == 3:
        value.append([_string(rng), _value(rng)])
    elif choice == 4 and value:
        value.append([rng.choice(value)[0], _string(rng)])  # a duplicate key
    elif choice == 5:
        members.remove(found)
    elif choice == 6:
        members.insert(rng.randint(0, len(members)), copy.deepcopy(found))  # __metadata__ twice
    elif choice == 7:
        members.remove(found)
        members.append(found)
    else:
        value.extend([f"k{i}", "v" * rng.randint(0, 3)] for i in range(rng.choice((8, 50))))


def fields(state: _State) -> None:
    """Unknown fields, repeated fields, missing fields, fields in another order."""
    entry = _entry(state)
    if entry is None:
        return
    rng = state.rng
    choice = rng.randrange(5)
    if choice == 0:
        name = rng.choice(FIELD_NAMES) if rng.random() < 0.6 else _string(rng)
        entry.insert(rng.randint(0, len(entry)), [name, _value(rng)])
    elif choice == 1 and entry:
        original = rng.choice(list(entry))
        twin = [original[0], copy.deepcopy(original[1]) if rng.random() < 0.5 else _value(rng)]
        entry.insert(rng.randint(0, len(entry)), twin)
    elif choice == 2 and entry:
        entry.pop(rng.randrange(len(entry)))
    elif choice == 3:
        rng.shuffle(entry)
    elif entry:
        member = rng.choice(list(entry))
        member[0] = rng.choice((member[0].upper(), member[0] + " ", member[0][:-1], rng.choice(FIELD_NAMES)))


def entry_kind(state: _State) -> None:
    """A tensor entry that is not an object."""
    found = entries(state.root)
    if found:
        member = state.rng.choice(found)
        member[1] = state.rng.choice(([], [member[1][0][1]] if member[1] else [], "F32", 1, None, True, Raw("1.5")))


def tensors(state: _State) -> None:
    """Tensors added, removed, repeated under the same name or aliased under another, reordered."""
    if not isinstance(state.root, Obj):
        return
    rng = state.rng
    members = state.root
    choice = rng.randrange(6)
    taken = [m[0] for m in members]
    if choice in (0, 1) or not members:
        members.insert(rng.randint(0, len(members)), [_name(rng, taken), _new_entry(rng)])
    elif choice == 2:
        members.pop(rng.randrange(len(members)))
    elif choice == 3:
        original = rng.choice(members)
        twin = copy.deepcopy(original)
        if rng.random() < 0.5:
            twin[0] = _name(rng, taken)
            state.repair = state.repair and rng.random() < 0.5  # unrepaired, the two alias one range
        members.insert(rng.randint(0, len(members)), twin)
    elif choice == 4:
        rng.shuffle(members)
    else:
        for index in range(rng.choice((10, 100))):
            members.append([f"n{index}", Obj([["dtype", "U8"], ["shape", [1]], ["data_offsets", [0, 1]]])])


def root(state: _State) -> None:
    """A header that is not an object, or an object with nothing in it."""
    rng = state.rng
    state.root = rng.choice(
        (
            [state.root],
            [],
            "x",
            0,
            None,
            True,
            Obj(),
            Obj([[METADATA_KEY, Obj()]]),
            _deep(rng),
            Raw(dumps(state.root) + dumps(state.root)),
        )
    )


def nesting(state: _State) -> None:
    """Deep nesting where a reader must still parse it: metadata, an ignored field, a dimension."""
    entry = _entry(state)
    if entry is None:
        return
    if state.rng.random() < 0.7:
        entry.append([state.rng.choice(("extra", "dtype", "shape")), _deep(state.rng)])
    else:
        _field(entry, "shape", [_deep(state.rng)])


def whitespace(state: _State) -> None:
    """Whitespace before the value, after it (in the padding) and between tokens."""
    rng = state.rng
    choice = rng.randrange(3)
    if choice == 0:
        state.leading = rng.choice(LEADING)
    elif choice == 1:
        state.trailing = rng.choice(TRAILING)
    else:
        state.style.whitespace = rng.choice(GAPS)
        state.style.spread = rng.choice((0.05, 0.3, 1.0))


def escapes(state: _State) -> None:
    """Names and strings written with ``\\u`` escapes, or as ASCII only."""
    state.style.escape = state.rng.choice((0.0, 0.05, 0.3, 1.0))
    state.style.ascii_only = state.rng.random() < 0.5


def numbers(state: _State) -> None:
    """A dimension or an offset written in a form that is not an unsigned integer."""
    entry = _entry(state)
    if entry is None:
        return
    rng = state.rng
    name = rng.choice(("shape", "data_offsets"))
    value = field_value(entry, name)
    if type(value) is not list or not value or type(value[-1]) is not int:
        return
    index = rng.randrange(len(value))
    number = value[index]
    if type(number) is not int:
        return
    value[index] = Raw(
        rng.choice((f"{number}.0", f"{number}e0", f"0{number}", f"{number}E+00", f"-{number}", f"{float(number)!r}"))
    )
    if name == "data_offsets":
        state.repair = False


def buffer(state: _State) -> None:
    """Tensor bytes changed (BOOL bytes other than 0 and 1 among them), or bytes added or
    removed at the end."""
    rng = state.rng
    data = bytearray(state.buffer)
    choice = rng.randrange(4)
    if choice == 0 and data:
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.choice((2, 0x80, 0xFF, rng.randrange(256)))
    elif choice == 1:
        data += bytes(rng.choice((1, 7, 8, 64)))
        state.repair = False
    elif choice == 2 and data:
        del data[-rng.randint(1, min(len(data), 8)) :]
        state.repair = False
    else:
        data += rng.randbytes(rng.randint(1, 16))
        state.repair = False
    state.buffer = bytes(data)


def framing(state: _State) -> None:
    """The length prefix off by a little or a lot, the header unpadded, the file cut short."""
    rng = state.rng
    choice = rng.randrange(4)
    if choice == 0:
        delta = rng.choice((-8, -1, 1, 8, 2**32))
        state.length = lambda length: length + delta
    elif choice == 1:
        value = rng.choice(LENGTH_PREFIXES)
        state.length = lambda _: value
    elif choice == 2:
        state.align = False
    else:
        state.cut = rng.choice((1, 8, 100))


_OPERATORS: Final = (
    rename,
    dtype,
    shape,
    offsets,
    metadata,
    fields,
    entry_kind,
    tensors,
    root,
    nesting,
    whitespace,
    escapes,
    numbers,
    buffer,
    framing,
)
_WEIGHTS: Final = (8, 10, 12, 6, 8, 8, 2, 8, 1, 2, 4, 4, 4, 5, 2)

#: Tokens the text mutation inserts into a header that is not JSON (the dictionary's, roughly).
_TOKENS: Final = (
    '"dtype"',
    '"shape"',
    '"data_offsets"',
    f'"{METADATA_KEY}"',
    *(f'"{name}"' for name in _DTYPES),
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    '"',
    "\\",
    "\\u0000",
    "\\ud800",
    "\\udc00",
    "\\",
    " ",
    "\t",
    "\n",
    "\x00",
    "\ufeff",
    "null",
    "true",
    "false",
    "-0",
    "1.0",
    "1e2",
    "18446744073709551615",
    "18446744073709551616",
    "9007199254740993",
    "[0,0]",
    "[1]",
    '{"dtype":"U8","shape":[1],"data_offsets":[0,1]}',
)

__all__ = ["BYTE_LEVEL_SHARE", "ByteMutator", "crossover", "mutate"]
