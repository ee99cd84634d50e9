"""The checkpoint loaders built in their own environment: DeepSpeed and vLLM (``scripts/extra-loaders.sh``).

Neither installs beside the project's pinned set (vLLM pins its own torch and GPU kernels; DeepSpeed
builds from an sdist), so the script builds ``.venv-loaders/`` with the versions it pins and
publishes ``results/checkpoints-extra/``. Here, without the libraries, both loaders say why they
are unavailable, and the published results are checked against the versions the script pins and
against the verdict maps below. Run under ``.venv-loaders/bin/python -m pytest`` the loaders run
isolated, as the runner runs them (one worker per hash seed 1, 2 and 3, each vector materialised
afresh beside a watched canary), over all 54 vectors, and the whole map is asserted; the comment
over each group names the library code that gives it, read in the pinned versions.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from importlib.util import find_spec
from pathlib import Path

import pytest

from safetensors_conformance.adapters import ckpt_deepspeed, ckpt_vllm
from safetensors_conformance.adapters.checkpoint import BUILT_IN, CheckpointLoader, resolve_loader
from safetensors_conformance.checkpoint.fixtures import INDEX, SHARD_1, SHARD_2
from safetensors_conformance.corpus.checkpoints import load, materialise
from safetensors_conformance.runner.canary import available
from safetensors_conformance.runner.checkpoints import DEFAULT_SEEDS, run_checkpoints
from safetensors_conformance.runner.run import Settings
from safetensors_conformance.runner.verdicts import Verdict

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "extra-loaders.sh"
PUBLISHED = ROOT / "results" / "checkpoints-extra" / "results.json"
VECTORS = {v.id: v for v in load()}
SEEDS = (1, 2, 3)
#: A load takes milliseconds; only the FIFO vector runs into the limit (it hangs).
SETTINGS = Settings(timeout=5)
#: Selection -> (package, the script's variable that pins it, the adapter module).
LOADERS = {
    "deepspeed": ("deepspeed", "DEEPSPEED", ckpt_deepspeed),
    "vllm": ("vllm", "VLLM", ckpt_vllm),
}
linux_only = pytest.mark.skipif(available() is not None, reason=available() or "")

PASS = Verdict.PASS
ACCEPTED_INVALID = Verdict.FAIL_ACCEPTED_INVALID
READ_OUTSIDE = Verdict.FAIL_READ_OUTSIDE
WRONG_CONTENT = Verdict.FAIL_WRONG_CONTENT
ACCEPTABLE_ACCEPTED = Verdict.ACCEPTABLE_ACCEPTED
ACCEPTABLE_REJECTED = Verdict.ACCEPTABLE_REJECTED

FIFO = "ckpt/files/fifo"
SET_FAULTS = [i for i in VECTORS if i.startswith("ckpt/set/") and i != "ckpt/set/complete"]
#: The index faults that Python's json.load takes and that neither library looks for afterwards.
INDEX_TAKEN = [
    "ckpt/index/duplicate-key",
    "ckpt/index/duplicate-key-escaped",
    "ckpt/index/duplicate-weight-map",
    "ckpt/index/lone-surrogate",
    "ckpt/index/metadata-null",
    "ckpt/index/total-size-float",
    "ckpt/index/total-size-string",
]
#: Both read the index as ``json.load(...)["weight_map"]`` and join its values to the directory:
#: a root array fails on the subscript, a shard reference that is a number in os.path.join.
UNEXPECTED = {
    "ckpt/index/root-array": "unexpected TypeError",
    "ckpt/index/shard-not-string": "unexpected TypeError",
}


def _pins() -> dict[str, str]:
    """``NAME=version`` lines of the script."""
    return dict(re.findall(r"^([A-Z]+)=(\S+?)(?:\s|$)", SCRIPT.read_text(encoding="utf-8"), re.MULTILINE))


def _importable(package: str) -> bool:
    return find_spec(package) is not None


def _needs(package: str) -> pytest.MarkDecorator:
    reason = f"{package} is not installed here (scripts/extra-loaders.sh builds .venv-loaders/ with it)"
    return pytest.mark.skipif(not _importable(package), reason=reason)


DUPLICATE = "ckpt/tensors/duplicate-across-shards"


def _set_orders(vector_id: str) -> list[list[str]]:
    """The order of ``set(weight_map.values())`` under each seed: the order DeepSpeed loads the shards in."""
    with tempfile.TemporaryDirectory(prefix="ckpt-extra-") as scratch:
        directory = materialise(VECTORS[vector_id], Path(scratch))
        references = list(json.loads((directory / INDEX).read_text(encoding="utf-8"))["weight_map"].values())
    code = "import json, sys; print(json.dumps(list(set(json.loads(sys.argv[1])))))"
    orders = []
    for seed in SEEDS:
        listed = subprocess.run(
            [sys.executable, "-c", code, json.dumps(references)],
            env={"PYTHONHASHSEED": str(seed)},
            capture_output=True,
            check=True,
            text=True,
        )
        orders.append(json.loads(listed.stdout))
    return orders


def _deepspeed_duplicate() -> Verdict:
    """Which copy of 'b' DeepSpeed keeps: that of the shard its ``set`` lists last, in each run."""
    kept = {[name for name in order if name in (SHARD_1, SHARD_2)][-1] for order in _set_orders(DUPLICATE)}
    return ACCEPTED_INVALID if len(kept) == 1 else Verdict.NONDETERMINISTIC


def _deepspeed() -> dict[str, Verdict]:
    """DeepSpeed 0.19.8, inference/v2/checkpoint/huggingface_engine.py: HuggingFaceCheckpointEngine."""
    found = dict.fromkeys(VECTORS, PASS)
    found.update(
        {
            # _fetch_checkpoint_files joins every weight_map value to the directory (os.path.join, which
            # also keeps an absolute path as it is) and checks nothing: a reference out of the directory
            # is loaded by safetensors' load_file in parameters(), and one into a subdirectory too.
            "ckpt/reference/dotdot": READ_OUTSIDE,
            "ckpt/reference/dotdot-inner": READ_OUTSIDE,
            "ckpt/reference/dot-dotdot": READ_OUTSIDE,
            "ckpt/reference/absolute": READ_OUTSIDE,
            "ckpt/reference/subdirectory": ACCEPTED_INVALID,
            # Links are followed: os.path.isfile and open() for the index, load_file for a shard.
            "ckpt/files/link-out": READ_OUTSIDE,
            "ckpt/files/link-out-relative": READ_OUTSIDE,
            "ckpt/files/index-link-out": READ_OUTSIDE,
            FIFO: Verdict.TIMEOUT,  # load_file opens the FIFO and waits for a writer
            # Only the referenced files are opened: an upper-case copy is never compared with them.
            "ckpt/case/entries": ACCEPTED_INVALID,
            # The index is json.load: repeated keys (the last wins) and a lone surrogate are taken, and
            # nothing but weight_map is read (metadata, total_size).
            **dict.fromkeys(INDEX_TAKEN, ACCEPTED_INVALID),
            "ckpt/shard/flagged": ACCEPTABLE_ACCEPTED,
            # parameters() yields every tensor of every file: a mapped name no shard stores is never
            # missed, and the stale tensor a shard stores unmapped is delivered.
            "ckpt/tensors/mapped-not-stored": ACCEPTED_INVALID,
            "ckpt/tensors/unmapped": WRONG_CONTENT,
            # The files are the set(weight_map.values()), loaded in the set's order, which follows
            # PYTHONHASHSEED: the copy of a tensor two shards store that wins changes between runs.
            DUPLICATE: _deepspeed_duplicate(),
            # Files the index does not name are never opened.
            "ckpt/stray/single-file-copy": ACCEPTABLE_ACCEPTED,
            "ckpt/stray/second-shard-set": ACCEPTABLE_ACCEPTED,
            # Without an index, only model.safetensors is loaded: a shard set is not found (load_file's
            # FileNotFoundError), complete or not.
            "ckpt/set/complete": ACCEPTABLE_REJECTED,
        }
    )
    # Passing: every other bad reference names no file (FileNotFoundError from load_file), and so do
    # case/references and case/reference-and-entry on a case-sensitive file system; link-dangling
    # likewise; the directory shard and the non-conforming shard are refused by safetensors; a BOM,
    # a trailing comma and a second value are JSONDecodeErrors; the shard sets (set/*) are not found.
    return found


def _vllm() -> dict[str, Verdict]:
    """vLLM 0.32.0, model_executor/model_loader: default_loader.py DefaultModelLoader._prepare_weights,
    weight_utils.py filter_duplicate_safetensors_files and safetensors_weights_iterator."""
    found = dict.fromkeys(VECTORS, PASS)
    found.update(
        {
            # _prepare_weights globs *.safetensors (links followed); safe_open follows a shard link, and
            # filter_duplicate_safetensors_files' os.path.isfile and open() an index link.
            "ckpt/files/link-out": READ_OUTSIDE,
            "ckpt/files/link-out-relative": READ_OUTSIDE,
            "ckpt/files/index-link-out": READ_OUTSIDE,
            FIFO: Verdict.TIMEOUT,  # glob lists the FIFO, and safe_open waits for a writer
            # filter_duplicate_safetensors_files keeps the globbed files the index names and drops the
            # rest unread: an upper-case copy is never compared with them.
            "ckpt/case/entries": ACCEPTED_INVALID,
            # The index is json.load, and only weight_map is read.
            **dict.fromkeys(INDEX_TAKEN, ACCEPTED_INVALID),
            "ckpt/shard/flagged": ACCEPTABLE_ACCEPTED,
            # safetensors_weights_iterator yields every tensor of every kept file (the stale tensors of
            # vLLM PR #54230): a mapped name no shard stores is never missed, the unmapped stale tensor
            # is delivered, and of a tensor two shards store the copy in the later file (natural sort of
            # the names) wins, in every run.
            "ckpt/tensors/mapped-not-stored": ACCEPTED_INVALID,
            "ckpt/tensors/unmapped": WRONG_CONTENT,
            DUPLICATE: ACCEPTED_INVALID,
            # With load_format "auto", a consolidated*.safetensors file in the directory makes
            # _prepare_weights take the Mistral format: it loads that file alone and never reads
            # model.safetensors.index.json, so the shards' tensors are missing and the copy's own
            # tensor is delivered.
            "ckpt/stray/single-file-copy": WRONG_CONTENT,
            # A second shard set beside an index is dropped by the index filter.
            "ckpt/stray/second-shard-set": ACCEPTABLE_ACCEPTED,
            # Without an index, every globbed *.safetensors file is loaded: a complete set loads whole,
            # and a set with a gap, a number twice, totals that disagree or a tensor twice is not checked.
            "ckpt/set/complete": ACCEPTABLE_ACCEPTED,
            **dict.fromkeys(SET_FAULTS, ACCEPTED_INVALID),
        }
    )
    # Passing: every bad reference (subdirectory included, as glob does not recurse) is not one of
    # the globbed paths, so filter_duplicate_safetensors_files raises FileNotFoundError before a file
    # is opened; so do the case-differing references; a dangling link fails os.path.getsize; the
    # directory shard and the non-conforming shard are refused by safetensors; a BOM, a trailing
    # comma and a second value are JSONDecodeErrors.
    return found


EXPECTED = {"deepspeed": _deepspeed, "vllm": _vllm}


# --- Here, without the libraries ----------------------------------------------------------------


@pytest.mark.parametrize("selection", list(LOADERS))
def test_both_are_built_in_checkpoint_loaders(selection: str) -> None:
    assert selection in BUILT_IN
    loader = resolve_loader(selection)  # constructing one imports nothing of the library
    assert isinstance(loader, CheckpointLoader)
    assert loader.name == selection


@pytest.mark.parametrize(
    "selection",
    [
        pytest.param(name, marks=pytest.mark.skipif(_importable(package), reason=f"{package} is installed here"))
        for name, (package, _, _) in LOADERS.items()
    ],
)
def test_without_the_library_the_loader_says_why(selection: str) -> None:
    package, _, module = LOADERS[selection]
    description = resolve_loader(selection).describe()
    assert not description.available
    assert description.version == "not installed"
    assert description.implementation == module._IMPLEMENTATION
    # The package's metadata is looked up first: not installed at all, it is not found.
    assert description.reason == (
        f"{module._ENTRY_POINT} is not importable: PackageNotFoundError: No package metadata was found for {package}"
    )
    # The runner records it as unavailable (from its worker's start) and runs no vector.
    recorded, results = run_checkpoints(f"ckpt:{selection}", list(VECTORS.values()), SETTINGS, seeds=(1,))
    assert (recorded.available, recorded.reason) == (False, description.reason)
    assert results == []


def test_the_published_results_cover_every_vector_with_the_pinned_versions() -> None:
    """results/checkpoints-extra/ (scripts/extra-loaders.sh) holds both loaders, in the versions the
    script pins, over today's vectors, with the verdicts asserted below."""
    document = json.loads(PUBLISHED.read_text(encoding="utf-8"))
    pins = _pins()
    assert document["vectors"] == list(VECTORS)
    published = {d["selection"]: d for d in document["implementations"]}
    assert set(published) == {f"ckpt:{name}" for name in LOADERS}
    for name, (_, variable, module) in LOADERS.items():
        entry = published[f"ckpt:{name}"]
        assert entry["available"], name
        assert entry["version"] == pins[variable]
        assert entry["implementation"] == f"{module._IMPLEMENTATION} (PyTorch {pins['TORCH']}+cpu)"
    assert DEFAULT_SEEDS == SEEDS  # `run` gives every checkpoint vector the runner's default seeds
    rows = {(r["implementation"], r["vector"]): r for r in document["results"]}
    assert set(rows) == {(s, v) for s in published for v in VECTORS}
    for name, expected in EXPECTED.items():
        selection = f"ckpt:{name}"
        assert {v: Verdict(rows[selection, v]["verdict"]) for v in VECTORS} == expected(), name
        flagged = {v: rows[selection, v]["flagged"] for v in VECTORS if rows[selection, v].get("flagged")}
        assert flagged == UNEXPECTED, name


# --- In .venv-loaders/, with the libraries ------------------------------------------------------


def _run(selection: str) -> tuple[dict[str, Verdict], dict[str, str]]:
    """The verdict of every vector, and the flags of the rejections by unexpected errors."""
    package, variable, _ = LOADERS[selection]
    # The FIFO last: a worker killed on its timeout is then not started again for the vectors after it.
    ordered = sorted(VECTORS.values(), key=lambda v: v.id == FIFO)
    description, results = run_checkpoints(selection, ordered, SETTINGS, seeds=SEEDS)
    assert description.available, description.reason
    assert description.version == _pins()[variable], f"re-read {package}'s code for this version"
    assert len(results) == 54
    return {r.vector: r.verdict for r in results}, {r.vector: r.flagged for r in results if r.flagged}


@linux_only
@_needs("deepspeed")
def test_deepspeed_over_every_vector() -> None:
    verdicts, flagged = _run("deepspeed")
    assert verdicts == _deepspeed()
    assert flagged == UNEXPECTED


@linux_only
@_needs("vllm")
def test_vllm_over_every_vector() -> None:
    verdicts, flagged = _run("vllm")
    assert verdicts == _vllm()
    assert flagged == UNEXPECTED
