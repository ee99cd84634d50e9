"""vLLM's weight loading: ``DefaultModelLoader._prepare_weights``, then its weights iterator (``vllm``).

These are the two steps ``DefaultModelLoader.get_all_weights`` takes for a local directory before
the model's ``load_weights`` sees a tensor, called as it calls them (no subfolder, no revision,
``fall_back_to_pt`` true, no pattern overrides) with vLLM's default ``LoadConfig`` (``auto``
format, lazy safetensors loading) less its progress bar. Everything they read, and from where, is
vLLM's own: ``_prepare_weights`` globs ``*.safetensors`` in the directory (``glob.glob``: links
followed, directories matched too) and, with ``model.safetensors.index.json`` a regular file,
keeps only the globbed paths that ``os.path.join(directory, reference)`` names for some reference
of its ``weight_map`` (read with ``json.load``), refusing the checkpoint when a reference names
none (``FileNotFoundError``). ``safetensors_weights_iterator`` then opens each kept file, in
natural-sort order of its name, with ``safetensors.safe_open`` and yields every tensor it stores,
mapped or not. When no ``*.safetensors`` file is found, vLLM loads ``*.bin`` or ``*.pt`` files with
``pt_weights_iterator`` (``torch.load(weights_only=True)``), and so does the adapter.

A name yielded twice (a tensor in two kept files) reaches the model's ``load_weights`` twice, and
each copy is written into the parameter in turn: the adapter returns each name the iterator
delivered, with the last tensor delivered for it.

vLLM and safetensors raise ``OSError``, ``ValueError`` (``json``'s errors included),
``RuntimeError`` (no weights found) and safetensors' own error on purpose
(:func:`.ckpt_torch.errors`): those are :class:`Rejected`. Anything else (a ``KeyError`` for an
index without ``weight_map``, a ``TypeError`` for one of the wrong shape) escapes, and the runner
flags the rejection as unexpected. vLLM's log records are collected, not printed:
:attr:`Loader.messages` keeps the last load's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Final

from .ckpt_torch import captured, describe_package, errors
from .protocol import Description, Loaded, Rejected
from .tensors import from_torch

if TYPE_CHECKING:
    import torch

_IMPLEMENTATION: Final = "vLLM DefaultModelLoader weights (local directory, CPU)"
_ENTRY_POINT: Final = "vllm.model_executor.model_loader.default_loader:DefaultModelLoader"
#: vLLM's logger, which keeps its records from propagating.
_LOGGERS: Final = ("vllm",)


class Loader:
    """``vllm``: the weights ``DefaultModelLoader`` hands a model for a local directory."""

    def __init__(self) -> None:
        self.name = "vllm"
        #: The log records and warnings of the last load.
        self.messages: list[str] = []

    def describe(self) -> Description:
        with captured(_LOGGERS):  # the platform detection logs at import
            return describe_package(_IMPLEMENTATION, "vllm", _ENTRY_POINT)

    def load_checkpoint(self, directory: str) -> Loaded:
        with captured(_LOGGERS) as self.messages:
            try:
                # dict() keeps the later copy of a name yielded twice, as the model does.
                delivered: dict[str, torch.Tensor] = dict(weights(directory))
            except errors() as error:
                raise Rejected(str(error)) from error
        return Loaded([from_torch(name, tensor) for name, tensor in delivered.items()], None)


def weights(directory: str) -> Iterator[tuple[str, torch.Tensor]]:
    """What ``DefaultModelLoader._get_weights_iterator`` yields for a local directory with vLLM's
    default load settings (the multithreaded, fastsafetensors and npcache paths are not the default)."""
    # Not installed in the project's environment (scripts/extra-loaders.sh builds one with it).
    from vllm.config.load import LoadConfig  # type: ignore[import-not-found]
    from vllm.model_executor.model_loader.default_loader import DefaultModelLoader  # type: ignore[import-not-found]
    from vllm.model_executor.model_loader.weight_utils import (  # type: ignore[import-not-found]
        pt_weights_iterator,
        safetensors_weights_iterator,
    )

    config = LoadConfig(use_tqdm_on_load=False)  # the bar would go to the worker's stderr
    loader = DefaultModelLoader(config)
    _, files, use_safetensors, _ = loader._prepare_weights(directory, None, None, True, None)
    iterator: Iterator[tuple[str, torch.Tensor]]
    if not use_safetensors:
        iterator = pt_weights_iterator(files, config.use_tqdm_on_load, config.pt_load_map_location)
        return iterator
    iterator = safetensors_weights_iterator(
        files,
        config.use_tqdm_on_load,
        config.safetensors_load_strategy,
        local_expert_ids=loader.local_expert_ids,
        safetensors_prefetch_num_threads=config.safetensors_prefetch_num_threads,
        safetensors_prefetch_block_size=config.safetensors_prefetch_block_size,
    )
    return iterator
