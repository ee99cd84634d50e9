"""Scale: many tensors, long names, large metadata. The largest are recipes, not files."""

from __future__ import annotations

from collections.abc import Iterator

from ..build import Draft, tensor, valid


def drafts() -> Iterator[Draft]:
    yield valid(
        "tensors-1000",
        "1000 one-byte tensors",
        ["READER-CONTENT"],
        {f"t{i:04d}": tensor("U8", (1,), i) for i in range(1000)},
    )
    yield valid(
        "metadata-50000",
        "a 50,000-character metadata value",
        ["META-STRING-VALUES"],
        {"w": tensor("U8", (2,))},
        {"blob": "ab" * 25000},
    )
    yield valid("name-20000", "a 20,000-character tensor name", ["READER-CONTENT"], {"n" * 20000: tensor("U8", (2,))})
    for name, recipe, params, what in (
        ("tensors-1000000", "many-tensors", {"count": 1_000_000}, "1,000,000 one-byte tensors (a 60 MB header)"),
        ("tensors-100000", "many-tensors", {"count": 100_000}, "100,000 one-byte tensors"),
        ("name-1000000", "long-name", {"length": 1_000_000}, "a tensor name of 1,000,000 characters"),
        ("metadata-50000000", "large-metadata", {"length": 50_000_000}, "a metadata value of 50,000,000 characters"),
    ):
        yield Draft(name, what, "acceptable", ("READER-LIMITS",), synth=(recipe, params), flags=("resource-limits",))
