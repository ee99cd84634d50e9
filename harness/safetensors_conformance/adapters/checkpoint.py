"""Checkpoint loaders: what one is, how one is selected, and the reference loader.

A checkpoint loader takes a directory (spec ``spec/checkpoint.md``) and returns the tensors it
loads, by name, as the file adapters' :class:`~.protocol.LoadedTensor` values, or raises
:class:`~.protocol.Rejected`. Like a file adapter it does not judge; the runner does. In a worker
it is served through the file adapters' protocol (:class:`AsAdapter`), the directory standing for
the path, so the same isolation, limits and outcomes apply.
"""

from __future__ import annotations

from typing import Final, Protocol, runtime_checkable

from .. import __version__
from .protocol import Capabilities, Description, Loaded, LoadedTensor, Rejected
from .registry import SelectionError, _load

#: Built-in checkpoint loaders, by name (a user's loader is selected as ``module:attr``).
BUILT_IN: Final = {
    "reference": "safetensors_conformance.adapters.checkpoint:ReferenceCheckpointLoader",
    "diffusers": "safetensors_conformance.adapters.ckpt_diffusers:Loader",
    "mlx-lm": "safetensors_conformance.adapters.ckpt_mlx_lm:Loader",
    "huggingface-hub": "safetensors_conformance.adapters.ckpt_hf_hub:Loader",
    "accelerate": "safetensors_conformance.adapters.ckpt_accelerate:Loader",
    "transformers": "safetensors_conformance.adapters.ckpt_transformers:Loader",
    "transformers-sharded": "safetensors_conformance.adapters.ckpt_transformers:ShardedLoader",
    "deepspeed": "safetensors_conformance.adapters.ckpt_deepspeed:Loader",
    "vllm": "safetensors_conformance.adapters.ckpt_vllm:Loader",
}


@runtime_checkable
class CheckpointLoader(Protocol):
    """Loads a checkpoint directory; see the module docstring for the contract."""

    name: str

    def describe(self) -> Description:
        """The implementation, its version and capabilities; never raises."""
        ...

    def load_checkpoint(self, directory: str) -> Loaded:
        """The tensors the implementation loads (``metadata`` is ``None``); raise :class:`Rejected`."""
        ...


class ReferenceCheckpointLoader:
    """``reference``: loads what the reference validator says a conforming loader returns.

    It accepts a checkpoint whose only findings are flagged or SHOULD-level, returning exactly the
    mapped tensors (never an unmapped one, never a stray file's), each from its mapped shard.
    """

    def __init__(self) -> None:
        self.name = "reference"

    def describe(self) -> Description:
        return Description("safetensors-conformance reference checkpoint loader", __version__, _CAPABILITIES)

    def load_checkpoint(self, directory: str) -> Loaded:
        from ..checkpoint.content import read_tensors
        from ..checkpoint.validate import check_checkpoint

        try:
            report = check_checkpoint(directory)
        except ValueError as error:  # not exactly one checkpoint in the directory
            raise Rejected(str(error)) from error
        if report.tensors is None:
            first = report.violations[0] if report.violations else None
            raise Rejected(f"{report.name}: {first}" if first is not None else f"{report.name}: no content")
        tensors = read_tensors(directory, report)
        return Loaded([LoadedTensor(t.name, t.dtype, t.shape, t.data) for t in tensors], None)


#: Checkpoint loaders return no file metadata: content is compared without it.
_CAPABILITIES: Final = Capabilities("full", metadata=False)


class AsAdapter:
    """A checkpoint loader behind the file adapters' protocol: ``load(directory)``."""

    def __init__(self, loader: CheckpointLoader) -> None:
        self.loader = loader
        self.name = loader.name

    def describe(self) -> Description:
        return self.loader.describe()

    def load(self, path: str) -> Loaded:
        return self.loader.load_checkpoint(path)


def target_of(selection: str) -> str:
    """The ``module:attr`` a selection names: a built-in name, or ``module:attr`` itself."""
    if selection in BUILT_IN:
        return BUILT_IN[selection]
    if ":" not in selection:
        known = ", ".join(sorted(BUILT_IN))
        raise SelectionError(f"no checkpoint loader named {selection!r} (built in: {known}; or use module:attr)")
    return selection


def resolve_loader(selection: str) -> CheckpointLoader:
    """The checkpoint loader a selection names, constructed."""
    loader = _load(target_of(selection))()
    if not isinstance(loader, CheckpointLoader):
        kind = type(loader).__name__
        raise SelectionError(
            f"{selection!r} made {kind}, not a checkpoint loader (needs name, describe, load_checkpoint)"
        )
    return loader
