"""diffusers' loader: ``ModelMixin.from_pretrained`` of a tiny model on the checkpoint directory (``diffusers``).

The model is a ``ModelMixin`` + ``ConfigMixin`` with one parameter per name the directory's own
files declare (:func:`.ckpt_torch.slots`, the same model the other PyTorch loaders get: every
name the index maps or a shard stores, with its header's dtype and shape). The adapter writes its
``config.json`` into the directory (the run's scratch copy of the vector) and gives the index
diffusers' name for it, ``diffusion_pytorch_model.safetensors.index.json`` (a rename: a link stays
a link). Then ``from_pretrained(directory)`` runs with its defaults, and everything it reads, and
from where, is its own: ``_get_checkpoint_shard_files`` reads the index with ``json.loads`` and
lists ``sorted(set(weight_map.values()))``, refusing a reference whose ``os.path.basename`` is not
itself; ``_load_pretrained_model`` loads every tensor of every listed shard
(``safetensors.torch.load_file``) into the parameter of that name, whichever shard the index maps
it to. With accelerate installed (the adapter requires it) ``low_cpu_mem_usage`` is the default
and the model is made on the ``meta`` device, so a parameter still there afterwards is one
diffusers never filled: the adapter returns exactly the parameters it filled.

diffusers raises ``OSError`` (``EnvironmentError``, ``FileNotFoundError``), ``ValueError`` and
``RuntimeError`` on purpose (:func:`.ckpt_torch.errors`): those are :class:`Rejected`. Anything
else (a ``KeyError`` for an index without ``metadata``, a ``TypeError`` for an index of the wrong
shape) escapes, and the runner flags the rejection as unexpected. Its warnings about missing or
unexpected keys are behaviour, not rejection: they are collected, not printed.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Final

from ..checkpoint.names import is_index_name
from .ckpt_config import write_config
from .ckpt_torch import Slot, captured, describe_package, errors, slots
from .hf import _version
from .protocol import Description, Loaded, Rejected
from .tensors import TORCH_NAMES, from_torch

_IMPLEMENTATION: Final = "diffusers ModelMixin.from_pretrained (local directory, CPU)"
#: The index name diffusers looks for in a local directory (``SAFE_WEIGHTS_INDEX_NAME``).
_INDEX: Final = "diffusion_pytorch_model.safetensors.index.json"
_CLASS: Final = "ConformanceVectorModel"


class Loader:
    """``diffusers``: ``from_pretrained`` of a model built for the checkpoint."""

    def __init__(self) -> None:
        self.name = "diffusers"

    def describe(self) -> Description:
        description = describe_package(_IMPLEMENTATION, "diffusers", "diffusers.models.modeling_utils:ModelMixin")
        if not description.available:
            return description
        # Without accelerate the model is made with real (uninitialised) tensors, and a parameter
        # diffusers left unfilled could not be told from one it filled.
        accelerate = describe_package(_IMPLEMENTATION, "accelerate", "accelerate:init_empty_weights")
        if not accelerate.available:
            return accelerate
        _model_class()  # defined now, within the worker's start
        return description

    def load_checkpoint(self, directory: str) -> Loaded:
        from diffusers.utils import logging as diffusers_logging

        prepare(directory)
        model_class = _model_class()
        diffusers_logging.disable_progress_bar()  # "Loading checkpoint shards" would go to the worker's stderr
        try:
            with captured(["diffusers"]):
                model = model_class.from_pretrained(directory)
        except errors() as error:
            raise Rejected(str(error)) from error
        return Loaded([from_torch(name, p) for name, p in model.named_parameters() if not p.is_meta], None)


def prepare(directory: str) -> None:
    """Make the directory one diffusers loads: the model's ``config.json``, and the index renamed to
    diffusers' name (the entry itself: a link is not followed). Opens nothing outside the directory."""
    specs = [[s.name, s.dtype, list(s.shape)] for s in slots(directory)]
    write_config(directory, {"_class_name": _CLASS, "_diffusers_version": _version("diffusers"), "tensors": specs})
    names = {path.name for path in Path(directory).iterdir()}
    indexes = [name for name in names if is_index_name(name)]
    if _INDEX not in names and len(indexes) == 1:
        Path(directory, indexes[0]).rename(Path(directory, _INDEX))


@cache
def _model_class() -> Any:
    """The model class (made on first use: defining it imports torch and diffusers)."""
    import torch
    from diffusers.configuration_utils import ConfigMixin, register_to_config
    from diffusers.models.modeling_utils import ModelMixin

    class ConformanceVectorModel(ModelMixin, ConfigMixin):  # type: ignore[misc]
        """One parameter per slot, of its dtype and shape (not requiring grad: integer ones cannot)."""

        @register_to_config  # type: ignore[untyped-decorator]
        def __init__(self, tensors: list[list[Any]] | None = None) -> None:
            super().__init__()  # type: ignore[no-untyped-call]
            for name, code, shape in tensors or []:
                _register(self, Slot(name, code, tuple(shape)), torch)

    return ConformanceVectorModel


def _register(root: Any, slot: Slot, torch: Any) -> None:
    """The slot as a parameter of ``root`` (a dotted name in nested modules); a name a module cannot
    hold (empty, or an attribute of the module) stays out of the model: to diffusers, an unexpected key."""
    dtype = getattr(torch, next(name for name, code in TORCH_NAMES.items() if code == slot.dtype))
    *path, leaf = slot.name.split(".")
    module = root
    try:
        for part in path:
            child = getattr(module, part, None)
            if child is None:
                child = torch.nn.Module()
                module.add_module(part, child)
            elif not isinstance(child, torch.nn.Module):  # a parameter or a method of that name
                return
            module = child
        module.register_parameter(leaf, torch.nn.Parameter(torch.empty(slot.shape, dtype=dtype), requires_grad=False))
    except (KeyError, TypeError):
        return
