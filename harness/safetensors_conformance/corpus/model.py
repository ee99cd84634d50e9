"""Vectors as the manifest describes them, and the content a reader must return for them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from json.encoder import encode_basestring_ascii
from operator import itemgetter
from typing import Any, NamedTuple


def content_digest(
    tensors: Iterable[tuple[str, str, tuple[int, ...], int | None, str | None]], metadata: dict[str, str] | None
) -> str:
    """SHA-256 of a file's content, independent of tensor order.

    One line per tensor, sorted by name: the compact, ASCII-escaped JSON array
    ``[name,dtype,shape,nbytes,sha256]`` and a line feed; then the metadata (``{}`` if none) as
    compact JSON with sorted keys. Both sides of a comparison compute it the same way.
    """
    quote = encode_basestring_ascii
    # A million-tensor file has a handful of (dtype, shape, size) triples: format each once.
    middles: dict[tuple[str, tuple[int, ...], int | None], str] = {}
    lines: list[tuple[str, str]] = []
    for name, dtype, shape, nbytes, sha256 in tensors:
        middle = middles.get((dtype, shape, nbytes))
        if middle is None:
            dims = ",".join(map(str, shape))
            size = "null" if nbytes is None else str(nbytes)
            middle = middles[dtype, shape, nbytes] = f",{quote(dtype)},[{dims}],{size},"
        digest = "null" if sha256 is None else quote(sha256)
        lines.append((name, f"[{quote(name)}{middle}{digest}]\n"))
    lines.sort(key=itemgetter(0))
    hasher = hashlib.sha256("".join([line for _, line in lines]).encode("ascii"))
    hasher.update(json.dumps(metadata or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii"))
    return hasher.hexdigest()


class TensorDigest(NamedTuple):
    """One tensor as a reader returns it or must return it: name, dtype, shape and the length and
    SHA-256 of its raw bytes (``None`` when a header-only reader returns no bytes).

    A tuple, not a dataclass: a million-tensor file makes a million of them, and a tuple is
    built several times faster.
    """

    name: str
    dtype: str
    shape: tuple[int, ...]
    nbytes: int | None
    sha256: str | None

    @classmethod
    def of(cls, name: str, dtype: str, shape: tuple[int, ...], data: bytes | bytearray) -> TensorDigest:
        return cls(name, dtype, tuple(shape), len(data), hashlib.sha256(data).hexdigest())

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dtype": self.dtype,
            "shape": list(self.shape),
            "nbytes": self.nbytes,
            "sha256": self.sha256,
        }


#: In the corpus a tensor always has its bytes' length and hash.
ExpectedTensor = TensorDigest


@dataclass(frozen=True)
class Expected:
    """Everything a reader that accepts the file must return; tensors in buffer order."""

    tensors: tuple[ExpectedTensor, ...]
    metadata: dict[str, str] | None

    @cached_property
    def digest(self) -> str:
        """The content digest a reader reporting in digest mode must match (computed once)."""
        return content_digest(self.tensors, self.metadata)

    @cached_property
    def header_digest(self) -> str:
        """The same for a header-only reader, which returns no bytes (``nbytes`` and ``sha256`` null)."""
        return content_digest(((t.name, t.dtype, t.shape, None, None) for t in self.tensors), self.metadata)

    def content_digest(self, *, bytes_: bool = True, metadata: bool = True) -> str:
        """The digest a reader must report: without bytes for a header-only reader, without metadata
        for one that cannot return it (then as if the file had none)."""
        if metadata:
            return self.digest if bytes_ else self.header_digest
        rows = self.tensors if bytes_ else ((t.name, t.dtype, t.shape, None, None) for t in self.tensors)
        return content_digest(rows, None)

    def to_json(self) -> dict[str, Any]:
        return {"tensors": [t.to_json() for t in self.tensors], "metadata": self.metadata}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Expected:
        tensors = tuple(
            ExpectedTensor(t["name"], t["dtype"], tuple(t["shape"]), t["nbytes"], t["sha256"]) for t in data["tensors"]
        )
        return cls(tensors, data["metadata"])


@dataclass(frozen=True, slots=True)
class Vector:
    """One entry of ``vectors/manifest.json``."""

    id: str
    expect: str
    requirements: tuple[str, ...]
    flags: tuple[str, ...]
    phase: str
    description: str
    sha256: str
    size: int
    provenance: dict[str, Any]
    spec: str
    file: str | None = None
    synth: dict[str, Any] | None = None
    expected: Expected | None = None
    expected_sha256: str | None = None

    @property
    def group(self) -> str:
        return self.id.split("/", 1)[0]

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id}
        if self.file is not None:
            data["file"] = self.file
        if self.synth is not None:
            data["synth"] = self.synth
        data.update(
            sha256=self.sha256,
            size=self.size,
            expect=self.expect,
            requirements=list(self.requirements),
            flags=list(self.flags),
            phase=self.phase,
            description=self.description,
        )
        if self.expected is not None:
            data["expected"] = self.expected.to_json()
        if self.expected_sha256 is not None:
            data["expected_sha256"] = self.expected_sha256
        data.update(provenance=self.provenance, spec=self.spec)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Vector:
        return cls(
            id=data["id"],
            expect=data["expect"],
            requirements=tuple(data["requirements"]),
            flags=tuple(data["flags"]),
            phase=data["phase"],
            description=data["description"],
            sha256=data["sha256"],
            size=data["size"],
            provenance=dict(data["provenance"]),
            spec=data["spec"],
            file=data.get("file"),
            synth=data.get("synth"),
            expected=Expected.from_json(data["expected"]) if "expected" in data else None,
            expected_sha256=data.get("expected_sha256"),
        )
