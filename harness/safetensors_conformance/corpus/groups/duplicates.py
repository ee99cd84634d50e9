"""Repeated names: tensors, metadata keys, entry fields (HEADER-UNIQUE-NAMES, META-UNIQUE-KEYS,
ENTRY-FIELDS-REQUIRED)."""

from __future__ import annotations

from collections.abc import Iterator

from ..build import Draft, entry, frame, invalid, obj, pattern, tensor, valid

W = tensor("U8", (2,))
E = entry()
FOUR = pattern(4)


def drafts() -> Iterator[Draft]:
    yield invalid(
        "name-identical-entries",
        "the same tensor entry twice under one name",
        "HEADER-UNIQUE-NAMES",
        frame(obj(("a", E), ("a", E)), W.data),
    )
    yield invalid(
        "name-last-covers-buffer",
        "a repeated name: the first entry covers 1 byte, the last the whole 4-byte buffer (last-wins readers accept)",
        "HEADER-UNIQUE-NAMES",
        frame(obj(("a", entry(shape=(1,), offsets=(0, 1))), ("a", entry(shape=(4,), offsets=(0, 4)))), FOUR),
    )
    yield invalid(
        "name-first-covers-buffer",
        "a repeated name: the first entry covers the buffer, the last only 1 byte (first-wins readers accept)",
        "HEADER-UNIQUE-NAMES",
        frame(obj(("a", entry(shape=(4,), offsets=(0, 4))), ("a", entry(shape=(1,), offsets=(0, 1)))), FOUR),
    )
    yield invalid(
        "name-different-dtypes",
        "a repeated name whose entries give the same bytes different dtypes",
        "HEADER-UNIQUE-NAMES",
        frame(obj(("a", entry("F32", (1,), (0, 4))), ("a", entry("I32", (1,), (0, 4)))), FOUR),
    )
    yield invalid(
        "name-second-elsewhere",
        "a repeated name whose second entry points at the other half of the buffer",
        "HEADER-UNIQUE-NAMES",
        frame(obj(("a", entry(offsets=(0, 2))), ("b", entry(offsets=(2, 4))), ("a", entry(offsets=(2, 4)))), FOUR),
    )
    yield invalid(
        "name-three-times",
        "one name three times",
        "HEADER-UNIQUE-NAMES",
        frame(obj(("a", E), ("a", E), ("a", E)), W.data),
    )
    yield invalid(
        "name-escaped",
        'a name and its escaped spelling ("a" and "\\u0061")',
        "HEADER-UNIQUE-NAMES",
        frame('{"a":' + E + ',"\\u0061":' + E + "}", W.data),
    )
    yield invalid(
        "name-escaped-slash",
        'a name with "/" and with "\\/"',
        "HEADER-UNIQUE-NAMES",
        frame('{"a/b":' + E + ',"a\\/b":' + E + "}", W.data),
    )
    yield invalid(
        "name-non-ascii-escaped",
        "a non-ASCII name written raw and escaped",
        "HEADER-UNIQUE-NAMES",
        frame('{"é":' + E + ',"\\u00e9":' + E + "}", W.data),
    )
    yield invalid(
        "metadata-member-twice",
        "two __metadata__ members",
        "HEADER-UNIQUE-NAMES",
        frame(obj(("__metadata__", '{"k":"1"}'), ("a", E), ("__metadata__", '{"k":"2"}')), W.data),
    )
    yield invalid(
        "metadata-member-twice-identical",
        "two identical __metadata__ members",
        "HEADER-UNIQUE-NAMES",
        frame(obj(("__metadata__", "{}"), ("__metadata__", "{}"), ("a", E)), W.data),
    )
    yield invalid(
        "metadata-key-identical",
        "a metadata key twice with the same value",
        "META-UNIQUE-KEYS",
        frame(obj(("__metadata__", '{"k":"v","k":"v"}'), ("a", E)), W.data),
    )
    yield invalid(
        "metadata-key-different",
        "a metadata key twice with different values",
        "META-UNIQUE-KEYS",
        frame(obj(("__metadata__", '{"format":"pt","format":"np"}'), ("a", E)), W.data),
    )
    yield invalid(
        "metadata-key-escaped",
        "a metadata key and its escaped spelling",
        "META-UNIQUE-KEYS",
        frame(obj(("__metadata__", '{"k":"1","\\u006b":"2"}'), ("a", E)), W.data),
    )
    for field, twice in (
        ("dtype", '{"dtype":"U8","dtype":"U8","shape":[2],"data_offsets":[0,2]}'),
        ("dtype-different", '{"dtype":"U8","dtype":"I8","shape":[2],"data_offsets":[0,2]}'),
        ("shape", '{"dtype":"U8","shape":[2],"shape":[2],"data_offsets":[0,2]}'),
        ("shape-different", '{"dtype":"U8","shape":[1,2],"shape":[2],"data_offsets":[0,2]}'),
        ("data-offsets", '{"dtype":"U8","shape":[2],"data_offsets":[0,2],"data_offsets":[0,2]}'),
        (
            "every-field",
            '{"dtype":"U8","shape":[2],"data_offsets":[0,2],"dtype":"U8","shape":[2],"data_offsets":[0,2]}',
        ),
    ):
        yield invalid(
            f"field-{field}",
            f"a tensor entry with a repeated field ({field.replace('-', ' ')})",
            "ENTRY-FIELDS-REQUIRED",
            frame(obj(("a", twice)), W.data),
        )
    yield valid(
        "names-differ-by-case",
        "names that differ only in case are different names",
        ["HEADER-UNIQUE-NAMES"],
        {"a": W, "A": tensor("U8", (2,), 2)},
    )
    yield valid(
        "names-differ-by-normalisation",
        "'é' precomposed and decomposed are different names (no Unicode normalisation)",
        ["HEADER-UNIQUE-NAMES"],
        {"\u00e9": W, "e\u0301": tensor("U8", (2,), 3)},
    )
