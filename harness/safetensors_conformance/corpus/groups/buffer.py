"""How tensors tile the byte buffer (BUFFER-BOUNDS, BUFFER-NO-OVERLAP, BUFFER-NO-GAP, BUFFER-NO-TRAILING)."""

from __future__ import annotations

from collections.abc import Iterator

from ...format.limits import U64_MAX as U64
from ...format.reader import Tensor
from ..build import Draft, entry, frame, invalid, obj, pattern, tensor, valid

W = tensor("U8", (2,))
ZIP = b"PK\x05\x06" + bytes(18)  # an empty ZIP archive: just the end-of-central-directory record


def drafts() -> Iterator[Draft]:
    a, b, c = tensor("U8", (2,), 1), tensor("U8", (3,), 2), tensor("U8", (1,), 3)
    yield valid(
        "header-order-differs",
        "entries listed in another order than their bytes (order in the header does not matter)",
        ["BUFFER-NO-GAP", "BUFFER-NO-OVERLAP"],
        {"a": a, "b": b, "c": c},
        content=frame(
            obj(
                ("c", entry(shape=(1,), offsets=(5, 6))),
                ("a", entry(offsets=(0, 2))),
                ("b", entry(shape=(3,), offsets=(2, 5))),
            ),
            a.data + b.data + c.data,
        ),
        order=["a", "b", "c"],
    )
    empty = Tensor("U8", (0,), b"")
    yield valid(
        "empty-at-start",
        "an empty tensor at offset 0 before a non-empty one",
        ["BUFFER-NO-GAP"],
        {"e": empty, "a": a},
        content=frame(obj(("e", entry(shape=(0,), offsets=(0, 0))), ("a", entry())), a.data),
        order=["e", "a"],
    )
    yield valid(
        "empty-at-end",
        "an empty tensor at the end of the buffer",
        ["BUFFER-NO-TRAILING"],
        {"a": a, "z": empty},
        content=frame(obj(("a", entry()), ("z", entry(shape=(0,), offsets=(2, 2)))), a.data),
        order=["a", "z"],
    )
    yield valid(
        "empty-between",
        "an empty tensor where one tensor ends and the next begins",
        ["BUFFER-NO-GAP", "BUFFER-NO-OVERLAP"],
        {"a": a, "m": empty, "b": b},
        content=frame(
            obj(("a", entry()), ("m", entry(shape=(0,), offsets=(2, 2))), ("b", entry(shape=(3,), offsets=(2, 5)))),
            a.data + b.data,
        ),
        order=["a", "m", "b"],
    )
    yield valid(
        "empties-share-offset",
        "three empty tensors at the same offset",
        ["BUFFER-NO-OVERLAP"],
        {"x": empty, "y": empty, "z": empty, "a": a},
        content=frame(
            obj(
                ("x", entry(shape=(0,), offsets=(0, 0))),
                ("y", entry(shape=(0,), offsets=(0, 0))),
                ("z", entry(shape=(0,), offsets=(0, 0))),
                ("a", entry()),
            ),
            a.data,
        ),
        order=["x", "y", "z", "a"],
    )
    yield valid(
        "only-empty-tensors",
        "only empty tensors and an empty buffer",
        ["BUFFER-NO-TRAILING"],
        {"x": empty, "y": Tensor("F32", (0, 4), b"")},
    )
    yield valid(
        "many-tensors",
        "600 small tensors",
        ["BUFFER-NO-GAP"],
        {f"t{i:03d}": tensor("U8", (1 + i % 5,), i) for i in range(600)},
    )

    def two(first: str, second: str, data: bytes) -> bytes:
        return frame(obj(("a", first), ("b", second)), data)

    yield invalid(
        "bounds-truncated",
        "the buffer is one byte shorter than the last tensor",
        "BUFFER-BOUNDS",
        frame(obj(("a", entry())), b"\x01"),
    )
    yield invalid("bounds-empty-buffer", "a tensor but no buffer at all", "BUFFER-BOUNDS", frame(obj(("a", entry()))))
    yield invalid(
        "bounds-far-past-end",
        "a tensor at offsets [1000, 1002] in a 2-byte buffer",
        "BUFFER-BOUNDS",
        two(entry(), entry(offsets=(1000, 1002)), W.data),
    )
    yield invalid(
        "bounds-u64-max",
        "a 1023-byte tensor ending at 2^64 - 1",
        "BUFFER-BOUNDS",
        two(entry(), entry(shape=(1023,), offsets=(U64 - 1023, U64)), W.data),
    )
    yield invalid(
        "bounds-empty-past-end",
        "an empty tensor at offset 5 in a 2-byte buffer",
        "BUFFER-BOUNDS",
        two(entry(), entry(shape=(0,), offsets=(5, 5)), W.data),
    )
    yield invalid(
        "bounds-empty-at-u64-max",
        "an empty tensor at offset 2^64 - 1",
        "BUFFER-BOUNDS",
        two(entry(), entry(shape=(0,), offsets=(U64, U64)), W.data),
    )
    yield invalid(
        "overlap-tied", "two names on the same bytes (tied weights)", "BUFFER-NO-OVERLAP", two(entry(), entry(), W.data)
    )
    yield invalid(
        "overlap-partial",
        "two tensors sharing one byte",
        "BUFFER-NO-OVERLAP",
        two(entry(shape=(3,), offsets=(0, 3)), entry(shape=(2,), offsets=(2, 4)), pattern(4)),
    )
    yield invalid(
        "overlap-contained",
        "a tensor inside another",
        "BUFFER-NO-OVERLAP",
        two(entry(shape=(4,), offsets=(0, 4)), entry(shape=(2,), offsets=(1, 3)), pattern(4)),
    )
    yield invalid(
        "overlap-empty-inside",
        "an empty tensor strictly inside another tensor",
        "BUFFER-NO-OVERLAP",
        two(entry(shape=(4,), offsets=(0, 4)), entry(shape=(0,), offsets=(2, 2)), pattern(4)),
    )
    yield invalid(
        "overlap-reinterpret",
        "the same 4 bytes as F32 and as I32",
        "BUFFER-NO-OVERLAP",
        two(entry("F32", (1,), (0, 4)), entry("I32", (1,), (0, 4)), pattern(4)),
    )
    yield invalid(
        "overlap-out-of-order",
        "an overlap hidden by listing the entries out of order",
        "BUFFER-NO-OVERLAP",
        frame(
            obj(
                ("c", entry(shape=(2,), offsets=(3, 5))),
                ("a", entry(shape=(2,), offsets=(0, 2))),
                ("b", entry(shape=(2,), offsets=(2, 4))),
            ),
            pattern(5),
        ),
    )
    yield invalid(
        "gap-at-start",
        "the only tensor starts at offset 1",
        "BUFFER-NO-GAP",
        frame(obj(("a", entry(offsets=(1, 3)))), pattern(3)),
    )
    yield invalid(
        "gap-in-middle",
        "one unused byte between two tensors",
        "BUFFER-NO-GAP",
        two(entry(), entry(offsets=(3, 5)), pattern(5)),
    )
    yield invalid(
        "gap-before-empty",
        "an empty tensor after a hole, then the next tensor",
        "BUFFER-NO-GAP",
        frame(obj(("a", entry()), ("e", entry(shape=(0,), offsets=(4, 4))), ("b", entry(offsets=(4, 6)))), pattern(6)),
    )
    yield invalid(
        "gap-hides-zip",
        "an empty ZIP archive in a hole between tensors",
        "BUFFER-NO-GAP",
        two(entry(), entry(offsets=(2 + len(ZIP), 4 + len(ZIP))), W.data + ZIP + W.data),
    )
    yield invalid(
        "trailing-one-byte",
        "one byte after the last tensor",
        "BUFFER-NO-TRAILING",
        frame(obj(("a", entry())), W.data + b"\x00"),
    )
    yield invalid(
        "trailing-newline",
        "a line feed after the last tensor",
        "BUFFER-NO-TRAILING",
        frame(obj(("a", entry())), W.data + b"\n"),
    )
    yield invalid(
        "trailing-zip",
        "an empty ZIP archive appended after the last tensor",
        "BUFFER-NO-TRAILING",
        frame(obj(("a", entry())), W.data + ZIP),
    )
    yield invalid(
        "trailing-no-tensors", "no tensors but a non-empty buffer", "BUFFER-NO-TRAILING", frame("{}", b"hidden")
    )
    yield invalid(
        "trailing-only-empty",
        "only empty tensors but a non-empty buffer",
        "BUFFER-NO-TRAILING",
        frame(obj(("e", entry(shape=(0,), offsets=(0, 0)))), b"x"),
    )
    yield invalid(
        "trailing-metadata-only",
        "metadata only, then bytes",
        "BUFFER-NO-TRAILING",
        frame(obj(("__metadata__", '{"k":"v"}')), b"\x00\x00"),
    )
    # Empty tensors on the chain (spec section 9): listed in any order, sharing offsets.
    nonempty, at_zero = entry(offsets=(0, 2)), entry(shape=(0,), offsets=(0, 0))
    empty = Tensor("U8", (0,), b"")
    for name, members, order, what in (
        (
            "empty-after-non-empty-same-offset",
            (("a", nonempty), ("e", at_zero)),
            ["e", "a"],
            "listed after a tensor at its begin",
        ),
        (
            "empty-after-non-empty-at-end",
            (("a", nonempty), ("e", entry(shape=(0,), offsets=(2, 2)))),
            ["a", "e"],
            "at the end",
        ),
        (
            "two-empty-same-offset-after",
            (("a", nonempty), ("e", at_zero), ("f", at_zero)),
            ["e", "f", "a"],
            "twice at offset 0, after a",
        ),
    ):
        tensors = {"a": W, "e": empty, "f": empty}
        yield valid(
            name,
            f"an empty tensor {what}",
            ["BUFFER-NO-OVERLAP", "BUFFER-NO-GAP"],
            {n: tensors[n] for n in order},
            content=frame(obj(*members), W.data),
            order=order,
        )
    for name, offset, data, requirement, what in (
        ("gap-hidden-by-final-empty", 4, pattern(4), "BUFFER-NO-GAP", "bytes 2..4 belong to no tensor"),
        ("gap-and-trailing-around-empty", 3, pattern(4), "BUFFER-NO-GAP", "a gap before it and a byte after it"),
        ("final-empty-past-end", 4, pattern(2), "BUFFER-BOUNDS", "past the end of a 2-byte buffer"),
    ):
        yield invalid(
            name,
            f"a tensor at [0, 2] and an empty tensor at offset {offset}: {what}",
            requirement,
            frame(obj(("a", nonempty), ("e", entry(shape=(0,), offsets=(offset, offset)))), data),
        )
