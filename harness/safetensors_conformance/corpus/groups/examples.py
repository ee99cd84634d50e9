"""Every example file of the spec (section 14) is a vector."""

from __future__ import annotations

from collections.abc import Iterator

from ...format.reader import Tensor, check
from ...spec_examples import load_examples
from ..build import Draft, expected_of
from ..model import Expected


def drafts() -> Iterator[Draft]:
    for example in load_examples():
        expected = None if example.expect == "invalid" else _content(example.content)
        requirements = (example.violates,) if example.violates else ("READER-CONTENT",)
        yield Draft(
            example.id,
            f"spec example {example.id}",
            example.expect,
            requirements,
            example.content,
            flags=example.flags,
            expected=expected,
            source="spec-example",
        )


def _content(content: bytes) -> Expected:
    """What the file holds, read by the reference (after skipping leading whitespace, which the
    examples' only flag allows)."""
    length = int.from_bytes(content[:8], "little")
    header_text = content[8 : 8 + length]
    stripped = header_text.lstrip(b" \t\r\n")
    file = len(stripped).to_bytes(8, "little") + stripped + content[8 + length :]
    header = check(file).header
    if header is None:
        raise ValueError("a spec example that is not invalid must be readable")
    start = header.data_start
    tensors = [
        (name, Tensor(i.dtype, i.shape, file[start + i.begin : start + i.end])) for name, i in header.tensors.items()
    ]
    return expected_of(tensors, header.metadata)
