"""The reference checkpoint validator and ``validate DIR`` (spec/checkpoint.md).

Every example checkpoint gives exactly the findings it lists; checkpoints written by the Hugging
Face library validate clean; nothing outside the directory is ever opened (a canary watched with
inotify says so); and the answer does not depend on hash seeds or the order files were created in.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from safetensors_conformance import Tensor, serialize
from safetensors_conformance._resources import data_path
from safetensors_conformance.checkpoint import CheckpointReport, CkptReq, check_checkpoint, check_directory
from safetensors_conformance.checkpoint.fixtures import CASES, INDEX, SHARD_1, SHARD_2, STANDARD, Case, case
from safetensors_conformance.checkpoint.fs import ChangedError, Directory
from safetensors_conformance.checkpoint.index import check_index
from safetensors_conformance.checkpoint.names import caseless, holds_checkpoint, name_problem
from safetensors_conformance.cli import main

REPORT_SCHEMA = jsonschema.Draft202012Validator(
    json.loads(data_path("schema", "validate-report.schema.json").read_text(encoding="utf-8"))
)
SCRIPT = [sys.executable, "-m", "safetensors_conformance"]


def found(report: CheckpointReport) -> tuple[tuple[tuple[str, str, str | None, str | None], ...], ...]:
    """A report's violations and warnings as (requirement, file, pointer, flag)."""
    return tuple(
        tuple((f.requirement.value, f.file, f.pointer, None if f.flag is None else f.flag.value) for f in findings)
        for findings in (report.violations, report.warnings)
    )


def expected(example: Case) -> tuple[tuple[tuple[str, str, str | None, str | None], ...], ...]:
    return tuple(tuple(tuple(e) for e in findings) for findings in (example.violations, example.warnings))


# --- A canary outside the checkpoint, watched with inotify ----------------------------------------

_IN_ACCESS, _IN_OPEN = 0x1, 0x20


