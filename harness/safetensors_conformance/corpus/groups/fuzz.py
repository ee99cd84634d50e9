"""Fuzz findings promoted into the corpus by ``vectors promote``: a record and a file each.

A finding lives in the vectors folder as ``fuzz/NAME.bin`` (its bytes) and ``fuzz/NAME.json`` (its
record: what the reference reader decided when it was promoted, the description, and the
campaign that found it). Unlike the other groups nothing is computed here: the record is the
definition, so ``vectors build`` keeps every finding exactly as it was promoted, and
``vectors check`` says so when the reference reader no longer agrees with one.

The group is not in ``GROUPS``: its definitions are data in a vectors folder, not code, so the
generator reads them from the folder it builds (``generate.build``), after every other group.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

from ..build import Draft
from ..model import Expected

#: The group, and the folder of the vectors folder that holds the findings.
GROUP = FOLDER = "fuzz"


def files(name: str) -> tuple[str, str]:
    """The finding's bytes and record, relative to the vectors folder."""
    return f"{FOLDER}/{name}.bin", f"{FOLDER}/{name}.json"


def drafts(folder: Path) -> Iterator[Draft]:
    """Every finding of ``folder/fuzz/``, by name."""
    for record_path in sorted((folder / FOLDER).glob("*.json")):
        name = record_path.stem
        record = json.loads(record_path.read_text(encoding="utf-8"))
        data_path = folder / files(name)[0]
        if not data_path.is_file():
            raise ValueError(f"{record_path}: the finding's file {data_path.name} is missing")
        content = data_path.read_bytes()
        if record["id"] != f"{GROUP}/{name}" or hashlib.sha256(content).hexdigest() != record["sha256"]:
            raise ValueError(f"{data_path}: does not match the id and sha256 of its record")
        yield Draft(
            name,
            record["description"],
            record["expect"],
            tuple(record["requirements"]),
            content,
            flags=tuple(record["flags"]),
            expected=Expected.from_json(record["expected"]) if "expected" in record else None,
            source="fuzz",
            spec=record["spec"],
            provenance=record["provenance"],
        )
    for data_path in sorted((folder / FOLDER).glob("*.bin")):
        if not data_path.with_suffix(".json").is_file():
            raise ValueError(f"{data_path}: a finding without its record {data_path.stem}.json")


def sources(folder: Path) -> dict[str, bytes]:
    """The findings' files by path relative to the vectors folder (a corpus built into another
    folder takes them along)."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted((folder / FOLDER).glob("*"))
        if path.suffix in (".bin", ".json") and path.is_file()
    }
