"""``validate --jobs N`` prints what ``--jobs 1`` prints, byte for byte, in input order; an index
file named on the command line stands for its checkpoint; the per-input function gives one
input's entries and text, as the parent prints them."""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pytest

from safetensors_conformance import Tensor, serialize
from safetensors_conformance import validate_cli as validate_module
from safetensors_conformance.checkpoint.fixtures import INDEX, SHARD_1, SHARD_2, write_standard
from safetensors_conformance.cli import main
from safetensors_conformance.validate_cli import CHECKPOINT, FILE, Input, expand, validate_input
from safetensors_conformance.validate_cli import INDEX as INDEX_KIND

SCRIPT = [sys.executable, "-m", "safetensors_conformance"]
GOOD = serialize({"w": Tensor("U8", (2,), b"\x01\x02")}, {"format": "pt"})
#: Two names the same: HEADER-UNIQUE-NAMES.
DUPLICATE = b'{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}'
BAD = len(DUPLICATE).to_bytes(8, "little") + DUPLICATE + b"\x01\x02"
#: A header of 5 bytes, not padded to 8: a warning (LAYOUT-HEADER-ALIGN), and still conforming.
WARNS = (2).to_bytes(8, "little") + b"{}"


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(args), out, err)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def inputs(tmp_path: Path) -> list[str]:
    """Files that conform, warn, do not conform and cannot be read, a checkpoint directory with a
    stray file beside it, a directory of files, and an index file named on its own."""
    (tmp_path / "good.safetensors").write_bytes(GOOD)
    (tmp_path / "bad.safetensors").write_bytes(BAD)
    (tmp_path / "warns.safetensors").write_bytes(WARNS)
    checkpoint = tmp_path / "checkpoint"
    checkpoint.mkdir()
    write_standard(checkpoint)
    (checkpoint / "extra.safetensors").write_bytes(GOOD)
    folder = tmp_path / "folder"
    (folder / "deeper").mkdir(parents=True)
    for number in range(6):
        (folder / f"f{number}.safetensors").write_bytes(BAD if number == 3 else GOOD)
    (folder / "deeper" / "g.safetensors").write_bytes(GOOD)
    return [
        str(tmp_path / "good.safetensors"),
        str(checkpoint),
        str(tmp_path / "missing.safetensors"),
        str(tmp_path / "bad.safetensors"),
        str(folder),
        str(tmp_path / "warns.safetensors"),
        str(checkpoint / INDEX),
        str(tmp_path / "good.safetensors"),
    ]


@pytest.mark.parametrize("jobs", ["2", "5"])
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_jobs_print_exactly_what_one_job_prints(inputs: list[str], jobs: str, as_json: bool) -> None:
    extra = ["--json"] if as_json else []
    one = run("validate", *extra, *inputs)
    many = run("validate", *extra, "--jobs", jobs, *inputs)
    assert many == one
    assert one[0] == 2  # the missing file


def test_entries_come_in_input_order(inputs: list[str]) -> None:
    status, out, _ = run("validate", "--json", "--jobs", "2", *inputs)
    assert status == 2
    entries = json.loads(out)
    folder = inputs[4]
    expected_paths = [
        inputs[0],
        inputs[1],  # the checkpoint, then the file beside its shards
        str(Path(inputs[1]) / "extra.safetensors"),
        inputs[2],
        inputs[3],
        str(Path(folder) / "deeper" / "g.safetensors"),
        *(str(Path(folder) / f"f{number}.safetensors") for number in range(6)),
        inputs[5],
        inputs[1],  # the index file: its checkpoint, named by its directory
        inputs[0],
    ]
    assert [e["path"] for e in entries] == expected_paths
    assert [e["valid"] for e in entries] == [
        True,
        True,
        True,
        None,
        False,
        True,
        True,
        True,
        True,
        False,
        True,
        True,
        True,
        True,
        True,
    ]
    assert entries[4]["primary"] == "HEADER-UNIQUE-NAMES"
    assert [w["requirement"] for w in entries[12]["warnings"]] == ["LAYOUT-HEADER-ALIGN"]
    assert entries[13]["checkpoint"]["index"] == INDEX
    assert entries[13]["checkpoint"]["shards"] == [SHARD_1, SHARD_2]


