"""The ``diffusers`` and ``mlx-lm`` checkpoint loaders over every checkpoint vector, under three hash seeds.

Each expected verdict is what the library's own loading code does with the vector, read in
diffusers 0.42.1 and mlx-lm 0.32.2 and seen in runs; the comment over each group names the code.
A new version of either library fails the version check first: its map is then established again.
"""

from __future__ import annotations

import glob
import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from safetensors_conformance.adapters import ckpt_diffusers, ckpt_mlx_lm
from safetensors_conformance.adapters.checkpoint import CheckpointLoader, resolve_loader
from safetensors_conformance.checkpoint.fixtures import INDEX, SHARD_1, SHARD_2
from safetensors_conformance.corpus.checkpoints import CANARY_NAME, load, materialise
from safetensors_conformance.runner.canary import Canary, available
from safetensors_conformance.runner.checkpoints import run_checkpoints
from safetensors_conformance.runner.results import Result
from safetensors_conformance.runner.run import Settings
from safetensors_conformance.runner.verdicts import Verdict

VECTORS = {v.id: v for v in load()}
SEEDS = (1, 2, 3)
#: Every load takes milliseconds; only a loader that blocks on the FIFO shard reaches this.
SETTINGS = Settings(timeout=5)
linux_only = pytest.mark.skipif(available() is not None, reason=available() or "")

PASS = Verdict.PASS
ACCEPTED_INVALID = Verdict.FAIL_ACCEPTED_INVALID
REJECTED_VALID = Verdict.FAIL_REJECTED_VALID
READ_OUTSIDE = Verdict.FAIL_READ_OUTSIDE
ACCEPTABLE_ACCEPTED = Verdict.ACCEPTABLE_ACCEPTED
ACCEPTABLE_REJECTED = Verdict.ACCEPTABLE_REJECTED

REFERENCES = [i for i in VECTORS if i.startswith("ckpt/reference/")]
INDEX_FAULTS = [i for i in VECTORS if i.startswith("ckpt/index/") and i != "ckpt/index/unknown-member"]
SET_FAULTS = [i for i in VECTORS if i.startswith("ckpt/set/") and i != "ckpt/set/complete"]


def _run(selection: str) -> tuple[str, list[Result]]:
    """The loader's version and results; skipped where the library is not installed (the loader says so)."""
    description, results = run_checkpoints(selection, list(VECTORS.values()), SETTINGS, seeds=SEEDS)
    if not description.available:
        pytest.skip(f"{selection}: {description.reason}")
    assert len(results) == len(VECTORS)
    return description.version, results


def _verdicts(results: list[Result]) -> dict[str, Verdict]:
    return {r.vector: r.verdict for r in results}


def _flagged(results: list[Result]) -> dict[str, str]:
    return {r.vector: r.flagged for r in results if r.flagged is not None}


# --- What the adapters do themselves -------------------------------------------------------------


def test_both_are_built_in_checkpoint_loaders() -> None:
    for selection in ("diffusers", "mlx-lm"):
        loader = resolve_loader(selection)  # constructing one imports nothing heavy
        assert isinstance(loader, CheckpointLoader)
        assert loader.name == selection


@linux_only
@pytest.mark.parametrize("prepare", [ckpt_diffusers.prepare, ckpt_mlx_lm.prepare], ids=["diffusers", "mlx-lm"])
def test_preparing_a_directory_never_opens_the_canary(tmp_path: Path, prepare: Callable[[str], None]) -> None:
    """The adapter's own reads and writes stay inside: a canary opened in a run is the library's doing."""
    touched = []
    for number, vector in enumerate(VECTORS.values()):
        run = tmp_path / str(number)
        run.mkdir()
        with Canary(run / CANARY_NAME) as canary:
            directory = materialise(vector, run)
            canary.touched()
            prepare(str(directory))
            if canary.touched():
                touched.append(vector.id)
        assert (directory / "config.json").is_file()
        assert not (directory / "config.json").is_symlink()
    assert touched == []


def test_diffusers_gets_its_index_name_and_the_model_config(tmp_path: Path) -> None:
    directory = materialise(VECTORS["ckpt/files/index-link-out"], tmp_path / "run")
    ckpt_diffusers.prepare(str(directory))
    assert not (directory / INDEX).exists()
    renamed = directory / "diffusion_pytorch_model.safetensors.index.json"
    assert renamed.is_symlink()  # renamed as it is: diffusers meets the link itself
    config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    # The index cannot be read (a link out): the model is what the shards store.
    assert config["_class_name"] == "ConformanceVectorModel"
    assert sorted(config["tensors"]) == [["a", "U8", [4]], ["b", "U8", [2]], ["c", "I8", [2]]]