class Canary:
    """A conforming safetensors file outside the checkpoint directory, and an inotify watch on it
    and on its directory: any open or read of it, by anyone, is an event that :meth:`touched` sees.

    A conforming file, so that a validator that followed a reference to it would find nothing wrong
    in it: only the watch can tell.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(serialize({"canary": Tensor("U8", (1,), b"\xcc")}))
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        self._fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        assert self._fd >= 0, os.strerror(ctypes.get_errno())
        for watched in (path, path.parent):
            assert libc.inotify_add_watch(self._fd, os.fsencode(watched), _IN_OPEN | _IN_ACCESS) >= 0

    def touched(self) -> bool:
        try:
            return bool(os.read(self._fd, 65536))
        except BlockingIOError:
            return False

    def close(self) -> None:
        os.close(self._fd)


@pytest.fixture
def canary(tmp_path: Path) -> Iterator[Canary]:
    if not sys.platform.startswith("linux"):
        pytest.skip("the canary is watched with inotify, which only Linux has")
    watch = Canary(tmp_path / "outside" / "canary.safetensors")
    yield watch
    watch.close()


def build(example: Case, tmp_path: Path, canary: Canary) -> Path:
    directory = tmp_path / "checkpoint"
    directory.mkdir()
    example.build(directory, canary.path)
    canary.touched()  # drain: building the case may have looked at it
    return directory


def test_the_canary_sees_an_open(canary: Canary) -> None:
    """The detector can fail: opening the canary is seen, even without reading it."""
    assert not canary.touched()
    os.close(os.open(canary.path, os.O_RDONLY))
    assert canary.touched()


# --- Every example checkpoint ---------------------------------------------------------------------


@pytest.mark.parametrize("example", CASES, ids=[c.id for c in CASES])
def test_each_example_gives_exactly_its_findings(example: Case, tmp_path: Path, canary: Canary) -> None:
    directory = build(example, tmp_path, canary)
    reports = check_directory(directory).checkpoints
    assert len(reports) == 1
    report = reports[0]
    assert found(report) == expected(example)
    assert report.conforms is (not example.violations)
    if example.expect == "invalid":
        assert report.primary is not None
        assert report.primary.value == example.requirement
        assert report.tensors is None
    else:
        assert report.primary is None
    assert not canary.touched(), "the validator opened a file outside the checkpoint directory"


@pytest.mark.parametrize("example", CASES, ids=[c.id for c in CASES])
def test_validate_dir_reports_file_requirement_and_pointer(example: Case, tmp_path: Path, canary: Canary) -> None:
    directory = build(example, tmp_path, canary)
    out, err = io.StringIO(), io.StringIO()
    status = main(["validate", "--json", str(directory)], out, err)
    document = json.loads(out.getvalue())
    REPORT_SCHEMA.validate(document)
    entry = document[0]
    assert entry["path"] == str(directory)
    findings = tuple(
        tuple((f["requirement"], f["file"], f["pointer"], f["flag"]) for f in entry[kind])
        for kind in ("violations", "warnings")
    )
    assert findings == expected(example)
    assert entry["valid"] is (not example.violations)
    # Exit 1 on any violation (flagged ones too, as for files); plain files beside it may add theirs.
    verdicts = {e["valid"] for e in document}
    assert status == (2 if None in verdicts else 1 if False in verdicts else 0)
    assert not canary.touched()


def test_valid_examples_return_the_tensors_a_loader_must(tmp_path: Path, canary: Canary) -> None:
    directory = build(case("valid/two-shards"), tmp_path, canary)
    report = check_checkpoint(directory)
    assert report.tensors is not None
    content = {name: (t.shard, t.info.dtype, t.info.shape, t.info.nbytes) for name, t in report.tensors.items()}
    assert content == {
        name: (shard, tensor.dtype, tensor.shape, len(tensor.data))
        for shard, tensors in STANDARD.items()
        for name, tensor in tensors.items()
    }


def test_unmapped_tensors_are_not_part_of_the_content(tmp_path: Path, canary: Canary) -> None:
    """Flag unmapped-tensors: a loader that accepts must return the mapped tensors only."""
    report = check_checkpoint(build(case("tensors/unmapped"), tmp_path, canary))
    assert report.primary is None
    assert report.tensors is not None
    assert sorted(report.tensors) == ["a", "b", "c"]


def test_a_shard_set_returns_the_union_of_its_shards(tmp_path: Path, canary: Canary) -> None:
    report = check_checkpoint(build(case("set/complete"), tmp_path, canary))
    assert report.index_file is None
    assert report.prefix == "model"
    assert report.tensors is not None
    assert {name: t.shard for name, t in report.tensors.items()} == {
        "a": "model-00001-of-00002.safetensors",
        "b": "model-00002-of-00002.safetensors",
    }


# --- Locations ------------------------------------------------------------------------------------


def test_reference_findings_point_at_the_value_in_the_index(tmp_path: Path, canary: Canary) -> None:
    directory = build(case("reference/dotdot"), tmp_path, canary)
    (finding,) = check_checkpoint(directory).violations
    text = (directory / INDEX).read_bytes()
    assert finding.offset == text.index(b'"../outside/canary.safetensors"')
    assert finding.pointer == "/weight_map/x"


def test_a_duplicate_key_is_located_at_its_second_spelling() -> None:
    data = b'{"weight_map": {"b": "x.safetensors", "\\u0062": "y.safetensors"}}'
    report = check_index(data, INDEX)
    assert [(f.requirement, f.pointer, f.offset) for f in report.findings] == [
        (CkptReq.INDEX_UNIQUE_KEYS, "/weight_map/b", data.index(b'"\\u0062"'))
    ]
    assert report.entries is None  # which shard holds 'b' is the question: the shards are not examined


@pytest.mark.parametrize(
    ("data", "requirement", "offset"),
    [
        (b"\xef\xbb\xbf{}", CkptReq.INDEX_UTF8, 0),
        (b'{"weight_map": {"\xff": "x.safetensors"}}', CkptReq.INDEX_UTF8, 17),
        (b'{"weight_map": {},}', CkptReq.INDEX_JSON, 18),
        (b'{"weight_map": {}} x', CkptReq.INDEX_JSON, 19),
        (b"", CkptReq.INDEX_JSON, 0),
        (b'{"weight_map": {"a": NaN}}', CkptReq.INDEX_JSON, 21),
    ],
    ids=["bom", "not-utf8", "trailing-comma", "second-value", "empty", "nan"],
)
def test_lexical_findings_carry_byte_offsets(data: bytes, requirement: CkptReq, offset: int) -> None:
    (finding,) = check_index(data, INDEX).findings
    assert (finding.requirement, finding.offset, finding.pointer) == (requirement, offset, None)


def test_whitespace_around_the_index_and_deep_metadata_are_conforming() -> None:
    deep = "[" * 5000 + "]" * 5000
    data = f'\n {{"metadata": {{"notes": {deep}, "total_size": 0}}, "weight_map": {{}}}}\n\t'.encode()
    report = check_index(data, INDEX)
    assert report.findings == ()
    assert report.entries == ()
    assert report.total_size == 0


def test_total_size_beyond_64_bits_is_refused() -> None:
    data = b'{"metadata": {"total_size": 18446744073709551616}, "weight_map": {}}'
    (finding,) = check_index(data, INDEX).findings
    assert (finding.requirement, finding.pointer) == (CkptReq.INDEX_TOTAL_SIZE, "/metadata/total_size")
    assert check_index(data.replace(b"616", b"615"), INDEX).findings == ()


def test_reports_stop_at_the_report_limit(tmp_path: Path, canary: Canary) -> None:
    directory = build(case("valid/two-shards"), tmp_path, canary)
    weight_map = {**{f"x{i}": f"../x{i}.safetensors" for i in range(1500)}, "a": SHARD_1, "b": SHARD_2, "c": SHARD_2}
    (directory / INDEX).write_text(json.dumps({"weight_map": weight_map}), encoding="utf-8")
    report = check_checkpoint(directory)
    assert (len(report.violations), report.unreported_violations) == (1000, 500)
    assert {f.requirement for f in report.violations} == {CkptReq.SHARD_NAME}
    assert all(f.offset is not None for f in report.violations)
    duplicates = "".join(f'"a": "{SHARD_1}", ' for _ in range(2500))
    index = check_index(f'{{"weight_map": {{{duplicates}"b": "{SHARD_2}"}}}}'.encode(), INDEX)
    assert (len(index.findings), index.unreported) == (1000, (1499, 0))


# --- Names ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reference",
    [
        "../x.safetensors",
        "..\\x.safetensors",
        "/abs/x.safetensors",
        "sub/x.safetensors",
        "x\\y.safetensors",
        "x\x00.safetensors",
        "C:x.safetensors",
        "x.safetensors:stream",
        "\\\\server\\share\\x.safetensors",
        "..\uff0fx.safetensors",
        "mod\u00e9l.safetensors",
        "x.SAFETENSORS",
        "x.safetensors ",
        "x.safetensors\n",
        "pytorch_model.bin",
        "",
        ".",
        "..",
        "NUL.safetensors",
        "com1.part.safetensors",
        "CON .safetensors",
        "x\u202e.safetensors",
    ],
)
def test_references_that_are_not_plain_names(reference: str) -> None:
    assert name_problem(reference) is not None


@pytest.mark.parametrize(
    "reference",
    [
        "model-00001-of-00002.safetensors",
        "..%2Fx.safetensors",
        "a b.safetensors",
        ".safetensors",
        "CONSOLE.safetensors",
    ],
)
def test_references_that_are_plain_names(reference: str) -> None:
    assert name_problem(reference) is None


def test_caseless_matching_folds_case_and_normalization() -> None:
    assert caseless("Model.safetensors") == caseless("MODEL.SAFETENSORS")
    assert caseless("e\u0301.safetensors") == caseless("\u00c9.safetensors")  # NFD e + acute, NFC E-acute
    assert caseless("stra\u00dfe") == caseless("STRASSE")
    assert caseless("a.safetensors") != caseless("b.safetensors")


def test_detection_of_checkpoint_directories() -> None:
    assert holds_checkpoint(["model.safetensors.index.json"])
    assert holds_checkpoint(["diffusion_pytorch_model.safetensors.index.json"])
    assert holds_checkpoint(["model-00001-of-00002.safetensors"])
    assert not holds_checkpoint(["model.safetensors", "config.json", ".safetensors.index.json"])
    assert not holds_checkpoint(["model-1-of-2.safetensors", "model-0001-of-0002.safetensors"])
    assert not holds_checkpoint(["model-\u0661\u0662\u0663\u0664\u0665-of-00002.safetensors"])  # Arabic digits


# --- Containment ----------------------------------------------------------------------------------


def test_a_cache_layout_is_contained_only_in_its_repository_folder(tmp_path: Path, canary: Canary) -> None:
    """The Hugging Face cache links snapshots/REV/NAME to ../../blobs/HASH (spec CKPT-FILE-LINK, Note)."""
    source = build(case("valid/two-shards"), tmp_path, canary)
    repository = tmp_path / "models--org--name"
    (repository / "blobs").mkdir(parents=True)
    snapshot = repository / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    for number, name in enumerate(sorted(p.name for p in source.iterdir())):
        shutil.copyfile(source / name, repository / "blobs" / f"blob{number}")
        (snapshot / name).symlink_to(Path("..") / ".." / "blobs" / f"blob{number}")
    inside = check_checkpoint(snapshot, root=repository)
    assert inside.conforms
    assert inside.warnings == ()
    alone = check_checkpoint(snapshot)
    assert [(f.requirement, f.file) for f in alone.violations] == [(CkptReq.FILE_LINK, INDEX)]
    with pytest.raises(ValueError, match="not inside the containment root"):
        check_directory(snapshot, root=source)


def test_a_link_to_a_directory_outside_is_not_followed(tmp_path: Path, canary: Canary) -> None:
    """A link that stays inside lexically but passes through a directory link out is refused too."""
    directory = build(case("valid/two-shards"), tmp_path, canary)
    (directory / "escape").symlink_to(canary.path.parent, target_is_directory=True)
    (directory / SHARD_2).unlink()
    (directory / SHARD_2).symlink_to(Path("escape") / canary.path.name)
    report = check_checkpoint(directory)
    assert [(f.requirement, f.file) for f in report.violations] == [(CkptReq.FILE_LINK, SHARD_2)]
    assert not canary.touched()


def test_a_shard_swapped_after_the_check_is_not_read(tmp_path: Path, canary: Canary) -> None:
    directory = build(case("valid/two-shards"), tmp_path, canary)
    listing = Directory(directory)
    assert listing.problem(SHARD_1) is None
    assert listing.problem(SHARD_2) is None
    (directory / SHARD_2).unlink()
    (directory / SHARD_2).symlink_to(canary.path)
    with pytest.raises(OSError, match="symbolic links") as raised:  # O_NOFOLLOW refuses the link itself
        listing.open(SHARD_2)
    assert raised.value.errno == errno.ELOOP
    (directory / SHARD_1).rename(directory / "old")
    shutil.copyfile(directory / "old", directory / SHARD_1)  # the same bytes, another file
    with pytest.raises(ChangedError):
        listing.open(SHARD_1)
    assert not canary.touched()


# --- Determinism ----------------------------------------------------------------------------------

_DETERMINISM_PROBE = """
import json, sys
from safetensors_conformance.checkpoint import check_directory
for path in sys.argv[1:]:
    for report in check_directory(path).checkpoints:
        print(json.dumps([[f.to_json() for f in report.violations], [f.to_json() for f in report.warnings],
                          sorted(report.tensors or {})]))
