"""Checkpoint vectors: small directories built from :mod:`..checkpoint.fixtures`, in their own manifest.

``vectors/checkpoints.json`` (schema ``schema/checkpoint-vectors.schema.json``) lists them; their
regular files are committed under ``vectors/checkpoints/<case id>/``. What git cannot hold
portably (symbolic links, FIFOs, empty directories) is listed as an ``entry`` and made when a
vector is materialised.

A vector never points at a real system path. It is materialised as ``RUN/ckpt/`` beside a canary,
``RUN/canary.safetensors``, that the caller creates for that run: relative references climb to
``../canary.safetensors``, and absolute ones are written ``@CANARY@`` in the committed bytes (and in
link targets) and replaced with the canary's absolute path when materialised. The file corpus, its
manifest and its counts are not touched by any of this.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import stat
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from .._resources import data_root
from ..checkpoint.content import read_tensors
from ..checkpoint.fixtures import CASES, Case
from ..checkpoint.validate import check_directory
from ..spec import checkpoint_spec_version, spec_version
from .generate import sync_tree

MANIFEST: Final = "checkpoints.json"
FOLDER: Final = "checkpoints"
PREFIX: Final = "ckpt/"
#: Stands for the canary's absolute path in committed bytes and link targets.
PLACEHOLDER: Final = "@CANARY@"
CHECKPOINT_DIR: Final = "ckpt"
CANARY_NAME: Final = "canary.safetensors"
GENERATOR: Final = "harness/safetensors_conformance/checkpoint/fixtures.py"


@dataclass(frozen=True)
class CkptTensor:
    """A tensor a conforming loader returns for a checkpoint vector, and the shard it comes from."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    nbytes: int
    sha256: str
    shard: str


@dataclass(frozen=True)
class CkptVector:
    """A checkpoint vector as the manifest lists it."""

    id: str
    description: str
    expect: str
    requirements: tuple[str, ...]
    flags: tuple[str, ...]
    directory: str
    files: tuple[dict[str, Any], ...]
    entries: tuple[dict[str, Any], ...]
    expected: tuple[CkptTensor, ...] | None
    #: What the reference validator reports (requirement, file, pointer), for failure reports.
    findings: tuple[dict[str, Any], ...] = ()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CkptVector:
        expected = data.get("expected")
        return cls(
            data["id"],
            data["description"],
            data["expect"],
            tuple(data["requirements"]),
            tuple(data["flags"]),
            data["directory"],
            tuple(data["files"]),
            tuple(data["entries"]),
            None
            if expected is None
            else tuple(
                CkptTensor(t["name"], t["dtype"], tuple(t["shape"]), t["nbytes"], t["sha256"], t["shard"])
                for t in expected["tensors"]
            ),
            tuple(data.get("findings", ())),
        )


# --- Building ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuiltCheckpoints:
    """The checkpoint manifest's text and every committed file, by path under the vectors folder."""

    manifest: str
    files: dict[str, bytes]


def build() -> BuiltCheckpoints:
    """Every case of the fixtures as a vector; the same bytes on every run."""
    vectors: list[dict[str, Any]] = []
    files: dict[str, bytes] = {}
    for case in CASES:
        vector, case_files = _build_case(case)
        vectors.append(vector)
        files.update(case_files)
    document = {
        "format": 1,
        "spec": "spec/checkpoint.md",
        "spec_version": checkpoint_spec_version(),
        "file_spec_version": spec_version(),
        "canary": {
            "placeholder": PLACEHOLDER,
            "layout": f"RUN/{CHECKPOINT_DIR}/ is the checkpoint, RUN/{CANARY_NAME} the canary of that run",
        },
        "vectors": vectors,
    }
    return BuiltCheckpoints(json.dumps(document, indent=1, ensure_ascii=True) + "\n", files)


