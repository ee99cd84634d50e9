"""Numbers beyond what a double holds exactly (NUMBER-RANGE; READER-CONTENT)."""

from __future__ import annotations

from collections.abc import Iterator

from ...format.reader import Tensor
from ..build import Draft, valid

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
