"""transformers' two ways into a local sharded checkpoint, as checkpoint loaders.

``transformers``: ``PreTrainedModel.from_pretrained(directory, config=config,
output_loading_info=True)`` of a tiny model class built for the vector. With
``model.safetensors.index.json`` in the directory (and no ``model.safetensors``),
``modeling_utils._get_resolved_checkpoint_files`` hands the index to
``utils.hub.get_checkpoint_shard_files``, which reads it with ``json.loads``, takes
``index["metadata"]`` as it is (a ``KeyError`` without one) and joins each of
``sorted(set(weight_map.values()))`` to the directory with ``os.path.join``, unchecked.
``_load_pretrained_model`` then opens every one of those files with ``safe_open`` and gathers
*every* tensor of every file, by name, into one dict, a later file's copy replacing an earlier
one's; ``core_model_loading.convert_and_load_state_dict_in_model`` puts each name the model has
in place and reports the others as unexpected, and names no file held as missing (they are then
initialised, not loaded). A directory without an index and without ``model.safetensors`` is an
``OSError``.

The model class is a ``PreTrainedModel`` whose config carries the buffers to build
(:func:`.ckpt_torch.slots`: every tensor name the directory's files declare, with its dtype and
shape). ``from_pretrained`` builds it on the meta device itself; the adapter returns the buffers
the loading report does not list as missing or mismatched, so never the initialised ones. The
config is passed as an object (its ``dtype`` set, as ``save_pretrained`` writes it, so that the
dtype is not guessed by opening the first shard once more): nothing is written into the directory.

``transformers-sharded``: ``trainer_utils.load_sharded_checkpoint(model, directory,
strict=False)``, as ``Trainer`` calls it when it resumes from a checkpoint. It reads the index
with ``json.load``, takes ``list(set(weight_map.values()))`` (so the order of the shards depends
on the hash seed) and, for each, ``model.load_state_dict(safetensors.torch.load_file(
os.path.join(directory, shard)), strict=False)``: every tensor of every shard, with no check of
the reference. Its own missing and unexpected keys come from the index, not from what it loaded,
so the adapter records what reached ``load_state_dict`` instead (:class:`.ckpt_torch.Received`)
on a CPU model of the same buffers.

Both selections' warnings and log records (the loading report, unused weights) are collected,
not printed: ``messages`` keeps the last load's. Refusals: ``OSError``, ``ValueError``,
``RuntimeError``, ``SafetensorError`` (:func:`.ckpt_torch.errors`); a ``KeyError`` or
``TypeError`` from an index without ``metadata`` or ``weight_map`` escapes.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from .ckpt_torch import Received, Slot, add_buffers, buffer_tensors, captured, describe_package, errors, slots
from .protocol import Description, Loaded, Rejected

_LOGGERS = ("transformers",)


class Loader:
    """``transformers``: ``from_pretrained`` of a tiny ``PreTrainedModel`` built for the checkpoint."""

    def __init__(self) -> None:
        self.name = "transformers"
        #: The warnings and log records of the last load.
        self.messages: list[str] = []

    def describe(self) -> Description:
        implementation = "transformers PreTrainedModel.from_pretrained (local directory)"
        return describe_package(implementation, "transformers", "transformers:PreTrainedModel")

    def load_checkpoint(self, directory: str) -> Loaded:
        config_class, model_class = _classes()
        config = config_class(tensors=[list(s) for s in slots(directory)], dtype="float32")
        with captured(_LOGGERS) as self.messages:
            try:
                model, info = model_class.from_pretrained(directory, config=config, output_loading_info=True)
            except errors() as error:
                raise Rejected(str(error)) from error
        left = set(info["missing_keys"]) | {name for name, *_ in info["mismatched_keys"]}
        return Loaded(buffer_tensors(model, [s.name for s in model.built if s.name not in left]))


class ShardedLoader:
    """``transformers-sharded``: ``transformers.trainer_utils.load_sharded_checkpoint(model, d, strict=False)``."""

    def __init__(self) -> None:
        self.name = "transformers-sharded"
        #: The warnings and log records of the last load.
        self.messages: list[str] = []

    def describe(self) -> Description:
        return describe_package(
            "transformers trainer_utils.load_sharded_checkpoint (strict=False)",
            "transformers",
            "transformers.trainer_utils:load_sharded_checkpoint",
        )

    def load_checkpoint(self, directory: str) -> Loaded:
        import torch
        from transformers.trainer_utils import load_sharded_checkpoint

        model = torch.nn.Module()
        built = add_buffers(model, slots(directory), "cpu")
        received = Received(model)
        with captured(_LOGGERS) as self.messages:
            try:
                load_sharded_checkpoint(model, directory, strict=False)  # type: ignore[no-untyped-call]
            except errors() as error:
                raise Rejected(str(error)) from error
        return Loaded(buffer_tensors(model, [s.name for s in built if s.name in received.names]))


@cache
def _classes() -> tuple[Any, Any]:
    """The config and model classes, made once per process (importing transformers takes seconds)."""
    from transformers import PreTrainedConfig, PreTrainedModel

    class BuffersConfig(PreTrainedConfig):  # type: ignore[no-untyped-call]
        """A model made only of buffers: ``tensors`` lists ``[name, dtype code, shape]``."""

        model_type = "safetensors-conformance-buffers"
        tensors: list[Any] | None = None

    class BuffersModel(PreTrainedModel):  # type: ignore[no-untyped-call]
        config_class = BuffersConfig

        def __init__(self, config: BuffersConfig) -> None:
            super().__init__(config)
            wanted = [Slot(name, dtype, tuple(shape)) for name, dtype, shape in config.tensors or ()]
            # No device: from_pretrained builds the model on the meta device.
            self.built = add_buffers(self, wanted, None)
            self.post_init()  # type: ignore[no-untyped-call]

    return BuffersConfig, BuffersModel
