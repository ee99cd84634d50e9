"""The example files of ``spec/safetensors.md`` §15, turned into bytes.

Each example is a fenced block with the info string ``safetensors-example`` holding ``key: value``
lines: ``id``, ``expect`` (``valid``, ``invalid`` or ``acceptable``), ``violates`` (a requirement
ID, for the last two), ``flags``, ``header`` (the header text, where ``\\u0000`` stands for a NUL
byte), ``padding`` (spaces appended), ``length`` (``auto`` or a number) and ``data`` (hex bytes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from .spec import spec_path

_BLOCK: Final = re.compile(r"^```safetensors-example\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)
_KEYS: Final = frozenset({"id", "expect", "violates", "flags", "header", "padding", "length", "data"})


@dataclass(frozen=True, slots=True)
class Example:
    """One example file of the spec."""

    id: str
    expect: str
    violates: str | None
    flags: tuple[str, ...]
    content: bytes


def parse_examples(text: str) -> list[Example]:
    """Every example block of the spec text, in order; raises ``ValueError`` on a malformed block."""
    examples = []
    for block in _BLOCK.finditer(text):
        fields: dict[str, str] = {}
        for line in block.group("body").splitlines():
            key, separator, value = line.partition(": ")
            if not separator or key not in _KEYS or key in fields:
                raise ValueError(f"bad example line {line!r}")
            fields[key] = value
        missing = {"id", "expect", "header", "padding", "length", "data"} - fields.keys()
        if missing:
            raise ValueError(f"example {fields.get('id')!r} lacks {sorted(missing)}")
        if fields["expect"] not in {"valid", "invalid", "acceptable"}:
            raise ValueError(f"example {fields['id']!r}: unknown expect {fields['expect']!r}")
        if (fields["expect"] == "valid") == ("violates" in fields):
            raise ValueError(f"example {fields['id']!r}: only invalid and acceptable examples name a requirement")
        header = fields["header"].replace("\\u0000", "\0").encode("utf-8") + b" " * int(fields["padding"])
        length = len(header) if fields["length"] == "auto" else int(fields["length"])
        content = length.to_bytes(8, "little") + header + bytes.fromhex(fields["data"])
        flags = tuple(flag.strip() for flag in fields.get("flags", "").split(",") if flag.strip())
        examples.append(Example(fields["id"], fields["expect"], fields.get("violates"), flags, content))
    return examples


def load_examples() -> list[Example]:
    """The examples of the shipped spec."""
    return parse_examples(spec_path().read_text(encoding="utf-8"))
