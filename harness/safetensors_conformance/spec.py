"""The requirement index of ``spec/safetensors.md``: ID → level, scope, flags, section, statement.

``spec/requirements.json`` is generated from the Markdown by ``python -m safetensors_conformance.spec``
and a test fails when the two differ, so the index can be used without parsing Markdown.
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

_REQUIREMENT: Final = re.compile(
    r'^<a id="(?P<anchor>[a-z0-9-]+)"></a>\*\*(?P<id>[A-Z0-9-]+)\*\* '
    r"\((?P<scope>file|reader|writer), (?P<level>MUST NOT|MUST|SHOULD NOT|SHOULD|MAY)"
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

    @property
    def is_warning(self) -> bool:
        """SHOULD-level requirements produce warnings, not violations."""
        return self.level.startswith("SHOULD")

    @property
    def url(self) -> str:
        """A link to the requirement in the spec file that ships with this package."""
        return f"{spec_path().as_uri()}#{self.anchor}"


def spec_path() -> Path:
    return data_path(*SPEC_FILE)


def parse_markdown(text: str) -> tuple[str, list[Requirement]]:
    """The spec version and its requirements, in document order."""
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
        )
        if requirement.anchor != requirement.id.lower():
            raise ValueError(f"line {number + 1}: anchor {requirement.anchor!r} is not the lower-cased ID")
        requirements.append(requirement)
    return version_match.group("version"), requirements


def render_index(version: str, requirements: list[Requirement]) -> str:
    """The JSON text of ``spec/requirements.json``."""
    document = {
        "spec": "spec/safetensors.md",
        "version": version,
        "requirements": [{**asdict(r), "flags": list(r.flags)} for r in requirements],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


@cache
def load_index() -> dict[str, Requirement]:
    """Every requirement by ID, from the shipped index."""
    document = json.loads(data_path(*INDEX_FILE).read_text(encoding="utf-8"))
    return {item["id"]: Requirement(**{**item, "flags": tuple(item["flags"])}) for item in document["requirements"]}


def spec_version() -> str:
    return str(json.loads(data_path(*INDEX_FILE).read_text(encoding="utf-8"))["version"])


def lookup(requirement_id: str) -> Requirement | None:
    """A requirement by ID, ignoring case."""
    return load_index().get(requirement_id.strip().upper())


def requirement_text(requirement: Requirement) -> str:
    """The requirement's paragraph and the informative paragraphs that follow it, as in the spec."""
    lines = spec_path().read_text(encoding="utf-8").splitlines()
    marker = f'<a id="{requirement.anchor}"></a>'
    start = next(i for i, line in enumerate(lines) if line.startswith(marker))
    block = [lines[start].replace(marker, "", 1)]
    for line in lines[start + 1 :]:
        if line.startswith(("<a id=", "#", "|", "```")):
            break
        block.append(line)
    return "\n".join(block).strip()


def main(argv: list[str] | None = None) -> int:
    """Regenerate ``spec/requirements.json`` from the Markdown (run from a source checkout)."""
    args = sys.argv[1:] if argv is None else argv
    spec = spec_path()
    version, requirements = parse_markdown(spec.read_text(encoding="utf-8"))
    rendered = render_index(version, requirements)
    target = spec.parent / "requirements.json"
    if args == ["--check"]:
        if not target.exists() or target.read_text(encoding="utf-8") != rendered:
            print(f"{target} is out of date: run python -m safetensors_conformance.spec", file=sys.stderr)
            return 1
        return 0
    target.write_text(rendered, encoding="utf-8")
    print(f"wrote {len(requirements)} requirements (spec {version}) to {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
