"""The real checkpoint loaders over every checkpoint vector: huggingface_hub, accelerate, transformers.

Each loader runs isolated, as the runner runs it (one worker per hash seed, seeds 1, 2 and 3, each
vector materialised afresh beside a watched canary), over all 54 vectors, and its whole verdict map
is asserted: a vector not listed passes. Every group of vectors that does not pass says what in the
library's code gives it, for the versions pinned here; these are the loaders' findings. The model
each adapter builds for a vector is checked first: built from the directory's own files, without
ever opening the canary.
"""

from __future__ import annotations

import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest

from safetensors_conformance.adapters.checkpoint import BUILT_IN, CheckpointLoader, resolve_loader
from safetensors_conformance.adapters.ckpt_torch import Slot, add_buffers, slots
from safetensors_conformance.checkpoint.fixtures import SHARD_1, SHARD_2
from safetensors_conformance.corpus.checkpoints import CANARY_NAME, load, materialise
from safetensors_conformance.runner.canary import Canary, available
from safetensors_conformance.runner.checkpoints import run_checkpoints
from safetensors_conformance.runner.run import Settings
from safetensors_conformance.runner.verdicts import Verdict

VECTORS = {v.id: v for v in load()}
#: A load takes well under a second here; only the FIFO vector runs into the limit (it hangs).
SETTINGS = Settings(timeout=4)
#: The versions whose code the verdict maps below were read from.
PINNED = {"huggingface_hub": "2.4.0", "accelerate": "1.15.0", "transformers": "5.24.0"}
SELECTIONS = {
    "huggingface-hub": "huggingface_hub",
    "accelerate": "accelerate",
    "transformers": "transformers",
    "transformers-sharded": "transformers",
}
linux_only = pytest.mark.skipif(available() is not None, reason=available() or "")