def test_mlx_lm_gets_the_model_config(tmp_path: Path) -> None:
    directory = materialise(VECTORS["ckpt/tensors/unmapped"], tmp_path / "run")
    ckpt_mlx_lm.prepare(str(directory))
    assert (directory / INDEX).is_file()  # left as it is: mlx-lm never opens it
    config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    assert sorted(config["tensors"]) == [["a", [4]], ["b", [2]], ["c", [2]], ["stale", [1]]]


# --- diffusers ----------------------------------------------------------------------------------

DIFFUSERS = {
    # Conforming checkpoints: the index's shards are loaded; total_size and unknown members are never read.
    **dict.fromkeys(
        [
            "ckpt/valid/two-shards",
            "ckpt/valid/one-shard",
            "ckpt/valid/hf-metadata",
            "ckpt/valid/escaped-names",
            "ckpt/valid/link-inside",
            "ckpt/index/unknown-member",
            "ckpt/tensors/total-size-off",
        ],
        PASS,
    ),
    # hub_utils._get_checkpoint_shard_files reads index["metadata"] unconditionally: a KeyError.
    "ckpt/valid/no-metadata": REJECTED_VALID,
    # Without an index, from_pretrained (_get_model_file) looks only for diffusion_pytorch_model.safetensors,
    # then .bin: a shard set is not a checkpoint to it (an OSError), complete or not.
    "ckpt/set/complete": ACCEPTABLE_REJECTED,
    **dict.fromkeys(SET_FAULTS, PASS),
    # _get_checkpoint_shard_files refuses a reference whose os.path.basename is not itself (the fix for
    # diffusers #14175: ValueError before anything is opened); every other bad name is not an existing
    # file (os.path.exists: FileNotFoundError), case included, as the file system is case-sensitive.
    **dict.fromkeys(REFERENCES, PASS),
    "ckpt/case/references": PASS,
    "ckpt/case/reference-and-entry": PASS,
    # Links are followed: os.path.exists and safetensors' load_file for a shard, open() for the index.
    "ckpt/files/link-out": READ_OUTSIDE,
    "ckpt/files/link-out-relative": READ_OUTSIDE,
    "ckpt/files/index-link-out": READ_OUTSIDE,
    "ckpt/files/link-dangling": PASS,  # os.path.exists is false: FileNotFoundError
    "ckpt/files/directory": PASS,  # load_file fails, and load_state_dict's fallback open() raises IsADirectoryError
    "ckpt/files/fifo": Verdict.TIMEOUT,  # load_file opens the FIFO and waits for a writer
    # Only the shards the index names are listed; a copy whose name differs in case is never looked at.
    "ckpt/case/entries": ACCEPTED_INVALID,
    # The index is json.loads: a BOM, a trailing comma and a second value are refused (JSONDecodeError);
    # repeated names (the last wins) and a lone surrogate are taken; an index of the wrong shape fails on
    # a TypeError (root-array, shard-not-string, metadata-null); total_size is never read.
    **dict.fromkeys(INDEX_FAULTS, PASS),
    "ckpt/index/duplicate-key": ACCEPTED_INVALID,
    "ckpt/index/duplicate-key-escaped": ACCEPTED_INVALID,
    "ckpt/index/duplicate-weight-map": ACCEPTED_INVALID,
    "ckpt/index/lone-surrogate": ACCEPTED_INVALID,
    "ckpt/index/total-size-float": ACCEPTED_INVALID,
    "ckpt/index/total-size-string": ACCEPTED_INVALID,
    # safetensors refuses the trailing bytes; load_state_dict turns that into an OSError.
    "ckpt/shard/not-conforming": PASS,
    "ckpt/shard/flagged": ACCEPTABLE_ACCEPTED,
    # _load_pretrained_model counts missing keys against the index's names, not the shards': a mapped
    # tensor no shard stores is left unfilled (on the meta device) without a word.
    "ckpt/tensors/mapped-not-stored": ACCEPTED_INVALID,
    # Every tensor of every listed shard is loaded (load_model_dict_into_meta) into the parameter of that
    # name, shards in sorted order: the copy in the later shard wins, whichever the index maps (here the
    # mapped one, every run), and a tensor the index does not map is delivered as well.
    "ckpt/tensors/duplicate-across-shards": ACCEPTED_INVALID,
    "ckpt/tensors/unmapped": Verdict.FAIL_WRONG_CONTENT,
    # Files the index does not name are never opened (the stray-only 'z' stays unfilled, on meta).
    "ckpt/stray/single-file-copy": ACCEPTABLE_ACCEPTED,
    "ckpt/stray/second-shard-set": ACCEPTABLE_ACCEPTED,
}


@linux_only
def test_diffusers_over_every_vector() -> None:
    version, results = _run("diffusers")
    assert version == "0.42.1"
    assert _verdicts(results) == DIFFUSERS
    # The rejections that come from an error diffusers does not raise on purpose.
    assert _flagged(results) == {
        "ckpt/valid/no-metadata": "unexpected KeyError",
        "ckpt/index/root-array": "unexpected TypeError",
        "ckpt/index/shard-not-string": "unexpected TypeError",
        "ckpt/index/metadata-null": "unexpected TypeError",
    }


