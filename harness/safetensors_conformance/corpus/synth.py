"""Recipes for vectors too large to commit, materialised on demand into a cache.

A recipe writes its file in chunks and says what a reader must return for it, so neither a
100,000,000-byte header nor a million-tensor listing has to sit in the repository or the manifest
(which keeps only hashes of both).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .model import Expected, ExpectedTensor

#: Written in pieces of this size, so materialising never holds a large file in memory.
_CHUNK = 1 << 20


def _spaces(count: int) -> Iterator[bytes]:
    while count > 0:
        step = min(count, _CHUNK)
        yield b" " * step
        count -= step


def _padded_header(params: dict[str, Any]) -> Iterator[bytes]:
    """A short JSON header padded with spaces to ``length`` bytes, then ``data`` (hex)."""
    text = params["json"].encode("utf-8")
    yield params["length"].to_bytes(8, "little") + text
    yield from _spaces(params["length"] - len(text))
    yield bytes.fromhex(params["data"])


def _padded_header_expected(params: dict[str, Any]) -> Expected:
    data = bytes.fromhex(params["data"])
    header = json.loads(params["json"])
    tensors = []
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        tensors.append(ExpectedTensor.of(name, entry["dtype"], tuple(entry["shape"]), data[begin:end]))
    return Expected(tuple(tensors), None)


def _many_tensors_header(params: dict[str, Any]) -> bytes:
    count = params["count"]
    parts = [f'"t{i:07d}":{{"dtype":"U8","shape":[1],"data_offsets":[{i},{i + 1}]}}' for i in range(count)]
    text = ("{" + ",".join(parts) + "}").encode()
    return text + b" " * (-len(text) % 8)


def _many_tensors(params: dict[str, Any]) -> Iterator[bytes]:
    """``count`` one-byte U8 tensors named t0000000, t0000001, ... holding bytes i mod 251."""
    header = _many_tensors_header(params)
    yield len(header).to_bytes(8, "little")
    yield header
    yield bytes(i % 251 for i in range(params["count"]))


def _many_tensors_expected(params: dict[str, Any]) -> Expected:
    # 251 distinct one-byte tensors: hash each byte value once, not once per tensor.
    hashes = [hashlib.sha256(bytes([value])).hexdigest() for value in range(251)]
    return Expected(
        tuple(ExpectedTensor(f"t{i:07d}", "U8", (1,), 1, hashes[i % 251]) for i in range(params["count"])), None
    )


def _long_name(params: dict[str, Any]) -> Iterator[bytes]:
    """One U8 tensor whose name is ``length`` characters (a repeating alphabet)."""
    name = _long_name_text(params["length"])
    text = json.dumps({name: {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]}}, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    yield len(text).to_bytes(8, "little") + text + b"\x01\x02"


def _long_name_text(length: int) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789._"
    return "".join(alphabet[i % len(alphabet)] for i in range(length))


def _long_name_expected(params: dict[str, Any]) -> Expected:
    return Expected((ExpectedTensor.of(_long_name_text(params["length"]), "U8", (2,), b"\x01\x02"),), None)


def _large_metadata(params: dict[str, Any]) -> Iterator[bytes]:
    """A metadata value of ``length`` characters and one U8 tensor."""
    prefix = b'{"__metadata__":{"blob":"'
    suffix = b'"},"w":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}'
    total = len(prefix) + params["length"] + len(suffix)
    padding = -total % 8
    yield (total + padding).to_bytes(8, "little") + prefix
    remaining = params["length"]
    while remaining:
        step = min(remaining, _CHUNK)
        yield b"x" * step
        remaining -= step
    yield suffix + b" " * padding + b"\x01\x02"


def _large_metadata_expected(params: dict[str, Any]) -> Expected:
    return Expected((ExpectedTensor.of("w", "U8", (2,), b"\x01\x02"),), {"blob": "x" * params["length"]})


def _deep_metadata(params: dict[str, Any]) -> Iterator[bytes]:
    """A metadata value that is an array nested ``depth`` deep (not a string)."""
    depth = params["depth"]
    text = (
        b'{"__metadata__":{"k":'
        + b"[" * depth
        + b"]" * depth
        + b'},"w":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}'
    )
    text += b" " * (-len(text) % 8)
    yield len(text).to_bytes(8, "little") + text + b"\x01\x02"


Recipe = Callable[[dict[str, Any]], Iterator[bytes]]
RECIPES: dict[str, tuple[Recipe, Callable[[dict[str, Any]], Expected] | None]] = {
    "padded-header": (_padded_header, _padded_header_expected),
    "many-tensors": (_many_tensors, _many_tensors_expected),
    "long-name": (_long_name, _long_name_expected),
    "large-metadata": (_large_metadata, _large_metadata_expected),
    "deep-metadata": (_deep_metadata, None),
}


def chunks(recipe: str, params: dict[str, Any]) -> Iterator[bytes]:
    """The file a recipe makes, in pieces."""
    if recipe not in RECIPES:
        raise KeyError(f"unknown recipe {recipe!r}; known: {', '.join(sorted(RECIPES))}")
    return RECIPES[recipe][0](params)


def expected(recipe: str, params: dict[str, Any]) -> Expected | None:
    """What a reader that accepts the recipe's file must return (``None`` for invalid vectors)."""
    make = RECIPES[recipe][1]
    return None if make is None else make(params)


