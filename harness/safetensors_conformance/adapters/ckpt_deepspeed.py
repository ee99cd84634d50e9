"""DeepSpeed's inference checkpoint engine: ``HuggingFaceCheckpointEngine(directory).parameters()`` (``deepspeed``).

This is what DeepSpeed-Inference v2 (``build_hf_engine``) loads a local Hugging Face checkpoint
with. The engine reads the model's config first (``transformers.AutoConfig.from_pretrained``), so
the adapter writes a ``config.json`` of a small Llama into the directory (the run's scratch copy
of the vector); no model is built, as the engine needs none. Everything the engine then reads,
and from where, is its own: ``_fetch_checkpoint_files`` takes the safetensors path when any entry
of ``os.listdir`` ends in ``.safetensors``; with ``model.safetensors.index.json`` a regular file
(``os.path.isfile``: links followed) it reads the index with ``json.load``, collects the
references in a ``set`` and joins each to the directory (``os.path.join``: no check of the
reference); without one it loads ``model.safetensors`` alone. ``parameters()`` then loads each
file, in the ``set``'s order (which changes with ``PYTHONHASHSEED``), with
``safetensors.torch.load_file`` and yields every tensor it stores, mapped or not.

A name yielded twice (a tensor in two shards) reaches the model twice; the model keeps the later
copy (``map_param`` sets the container's attribute each time), and so does the adapter: it returns
each name the engine delivered, with the last tensor delivered for it.

DeepSpeed and safetensors raise ``OSError``, ``ValueError`` (``json``'s errors included) and
safetensors' own error on purpose (:func:`.ckpt_torch.errors`): those are :class:`Rejected`. Anything
else (a ``KeyError`` for an index without ``weight_map``, a ``TypeError`` for one of the wrong
shape) escapes, and the runner flags the rejection as unexpected. Its log records (one per file
loaded) are collected, not printed: :attr:`Loader.messages` keeps the last load's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from .ckpt_config import write_config
from .ckpt_torch import captured, describe_package, errors
from .protocol import Description, Loaded, Rejected
from .tensors import from_torch

if TYPE_CHECKING:
    import torch

_IMPLEMENTATION: Final = "DeepSpeed inference.v2 HuggingFaceCheckpointEngine (local directory, CPU)"
_ENTRY_POINT: Final = "deepspeed.inference.v2.checkpoint:HuggingFaceCheckpointEngine"
#: DeepSpeed's own loggers ("DeepSpeed" at import, "DS-Inference" per file), which do not propagate.
_LOGGERS: Final = ("DeepSpeed", "DS-Inference")
#: A config ``AutoConfig`` reads: a known model type, and a context length so that the engine
#: does not read a generation config as well. Not Qwen2, whose tied embeddings make the engine
#: add a tensor of its own.
_CONFIG: Final = {"model_type": "llama", "max_position_embeddings": 16}


class Loader:
    """``deepspeed``: every ``(name, tensor)`` of ``HuggingFaceCheckpointEngine.parameters()``."""

    def __init__(self) -> None:
        self.name = "deepspeed"
        #: The log records and warnings of the last load.
        self.messages: list[str] = []

    def describe(self) -> Description:
        with captured(_LOGGERS):  # "Setting accelerator to CPU" when no GPU is found
            description = describe_package(_IMPLEMENTATION, "deepspeed", _ENTRY_POINT)
            if not description.available:
                return description
            # The engine reads the model's config with transformers' AutoConfig.
            transformers = describe_package(_IMPLEMENTATION, "transformers", "transformers:AutoConfig")
        return description if transformers.available else transformers

    def load_checkpoint(self, directory: str) -> Loaded:
        # Not installed in the project's environment (scripts/extra-loaders.sh builds one with it).
        from deepspeed.inference.v2.checkpoint import HuggingFaceCheckpointEngine  # type: ignore[import-not-found]

        prepare(directory)
        with captured(_LOGGERS) as self.messages:
            try:
                engine = HuggingFaceCheckpointEngine(directory)
                # dict() keeps the later copy of a name yielded twice, as the model does.
                delivered: dict[str, torch.Tensor] = dict(engine.parameters())
            except errors() as error:
                raise Rejected(str(error)) from error
        return Loaded([from_torch(name, tensor) for name, tensor in delivered.items()], None)


def prepare(directory: str) -> None:
    """Write the model's ``config.json`` into the directory; opens nothing outside it."""
    write_config(directory, dict(_CONFIG))