def test_exit_statuses_are_the_same_with_jobs(inputs: list[str]) -> None:
    conforming = [inputs[0], inputs[1], inputs[5]]
    for paths, status in ((conforming, 0), ([*conforming, inputs[3]], 1), ([*conforming, inputs[2]], 2)):
        assert run("validate", "--jobs", "2", *paths)[0] == status
        assert run("validate", *paths)[0] == status


def test_the_console_script_with_jobs_and_standard_input(inputs: list[str]) -> None:
    """Standard input, between other inputs, is read by the parent process."""
    paths = [inputs[3], "-", inputs[0], inputs[4]]
    results = []
    for jobs in ("1", "2"):
        done = subprocess.run(
            [*SCRIPT, "validate", "--jobs", jobs, *paths], input=BAD, capture_output=True, timeout=120, check=False
        )
        results.append((done.returncode, done.stdout, done.stderr))
    assert results[0] == results[1]
    assert results[0][0] == 1
    lines = results[0][1].decode().splitlines()
    assert [line.split()[1] for line in lines if line.startswith(("PASS", "FAIL"))][:3] == [inputs[3], "-", inputs[0]]
    assert lines[-1] == "10 files: 7 conform, 3 do not"  # bad, standard input, f3


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="the dying worker is made by forking")
def test_a_worker_that_dies_is_an_error_entry_not_a_hang(inputs: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    checked = validate_module.validate_input

    def dies_on_bad(item: Input, *, as_json: bool) -> validate_module.Outcome:
        if item.path.endswith("bad.safetensors") and os.getpid() != parent:
            os._exit(9)  # a worker killed mid-check (out of memory, a signal)
        return checked(item, as_json=as_json)

    parent = os.getpid()
    monkeypatch.setattr(validate_module, "validate_input", dies_on_bad)  # forked workers inherit it
    monkeypatch.setattr(validate_module, "_context", lambda: multiprocessing.get_context("fork"))
    status, out, _ = run("validate", "--json", "--jobs", "2", *inputs[3:5])
    assert status == 2
    entries = json.loads(out)
    died = [e for e in entries if e["valid"] is None]
    assert died
    assert all(e["error"] == "internal error: the worker process checking this input died" for e in died)
    assert entries[0]["path"] == inputs[3]
    assert entries[0]["valid"] is None


def test_jobs_must_be_a_whole_number_above_zero(inputs: list[str]) -> None:
    assert run("validate", "--jobs", "0", inputs[0])[0] == 2
    assert run("validate", "--jobs", "x", inputs[0])[0] == 2


# --- The per-input function -----------------------------------------------------------------------


def test_one_input_gives_its_entries_and_text(inputs: list[str]) -> None:
    bad = validate_input(Input(inputs[3], FILE, inputs[3]), as_json=False)
    assert [e["primary"] for e in bad.entries] == ["HEADER-UNIQUE-NAMES"]
    assert bad.out.startswith(f"FAIL  {inputs[3]} (primary: HEADER-UNIQUE-NAMES)\n")
    assert bad.err == ""
    missing = validate_input(Input(inputs[2], FILE, inputs[2]), as_json=True)
    assert missing.out == ""
    assert missing.entries == [
        {"path": inputs[2], "valid": None, "error": "No such file or directory", "violations": [], "warnings": []}
    ]
    assert validate_input(Input(inputs[2], FILE, inputs[2]), as_json=False).err == (
        f"ERROR {inputs[2]}: No such file or directory\n"
    )
    checkpoint = validate_input(Input(inputs[1], CHECKPOINT, inputs[1]), as_json=True)
    assert [e["path"] for e in checkpoint.entries] == [inputs[1], str(Path(inputs[1]) / "extra.safetensors")]
    assert checkpoint.entries[0]["checkpoint"]["index"] == INDEX


def test_expand_names_each_kind_of_input(inputs: list[str]) -> None:
    kinds = [(item.kind, item.shown) for item in expand([inputs[1], inputs[6], "-", inputs[2]])]
    assert kinds == [
        (CHECKPOINT, inputs[1]),
        (INDEX_KIND, inputs[1]),
        ("stdin", "-"),
        (FILE, inputs[2]),
    ]


# --- An index file named on the command line ------------------------------------------------------


def test_an_index_file_validates_its_checkpoint(tmp_path: Path) -> None:
    write_standard(tmp_path)
    status, out, _ = run("validate", "--json", str(tmp_path / INDEX))
    assert status == 0
    [entry] = json.loads(out)
    assert entry["path"] == str(tmp_path)
    assert entry["valid"] is True
    assert entry["checkpoint"] == {"index": INDEX, "prefix": None, "shards": [SHARD_1, SHARD_2], "tensors": 3}
    status, out, _ = run("validate", str(tmp_path / INDEX))
    assert out.splitlines() == [
        f"PASS  {tmp_path} [checkpoint {INDEX}] (2 shards, 3 tensors)",
        "1 checkpoint and 0 files: 1 conforms, 0 do not",
    ]


def test_an_index_file_in_the_current_directory_names_it_dot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_standard(tmp_path)
    monkeypatch.chdir(tmp_path)
    status, out, _ = run("validate", "--json", INDEX)
    assert status == 0
    assert [e["path"] for e in json.loads(out)] == ["."]


def test_an_index_file_validates_only_its_own_checkpoint(tmp_path: Path) -> None:
    """A directory may hold several checkpoints; the one the index names is checked, alone."""
    write_standard(tmp_path)
    other = "other.safetensors.index.json"
    shard = "other-00001-of-00001.safetensors"
    (tmp_path / shard).write_bytes(BAD)
    (tmp_path / other).write_text(json.dumps({"weight_map": {"w": shard}}), encoding="utf-8")
    status, out, _ = run("validate", "--json", str(tmp_path / INDEX))
    assert status == 0
    assert [e["checkpoint"]["index"] for e in json.loads(out)] == [INDEX]
    status, out, _ = run("validate", "--json", str(tmp_path / other))
    assert status == 1
    [entry] = json.loads(out)
    assert entry["checkpoint"]["index"] == other
    assert entry["primary"] == "CKPT-SHARD-CONFORMS"
    # The directory as a whole has both.
    status, out, _ = run("validate", "--json", str(tmp_path))
    assert sorted(e["checkpoint"]["index"] for e in json.loads(out)) == [INDEX, other]


def test_a_missing_index_file_is_an_input_error(tmp_path: Path) -> None:
    missing = str(tmp_path / INDEX)
    status, out, err = run("validate", missing)
    assert status == 2
    assert err.startswith(f"ERROR {missing}: ")
    status, out, _ = run("validate", "--json", missing)
    [entry] = json.loads(out)
    assert entry["path"] == missing
    assert entry["valid"] is None


def test_an_index_file_of_a_broken_checkpoint_does_not_conform(tmp_path: Path) -> None:
    write_standard(tmp_path)
    (tmp_path / SHARD_2).unlink()
    status, out, _ = run("validate", "--json", str(tmp_path / INDEX))
    assert status == 1
    [entry] = json.loads(out)
    assert entry["primary"] == "CKPT-SHARD-EXISTS"
    # Found at the index's first reference to the missing shard.
    assert [(v["file"], v["pointer"]) for v in entry["violations"]] == [(INDEX, "/weight_map/b")]


def test_workers_are_spawned_when_forking_is_not_safe(inputs: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """With another thread running, a fork could copy a held lock; fresh interpreters print the same."""
    monkeypatch.setattr(validate_module, "_context", lambda: multiprocessing.get_context("spawn"))
    assert run("validate", "--json", "--jobs", "2", *inputs) == run("validate", "--json", *inputs)
