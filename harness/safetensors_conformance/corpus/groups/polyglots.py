"""Files that are also something else. The buffer rules stop hidden bytes, not tensor contents."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

from ...format.reader import Tensor
from ..build import Draft, entry, frame, invalid, obj, valid


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("payload.txt", date_time=(2026, 1, 1, 0, 0, 0))
        archive.writestr(info, "hello from inside a tensor\n")
    return buffer.getvalue()


def drafts() -> Iterator[Draft]:
    archive = _zip()
    yield valid(
        "zip-as-last-tensor",
        "a ZIP archive stored as the last U8 tensor: a valid file that zipfile also opens",
        ["BUFFER-NO-TRAILING", "READER-VALUES"],
        {"w": Tensor("F32", (1,), b"\x00\x00\x80\x3f"), "zz": Tensor("U8", (len(archive),), archive)},
    )
    yield valid(
        "pickle-magic",
        "a tensor whose bytes begin like a pickle (data is never interpreted)",
        ["READER-VALUES"],
        {"w": Tensor("U8", (4,), b"\x80\x04\x95\x00")},
    )
    yield valid(
        "html-metadata",
        "markup and a script in metadata (strings, never interpreted)",
        ["META-STRING-VALUES"],
        {"w": Tensor("U8", (1,), b"\x00")},
        {"readme": "<html><script>alert('x')</script></html>"},
    )
    yield invalid(
        "zip-after-buffer",
        "a ZIP archive appended after the last tensor",
        "BUFFER-NO-TRAILING",
        frame(obj(("w", entry())), b"\x01\x02" + archive),
    )
    yield invalid(
        "zip-at-start",
        "a ZIP archive at the start of the file: the length prefix becomes huge",
        "LAYOUT-HEADER-LIMIT",
        archive,
    )
