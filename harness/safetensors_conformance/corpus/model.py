"""Vectors as the manifest describes them, and the content a reader must return for them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

EXPECTS = ("valid", "invalid", "acceptable")
PHASES = ("header", "validation", "data")


@dataclass(frozen=True, slots=True)
class ExpectedTensor:
    """One tensor a reader must return: name, dtype, shape and the hash of its raw bytes."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    nbytes: int
    sha256: str

    @classmethod
    def of(cls, name: str, dtype: str, shape: tuple[int, ...], data: bytes) -> ExpectedTensor:
        return cls(name, dtype, tuple(shape), len(data), hashlib.sha256(data).hexdigest())

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dtype": self.dtype,
            "shape": list(self.shape),
            "nbytes": self.nbytes,
            "sha256": self.sha256,
        }


@dataclass(frozen=True, slots=True)
class Expected:
    """Everything a reader that accepts the file must return; tensors in buffer order."""

    tensors: tuple[ExpectedTensor, ...]
    metadata: dict[str, str] | None

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
    provenance: dict[str, str]
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