def _build_case(case: Case) -> tuple[dict[str, Any], dict[str, bytes]]:
    with tempfile.TemporaryDirectory(prefix="ckpt-build-") as scratch:
        run = Path(scratch)
        directory, canary = run / CHECKPOINT_DIR, run / CANARY_NAME
        directory.mkdir()
        case.build(directory, canary)
        folder = f"{FOLDER}/{case.id}"
        files: dict[str, bytes] = {}
        listed: list[dict[str, Any]] = []
        entries: list[dict[str, Any]] = []
        for relative, status in _walk(directory):
            path = directory / relative
            if stat.S_ISLNK(status.st_mode):
                target = str(path.readlink()).replace(str(canary), PLACEHOLDER)
                entries.append({"path": relative, "kind": "link", "target": target})
            elif stat.S_ISFIFO(status.st_mode):
                entries.append({"path": relative, "kind": "fifo"})
            elif stat.S_ISDIR(status.st_mode):
                entries.append({"path": relative, "kind": "directory"})
            else:
                raw = path.read_bytes()
                absolute = os.fsencode(str(canary))
                content = raw.replace(absolute, PLACEHOLDER.encode())
                files[f"{folder}/{relative}"] = content
                listed.append(
                    {
                        "path": relative,
                        "sha256": hashlib.sha256(content).hexdigest(),
                        "size": len(content),
                        "template": content != raw,
                    }
                )
        expected = _expected(directory)
    vector: dict[str, Any] = {
        "id": PREFIX + case.id,
        "description": case.description,
        "expect": case.expect,
        "requirements": _requirements(case),
        "flags": sorted(
            {f.flag for f in (*case.violations, *case.warnings) if f.flag is not None}
            | ({case.loader[1]} if case.loader is not None else set())
        ),
        "findings": [
            {"level": level, "requirement": f.requirement, "file": f.file, "pointer": f.pointer, "flag": f.flag}
            for level, found in (("violation", case.violations), ("warning", case.warnings))
            for f in found
        ],
        "directory": folder,
        "files": listed,
        "entries": entries,
        "expected": expected,
        "provenance": {"generator": GENERATOR, "case": case.id},
        "spec": f">={checkpoint_spec_version()}",
    }
    return vector, files


def _requirements(case: Case) -> list[str]:
    """The primary requirement (spec precedence) first; a valid case cites what it warns about."""
    primary = case.requirement
    if primary is not None:
        return [primary]
    return sorted({w.requirement for w in case.warnings})


def _expected(directory: Path) -> dict[str, Any] | None:
    """What the reference validator says a conforming loader returns, with the bytes' hashes."""
    report = check_directory(directory)
    if len(report.checkpoints) != 1 or report.checkpoints[0].tensors is None:
        return None
    tensors = read_tensors(directory, report.checkpoints[0])
    return {
        "tensors": [
            {
                "name": t.name,
                "dtype": t.dtype,
                "shape": list(t.shape),
                "nbytes": len(t.data),
                "sha256": hashlib.sha256(t.data).hexdigest(),
                "shard": t.shard,
            }
            for t in tensors
        ]
    }


def _walk(directory: Path, prefix: str = "") -> Iterator[tuple[str, os.stat_result]]:
    """Every entry under ``directory`` (links not followed), sorted; empty directories included."""
    for path in sorted(directory.iterdir()):
        name = path.name
        status = os.lstat(path)
        relative = prefix + name
        if stat.S_ISDIR(status.st_mode) and any(path.iterdir()):
            yield from _walk(path, relative + "/")
        else:
            yield relative, status


def write(built: BuiltCheckpoints, folder: Path) -> tuple[int, int]:
    """Write the checkpoint vectors into a vectors folder; returns (files written, files removed)."""
    changed, removed = sync_tree(folder / FOLDER, {folder / path: content for path, content in built.files.items()})
    (folder / MANIFEST).write_text(built.manifest, encoding="utf-8")
    return changed, removed


# --- Loading and materialising ----------------------------------------------------------------------


def load(folder: Path | None = None) -> list[CkptVector]:
    """The checkpoint vectors of a vectors folder (default: the shipped one)."""
    root = folder or data_root("vectors")
    document = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    return [CkptVector.from_json(v) for v in document["vectors"]]


def materialise(vector: CkptVector, run: Path, *, folder: Path | None = None, order: int = 0) -> Path:
    """Make ``run/ckpt/`` from a vector, beside the canary ``run/canary.safetensors`` (not made here).

    ``order`` permutes the order entries are created in (0 is the manifest's order), so that a
    loader that takes a directory's listing order for an answer is seen to change it. Returns the
    checkpoint directory.
    """
    source = (folder or data_root("vectors")) / vector.directory
    directory, canary = run / CHECKPOINT_DIR, run / CANARY_NAME
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    escaped = json.dumps(str(canary.resolve()))[1:-1].encode()
    items: list[tuple[str, dict[str, Any]]] = [("file", f) for f in vector.files]
    items += [("entry", e) for e in vector.entries]
    for kind, item in _permuted(items, order):
        path = directory / item["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind == "file":
            content = (source / item["path"]).read_bytes()
            path.write_bytes(content.replace(PLACEHOLDER.encode(), escaped) if item["template"] else content)
        elif item["kind"] == "link":
            path.symlink_to(item["target"].replace(PLACEHOLDER, str(canary.resolve())))
        elif item["kind"] == "fifo":
            os.mkfifo(path)
        else:
            path.mkdir(exist_ok=True)
    return directory


def _permuted(items: Sequence[tuple[str, dict[str, Any]]], order: int) -> list[tuple[str, dict[str, Any]]]:
    listed = list(items)
    if order == 1:
        listed.reverse()
    elif order > 1:
        random.Random(order).shuffle(listed)  # noqa: S311 - an order, not a secret
    return listed
