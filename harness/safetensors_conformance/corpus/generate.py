"""The deterministic generator: vector definitions → ``vectors/manifest.json``, ``files/``, ``index.tsv``.

Running it twice gives the same bytes; ``vectors check`` regenerates in memory and compares.
Promoted fuzz findings (``fuzz/`` of the vectors folder) are definitions too, read from the folder.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

from .._resources import data_root
from ..spec import spec_path, spec_version
from . import MANIFEST_FORMAT, synth
from .build import phase_of, spec_range
from .groups import drafts, fuzz
from .model import Vector

CORPUS_VERSION = "1.2.0"
FILES = "files"
_FLAG_ROW = re.compile(r"^\| `([a-z0-9-]+)` \| `([A-Z0-9-]+)` \| (.+?) \| (.+?) \|$", re.MULTILINE)


@dataclass(frozen=True)
class Built:
    """The generated corpus, in memory: the manifest text and every committed file by path."""

    manifest: str
    index: str
    files: dict[str, bytes]


def flag_registry() -> dict[str, dict[str, str]]:
    """The implementation-defined behaviours of spec section 12, as the manifest lists them."""
    text = spec_path().read_text(encoding="utf-8")
    section = text[text.index("## 12.") : text.index("## 13.")]
    return {
        flag: {"requirement": requirement, "description": f"A reader MAY {may}, and then MUST {must}."}
        for flag, requirement, may, must in _FLAG_ROW.findall(section)
    }


def build(source: Path | None = None) -> Built:
    """The corpus; the fuzz findings come from the vectors folder ``source`` (default: the shipped one)."""
    folder = source or data_root("vectors")
    vectors: list[dict[str, Any]] = []
    files: dict[str, bytes] = {}
    for group, draft in chain(drafts(), ((fuzz.GROUP, d) for d in fuzz.drafts(folder))):
        vector_id = f"{group}/{draft.name}"
        file = synth_spec = expected = expected_sha256 = None
        if draft.content is not None:
            file = f"{FILES}/{vector_id}.safetensors"
            files[file] = draft.content
            sha256, size = hashlib.sha256(draft.content).hexdigest(), len(draft.content)
            expected = draft.expected
        else:
            assert draft.synth is not None
            recipe, params = draft.synth
            synth_spec = {"recipe": recipe, "params": params}
            sha256, size, expected_sha256 = synth.fingerprint(recipe, params)
        detail = (
            f"spec/safetensors.md section 15, example {draft.name}"
            if draft.source == "spec-example"
            else f"corpus/groups/{group}.py"
        )
        vector = Vector(
            id=vector_id,
            expect=draft.expect,
            requirements=draft.requirements,
            flags=draft.flags,
            phase=phase_of(draft.expect, draft.requirements),
            description=draft.description,
            sha256=sha256,
            size=size,
            provenance=draft.provenance or {"source": draft.source, "detail": detail},
            spec=draft.spec or spec_range(draft.requirements, draft.flags),
            file=file,
            synth=synth_spec,
            expected=expected,
            expected_sha256=expected_sha256,
        )
        vectors.append(vector.to_json())
    document = {
        "format": MANIFEST_FORMAT,
        "corpus_version": CORPUS_VERSION,
        "spec_version": spec_version(),
        "flags": flag_registry(),
        "vectors": vectors,
    }
    manifest = json.dumps(document, indent=1, ensure_ascii=True) + "\n"
    return Built(manifest, _index(vectors), files)


def _index(vectors: list[dict[str, Any]]) -> str:
    """A plain list for people who use the files without the runner: one vector per line."""
    lines = ["id\texpect\trequirements\tflags\tfile"]
    for vector in vectors:
        location = vector.get("file") or f"synth:{vector['synth']['recipe']}"
        lines.append(
            "\t".join(
                [vector["id"], vector["expect"], ",".join(vector["requirements"]), ",".join(vector["flags"]), location]
            )
        )
    return "\n".join(lines) + "\n"


def sync_tree(root: Path, targets: dict[Path, bytes]) -> tuple[int, int]:
    """Make the files under ``root`` exactly ``targets``: write what differs, remove the rest (links
    too) and the directories left empty. Returns (files written or changed, files removed)."""
    changed = removed = 0
    if root.exists():
        for path in sorted(root.rglob("*")):
            if (path.is_file() or path.is_symlink()) and path not in targets:
                path.unlink()
                removed += 1
    for path, content in targets.items():
        if not path.exists() or path.read_bytes() != content:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            changed += 1
    if root.exists():
        for directory in sorted(root.rglob("*"), reverse=True):
            if directory.is_dir() and not any(directory.iterdir()):
                directory.rmdir()
    return changed, removed


def write(built: Built, folder: Path) -> tuple[int, int]:
    """Write the corpus into ``folder``; files the generator no longer makes are removed.

    Returns (files written or changed, files removed).
    """
    changed, removed = sync_tree(folder / FILES, {folder / path: content for path, content in built.files.items()})
    (folder / "manifest.json").write_text(built.manifest, encoding="utf-8")
    (folder / "index.tsv").write_text(built.index, encoding="utf-8")
    return changed, removed