# --- mlx-lm -------------------------------------------------------------------------------------


def _glob_orders(vector_id: str) -> list[list[str]]:
    """What mlx-lm's ``glob`` lists in each run's directory, made as the runner makes it for each seed."""
    orders = []
    with tempfile.TemporaryDirectory(prefix="ckpt-order-") as scratch:
        for order in range(len(SEEDS)):
            directory = materialise(VECTORS[vector_id], Path(scratch) / str(order), order=order)
            orders.append([Path(p).name for p in glob.glob(str(directory / "model*.safetensors"))])  # noqa: PTH207
    return orders


def _last(listed: list[str], holders: set[str]) -> str:
    """The file whose copy a ``dict.update`` over the listed files keeps: the last that holds the tensor."""
    return [name for name in listed if name in holders][-1]


def _order_dependent() -> dict[str, Verdict]:
    """The two vectors where the directory's listing order picks the copy mlx-lm keeps."""
    # Which copy of 'b' is kept: one verdict if every run keeps the same copy, else nondeterministic.
    kept = {_last(listed, {SHARD_1, SHARD_2}) for listed in _glob_orders("ckpt/tensors/duplicate-across-shards")}
    duplicate = ACCEPTED_INVALID if len(kept) == 1 else Verdict.NONDETERMINISTIC
    # The stray set's 'a' has shape (1,), the model's (4,): strict loading refuses it when it is kept.
    holders = {SHARD_1, *(f"model-0000{i}-of-00003.safetensors" for i in (1, 2, 3))}
    right = {_last(listed, holders) == SHARD_1 for listed in _glob_orders("ckpt/stray/second-shard-set")}
    stray = {frozenset({True}): ACCEPTABLE_ACCEPTED, frozenset({False}): ACCEPTABLE_REJECTED}.get(
        frozenset(right), Verdict.NONDETERMINISTIC
    )
    return {"ckpt/tensors/duplicate-across-shards": duplicate, "ckpt/stray/second-shard-set": stray}


MLX_LM = {
    # utils.load_model globs model*.safetensors and loads every tensor of every file found: a conforming
    # checkpoint, indexed or a shard set, loads whole.
    **dict.fromkeys([i for i in VECTORS if i.startswith("ckpt/valid/")], PASS),
    "ckpt/set/complete": ACCEPTABLE_ACCEPTED,
    "ckpt/index/unknown-member": PASS,
    "ckpt/tensors/total-size-off": PASS,
    # The index is never opened: no reference is followed (nothing outside is read), and no fault of the
    # index, of its references or of its names is seen; a shard set is not checked for completeness.
    **dict.fromkeys(REFERENCES, ACCEPTED_INVALID),
    **dict.fromkeys(INDEX_FAULTS, ACCEPTED_INVALID),
    **dict.fromkeys(SET_FAULTS, ACCEPTED_INVALID),
    "ckpt/files/index-link-out": ACCEPTED_INVALID,
    "ckpt/case/references": ACCEPTED_INVALID,
    "ckpt/case/reference-and-entry": ACCEPTED_INVALID,
    "ckpt/tensors/mapped-not-stored": ACCEPTED_INVALID,
    # The glob is case-sensitive: the upper-case copy is not listed, and nothing compares names.
    "ckpt/case/entries": ACCEPTED_INVALID,
    # glob lists links, and mx.load follows them.
    "ckpt/files/link-out": READ_OUTSIDE,
    "ckpt/files/link-out-relative": READ_OUTSIDE,
    "ckpt/files/link-dangling": PASS,  # mx.load: "[load_safetensors] Failed to open file"
    "ckpt/files/directory": PASS,  # mx.load: "[read] Unable to read 8 bytes"
    "ckpt/files/fifo": Verdict.TIMEOUT,  # mx.load opens the FIFO and waits for a writer
    # MLX checks that each tensor ends inside the file, not that the file ends at the last tensor.
    "ckpt/shard/not-conforming": ACCEPTED_INVALID,
    "ckpt/shard/flagged": ACCEPTABLE_ACCEPTED,
    # Every stored tensor is merged into the weights, mapped or not: the stale one is delivered.
    "ckpt/tensors/unmapped": Verdict.FAIL_WRONG_CONTENT,
    # consolidated.safetensors does not match the glob: the model's 'z' (only that file stores it) is a
    # parameter no file filled, which load_weights(strict=True) refuses.
    "ckpt/stray/single-file-copy": ACCEPTABLE_REJECTED,
}


@linux_only
def test_mlx_lm_over_every_vector() -> None:
    expected = {**MLX_LM, **_order_dependent()}
    version, results = _run("mlx-lm")
    assert version == "0.32.2"
    assert _verdicts(results) == expected
    assert _flagged(results) == {}
