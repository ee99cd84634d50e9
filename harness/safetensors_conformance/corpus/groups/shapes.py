"""Shapes (SHAPE-ARRAY, NUMBER-FORM, NUMBER-RANGE): scalars, empty tensors, and what is not a dimension."""

from __future__ import annotations

from collections.abc import Iterator

from ...format.reader import Tensor
from ..build import Draft, entry, frame, invalid, obj, tensor, valid

W = tensor("U8", (2,))


def drafts() -> Iterator[Draft]:
    yield valid("scalar-f32", "a scalar: shape []", ["SHAPE-ARRAY"], {"s": tensor("F32", ())})
    yield valid("scalar-bool", "a BOOL scalar", ["SHAPE-ARRAY"], {"s": Tensor("BOOL", (), b"\x01")})
    yield valid("rank-8", "a rank-8 tensor", ["SHAPE-ARRAY"], {"t": tensor("U8", (1, 2, 1, 2, 1, 2, 1, 2))})
    yield valid("rank-64", "a rank-64 tensor of ones", ["SHAPE-ARRAY"], {"t": tensor("I16", (1,) * 64)})
    yield valid("zero-dimension", "an empty tensor: shape [0]", ["SHAPE-ARRAY"], {"e": Tensor("F32", (0,), b"")})
    yield valid(
        "zero-in-the-middle", "an empty tensor: shape [3, 0, 5]", ["SHAPE-ARRAY"], {"e": Tensor("F32", (3, 0, 5), b"")}
    )
    yield valid("all-zero", "an empty tensor: shape [0, 0, 0]", ["SHAPE-ARRAY"], {"e": Tensor("BF16", (0, 0, 0), b"")})
    for name, text, what in (
        ("negative", "[-1]", "-1"),
        ("negative-zero", "[-0]", "-0"),
        ("negative-in-product", "[-2,-1]", "two negative dimensions"),
        ("fraction", "[2.0]", "2.0"),
        ("fraction-half", "[1.5]", "1.5"),
        ("zero-point-zero", "[0.0]", "0.0"),
        ("exponent", "[2e0]", "2e0"),
        ("capital-exponent", "[2E0]", "2E0"),
        ("exponent-plus", "[2e+0]", "2e+0"),
        ("negative-exponent", "[200e-2]", "200e-2"),
    ):
        yield invalid(
            f"dimension-{name}",
            f"a dimension written as {what}",
            "NUMBER-FORM",
            frame(obj(("a", entry(shape=text, offsets=(0, 2)))), W.data),
        )
    yield invalid(
        "dimension-fraction-then-negative-offset",
        "the first of two dimensions written as 1.5, and an end offset of -1: two findings, each located",
        "NUMBER-FORM",
        frame(obj(("a", entry(shape="[1.5,2]", offsets="[0,-1]"))), W.data),
    )
    for name, text, what in (
        ("2-pow-64", "[0,18446744073709551616]", "2^64"),
        ("2-pow-64-plus-one", "[0,18446744073709551617]", "2^64 + 1"),
        ("ten-pow-30", "[0,1000000000000000000000000000000]", "10^30"),
        ("5000-digits", "[0," + "9" * 5000 + "]", "a number of 5000 digits"),
    ):
        yield invalid(
            f"dimension-{name}",
            f"a dimension of {what}",
            "NUMBER-RANGE",
            frame(obj(("a", entry(shape=text, offsets=(0, 0))))),
        )
    for name, text in (
        ("string", '["2"]'),
        ("true", "[true]"),
        ("null", "[null]"),
        ("array", "[[2]]"),
        ("object", '[{"n":2}]'),
        ("string-among-numbers", '[1,"2"]'),
    ):
        yield invalid(
            f"dimension-{name}",
            f"a dimension that is {name.replace('-', ' ')}, not a number",
            "SHAPE-ARRAY",
            frame(obj(("a", entry(shape=text, offsets=(0, 2)))), W.data),
        )
