"""The vector corpus: ``vectors/manifest.json``, its files, and recipes for the large vectors.

``load_corpus()`` reads the manifest that ships with the package (or the one of a source
checkout); :meth:`Corpus.path` gives the file of any vector, materialising recipes into a cache.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from .._resources import data_root
from . import synth
from .model import Expected, ExpectedTensor, Vector

MANIFEST_FORMAT = 1

__all__ = ["Corpus", "Expected", "ExpectedTensor", "Vector", "load_corpus"]


@dataclass(frozen=True)
class Corpus:
    """The manifest and where its files are."""

    root: Path
    corpus_version: str
    spec_version: str
    flags: dict[str, dict[str, str]]
    vectors: tuple[Vector, ...]

    def get(self, vector_id: str) -> Vector:
        for vector in self.vectors:
            if vector.id == vector_id:
                return vector
        raise KeyError(f"no vector {vector_id!r} in the corpus")

    def path(self, vector: Vector, cache_dir: Path | None = None) -> Path:
        """The vector's file: committed, or materialised from its recipe into the cache."""
        if vector.file is not None:
            return self.root / vector.file
        assert vector.synth is not None
        return synth.materialize(vector.synth["recipe"], vector.synth["params"], vector.sha256, vector.size, cache_dir)

    def select(self, vectors: tuple[Vector, ...]) -> Corpus:
        """The same corpus restricted to ``vectors``."""
        return Corpus(self.root, self.corpus_version, self.spec_version, self.flags, vectors)

    def stats(self) -> dict[str, Any]:
        """Counts per expect value, group, requirement and flag."""
        return {
            "vectors": len(self.vectors),
            "committed": sum(1 for v in self.vectors if v.file),
            "recipes": sum(1 for v in self.vectors if v.synth),
            "expect": dict(Counter(v.expect for v in self.vectors)),
            "groups": dict(Counter(v.group for v in self.vectors)),
            "requirements": dict(sorted(Counter(r for v in self.vectors for r in v.requirements).items())),
            "flags": dict(Counter(f for v in self.vectors for f in v.flags)),
        }

    def expected(self, vector: Vector) -> Expected | None:
        """What a reader that accepts the vector must return; recipes compute it on demand."""
        if vector.expected is not None or vector.synth is None:
            return vector.expected
        return synth.expected(vector.synth["recipe"], vector.synth["params"])


def parse_manifest(root: Path, document: dict[str, Any]) -> Corpus:
    if document.get("format") != MANIFEST_FORMAT:
        raise ValueError(
            f"manifest format {document.get('format')!r} is not {MANIFEST_FORMAT}: update safetensors-conformance"
        )
    return Corpus(
        root=root,
        corpus_version=document["corpus_version"],
        spec_version=document["spec_version"],
        flags=document["flags"],
        vectors=tuple(Vector.from_json(item) for item in document["vectors"]),
    )


@cache
def load_corpus(root: Path | None = None) -> Corpus:
    """The corpus in ``root`` (default: the shipped ``vectors/`` folder)."""
    folder = root or data_root("vectors")
    document = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return parse_manifest(folder, document)