def digest(recipe: str, params: dict[str, Any]) -> tuple[str, int]:
    """SHA-256 and size of the recipe's file, without writing it."""
    hasher = hashlib.sha256()
    size = 0
    for piece in chunks(recipe, params):
        hasher.update(piece)
        size += len(piece)
    return hasher.hexdigest(), size


def expected_digest(content: Expected) -> str:
    """SHA-256 of the canonical JSON of expected content (what the manifest keeps for recipes)."""
    text = json.dumps(content.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def fingerprint(recipe: str, params: dict[str, Any], cache: Path | None = None) -> tuple[str, int, str | None]:
    """SHA-256 and size of the recipe's file and the SHA-256 of its expected content.

    Computing these takes seconds for the largest recipes, so they are kept in the cache, keyed
    by the recipe's parameters and by this module's source: a changed recipe is computed again.
    """
    source = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    key = hashlib.sha256(json.dumps([source, recipe, params], sort_keys=True).encode()).hexdigest()
    store = (cache or default_cache()) / "fingerprints.json"
    try:
        known: dict[str, list[Any]] = json.loads(store.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    if key in known:
        sha256, size, expected_sha256 = known[key]
        return sha256, size, expected_sha256
    sha256, size = digest(recipe, params)
    content = expected(recipe, params)
    result = (sha256, size, None if content is None else expected_digest(content))
    known[key] = list(result)
    try:
        store.parent.mkdir(parents=True, exist_ok=True)
        partial = store.with_suffix(f".{os.getpid()}.partial")
        partial.write_text(json.dumps(known, indent=0), encoding="utf-8")
        partial.replace(store)
    except OSError:
        pass  # a read-only cache only costs time
    return result


def default_cache() -> Path:
    """``$SAFETENSORS_CONFORMANCE_CACHE``, else ``$XDG_CACHE_HOME/safetensors-conformance``."""
    explicit = os.environ.get("SAFETENSORS_CONFORMANCE_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "safetensors-conformance"


def materialize(recipe: str, params: dict[str, Any], sha256: str, size: int, cache: Path | None = None) -> Path:
    """The path of the recipe's file in the cache, writing it first if needed.

    Files are named by their hash; a file is only put in place once its hash has been checked.
    """
    folder = (cache or default_cache()) / "vectors"
    path = folder / f"{sha256}.safetensors"
    if path.is_file() and path.stat().st_size == size:
        return path
    folder.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.partial")
    hasher = hashlib.sha256()
    with partial.open("wb") as out:
        for piece in chunks(recipe, params):
            hasher.update(piece)
            out.write(piece)
    if hasher.hexdigest() != sha256:
        partial.unlink()
        raise ValueError(f"recipe {recipe!r} made a file with hash {hasher.hexdigest()}, not {sha256}")
    partial.replace(path)
    return path
