"""accelerate's ``load_checkpoint_in_model(model, directory, device_map={"": "cpu"})`` (``accelerate``).

The big-model way accelerate documents: the model is built empty, on the meta device, and the
loader puts each tensor in place (``load_checkpoint_and_dispatch`` calls it so, with the device
map ``infer_auto_device_map`` gives; on a machine without an accelerator that is the whole
model on the CPU, passed here as it is). Given a directory, ``load_checkpoint_in_model`` takes
``model.safetensors`` if the directory has one, else its only file whose name ends with
``.index.json`` (several, or none, is a ``ValueError``); it reads the index with ``json.loads``,
takes ``sorted(set(weight_map.values()))`` and joins each reference to the directory with
``os.path.join``, unchecked. Each shard is read whole (``utils.modeling.load_state_dict``:
``safe_open`` for its metadata, then ``safetensors.torch.load_file``); every tensor the model has
is put in place with ``set_module_tensor_to_device``, the others are skipped and logged as
unused weights.

The model (:mod:`.ckpt_torch`) holds one meta buffer per tensor name the directory's files
declare; after loading, the buffers no longer on the meta device are what the loader delivered,
and only those are returned. Its log records are collected, not printed: :attr:`Loader.messages`
keeps the last load's.

Refusals: ``ValueError`` (no index, several, a shape that does not fit), ``OSError`` (a shard
that is not there, not a file, or whose metadata has no ``format``), ``SafetensorError`` (a shard
safetensors cannot read), ``RuntimeError``; see :func:`.ckpt_torch.errors`. Anything else (an
``AttributeError`` for an index that is not an object) escapes.
"""

from __future__ import annotations

from .ckpt_torch import add_buffers, buffer_tensors, captured, describe_package, errors, slots
from .protocol import Description, Loaded, Rejected

_IMPLEMENTATION = "accelerate load_checkpoint_in_model (device_map cpu, meta model)"
_ENTRY_POINT = "accelerate.utils:load_checkpoint_in_model"


class Loader:
    """``accelerate``: ``accelerate.utils.load_checkpoint_in_model`` into a meta-device model."""

    def __init__(self) -> None:
        self.name = "accelerate"
        #: The warnings and log records of the last load.
        self.messages: list[str] = []

    def describe(self) -> Description:
        return describe_package(_IMPLEMENTATION, "accelerate", _ENTRY_POINT)

    def load_checkpoint(self, directory: str) -> Loaded:
        import torch
        from accelerate.utils import load_checkpoint_in_model  # type: ignore[import-untyped]

        model = torch.nn.Module()
        built = add_buffers(model, slots(directory), "meta")
        with captured(["accelerate"]) as self.messages:
            try:
                load_checkpoint_in_model(model, directory, device_map={"": "cpu"})
            except errors() as error:
                raise Rejected(str(error)) from error
        placed = [s.name for s in built if not model.get_buffer(s.name).is_meta]
        return Loaded(buffer_tensors(model, placed))
