"""data_offsets as a value (OFFSETS-PAIR, NUMBER-FORM, NUMBER-RANGE, OFFSETS-ORDER)."""

from __future__ import annotations

from collections.abc import Iterator

from ...format.limits import U64_MAX as U64
from ...format.reader import Tensor
from ..build import Draft, entry, frame, invalid, obj, tensor, valid

W = tensor("U8", (2,))


def drafts() -> Iterator[Draft]:
    yield valid(
        "pair-with-spaces",
        "data_offsets written with spaces: [ 0 , 2 ]",
        ["OFFSETS-PAIR", "NUMBER-FORM"],
        {"a": W},
        content=frame(obj(("a", entry(offsets="[ 0 , 2 ]"))), W.data),
    )
    yield valid(
        "empty-range",
        "an empty tensor with begin equal to end",
        ["OFFSETS-ORDER"],
        {"a": W, "e": Tensor("U8", (0,), b"")},
        content=frame(obj(("a", entry()), ("e", entry(shape=(0,), offsets=(2, 2)))), W.data),
        order=["a", "e"],
    )
    yield valid(
        "ends-at-buffer-end",
        "the last tensor ends exactly at the end of the file",
        ["BUFFER-BOUNDS", "BUFFER-NO-TRAILING"],
        {"a": W},
    )
    for name, text in (
        ("empty", "[]"),
        ("one", "[2]"),
        ("three", "[0,2,2]"),
        ("four", "[0,1,1,2]"),
        ("string-begin", '["0",2]'),
        ("strings", '["0","2"]'),
        ("null-end", "[0,null]"),
        ("nested", "[[0],[2]]"),
        ("booleans", "[false,true]"),
        ("object-element", '[0,{"end":2}]'),
    ):
        yield invalid(
            f"pair-{name}",
            f"data_offsets {text}: not an array of two numbers",
            "OFFSETS-PAIR",
            frame(obj(("a", entry(offsets=text))), W.data),
        )
    for name, text in (
        ("negative-zero-begin", "[-0,2]"),
        ("negative-begin", "[-2,0]"),
        ("fraction-end", "[0,2.0]"),
        ("exponent-end", "[0,2e0]"),
        ("fraction-both", "[0.0,2.0]"),
        ("negative-end", "[0,-2]"),
    ):
        yield invalid(
            f"number-{name}",
            f"data_offsets {text}: not unsigned integers",
            "NUMBER-FORM",
            frame(obj(("a", entry(offsets=text))), W.data),
        )
    for name, text in (
        ("end-2-pow-64", "[0,18446744073709551616]"),
        ("both-2-pow-64", "[18446744073709551616,18446744073709551618]"),
        ("end-40-digits", "[0," + "1" * 40 + "]"),
    ):
        yield invalid(
            f"range-{name}",
            f"data_offsets {text[:30]}...: beyond 2^64 - 1",
            "NUMBER-RANGE",
            frame(obj(("a", entry(offsets=text))), W.data),
        )
    for name, begin, end in (("reversed", 2, 0), ("reversed-far", 5, 3), ("u64-max-to-zero", U64, 0)):
        yield invalid(
            f"order-{name}",
            f"data_offsets [{begin}, {end}]: end before begin",
            "OFFSETS-ORDER",
            frame(obj(("a", entry(shape=(0,), offsets=(begin, end))))),
        )