"""


def test_findings_do_not_depend_on_hash_seed_or_creation_order(tmp_path: Path, canary: Canary) -> None:
    ids = ["tensors/duplicate-across-shards", "set/duplicate-tensor", "stray/second-shard-set", "case/references"]
    directories = []
    for number, example_id in enumerate(ids):
        built = tmp_path / f"built{number}"
        built.mkdir()
        case(example_id).build(built, canary.path)
        reversed_copy = tmp_path / f"reversed{number}"
        reversed_copy.mkdir()
        for name in sorted((p.name for p in built.iterdir()), reverse=True):  # other creation (and directory) order
            shutil.copy2(built / name, reversed_copy / name, follow_symlinks=False)
        directories += [built, reversed_copy]
    outputs = set()
    for seed in ("0", "1", "2", "12345"):
        done = subprocess.run(
            [sys.executable, "-c", _DETERMINISM_PROBE, *map(str, directories)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        lines = done.stdout.splitlines()
        assert lines[0::2] == lines[1::2]  # each directory and its reversed copy agree
        outputs.add(done.stdout)
    assert len(outputs) == 1


# --- Checkpoints written by the Hugging Face library -----------------------------------------------


@pytest.fixture(scope="module")
def torch() -> Any:
    return pytest.importorskip("torch")


@pytest.fixture(scope="module")
def hub() -> Any:
    return pytest.importorskip("huggingface_hub")


@pytest.fixture(scope="module")
def save_file(torch: Any) -> Any:
    """safetensors' PyTorch writer, which the Hugging Face writers call for each shard."""
    return pytest.importorskip("safetensors.torch").save_file


