"""Text that is safe to print: file names and header strings are attacker-controlled.

A header's names may hold lone surrogates (which no UTF-8 stream can encode) and control
characters (which a terminal obeys); a file name that is not UTF-8 decodes to lone surrogates.
Reports keep those strings exactly, and these helpers decide how they are shown.
"""

from __future__ import annotations

import json
import re
from typing import Final

#: Lone surrogates, C0 and C1 controls, DEL, and the bidirectional overrides that reorder text.
_UNSAFE: Final = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal(text: str) -> str:
    """``text`` for a terminal or log: unsafe code points as ``\\xNN`` / ``\\uNNNN`` escapes."""
    return _UNSAFE.sub(_escape, text)


def json_text(value: object, *, indent: int | None = 2) -> str:
    """JSON that is always valid UTF-8: lone surrogates become ``\\uXXXX`` escapes, exactly as
    JSON writes them, so the strings read back unchanged (Python's ``os.fsencode`` turns an
    escaped file name back into its bytes); every other character is written as itself."""
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
