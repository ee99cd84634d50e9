"""Numbers beyond what a double holds exactly (NUMBER-RANGE; READER-CONTENT)."""

from __future__ import annotations

from collections.abc import Iterator

from ...format.reader import Tensor
from ..build import Draft, acceptable, entry, frame, invalid, obj, tensor, valid

BIG = 2**53 + 1


def drafts() -> Iterator[Draft]:
    for name, dim, what in (
        ("2-pow-53-plus-one", BIG, "2^53 + 1, the first integer a double cannot hold"),
        ("2-pow-60-plus-one", 2**60 + 1, "2^60 + 1"),
        ("2-pow-61-minus-one", 2**61 - 1, "2^61 - 1, the largest U8 dimension that SIZE-LIMIT allows"),
    ):
        yield valid(
            f"dimension-{name}",
            f"an empty tensor of shape [0, {dim}]: the dimension {what} must be read exactly",
            ["NUMBER-RANGE", "READER-CONTENT"],
            {"e": Tensor("U8", (0, dim), b"")},
        )
    yield valid(
        "dimension-2-pow-53-plus-one-f64",
        f"an empty F64 tensor of shape [{BIG}, 0]",
        ["NUMBER-RANGE", "SIZE-LIMIT"],
        {"e": Tensor("F64", (BIG, 0), b"")},
    )
    # Numbers no double holds: 1e400 overflows to infinity, 1e-400 underflows to zero.
    w = tensor("U8", (2,))
    for text, slug in (("1e400", "1e400"), ("1e-400", "1e-minus-400"), ("-1e400", "minus-1e400")):
        yield invalid(
            f"dimension-{slug}",
            f"the dimension {text}: not an integer",
            "NUMBER-FORM",
            frame(obj(("a", entry(shape=f"[{text}]"))), w.data),
        )
        yield invalid(
            f"offset-{slug}",
            f"the end offset {text}: not an integer",
            "NUMBER-FORM",
            frame(obj(("a", entry(offsets=f"[0,{text}]"))), w.data),
        )
        yield acceptable(
            f"unknown-field-{slug}",
            f"an unknown field holding {text}: valid JSON, ignorable",
            "ENTRY-FIELDS-KNOWN",
            "entry-unknown-fields",
            frame('{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2],"x":' + text + "}}", w.data),
            {"a": w},
        )
