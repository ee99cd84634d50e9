"""The requirement indexes of the spec: ID → level, scope, flags, section, statement.

The spec has two parts, each with its own version and index: ``spec/safetensors.md`` (the file
format, indexed in ``spec/requirements.json``) and ``spec/checkpoint.md`` (sharded checkpoints,
indexed in ``spec/checkpoint-requirements.json``). The indexes are generated from the Markdown by
``python -m safetensors_conformance.spec`` and a test fails when they differ, so they can be used
without parsing Markdown. :func:`load_index` is the file format's index, as it always was;
:func:`load_all` and :func:`lookup` cover both parts (IDs are unique across them).
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Final

from ._resources import data_path

SPEC_FILE: Final = ("spec", "safetensors.md")
INDEX_FILE: Final = ("spec", "requirements.json")
CHECKPOINT_SPEC_FILE: Final = ("spec", "checkpoint.md")
CHECKPOINT_INDEX_FILE: Final = ("spec", "checkpoint-requirements.json")
#: Every part of the spec: its Markdown and its generated index, in ``spec/``.
PARTS: Final = ((SPEC_FILE[1], INDEX_FILE[1]), (CHECKPOINT_SPEC_FILE[1], CHECKPOINT_INDEX_FILE[1]))

_REQUIREMENT: Final = re.compile(
    r'^<a id="(?P<anchor>[a-z0-9-]+)"></a>\*\*(?P<id>[A-Z0-9-]+)\*\* '
    r"\((?P<scope>file|reader|writer|checkpoint|loader), (?P<level>MUST NOT|MUST|SHOULD NOT|SHOULD|MAY)"
    r"(?:; flags? (?P<flags>[^)]*))?\): (?P<statement>.*)$"
)
_HEADING: Final = re.compile(r"^#{2,4} (?P<title>.+)$")
_VERSION: Final = re.compile(r"^\*\*Version (?P<version>\d+\.\d+\.\d+)\*\*")


@dataclass(frozen=True, slots=True)
class Requirement:
    """One requirement of the spec."""

    id: str
    anchor: str
    scope: str
    level: str
    flags: tuple[str, ...]
    section: str
    statement: str
    #: The Markdown file of ``spec/`` that defines it (not written into the index: each index is one file's).
    document: str = SPEC_FILE[1]

    @property
    def is_warning(self) -> bool:
        """SHOULD-level requirements produce warnings, not violations."""
        return self.level.startswith("SHOULD")

    @property
    def url(self) -> str:
        """A link to the requirement in the spec file that ships with this package."""
        return f"{data_path('spec', self.document).as_uri()}#{self.anchor}"


def spec_path() -> Path:
    return data_path(*SPEC_FILE)


def parse_markdown(text: str, document: str = SPEC_FILE[1]) -> tuple[str, list[Requirement]]:
    """The version of a part of the spec and its requirements, in document order."""
    version_match = next(filter(None, map(_VERSION.match, text.splitlines())), None)
    if version_match is None:
        raise ValueError("the spec has no '**Version X.Y.Z**' line")
    requirements: list[Requirement] = []
    section = ""
    lines = text.splitlines()
    for number, line in enumerate(lines):
        heading = _HEADING.match(line)
        if heading:
            section = heading.group("title")
            continue
        match = _REQUIREMENT.match(line)
        if match is None:
            if line.startswith('<a id="'):
                raise ValueError(f"line {number + 1}: requirement line does not follow the format: {line[:80]}")
            continue
        statement = [match.group("statement")]
        for following in lines[number + 1 :]:
            if not following.strip():
                break
            statement.append(following.strip())
        flags = tuple(flag.strip(" `") for flag in (match.group("flags") or "").split(",") if flag.strip())
        requirement = Requirement(
            id=match.group("id"),
            anchor=match.group("anchor"),
            scope=match.group("scope"),
            level=match.group("level"),
            flags=flags,
            section=section,
            statement=" ".join(statement),
            document=document,
        )
        if requirement.anchor != requirement.id.lower():
            raise ValueError(f"line {number + 1}: anchor {requirement.anchor!r} is not the lower-cased ID")
        requirements.append(requirement)
    return version_match.group("version"), requirements


def render_index(version: str, requirements: list[Requirement], document: str = SPEC_FILE[1]) -> str:
    """The JSON text of a part's index (``spec/requirements.json`` for the file format)."""
    index = {
        "spec": f"spec/{document}",
        "version": version,
        "requirements": [_entry(r) for r in requirements],
    }
    return json.dumps(index, indent=2, ensure_ascii=False) + "\n"


def _entry(requirement: Requirement) -> dict[str, object]:
    entry: dict[str, object] = {**asdict(requirement), "flags": list(requirement.flags)}
    del entry["document"]
    return entry


def _load(index_file: str) -> dict[str, Requirement]:
    document = json.loads(data_path("spec", index_file).read_text(encoding="utf-8"))
    source = Path(document["spec"]).name
    return {
        item["id"]: Requirement(**{**item, "flags": tuple(item["flags"]), "document": source})
        for item in document["requirements"]
    }


@cache
def load_index() -> dict[str, Requirement]:
    """Every requirement of the file format (``spec/safetensors.md``) by ID, from the shipped index."""
    return _load(INDEX_FILE[1])


@cache
def load_checkpoint_index() -> dict[str, Requirement]:
    """Every requirement of the checkpoint part (``spec/checkpoint.md``) by ID, from its shipped index."""
    return _load(CHECKPOINT_INDEX_FILE[1])


@cache
def load_all() -> dict[str, Requirement]:
    """Every requirement of every part of the spec by ID, the file format's first."""
    return {**load_index(), **load_checkpoint_index()}


def spec_version() -> str:
    """The version of the file format part."""
    return str(json.loads(data_path(*INDEX_FILE).read_text(encoding="utf-8"))["version"])


def checkpoint_spec_version() -> str:
    """The version of the checkpoint part."""
    return str(json.loads(data_path(*CHECKPOINT_INDEX_FILE).read_text(encoding="utf-8"))["version"])


def lookup(requirement_id: str) -> Requirement | None:
    """A requirement of any part by ID, ignoring case."""
    return load_all().get(requirement_id.strip().upper())


def requirement_text(requirement: Requirement) -> str:
    """The requirement's paragraph and the informative paragraphs that follow it, as in the spec."""
    lines = data_path("spec", requirement.document).read_text(encoding="utf-8").splitlines()
    marker = f'<a id="{requirement.anchor}"></a>'
    start = next(i for i, line in enumerate(lines) if line.startswith(marker))
    block = [lines[start].replace(marker, "", 1)]
    for line in lines[start + 1 :]:
        if line.startswith(("<a id=", "#", "|", "```")):
            break
        block.append(line)
    return "\n".join(block).strip()


def main(argv: list[str] | None = None) -> int:
    """Regenerate every part's index from its Markdown (run from a source checkout)."""
    args = sys.argv[1:] if argv is None else argv
    stale = 0
    for markdown, index in PARTS:
        spec = data_path("spec", markdown)
        version, requirements = parse_markdown(spec.read_text(encoding="utf-8"), markdown)
        rendered = render_index(version, requirements, markdown)
        target = spec.parent / index
        if args == ["--check"]:
            if not target.exists() or target.read_text(encoding="utf-8") != rendered:
                print(f"{target} is out of date: run python -m safetensors_conformance.spec", file=sys.stderr)
                stale += 1
            continue
        target.write_text(rendered, encoding="utf-8")
        print(f"wrote {len(requirements)} requirements ({markdown} {version}) to {target}")
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
