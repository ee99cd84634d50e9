"""Checkpoint vectors (vectors/checkpoints.json) and the checkpoint runner.

The committed vectors regenerate byte for byte and agree with the reference validator; the
reference loader passes every vector under every seed; loaders with real loaders' faults get the
verdict of their fault: ``fail-read-outside`` for one that follows references out to the canary,
``nondeterministic`` for one whose answer depends on the hash seed, ``fail-wrong-content`` for one
that globs ``*.safetensors``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import jsonschema
import pytest

from safetensors_conformance._resources import data_path, data_root
from safetensors_conformance.adapters.checkpoint import CheckpointLoader, ReferenceCheckpointLoader
from safetensors_conformance.adapters.outcome import Outcome
from safetensors_conformance.checkpoint.fixtures import CASES, SHARD_1, SHARD_2
from safetensors_conformance.corpus.checkpoint_lint import lint_checkpoints
from safetensors_conformance.corpus.checkpoints import CANARY_NAME, MANIFEST, PLACEHOLDER, CkptVector, load, materialise
from safetensors_conformance.corpus.model import TensorDigest
from safetensors_conformance.runner.canary import Canary, available
from safetensors_conformance.runner.checkpoints import Run, run_checkpoints, verdict_of
from safetensors_conformance.runner.run import Settings
from safetensors_conformance.runner.verdicts import Verdict

VECTORS = {v.id: v for v in load()}
SETTINGS = Settings(timeout=20)
linux_only = pytest.mark.skipif(available() is not None, reason=available() or "")


def _run(selection: str, ids: Sequence[str], seeds: Sequence[int] = (1, 2, 3)) -> dict[str, Verdict]:
    _, results = run_checkpoints(selection, [VECTORS[i] for i in ids], SETTINGS, seeds=seeds)
    return {r.vector: r.verdict for r in results}


# --- The manifest -------------------------------------------------------------------------------


def test_every_fixture_is_a_vector() -> None:
    assert sorted(VECTORS) == sorted(f"ckpt/{case.id}" for case in CASES)
    assert len(VECTORS) == 54


def test_manifest_follows_its_schema() -> None:
    schema = json.loads(data_path("schema", "checkpoint-vectors.schema.json").read_text(encoding="utf-8"))
    document = json.loads((data_root("vectors") / MANIFEST).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(document)) == []


def test_primary_requirement_and_content() -> None:
    dotdot = VECTORS["ckpt/reference/dotdot"]
    assert (dotdot.expect, dotdot.requirements, dotdot.expected) == ("invalid", ("CKPT-SHARD-NAME",), None)
    unmapped = VECTORS["ckpt/tensors/unmapped"]
    assert (unmapped.expect, unmapped.flags) == ("acceptable", ("unmapped-tensors",))
    assert unmapped.expected is not None
    assert [(t.name, t.shard) for t in unmapped.expected] == [("a", SHARD_1), ("b", SHARD_2), ("c", SHARD_2)]
    duplicate = VECTORS["ckpt/tensors/duplicate-across-shards"]
    assert duplicate.requirements == ("CKPT-TENSOR-UNIQUE",)


def test_no_committed_file_names_a_real_path() -> None:
    """Absolute references and link targets are the placeholder; nothing else leaves the directory."""
    absolute = VECTORS["ckpt/reference/absolute"]
    assert [f["path"] for f in absolute.files if f["template"]] == ["model.safetensors.index.json"]
    links = {v.id: e["target"] for v in VECTORS.values() for e in v.entries if e["kind"] == "link"}
    assert links["ckpt/files/link-out"] == PLACEHOLDER
    assert links["ckpt/files/link-out-relative"] == "../" + CANARY_NAME
    for vector in VECTORS.values():
        for item in vector.files:
            text = (data_root("vectors") / vector.directory / item["path"]).read_bytes()
            for system in (b"/tmp", b"/etc", b"/home", b"/root"):
                assert system not in text, (vector.id, item["path"])


def test_vectors_check_is_clean() -> None:
    assert list(lint_checkpoints(data_root("vectors"))) == []


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "vectors"
    folder.mkdir()
    shutil.copy(data_root("vectors") / MANIFEST, folder / MANIFEST)
    shutil.copytree(data_root("vectors") / "checkpoints", folder / "checkpoints")
    return folder


def test_vectors_check_sees_a_changed_shard(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    shard = folder / "checkpoints" / "valid" / "two-shards" / SHARD_1
    data = bytearray(shard.read_bytes())
    data[-1] ^= 0xFF  # a tensor byte: the shard stays conforming, its hash does not
    shard.write_bytes(bytes(data))
    problems = list(lint_checkpoints(folder))
    assert any(p.startswith(f"ckpt/valid/two-shards: {SHARD_1} does not match") for p in problems)
    assert any(p.startswith("ckpt/valid/two-shards: the validator's content") for p in problems)
    assert any("regenerating gives different bytes" in p for p in problems)


def test_vectors_check_sees_a_wrong_expectation(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    document = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    vector = next(v for v in document["vectors"] if v["id"] == "ckpt/reference/dotdot")
    vector["findings"] = []
    (folder / MANIFEST).write_text(json.dumps(document), encoding="utf-8")
    problems = list(lint_checkpoints(folder, regenerate=False))
    assert [p.split(":")[0] for p in problems] == ["ckpt/reference/dotdot"]


# --- Materialising ------------------------------------------------------------------------------


def test_materialise_points_only_at_the_canary(tmp_path: Path) -> None:
    run = tmp_path / "run"
    directory = materialise(VECTORS["ckpt/reference/absolute"], run)
    weight_map = json.loads((directory / "model.safetensors.index.json").read_text(encoding="utf-8"))["weight_map"]
    assert weight_map["x"] == str((run / CANARY_NAME).resolve())
    link = materialise(VECTORS["ckpt/files/link-out"], run) / SHARD_2
    assert str(link.readlink()) == str((run / CANARY_NAME).resolve())
    fifo = materialise(VECTORS["ckpt/files/fifo"], run) / SHARD_2
    assert fifo.is_fifo()


@pytest.mark.parametrize("order", [1, 2, 3])
def test_every_order_makes_the_same_directory(tmp_path: Path, order: int) -> None:
    vector = VECTORS["ckpt/valid/link-inside"]

    def listing(directory: Path) -> list[tuple[str, bytes]]:
        return sorted(
            (p.relative_to(directory).as_posix(), p.read_bytes()) for p in directory.rglob("*") if p.is_file()
        )

    first = listing(materialise(vector, tmp_path / "a"))
    assert listing(materialise(vector, tmp_path / "b", order=order)) == first


@linux_only
def test_the_canary_sees_an_open(tmp_path: Path) -> None:
    with Canary(tmp_path / CANARY_NAME) as canary:
        assert not canary.touched()
        os.close(os.open(tmp_path / CANARY_NAME, os.O_RDONLY))
        assert canary.touched()
        assert not canary.touched()


# --- Verdicts -----------------------------------------------------------------------------------


def _accepted(data: bytes) -> Outcome:
    return Outcome("accepted", (TensorDigest.of("a", "U8", (len(data),), data),))


def test_reading_outside_comes_before_everything() -> None:
    vector = VECTORS["ckpt/reference/dotdot"]
    runs = [Run(1, Outcome("rejected"), False, 0.0), Run(2, Outcome("rejected"), True, 0.0)]
    judgement = verdict_of(vector, runs, ReferenceCheckpointLoader().describe(), {})
    assert judgement.verdict is Verdict.FAIL_READ_OUTSIDE
    assert judgement.verdict.failed


def test_disagreeing_runs_are_nondeterministic() -> None:
    vector: CkptVector = VECTORS["ckpt/tensors/duplicate-across-shards"]
    description = ReferenceCheckpointLoader().describe()
    same = [Run(seed, _accepted(b"\x01"), False, 0.0) for seed in (1, 2)]
    assert verdict_of(vector, same, description, {}).verdict is Verdict.FAIL_ACCEPTED_INVALID
    differ = [Run(1, _accepted(b"\x01"), False, 0.0), Run(2, _accepted(b"\x02"), False, 0.0)]
    assert verdict_of(vector, differ, description, {}).verdict is Verdict.NONDETERMINISTIC
    rejected_once = [Run(1, _accepted(b"\x01"), False, 0.0), Run(2, Outcome("rejected", error="no"), False, 0.0)]
    assert verdict_of(vector, rejected_once, description, {}).verdict is Verdict.NONDETERMINISTIC


def test_the_reference_loader_is_a_checkpoint_loader() -> None:
    assert isinstance(ReferenceCheckpointLoader(), CheckpointLoader)


# --- Loaders, isolated --------------------------------------------------------------------------


@linux_only
def test_reference_loader_passes_every_vector() -> None:
    found = _run("reference", list(VECTORS))
    assert len(found) == 54
    assert {i: v for i, v in found.items() if not v.ok} == {}
    for vector_id, verdict in found.items():
        expect = VECTORS[vector_id].expect
        assert verdict is Verdict.PASS if expect != "acceptable" else verdict.ok, vector_id


OUTSIDE = [
    "ckpt/reference/dotdot",
    "ckpt/reference/dot-dotdot",
    "ckpt/reference/dotdot-inner",
    "ckpt/reference/absolute",
    "ckpt/files/link-out",
    "ckpt/files/link-out-relative",
    "ckpt/files/index-link-out",
]


@linux_only
def test_a_loader_that_follows_references_reads_outside() -> None:
    found = _run("tests.checkpoint_loaders:JoinsReferences", [*OUTSIDE, "ckpt/valid/two-shards"], seeds=(1,))
    assert found == {**dict.fromkeys(OUTSIDE, Verdict.FAIL_READ_OUTSIDE), "ckpt/valid/two-shards": Verdict.PASS}


def _set_orders(seeds: range) -> dict[int, str]:
    """The first shard name a ``set`` of the two shards yields, under each hash seed."""
    code = f"print(next(iter({{{SHARD_1!r}, {SHARD_2!r}}})))"
    orders = {}
    for seed in seeds:
        env = {**os.environ, "PYTHONHASHSEED": str(seed)}
        orders[seed] = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        ).stdout.strip()
    return orders


@linux_only
def test_a_loader_that_lets_the_hash_seed_choose_is_nondeterministic() -> None:
    orders = _set_orders(range(1, 9))
    seeds = (
        next(s for s, first in orders.items() if first == SHARD_1),
        next(s for s, f in orders.items() if f == SHARD_2),
    )
    vectors = ["ckpt/tensors/duplicate-across-shards", "ckpt/valid/two-shards"]
    found = _run("tests.checkpoint_loaders:SetOfShards", vectors, seeds=seeds)
    assert found == {vectors[0]: Verdict.NONDETERMINISTIC, vectors[1]: Verdict.PASS}
    # Under one seed the same loader is merely wrong, never "nondeterministic".
    assert _run("tests.checkpoint_loaders:SetOfShards", vectors[:1], seeds=seeds[:1]) == {
        vectors[0]: Verdict.FAIL_ACCEPTED_INVALID
    }


@linux_only
def test_a_loader_that_globs_fails_the_stray_vectors() -> None:
    strays = ["ckpt/stray/single-file-copy", "ckpt/stray/second-shard-set"]
    found = _run("tests.checkpoint_loaders:GlobsShards", [*strays, "ckpt/valid/two-shards"], seeds=(1,))
    assert found == {**dict.fromkeys(strays, Verdict.FAIL_WRONG_CONTENT), "ckpt/valid/two-shards": Verdict.PASS}