def _state_dict(torch: Any) -> dict[str, Any]:
    generator = torch.Generator().manual_seed(0)
    return {
        **{f"layers.{i}.weight": torch.randn(16, 16, generator=generator) for i in range(4)},
        "norm.weight": torch.ones(16, dtype=torch.bfloat16),
        "embed.weight": torch.randn(32, 16, generator=generator).half(),
        "step": torch.tensor(7, dtype=torch.int64),
    }


def _assert_conforms_with_content(directory: Path, state_dict: dict[str, Any]) -> CheckpointReport:
    report = check_checkpoint(directory)
    assert report.violations == ()
    assert report.warnings == ()
    assert report.tensors is not None
    assert set(report.tensors) == set(state_dict)
    for name, tensor in report.tensors.items():
        value = state_dict[name]
        assert tensor.info.shape == tuple(value.shape)
        assert tensor.info.nbytes == value.numel() * value.element_size()
    return report


def test_save_torch_state_dict_checkpoints_conform(tmp_path: Path, torch: Any, hub: Any) -> None:
    state_dict = _state_dict(torch)
    hub.save_torch_state_dict(state_dict, tmp_path, max_shard_size=1500)
    assert len(list(tmp_path.glob("model-*-of-*.safetensors"))) >= 4
    report = _assert_conforms_with_content(tmp_path, state_dict)
    assert report.index_file == INDEX
    index = json.loads((tmp_path / INDEX).read_text())
    assert report.tensors is not None
    assert index["metadata"]["total_size"] == sum(t.info.nbytes for t in report.tensors.values())
    status = main(["validate", str(tmp_path)], io.StringIO(), io.StringIO())
    assert status == 0


