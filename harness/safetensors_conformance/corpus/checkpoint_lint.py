"""``vectors check`` for checkpoint vectors: schema, hashes, the reference's agreement, regeneration.

Each vector is materialised beside a canary (:func:`.checkpoints.materialise`) and checked with the
reference validator, which must find exactly the findings the manifest lists and return exactly its
content (names, shards, dtypes, shapes and the bytes' hashes). That the validator never opens the
canary is proved by its own tests, which watch the canary with inotify.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..checkpoint.content import read_tensors
from ..checkpoint.validate import check_directory
from ..format.reader import Tensor
from ..format.writer import serialize
from .checkpoints import CANARY_NAME, MANIFEST, CkptVector, build, load, materialise
from .lint import schema_problems


def lint_checkpoints(folder: Path, *, regenerate: bool = True) -> Iterator[str]:
    """Every problem of the checkpoint vectors of a vectors folder, one line each."""
    path = folder / MANIFEST
    if not path.exists():
        yield f"{MANIFEST}: missing"
        return
    document = json.loads(path.read_text(encoding="utf-8"))
    errors = schema_problems(document, "checkpoint-vectors.schema.json", f"{MANIFEST}: schema")
    yield from errors
    if errors:
        return
    vectors = load(folder)
    seen: set[str] = set()
    for vector in vectors:
        if vector.id in seen:
            yield f"{vector.id}: id used twice"
        seen.add(vector.id)
        yield from _files(vector, folder)
        yield from _agreement(vector, folder)
    if regenerate:
        yield from _regeneration(folder)


def _files(vector: CkptVector, folder: Path) -> Iterator[str]:
    for item in vector.files:
        path = folder / vector.directory / item["path"]
        if not path.is_file():
            yield f"{vector.id}: {item['path']} is missing"
            continue
        content = path.read_bytes()
        if len(content) != item["size"] or hashlib.sha256(content).hexdigest() != item["sha256"]:
            yield f"{vector.id}: {item['path']} does not match its sha256 and size"


def _agreement(vector: CkptVector, folder: Path) -> Iterator[str]:
    """The reference validator's findings, outcome and content are the manifest's."""
    document = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    listed = next(v for v in document["vectors"] if v["id"] == vector.id)["findings"]
    with tempfile.TemporaryDirectory(prefix="ckpt-check-") as scratch:
        run = Path(scratch)
        canary = run / CANARY_NAME
        canary.write_bytes(serialize({"canary": Tensor("U8", (1,), b"\xcc")}))
        directory = materialise(vector, run, folder=folder)
        report = check_directory(directory)
        found = [
            {"level": level, "requirement": f.requirement.value, "file": f.file, "pointer": f.pointer,
             "flag": None if f.flag is None else f.flag.value}
            for c in report.checkpoints
            for level, group in (("violation", c.violations), ("warning", c.warnings))
            for f in group
        ]  # fmt: skip
        if found != listed:
            yield f"{vector.id}: the reference validator finds {found}, the manifest lists {listed}"
        content = report.checkpoints[0].tensors if len(report.checkpoints) == 1 else None
        conforms = all(c.conforms for c in report.checkpoints) and bool(report.checkpoints)
        if vector.expect == "valid" and not conforms:
            yield f"{vector.id}: expected valid, the reference validator rejects it"
        if vector.expect == "invalid" and content is not None:
            yield f"{vector.id}: expected invalid, the reference validator gives it content"
        if vector.expect != "invalid" and (content is None) != (vector.expected is None):
            yield f"{vector.id}: the manifest's content and the validator's disagree on whether there is any"
        if content is not None and vector.expected is not None:
            tensors = read_tensors(directory, report.checkpoints[0])
            got = [(t.name, t.shard, t.dtype, t.shape, hashlib.sha256(t.data).hexdigest()) for t in tensors]
            want = [(t.name, t.shard, t.dtype, t.shape, t.sha256) for t in vector.expected]
            if got != want:
                yield f"{vector.id}: the validator's content {got} is not the manifest's {want}"


def _regeneration(folder: Path) -> Iterator[str]:
    built = build()
    if (folder / MANIFEST).read_text(encoding="utf-8") != built.manifest:
        yield f"{MANIFEST}: regenerating gives a different manifest (run `vectors build`)"
    for path, content in built.files.items():
        target = folder / path
        if not target.is_file() or target.read_bytes() != content:
            yield f"{path}: regenerating gives different bytes (run `vectors build`)"
    root = folder / "checkpoints"
    if root.exists():
        for found in root.rglob("*"):
            relative = found.relative_to(folder).as_posix()
            if (found.is_file() or found.is_symlink()) and relative not in built.files:
                yield f"{relative}: not made by the generator"
