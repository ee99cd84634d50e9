"""Small example checkpoints, one per case of ``spec/checkpoint.md``, with the findings each must give.

Each :class:`Case` writes a directory (shards by the reference writer, the index as text) and
lists every MUST-level finding and warning the reference validator reports on it, as
(requirement, file, pointer, flag). They are the seeds of the checkpoint vectors: a case that
points outside its directory points only at the ``canary`` path its caller passes in, and never
at a real system path; the caller decides what the canary is (a FIFO whose opening is seen).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final, Literal, NamedTuple

from ..format.reader import Tensor
from ..format.writer import serialize

INDEX: Final = "model.safetensors.index.json"
SHARD_1: Final = "model-00001-of-00002.safetensors"
SHARD_2: Final = "model-00002-of-00002.safetensors"

#: The tensors of the standard checkpoint, by shard: 4 + 2 + 2 = 8 bytes in all.
STANDARD: Final[Mapping[str, Mapping[str, Tensor]]] = {
    SHARD_1: {"a": Tensor("U8", (4,), b"\x01\x02\x03\x04")},
    SHARD_2: {"b": Tensor("U8", (2,), b"\x05\x06"), "c": Tensor("I8", (2,), b"\x07\xf8")},
}
STANDARD_BYTES: Final = 8


class Expected(NamedTuple):
    """A finding a case must give: its requirement ID, file, JSON pointer and flag."""

    requirement: str
    file: str
    pointer: str | None = None
    flag: str | None = None


Builder = Callable[[Path, Path], None]


class Case(NamedTuple):
    """One example checkpoint: ``build(directory, canary)`` writes it into an empty directory."""

    id: str
    description: str
    expect: Literal["valid", "invalid", "acceptable"]
    build: Builder
    violations: tuple[Expected, ...] = ()
    warnings: tuple[Expected, ...] = ()
    #: A loader requirement and its flag that make a conforming checkpoint implementation-defined
    #: for loaders (no finding of the validator names it): ``("CKPT-LOADER-SETS", "index-required")``.
    loader: tuple[str, str] | None = None

    @property
    def requirement(self) -> str | None:
        """The requirement the case is about: its first unflagged violation, or its first flagged
        one, or the loader requirement that leaves it to the loader."""
        unflagged = [v.requirement for v in self.violations if v.flag is None]
        flagged = [v.requirement for v in (*self.violations, *self.warnings) if v.flag is not None]
        loader = [self.loader[0]] if self.loader is not None else []
        return next(iter(unflagged or flagged or loader), None)


# --- Writing pieces -------------------------------------------------------------------------------


def write_shards(directory: Path, shards: Mapping[str, Mapping[str, Tensor]]) -> None:
    for name, tensors in shards.items():
        (directory / name).write_bytes(serialize(tensors))


def index_text(weight_map: Mapping[str, str], metadata: Mapping[str, object] | None = None) -> str:
    """An index as the Hugging Face writers format it (two-space indent, no final line feed)."""
    document: dict[str, object] = {} if metadata is None else {"metadata": dict(metadata)}
    document["weight_map"] = dict(weight_map)
    return json.dumps(document, indent=2)


def standard_map() -> dict[str, str]:
    return {name: shard for shard, tensors in STANDARD.items() for name in tensors}


def write_standard(directory: Path, *, extra: Mapping[str, str] | None = None, text: str | None = None) -> None:
    """The standard two-shard checkpoint; ``extra`` adds index members, ``text`` replaces the index."""
    write_shards(directory, STANDARD)
    weight_map = {**standard_map(), **(extra or {})}
    content = text if text is not None else index_text(weight_map, {"total_size": STANDARD_BYTES})
    (directory / INDEX).write_text(content, encoding="utf-8")


def _with_reference(reference: Callable[[Path, Path], str]) -> Builder:
    """The standard checkpoint plus a tensor ``x``, stored nowhere, mapped to ``reference``."""

    def build(directory: Path, canary: Path) -> None:
        write_standard(directory, extra={"x": reference(directory, canary)})

    return build


def _relative(directory: Path, canary: Path) -> str:
    return os.path.relpath(canary, directory)


def _inner_climb(directory: Path, canary: Path) -> str:
    """``sub/../`` and then the climb to the canary; ``sub`` exists, so the system resolves it."""
    (directory / "sub").mkdir()
    return "sub/../" + _relative(directory, canary)


def _raw_index(text: str) -> Builder:
    def build(directory: Path, _canary: Path) -> None:
        write_standard(directory, text=text)

    return build


def _raw_index_bytes(data: bytes) -> Builder:
    def build(directory: Path, _canary: Path) -> None:
        write_standard(directory)
        (directory / INDEX).write_bytes(data)

    return build


def _standard(directory: Path, _canary: Path) -> None:
    write_standard(directory)


def _one_shard(directory: Path, _canary: Path) -> None:
    tensors = {**STANDARD[SHARD_1], **STANDARD[SHARD_2]}
    name = "model-00001-of-00001.safetensors"
    write_shards(directory, {name: tensors})
    (directory / INDEX).write_text(index_text(dict.fromkeys(tensors, name), {"total_size": 8}), encoding="utf-8")


def _set(names: Mapping[str, Mapping[str, Tensor]]) -> Builder:
    def build(directory: Path, _canary: Path) -> None:
        write_shards(directory, names)

    return build


def _hf_metadata(directory: Path, _canary: Path) -> None:
    write_shards(directory, STANDARD)
    metadata = {"total_parameters": 8, "total_size": STANDARD_BYTES, "lm_head.weight": "a"}
    (directory / INDEX).write_text(index_text(standard_map(), metadata) + "\n", encoding="utf-8")


def _no_metadata(directory: Path, _canary: Path) -> None:
    write_shards(directory, STANDARD)
    (directory / INDEX).write_text(index_text(standard_map()), encoding="utf-8")


def _link_inside(directory: Path, _canary: Path) -> None:
    write_standard(directory)
    store = directory / ".store"
    store.mkdir()
    (directory / SHARD_2).rename(store / "blob")
    (directory / SHARD_2).symlink_to(Path(".store") / "blob")


def _replace_shard_2(make: Callable[[Path, Path], None]) -> Builder:
    """The standard checkpoint with shard 2 replaced by what ``make(path, canary)`` puts there."""

    def build(directory: Path, canary: Path) -> None:
        write_standard(directory)
        (directory / SHARD_2).unlink()
        make(directory / SHARD_2, canary)

    return build


def _shards(shards: Mapping[str, Mapping[str, Tensor]], weight_map: Mapping[str, str]) -> Builder:
    def build(directory: Path, _canary: Path) -> None:
        write_shards(directory, shards)
        (directory / INDEX).write_text(index_text(weight_map, {"total_size": STANDARD_BYTES}), encoding="utf-8")

    return build


def _with_files(files: Mapping[str, bytes]) -> Builder:
    def build(directory: Path, _canary: Path) -> None:
        write_standard(directory)
        for name, data in files.items():
            (directory / name).write_bytes(data)

    return build


def _index_link_out(directory: Path, canary: Path) -> None:
    write_shards(directory, STANDARD)
    (directory / INDEX).symlink_to(canary)


def _nonconforming_shard(directory: Path, _canary: Path) -> None:
    write_standard(directory)
    with (directory / SHARD_2).open("ab") as handle:
        handle.write(b"PK")  # two bytes after the last tensor


def _flagged_shard(directory: Path, _canary: Path) -> None:
    write_standard(directory)
    header = (
        b'  {"b":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"c":{"dtype":"I8","shape":[2],"data_offsets":[2,4]}}'
    )
    header += b" " * (-len(header) % 8)
    (directory / SHARD_2).write_bytes(len(header).to_bytes(8, "little") + header + b"\x05\x06\x07\xf8")


def _case_reference(directory: Path, _canary: Path) -> None:
    write_shards(directory, STANDARD)
    weight_map = {"a": SHARD_1, "b": SHARD_2, "c": SHARD_2.replace("model", "MODEL")}
    (directory / INDEX).write_text(index_text(weight_map, {"total_size": STANDARD_BYTES}), encoding="utf-8")


def _case_entry(directory: Path, _canary: Path) -> None:
    write_shards(directory, STANDARD)
    weight_map = {**standard_map(), "b": SHARD_2.capitalize(), "c": SHARD_2.capitalize()}
    (directory / INDEX).write_text(index_text(weight_map, {"total_size": STANDARD_BYTES}), encoding="utf-8")


def _case_copy(directory: Path, _canary: Path) -> None:
    write_standard(directory)
    (directory / SHARD_2.upper()).write_bytes((directory / SHARD_2).read_bytes())


_U8 = Tensor("U8", (1,), b"\x09")
_SET_2 = {"model-00001-of-00002.safetensors": {"a": _U8}, "model-00002-of-00002.safetensors": {"b": _U8}}
_BAD_REFERENCE = Expected("CKPT-SHARD-NAME", INDEX, "/weight_map/x")
_HEAD = '{\n  "metadata": {\n    "total_size": 8\n  },\n  "weight_map": {\n'
#: The standard index with 'a' and its shard's name written with escapes.
_ESCAPED = (
    _HEAD
    + '    "\\u0061": "model-00001-of-0000\\u0032.safetensors",\n'
    + f'    "b": "{SHARD_2}",\n    "c": "{SHARD_2}"\n  }}\n}}'
)
_MAP = f'    "a": "{SHARD_1}",\n    "b": "{SHARD_2}",\n    "c": "{SHARD_2}"'


CASES: Final[tuple[Case, ...]] = (
    # --- Conforming checkpoints ---
    Case("valid/two-shards", "two shards and an index, as the Hugging Face writers lay them out", "valid", _standard),
    Case("valid/one-shard", "an index with a single shard", "valid", _one_shard),
    Case(
        "valid/hf-metadata",
        "metadata with total_parameters and a tied weight's name, as HF writes",
        "valid",
        _hf_metadata,
    ),
    Case("valid/no-metadata", "an index without metadata (loaders must accept it)", "valid", _no_metadata),
    Case(
        "valid/escaped-names",
        "weight_map names and references written with escapes, compared after unescaping",
        "valid",
        _raw_index(_ESCAPED),
    ),
    Case("valid/link-inside", "a shard that is a link to a file inside the directory", "valid", _link_inside),
    # --- Shard references ---
    Case(
        "reference/dotdot",
        "a reference that climbs out of the directory to the canary",
        "invalid",
        _with_reference(_relative),
        (_BAD_REFERENCE,),
    ),
    Case(
        "reference/dotdot-inner",
        "a reference that enters a subdirectory (which exists) and climbs twice, to the canary",
        "invalid",
        _with_reference(_inner_climb),
        (_BAD_REFERENCE,),
    ),
    Case(
        "reference/dot-dotdot",
        "'./' before the climb, which a check for a leading '..' misses",
        "invalid",
        _with_reference(lambda d, c: "./" + _relative(d, c)),
        (_BAD_REFERENCE,),
    ),
    Case(
        "reference/dotdot-backslash",
        "a Windows-style climb out of the directory",
        "invalid",
        _with_reference(lambda d, c: _relative(d, c).replace("/", "\\")),
        (_BAD_REFERENCE,),
    ),
    Case(
        "reference/absolute",
        "an absolute path to the canary",
        "invalid",
        _with_reference(lambda _d, c: str(c)),
        (_BAD_REFERENCE,),
    ),
    Case(
        "reference/subdirectory",
        "a reference into a subdirectory (which holds a conforming shard)",
        "invalid",
        _with_reference(lambda d, _c: _subdirectory_shard(d)),
        (_BAD_REFERENCE,),
    ),
    Case(
        "reference/nul",
        "a NUL inside the name: C file functions would open 'evil'",
        "invalid",
        _with_reference(lambda _d, _c: "evil\x00.safetensors"),
        (_BAD_REFERENCE,),
    ),
    Case(
        "reference/drive-relative",
        "C:name, relative to another drive's current directory on Windows",
        "invalid",
        _with_reference(lambda _d, _c: "C:x.safetensors"),
        (_BAD_REFERENCE,),
    ),
    Case(
        "reference/fullwidth-solidus",
        "U+FF0F, which Windows' best-fit conversion turns into '/'",
        "invalid",
        _with_reference(lambda _d, _c: "..\uff0fx.safetensors"),
        (_BAD_REFERENCE,),
    ),
    Case(
        "reference/pickle",
        "a reference to a pickle file from a safetensors index",
        "invalid",
        _with_reference(lambda _d, _c: "pytorch_model.bin"),
        (_BAD_REFERENCE,),
    ),
    Case(
        "reference/windows-device",
        "a Windows device name with the shard extension",
        "invalid",
        _with_reference(lambda _d, _c: "con.safetensors"),
        (_BAD_REFERENCE,),
    ),
    Case(
        "reference/percent-encoded",
        "'..%2F' is not decoded: a plain (unportable) name that is not in the directory",
        "invalid",
        _with_reference(lambda _d, _c: "..%2Fcanary.safetensors"),
        (Expected("CKPT-SHARD-EXISTS", INDEX, "/weight_map/x"),),
        (Expected("CKPT-SHARD-PORTABLE", INDEX, "/weight_map/x"),),
    ),
    Case(
        "reference/missing",
        "a shard the index names that is not in the directory",
        "invalid",
        _with_reference(lambda _d, _c: "model-00003-of-00002.safetensors"),
        (Expected("CKPT-SHARD-EXISTS", INDEX, "/weight_map/x"),),
    ),
    # --- Checkpoint files ---
    Case(
        "files/link-out",
        "a shard that is a link to the canary outside the directory",
        "invalid",
        _replace_shard_2(lambda path, canary: path.symlink_to(canary)),
        (Expected("CKPT-FILE-LINK", SHARD_2),),
    ),
    Case(
        "files/link-out-relative",
        "a shard that is a relative link climbing out to the canary",
        "invalid",
        _replace_shard_2(lambda path, canary: path.symlink_to(os.path.relpath(canary, path.parent))),
        (Expected("CKPT-FILE-LINK", SHARD_2),),
    ),
    Case(
        "files/link-dangling",
        "a shard that is a link to nothing",
        "invalid",
        _replace_shard_2(lambda path, _canary: path.symlink_to("gone.safetensors")),
        (Expected("CKPT-FILE-LINK", SHARD_2),),
    ),
    Case(
        "files/fifo",
        "a shard that is a FIFO (opening it would block)",
        "invalid",
        _replace_shard_2(lambda path, _canary: os.mkfifo(path)),
        (Expected("CKPT-FILE-REGULAR", SHARD_2),),
    ),
    Case(
        "files/directory",
        "a shard that is a directory",
        "invalid",
        _replace_shard_2(lambda path, _canary: path.mkdir()),
        (Expected("CKPT-FILE-REGULAR", SHARD_2),),
    ),
    Case(
        "files/index-link-out",
        "the index file is a link to the canary",
        "invalid",
        _index_link_out,
        (Expected("CKPT-FILE-LINK", INDEX),),
    ),
    # --- Case ---
    Case(
        "case/references",
        "two references that differ only in case",
        "invalid",
        _case_reference,
        (Expected("CKPT-NAMES-CASE", INDEX, "/weight_map/c"),),
    ),
    Case(
        "case/reference-and-entry",
        "a reference that matches the shard's name only when case is ignored",
        "invalid",
        _case_entry,
        (Expected("CKPT-NAMES-CASE", INDEX, "/weight_map/b"),),
        (Expected("CKPT-NO-STRAY", SHARD_2, flag="stray-files"),),
    ),
    Case(
        "case/entries",
        "a copy of a shard whose name differs only in case",
        "invalid",
        _case_copy,
        (Expected("CKPT-NAMES-CASE", SHARD_2.upper()),),
        (Expected("CKPT-NO-STRAY", SHARD_2.upper(), flag="stray-files"),),
    ),
    # --- The index file ---
    Case(
        "index/duplicate-key",
        "a tensor listed twice in weight_map",
        "invalid",
        _raw_index(_HEAD + _MAP + f',\n    "b": "{SHARD_1}"\n  }}\n}}'),
        (Expected("CKPT-INDEX-UNIQUE-KEYS", INDEX, "/weight_map/b"),),
    ),
    Case(
        "index/duplicate-key-escaped",
        "a tensor listed twice, once with an escape",
        "invalid",
        _raw_index(_HEAD + _MAP + f',\n    "\\u0062": "{SHARD_1}"\n  }}\n}}'),
        (Expected("CKPT-INDEX-UNIQUE-KEYS", INDEX, "/weight_map/b"),),
    ),
    Case(
        "index/duplicate-weight-map",
        "two weight_map members",
        "invalid",
        _raw_index(_HEAD + _MAP + f'\n  }},\n  "weight_map": {{"a": "{SHARD_2}"}}\n}}'),
        (Expected("CKPT-INDEX-UNIQUE-KEYS", INDEX, "/weight_map"),),
    ),
    Case(
        "index/byte-order-mark",
        "the index begins with a UTF-8 byte order mark",
        "invalid",
        _raw_index_bytes(b"\xef\xbb\xbf" + index_text(standard_map()).encode()),
        (Expected("CKPT-INDEX-UTF8", INDEX),),
    ),
    Case(
        "index/trailing-comma",
        "a trailing comma, which JSON5 accepts",
        "invalid",
        _raw_index(_HEAD + _MAP + ",\n  }\n}"),
        (Expected("CKPT-INDEX-JSON", INDEX),),
    ),
    Case(
        "index/second-value",
        "text after the JSON value",
        "invalid",
        _raw_index(index_text(standard_map()) + "\n{}"),
        (Expected("CKPT-INDEX-JSON", INDEX),),
    ),
    Case(
        "index/lone-surrogate",
        "a tensor name with an unpaired surrogate escape",
        "invalid",
        _raw_index(_HEAD + _MAP + f',\n    "\\ud800": "{SHARD_1}"\n  }}\n}}'),
        (Expected("CKPT-INDEX-STRINGS", INDEX, "/weight_map/\ud800"),),
    ),
    Case(
        "index/root-array",
        "the index is an array",
        "invalid",
        _raw_index("[]"),
        (Expected("CKPT-INDEX-ROOT", INDEX, ""),),
    ),
    Case(
        "index/shard-not-string",
        "a weight_map value that is a number",
        "invalid",
        _raw_index(_HEAD + _MAP + ',\n    "x": 1\n  }\n}'),
        (Expected("CKPT-INDEX-WEIGHT-MAP", INDEX, "/weight_map/x"),),
    ),
    Case(
        "index/metadata-null",
        "metadata is null",
        "invalid",
        _raw_index(_HEAD.replace('{\n    "total_size": 8\n  }', "null") + _MAP + "\n  }\n}"),
        (Expected("CKPT-INDEX-METADATA", INDEX, "/metadata"),),
    ),
    Case(
        "index/total-size-float",
        "total_size written as 8.0",
        "invalid",
        _raw_index(_HEAD.replace('"total_size": 8', '"total_size": 8.0') + _MAP + "\n  }\n}"),
        (Expected("CKPT-INDEX-TOTAL-SIZE", INDEX, "/metadata/total_size"),),
    ),
    Case(
        "index/total-size-string",
        "total_size written as a string",
        "invalid",
        _raw_index(_HEAD.replace('"total_size": 8', '"total_size": "8"') + _MAP + "\n  }\n}"),
        (Expected("CKPT-INDEX-TOTAL-SIZE", INDEX, "/metadata/total_size"),),
    ),
    Case(
        "index/unknown-member",
        "a root member other than weight_map and metadata (PaddleNLP writes master_weights)",
        "valid",
        _raw_index(_HEAD + _MAP + '\n  },\n  "master_weights": false\n}'),
        (),
        (Expected("CKPT-INDEX-MEMBERS-KNOWN", INDEX, "/master_weights"),),
    ),
    # --- Shards and tensors ---
    Case(
        "shard/not-conforming",
        "a shard with two bytes after its last tensor",
        "invalid",
        _nonconforming_shard,
        (Expected("CKPT-SHARD-CONFORMS", SHARD_2), Expected("BUFFER-NO-TRAILING", SHARD_2)),
    ),
    Case(
        "shard/flagged",
        "a shard whose header begins with spaces (flag header-leading-whitespace of the file format)",
        "acceptable",
        _flagged_shard,
        (
            Expected("CKPT-SHARD-CONFORMS", SHARD_2, flag="header-leading-whitespace"),
            Expected("HEADER-START", SHARD_2, flag="header-leading-whitespace"),
        ),
    ),
    Case(
        "tensors/mapped-not-stored",
        "the index maps a tensor to a shard that does not store it",
        "invalid",
        _with_reference(lambda _d, _c: SHARD_1),
        (Expected("CKPT-MAPPED-STORED", INDEX, "/weight_map/x"),),
    ),
    Case(
        "tensors/duplicate-across-shards",
        "one tensor stored in two shards; the index maps it to the second",
        "invalid",
        _shards(
            {SHARD_1: {**STANDARD[SHARD_1], "b": Tensor("U8", (2,), b"\xee\xee")}, SHARD_2: STANDARD[SHARD_2]},
            standard_map(),
        ),
        (Expected("CKPT-TENSOR-UNIQUE", SHARD_1, "/b"),),
    ),
    Case(
        "tensors/unmapped",
        "a shard stores a stale tensor the index does not map",
        "acceptable",
        _shards({SHARD_1: {**STANDARD[SHARD_1], "stale": _U8}, SHARD_2: STANDARD[SHARD_2]}, standard_map()),
        (Expected("CKPT-SHARD-MAPPED", SHARD_1, "/stale", "unmapped-tensors"),),
    ),
    Case(
        "tensors/total-size-off",
        "total_size is not the sum of the tensors' byte sizes",
        "valid",
        _raw_index(_HEAD.replace('"total_size": 8', '"total_size": 4096') + _MAP + "\n  }\n}"),
        (),
        (Expected("CKPT-TOTAL-SIZE-MATCH", INDEX, "/metadata/total_size"),),
    ),
    # --- Other files ---
    Case(
        "stray/single-file-copy",
        "a single-file copy of the model beside the shards",
        "acceptable",
        _with_files({"consolidated.safetensors": serialize({"a": _U8, "z": _U8})}),  # "z": only a stray holds it
        (),
        (Expected("CKPT-NO-STRAY", "consolidated.safetensors", flag="stray-files"),),
    ),
    Case(
        "stray/second-shard-set",
        "the shards of an earlier save with three shards beside the index's two",
        "acceptable",
        _with_files({f"model-0000{i}-of-00003.safetensors": serialize({"a": _U8}) for i in (1, 2, 3)}),
        (),
        tuple(Expected("CKPT-NO-STRAY", f"model-0000{i}-of-00003.safetensors", flag="stray-files") for i in (1, 2, 3)),
    ),
    # --- Shard sets without an index ---
    Case(
        "set/complete",
        "two shards named PREFIX-IIIII-of-NNNNN and no index: conforming, and a loader may require an index",
        "acceptable",
        _set(_SET_2),
        loader=("CKPT-LOADER-SETS", "index-required"),
    ),
    Case(
        "set/gap",
        "shards 1 and 3 of 3, and no index",
        "invalid",
        _set({"model-00001-of-00003.safetensors": {"a": _U8}, "model-00003-of-00003.safetensors": {"b": _U8}}),
        (Expected("CKPT-SET-COMPLETE", "model-00002-of-00003.safetensors"),),
    ),
    Case(
        "set/totals-disagree",
        "shard 1 of 2 and shard 2 of 3",
        "invalid",
        _set({"model-00001-of-00002.safetensors": {"a": _U8}, "model-00002-of-00003.safetensors": {"b": _U8}}),
        (
            Expected("CKPT-SET-COMPLETE", "model-00002-of-00002.safetensors"),
            Expected("CKPT-SET-COMPLETE", "model-00002-of-00003.safetensors"),
        ),
    ),
    Case(
        "set/number-twice",
        "shard 1 spelled twice (00001 and 000001)",
        "invalid",
        _set({**_SET_2, "model-000001-of-00002.safetensors": {"c": _U8}}),
        (Expected("CKPT-SET-COMPLETE", "model-00001-of-00002.safetensors"),),
    ),
    Case(
        "set/duplicate-tensor",
        "two shards of a set store one tensor",
        "invalid",
        _set({"model-00001-of-00002.safetensors": {"a": _U8}, "model-00002-of-00002.safetensors": {"a": _U8}}),
        (Expected("CKPT-TENSOR-UNIQUE", "model-00002-of-00002.safetensors", "/a"),),
    ),
)


def _subdirectory_shard(directory: Path) -> str:
    (directory / "sub").mkdir()
    (directory / "sub" / "x.safetensors").write_bytes(serialize({"x": _U8}))
    return "sub/x.safetensors"


def case(case_id: str) -> Case:
    """A case by id."""
    return next(c for c in CASES if c.id == case_id)