def test_a_smaller_save_into_the_same_directory_leaves_no_strays(tmp_path: Path, torch: Any, hub: Any) -> None:
    """CKPT-WRITER-NAMES: huggingface_hub deletes the shards of the earlier, larger save."""
    state_dict = _state_dict(torch)
    hub.save_torch_state_dict(state_dict, tmp_path, max_shard_size=1500)
    hub.save_torch_state_dict(state_dict, tmp_path, max_shard_size=3000)
    _assert_conforms_with_content(tmp_path, state_dict)


def test_save_torch_model_with_tied_weights_conforms(tmp_path: Path, torch: Any, hub: Any) -> None:
    class Tied(torch.nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.embed = torch.nn.Embedding(32, 16)
            self.mid = torch.nn.Linear(16, 16)
            self.head = torch.nn.Linear(16, 32, bias=False)
            self.head.weight = self.embed.weight

    hub.save_torch_model(Tied(), tmp_path, max_shard_size=2000)
    index = json.loads((tmp_path / INDEX).read_text())
    assert index["metadata"]["head.weight"] == "embed.weight"  # the dropped tied name, as a string member
    assert "head.weight" not in index["weight_map"]
    report = check_checkpoint(tmp_path)
    assert report.conforms
    assert report.warnings == ()


def test_a_transformers_style_index_conforms(tmp_path: Path, torch: Any, hub: Any, save_file: Any) -> None:
    """save_pretrained's layout: the hub splitter, sorted keys, total_parameters, a final line feed."""
    state_dict = _state_dict(torch)
    split = hub.split_torch_state_dict_into_shards(state_dict, max_shard_size=1500)
    for filename, names in split.filename_to_tensors.items():
        save_file({name: state_dict[name].contiguous() for name in names}, tmp_path / filename, {"format": "pt"})
    index = {"metadata": {"total_parameters": 1234, **split.metadata}, "weight_map": split.tensor_to_filename}
    (tmp_path / INDEX).write_text(json.dumps(index, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    _assert_conforms_with_content(tmp_path, state_dict)


def test_a_diffusers_style_name_is_an_index(tmp_path: Path, torch: Any, hub: Any) -> None:
    state_dict = _state_dict(torch)
    pattern = "diffusion_pytorch_model{suffix}.safetensors"
    hub.save_torch_state_dict(state_dict, tmp_path, filename_pattern=pattern, max_shard_size=1500)
    report = _assert_conforms_with_content(tmp_path, state_dict)
    assert report.index_file == "diffusion_pytorch_model.safetensors.index.json"


def test_the_splitter_counts_storages_so_total_size_is_only_a_should(
    tmp_path: Path, torch: Any, hub: Any, save_file: Any
) -> None:
    """CKPT-TOTAL-SIZE-MATCH's rationale, measured: a view counts its whole storage."""
    big = torch.randn(64, 16)
    state_dict = {"a": big[:8], "b": torch.randn(16, 16), "c": torch.randn(16, 16)}
    split = hub.split_torch_state_dict_into_shards(state_dict, max_shard_size=2000)
    assert split.metadata == {"total_size": 6144}  # 4096 for big's storage, not 512 for the view
    for filename, names in split.filename_to_tensors.items():
        save_file({name: state_dict[name].contiguous() for name in names}, tmp_path / filename)
    index = {"metadata": split.metadata, "weight_map": split.tensor_to_filename}
    (tmp_path / INDEX).write_text(json.dumps(index, indent=2), encoding="utf-8")
    report = check_checkpoint(tmp_path)
    assert report.conforms
    assert [(f.requirement, f.file, f.pointer) for f in report.warnings] == [
        (CkptReq.TOTAL_SIZE_MATCH, INDEX, "/metadata/total_size")
    ]
    assert "2,560 bytes" in report.warnings[0].message


def test_a_single_file_save_is_not_a_sharded_checkpoint(tmp_path: Path, torch: Any, hub: Any) -> None:
    hub.save_torch_state_dict(_state_dict(torch), tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]
    assert check_directory(tmp_path).checkpoints == ()
    out = io.StringIO()
    assert main(["validate", str(tmp_path)], out, io.StringIO()) == 0
    assert out.getvalue().splitlines()[-1] == "1 file: 1 conforms, 0 do not"


# --- validate DIR -----------------------------------------------------------------------------------


def test_validate_walks_into_checkpoints_and_files(tmp_path: Path, canary: Canary) -> None:
    good = tmp_path / "models" / "good"
    bad = tmp_path / "models" / "bad"
    for directory, example_id in ((good, "stray/single-file-copy"), (bad, "reference/absolute")):
        directory.mkdir(parents=True)
        case(example_id).build(directory, canary.path)
    (tmp_path / "models" / "loose.safetensors").write_bytes(serialize({"w": Tensor("U8", (1,), b"\x01")}))
    out, err = io.StringIO(), io.StringIO()
    status = main(["validate", "--json", str(tmp_path / "models")], out, err)
    document = json.loads(out.getvalue())
    REPORT_SCHEMA.validate(document)
    assert status == 1
    assert [(e["path"], e["valid"], "checkpoint" in e) for e in document] == [
        (str(bad), False, True),
        (str(good), True, True),
        (str(good / "consolidated.safetensors"), True, False),  # the stray is still checked as a file
        (str(tmp_path / "models" / "loose.safetensors"), True, False),
    ]
    assert document[0]["violations"][0]["offset"] == (bad / INDEX).read_bytes().index(
        json.dumps(str(canary.path)).encode()
    )
    assert not canary.touched()


def test_text_output_names_file_requirement_pointer_and_link(tmp_path: Path, canary: Canary) -> None:
    directory = build(case("tensors/duplicate-across-shards"), tmp_path, canary)
    out = io.StringIO()
    assert main(["validate", str(directory)], out, io.StringIO()) == 1
    lines = out.getvalue().splitlines()
    assert lines[0] == f"FAIL  {directory} [checkpoint {INDEX}] (primary: CKPT-TENSOR-UNIQUE)"
    assert lines[1].startswith(f"  error   CKPT-TENSOR-UNIQUE in {SHARD_1}, offset ")
    assert lines[1].endswith(f", /b: 'b' is also stored in '{SHARD_2}'")
    assert lines[2].endswith("/spec/checkpoint.md#ckpt-tensor-unique")
    assert lines[-1] == "1 checkpoint and 0 files: 0 conform, 1 does not"


def test_an_index_beyond_the_validators_limit_is_an_error_not_a_verdict(
    tmp_path: Path, canary: Canary, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = build(case("valid/two-shards"), tmp_path, canary)
    monkeypatch.setattr("safetensors_conformance.checkpoint.validate.MAX_INDEX_BYTES", 100)
    out, err = io.StringIO(), io.StringIO()
    assert main(["validate", "--json", str(directory)], out, err) == 2
    (entry,) = json.loads(out.getvalue())
    assert entry == {
        "path": str(directory),
        "valid": None,
        "error": f"{INDEX!r} is larger than 100 bytes, the validator's limit for it",
        "violations": [],
        "warnings": [],
    }


_STARTUP_PROBE = """
import sys
from safetensors_conformance import cli
status = cli.main(["validate", sys.argv[1]])
ours = tuple(f"safetensors_conformance.{p}" for p in ("runner", "corpus", "report", "adapters", "checkpoint"))
heavy = sorted(
    name for name in sys.modules
    if name.split(".")[0] in {"rich", "jsonschema", "numpy", "safetensors", "torch"} or name.startswith(ours)
)
print(status, heavy)
"""


def test_validate_imports_the_checkpoint_code_only_for_a_checkpoint(tmp_path: Path, canary: Canary) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "model.safetensors").write_bytes(serialize({"w": Tensor("U8", (1,), b"\x01")}))
    directory = build(case("valid/two-shards"), tmp_path, canary)
    results = {}
    for name, path in (("plain", plain), ("checkpoint", directory)):
        done = subprocess.run(
            [sys.executable, "-c", _STARTUP_PROBE, str(path)], capture_output=True, text=True, check=True
        )
        results[name] = done.stdout.splitlines()[-1]
    assert results["plain"] == "0 []"
    status, modules = results["checkpoint"].split(" ", 1)
    assert status == "0"
    loaded = eval(modules)  # noqa: S307 - our own probe's repr of a list of strings
    assert all(m.startswith("safetensors_conformance.checkpoint") for m in loaded)
    assert "safetensors_conformance.checkpoint.validate" in loaded
    assert "safetensors_conformance.checkpoint.fixtures" not in loaded  # the writer stays unloaded


def test_the_console_script_exit_statuses(tmp_path: Path, canary: Canary) -> None:
    good = tmp_path / "good"
    good.mkdir()
    case("valid/two-shards").build(good, canary.path)
    bad = tmp_path / "bad"
    bad.mkdir()
    case("reference/dotdot").build(bad, canary.path)
    canary.touched()
    for directory, status in ((good, 0), (bad, 1)):
        command = [*SCRIPT, "validate", str(directory)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == status, done.stdout + done.stderr
    assert not canary.touched()
