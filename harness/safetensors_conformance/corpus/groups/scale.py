"""Scale: many tensors, long names, large metadata, more findings than a report lists. The largest
are recipes, not files."""

from __future__ import annotations

from collections.abc import Iterator

from ..build import Draft, entry, frame, invalid, obj, tensor, valid

#: More findings of one kind than the reference lists (it counts the rest: ``MAX_REPORTED_VIOLATIONS``).
OVER_REPORT_LIMIT = 1001


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
    yield from _over_report_limit()
    for name, recipe, params, what in (
        ("tensors-1000000", "many-tensors", {"count": 1_000_000}, "1,000,000 one-byte tensors (a 60 MB header)"),
        ("tensors-100000", "many-tensors", {"count": 100_000}, "100,000 one-byte tensors"),
        ("name-1000000", "long-name", {"length": 1_000_000}, "a tensor name of 1,000,000 characters"),
        ("metadata-50000000", "large-metadata", {"length": 50_000_000}, "a metadata value of 50,000,000 characters"),
    ):
        yield Draft(name, what, "acceptable", ("READER-LIMITS",), synth=(recipe, params), flags=("resource-limits",))


def _over_report_limit() -> Iterator[Draft]:
    """Files with over 1,000 findings: a reader's verdict must not depend on how many it lists."""
    yield invalid(
        f"non-object-entries-{OVER_REPORT_LIMIT}",
        f"{OVER_REPORT_LIMIT} root members whose value is 0, each breaking ENTRY-OBJECT",
        "ENTRY-OBJECT",
        frame(obj(*((f"t{i}", "0") for i in range(OVER_REPORT_LIMIT)))),
    )
    # A one-byte U8 first puts every U16 after it on an odd offset; U+0001 in each name is a
    # control character: two SHOULD-level findings per U16 tensor, none of them an error.
    first = tensor("U8", (1,))
    halves = {f"\x01{i:03d}": tensor("U16", (1,), i) for i in range((OVER_REPORT_LIMIT + 1) // 2)}
    entries = [("u", entry(shape=(1,), offsets=(0, 1)))]
    entries += [(name, entry("U16", (1,), (1 + 2 * i, 3 + 2 * i))) for i, name in enumerate(halves)]
    yield valid(
        f"misaligned-control-names-{len(halves)}",
        f"a one-byte U8 tensor, then {len(halves)} U16 tensors at odd offsets whose names hold U+0001: "
        f"{2 * len(halves)} warnings (DATA-ALIGNED, NAME-PORTABLE), a conforming file",
        ["DATA-ALIGNED", "NAME-PORTABLE"],
        {"u": first, **halves},
        content=frame(obj(*entries), first.data + b"".join(t.data for t in halves.values())),
        order=["u", *halves],
    )
