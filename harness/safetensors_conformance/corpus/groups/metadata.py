"""The __metadata__ member (META-OBJECT, META-STRING-VALUES)."""

from __future__ import annotations

from collections.abc import Iterator

from ..build import Draft, acceptable, entry, frame, invalid, obj, tensor, valid

W = tensor("U8", (2,))
E = entry()


def drafts() -> Iterator[Draft]:
    yield valid("empty", "an empty metadata object", ["META-OBJECT"], {"w": W}, {})
    yield valid("format-pt", "the metadata PyTorch writers add", ["META-STRING-VALUES"], {"w": W}, {"format": "pt"})
    yield valid(
        "several-keys",
        "several metadata entries",
        ["META-STRING-VALUES", "META-UNIQUE-KEYS"],
        {"w": W},
        {"a": "1", "b": "2", "c": "", "": "empty key"},
    )
    yield valid(
        "json-in-value",
        "a metadata value that holds JSON text (it is still a string)",
        ["META-STRING-VALUES"],
        {"w": W},
        {"config": '{"layers": 32, "nested": {"x": [1, 2]}}'},
    )
    yield valid(
        "numbers-as-strings",
        "numbers stored as strings",
        ["META-STRING-VALUES"],
        {"w": W},
        {"step": "1000", "lr": "3e-4"},
    )
    yield valid(
        "last-member",
        "__metadata__ after the tensor entries",
        ["META-OBJECT"],
        {"w": W},
        {"k": "v"},
        content=frame(obj(("w", E), ("__metadata__", '{"k":"v"}')), W.data),
    )
    yield valid(
        "between-entries",
        "__metadata__ between two tensor entries",
        ["META-OBJECT"],
        {"a": W, "b": tensor("U8", (2,), 2)},
        {"k": "v"},
        content=frame(
            obj(("a", E), ("__metadata__", '{"k":"v"}'), ("b", entry(offsets=(2, 4)))),
            W.data + tensor("U8", (2,), 2).data,
        ),
        order=["a", "b"],
    )
    yield valid("metadata-only", "metadata and no tensors", ["META-OBJECT"], {}, {"note": "no tensors"})
    yield valid(
        "long-value",
        "a 40,000-character metadata value",
        ["META-STRING-VALUES"],
        {"w": W},
        {"blob": "0123456789" * 4000},
    )
    yield valid(
        "many-keys", "400 metadata entries", ["META-UNIQUE-KEYS"], {"w": W}, {f"key{i:03d}": str(i) for i in range(400)}
    )
    yield acceptable(
        "null",
        "__metadata__ is null; a reader may treat it as absent",
        "META-OBJECT",
        "metadata-null",
        frame(obj(("__metadata__", "null"), ("w", E)), W.data),
        {"w": W},
    )
    for name, text in (
        ("array", "[]"),
        ("array-of-pairs", '[["k","v"]]'),
        ("string", '"pt"'),
        ("number", "1"),
        ("true", "true"),
        ("false", "false"),
    ):
        yield invalid(
            name,
            f"__metadata__ is {name.replace('-', ' ')}, not an object",
            "META-OBJECT",
            frame(obj(("__metadata__", text), ("w", E)), W.data),
        )
    for name, text in (
        ("integer", "1"),
        ("negative", "-1"),
        ("float", "1.5"),
        ("true", "true"),
        ("null", "null"),
        ("array", '["v"]'),
        ("empty-array", "[]"),
        ("object", '{"x":"y"}'),
        ("empty-object", "{}"),
    ):
        yield invalid(
            f"value-{name}",
            f"a metadata value that is {name.replace('-', ' ')}, not a string",
            "META-STRING-VALUES",
            frame(obj(("__metadata__", '{"k":' + text + "}"), ("w", E)), W.data),
        )
    yield invalid(
        "tensor-named-metadata",
        "a tensor entry stored under the reserved name __metadata__ (its shape is not a string)",
        "META-STRING-VALUES",
        frame(obj(("__metadata__", entry(shape=(0,), offsets=(0, 0))))),
    )
    yield invalid(
        "tensor-named-metadata-with-data",
        "a well-formed 2-byte tensor entry, and its bytes, under the reserved name __metadata__",
        "META-STRING-VALUES",
        frame(obj(("__metadata__", E)), W.data),
    )
    # The metadata member is recognised after unescaping (spec section 1).
    for name, member in (
        ("escaped-name", "\\u005f_metadata__"),
        ("escaped-name-fully", "\\u005f\\u005fmetadata\\u005f\\u005f"),
        ("escaped-name-inner", "__m\\u0065tadata__"),
    ):
        yield valid(
            name,
            f'the metadata member written as "{member.replace(chr(92) * 2, chr(92))}": it is __metadata__',
            ["META-OBJECT"],
            {"w": W},
            {"format": "pt"},
            content=frame('{"' + member + '":{"format":"pt"},"w":' + E + "}", W.data),
            order=["w"],
        )
        yield invalid(
            f"{name}-holding-tensor",
            f'a tensor entry under "{member.replace(chr(92) * 2, chr(92))}", which is the metadata member',
            "META-STRING-VALUES",
            frame('{"' + member + '":' + entry(shape=(0,), offsets=(0, 0)) + "}"),
        )
    yield invalid(
        "escaped-name-and-plain",
        'both "__metadata__" and "\\u005f_metadata__": the same name twice',
        "HEADER-UNIQUE-NAMES",
        frame('{"__metadata__":{"a":"1"},"\\u005f_metadata__":{"a":"2"},"w":' + E + "}", W.data),
    )
    yield valid(
        "near-miss-name",
        'a tensor named "_metadata_": not the metadata member',
        ["ENTRY-OBJECT"],
        {"_metadata_": W},
    )
    for name, text in (("value-1e400", "1e400"), ("value-1e-400", "1e-400")):
        yield invalid(
            name,
            f"a metadata value that is the number {text}, which no double holds",
            "META-STRING-VALUES",
            frame(obj(("__metadata__", '{"k":' + text + "}"), ("w", E)), W.data),
        )