def _needs(package: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(find_spec(package) is None, reason=f"{package} is not installed")


def _run(selection: str) -> tuple[dict[str, Verdict], dict[str, str]]:
    """The verdict of every vector, and the flags of the rejections by unexpected errors."""
    # The FIFO last: a worker killed on its timeout is then not started again for the vectors after it.
    ordered = sorted(VECTORS.values(), key=lambda v: v.id in FIFO)
    description, results = run_checkpoints(selection, ordered, SETTINGS, seeds=(1, 2, 3))
    assert description.available, description.reason
    assert description.version == PINNED[SELECTIONS[selection]], "re-read the library's code for this version"
    assert len(results) == 54
    return {r.vector: r.verdict for r in results}, {r.vector: r.flagged for r in results if r.flagged}


def _expected(**groups: tuple[Verdict, list[str]]) -> dict[str, Verdict]:
    found = dict.fromkeys(VECTORS, Verdict.PASS)
    for verdict, ids in groups.values():
        assert set(ids) <= found.keys()
        found.update(dict.fromkeys(ids, verdict))
    return found


def _set_orders() -> set[str]:
    """The first of the two shard names that a ``set`` of them yields, under seeds 1, 2 and 3."""
    code = f"print(next(iter({{{SHARD_1!r}, {SHARD_2!r}}})))"
    firsts = set()
    for seed in (1, 2, 3):
        env = {"PYTHONHASHSEED": str(seed)}
        run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        firsts.add(run.stdout.strip())
    return firsts


# --- Groups every loader shares -------------------------------------------------------------------

# The index is read with Python's json: of two equal keys the last wins (also of two weight_map
# members), a lone surrogate escape decodes, and no loader looks at metadata.total_size.
LAX_INDEX = [
    "ckpt/index/duplicate-key",
    "ckpt/index/duplicate-key-escaped",
    "ckpt/index/duplicate-weight-map",
    "ckpt/index/lone-surrogate",
    "ckpt/index/total-size-float",
    "ckpt/index/total-size-string",
]
# Every tensor of every referenced shard is loaded, whatever weight_map maps: a name mapped to a
# shard that does not store it is never looked up; a copy of a shard whose name differs only in
# case is never listed (the index names the other); "sub/x.safetensors" is opened as it is.
UNCHECKED = ["ckpt/tensors/mapped-not-stored", "ckpt/case/entries", "ckpt/reference/subdirectory"]
# The same whole-shard loading fills the model's slot of a tensor the index does not map.
UNMAPPED = ["ckpt/tensors/unmapped"]
# None loads a shard set without an index: the spec allows that (flag index-required), so the
# refusal is an implementation-defined rejection.
NEEDS_INDEX = ["ckpt/set/complete"]
# Accepting is allowed: safetensors reads a header after spaces; the index decides the files.
ACCEPTABLE = ["ckpt/shard/flagged", "ckpt/stray/single-file-copy", "ckpt/stray/second-shard-set"]
# A shard or the index that is a link out of the directory is followed to the canary.
LINKS_OUT = ["ckpt/files/link-out", "ckpt/files/link-out-relative", "ckpt/files/index-link-out"]
# os.path.join(directory, reference) with no check: the climbs reach the canary, and an absolute
# reference replaces the directory.
TRAVERSAL = [
    "ckpt/reference/dotdot",
    "ckpt/reference/dotdot-inner",
    "ckpt/reference/dot-dotdot",
    "ckpt/reference/absolute",
]
# safetensors' safe_open / load_file opens the FIFO shard and blocks in open(2): nothing checks
# that a shard is a regular file first.
FIFO = ["ckpt/files/fifo"]
DUPLICATE = ["ckpt/tensors/duplicate-across-shards"]


@linux_only
@_needs("huggingface_hub")
def test_huggingface_hub_load_torch_model() -> None:
    # The seeds order the two shard names of a set both ways.
    assert _set_orders() == {SHARD_1, SHARD_2}
    found, flagged = _run("huggingface-hub")
    assert found == _expected(
        # serialization/_torch.py:load_state_dict_from_file checks Path.is_file(), which follows
        # links, then safetensors.torch.load_file opens the target; _load_sharded_checkpoint sizes
        # (os.path.getsize) and opens the index through its link. The climbs and absolute
        # references are refused there (PureWindowsPath drive, root or '..' part), so they pass.
        links=(Verdict.FAIL_READ_OUTSIDE, LINKS_OUT),
        # _load_sharded_checkpoint checks only that weight_map is an object of strings (metadata
        # null passes), and "sub/x.safetensors" has no drive, root or '..'.
        lax=(Verdict.FAIL_ACCEPTED_INVALID, [*LAX_INDEX, "ckpt/index/metadata-null", *UNCHECKED]),
        # shard_files = list(set(weight_map.values())), each shard's every tensor loaded with
        # load_state_dict(strict=False): the shard last in the set's order wins.
        duplicate=(Verdict.NONDETERMINISTIC, DUPLICATE),
        # It logs "Shard files contain tensors absent from the index" and keeps them loaded.
        unmapped=(Verdict.FAIL_WRONG_CONTENT, UNMAPPED),
        # load_torch_model without an index loads a directory's only *.safetensors; two: ValueError.
        sets=(Verdict.ACCEPTABLE_REJECTED, NEEDS_INDEX),
        acceptable=(Verdict.ACCEPTABLE_ACCEPTED, ACCEPTABLE),
    )
    # Every refusal is its documented ValueError or FileNotFoundError (a FIFO is not is_file()).
    assert flagged == {}


@linux_only
@_needs("accelerate")
def test_accelerate_load_checkpoint_in_model() -> None:
    found, flagged = _run("accelerate")
    assert found == _expected(
        # utils/modeling.py:load_checkpoint_in_model joins each of sorted(set(weight_map.values()))
        # to the folder with os.path.join; the index is the folder's one *.index.json, opened
        # through a link; load_state_dict's safe_open follows a shard's link.
        outside=(Verdict.FAIL_READ_OUTSIDE, [*TRAVERSAL, *LINKS_OUT]),
        fifo=(Verdict.TIMEOUT, FIFO),
        # Sorted shards: the duplicate's later copy, in the shard the index maps, is put in place
        # last in every run, so the answer is stable and looks right, but the duplicate is taken.
        lax=(Verdict.FAIL_ACCEPTED_INVALID, [*LAX_INDEX, "ckpt/index/metadata-null", *UNCHECKED, *DUPLICATE]),
        # Every tensor the model has is set with set_module_tensor_to_device.
        unmapped=(Verdict.FAIL_WRONG_CONTENT, UNMAPPED),
        # A folder with no *.index.json (and no model.safetensors) is a ValueError.
        sets=(Verdict.ACCEPTABLE_REJECTED, NEEDS_INDEX),
        acceptable=(Verdict.ACCEPTABLE_ACCEPTED, ACCEPTABLE),
    )
    assert flagged == {
        "ckpt/index/root-array": "unexpected AttributeError",  # index.values() on a list
        "ckpt/index/shard-not-string": "unexpected TypeError",  # sorted() of a str and an int
    }


@linux_only
@_needs("transformers")
def test_transformers_load_sharded_checkpoint() -> None:
    assert _set_orders() == {SHARD_1, SHARD_2}
    found, flagged = _run("transformers-sharded")
    assert found == _expected(
        # trainer_utils.py:load_sharded_checkpoint: safe_load_file(os.path.join(folder, shard)),
        # unchecked; the index is found with os.path.isfile and opened, links followed.
        outside=(Verdict.FAIL_READ_OUTSIDE, [*TRAVERSAL, *LINKS_OUT]),
        fifo=(Verdict.TIMEOUT, FIFO),
        lax=(Verdict.FAIL_ACCEPTED_INVALID, [*LAX_INDEX, "ckpt/index/metadata-null", *UNCHECKED]),
        # shard_files = list(set(index["weight_map"].values())), every tensor of each loaded with
        # load_state_dict(strict=False): the set's order, so the seed, picks the copy.
        duplicate=(Verdict.NONDETERMINISTIC, DUPLICATE),
        unmapped=(Verdict.FAIL_WRONG_CONTENT, UNMAPPED),
        # No model.safetensors.index.json (nor pytorch_model.bin.index.json): ValueError.
        sets=(Verdict.ACCEPTABLE_REJECTED, NEEDS_INDEX),
        acceptable=(Verdict.ACCEPTABLE_ACCEPTED, ACCEPTABLE),
    )
    assert flagged == {
        "ckpt/index/root-array": "unexpected TypeError",  # index["weight_map"] on a list
        "ckpt/index/shard-not-string": "unexpected TypeError",  # os.path.join(folder, 1)
    }


@linux_only
@_needs("transformers")
def test_transformers_from_pretrained() -> None:
    found, flagged = _run("transformers")
    assert found == _expected(
        # utils/hub.py:get_checkpoint_shard_files joins each of sorted(set(weight_map.values()))
        # with os.path.join, unchecked (the traversal of transformers issue #47176), and
        # modeling_utils._load_pretrained_model safe_opens each; the index is opened through a link.
        outside=(Verdict.FAIL_READ_OUTSIDE, [*TRAVERSAL, *LINKS_OUT]),
        fifo=(Verdict.TIMEOUT, FIFO),
        # Every tensor of every file goes into one dict in sorted file order: the mapped copy of
        # the duplicate, in the later shard, replaces the other in every run.
        lax=(Verdict.FAIL_ACCEPTED_INVALID, [*LAX_INDEX, *UNCHECKED, *DUPLICATE]),
        unmapped=(Verdict.FAIL_WRONG_CONTENT, UNMAPPED),
        # get_checkpoint_shard_files takes index["metadata"]: an index without one (which the spec
        # allows) is a KeyError. Without an index and model.safetensors: OSError.
        rejected=(Verdict.FAIL_REJECTED_VALID, ["ckpt/valid/no-metadata"]),
        sets=(Verdict.ACCEPTABLE_REJECTED, NEEDS_INDEX),
        acceptable=(Verdict.ACCEPTABLE_ACCEPTED, ACCEPTABLE),
    )
    assert flagged == {
        "ckpt/valid/no-metadata": "unexpected KeyError",  # index["metadata"]
        "ckpt/index/metadata-null": "unexpected TypeError",  # None["all_checkpoint_keys"] = ...
        "ckpt/index/root-array": "unexpected TypeError",  # index["weight_map"] on a list
        "ckpt/index/shard-not-string": "unexpected TypeError",  # sorted() of a str and an int
    }


# --- The model built for a vector ---------------------------------------------------------------


def test_every_loader_is_built_in_and_a_checkpoint_loader() -> None:
    assert set(SELECTIONS) <= BUILT_IN.keys()
    for selection, package in SELECTIONS.items():
        if find_spec(package) is not None:
            assert isinstance(resolve_loader(selection), CheckpointLoader), selection


def test_the_model_has_a_slot_for_every_name_the_directory_holds(tmp_path: Path) -> None:
    directory = str(materialise(VECTORS["ckpt/tensors/unmapped"], tmp_path / "unmapped"))
    # The index's names, then the stale tensor shard 1 stores unmapped.
    assert slots(directory) == [
        Slot("a", "U8", (4,)),
        Slot("b", "U8", (2,)),
        Slot("c", "I8", (2,)),
        Slot("stale", "U8", (1,)),
    ]
    # Of a duplicate, the dtype and shape of the copy in the shard the index maps; a stray file's
    # tensor gets a slot too.
    copies = str(materialise(VECTORS["ckpt/stray/second-shard-set"], tmp_path / "copies"))
    assert slots(copies)[:3] == [Slot("a", "U8", (4,)), Slot("b", "U8", (2,)), Slot("c", "I8", (2,))]
    stray = str(materialise(VECTORS["ckpt/stray/single-file-copy"], tmp_path / "stray"))
    assert [s.name for s in slots(stray)] == ["a", "b", "c", "z"]


@linux_only
def test_building_the_model_never_opens_the_canary(tmp_path: Path) -> None:
    """Names a header outside the directory would give get no slot, and nothing blocks on a FIFO."""
    for number, vector in enumerate(VECTORS.values()):
        run = tmp_path / str(number)
        run.mkdir()
        with Canary(run / CANARY_NAME) as canary:
            directory = materialise(vector, run)
            canary.touched()
            built = slots(str(directory))
            assert not canary.touched(), vector.id
        assert "x" not in [s.name for s in built], vector.id  # x is stored by no file of the directory
    link_out = materialise(VECTORS["ckpt/files/link-out"], tmp_path / "link")
    assert [s.name for s in slots(str(link_out))] == ["a"]  # shard 2 is the link


def test_a_name_that_cannot_be_a_buffer_gets_none() -> None:
    torch = pytest.importorskip("torch")
    module = torch.nn.Module()
    wanted = [Slot("a", "U8", (1,)), Slot("a.b", "U8", (1,)), Slot("m.w", "F32", (2,)), Slot("forward", "U8", (1,))]
    assert add_buffers(module, wanted, "meta") == [wanted[0], wanted[2]]
    assert module.get_buffer("m.w").shape == (2,)


# --- What a loader says while it loads ------------------------------------------------------------


@_needs("huggingface_hub")
def test_warnings_are_collected_not_raised(tmp_path: Path) -> None:
    """huggingface_hub warns about the unmapped tensor and loads it; the warning is kept, and
    nothing reaches the warnings filter (which turns warnings into errors here)."""
    loader = resolve_loader("huggingface-hub")
    directory = materialise(VECTORS["ckpt/tensors/unmapped"], tmp_path)
    loaded = loader.load_checkpoint(str(directory))
    assert loaded.tensors is not None
    assert [t.name for t in loaded.tensors] == ["a", "b", "c", "stale"]
    messages = getattr(loader, "messages", [])
    assert len(messages) == 1
    assert messages[0].startswith("WARNING ")
    assert messages[0].endswith("Shard files contain tensors absent from the index: ['stale']")
