"""huggingface_hub's ``load_torch_model(model, directory)`` as a checkpoint loader (``huggingface-hub``).

Called as a user calls it on a local sharded directory, with its defaults (``strict=False``,
``safe=True``). With ``model.safetensors.index.json`` present, ``_load_sharded_checkpoint``
checks the index (a JSON object with a ``weight_map`` object of strings), refuses a reference
with a drive, a root or a ``..`` part and one without the ``.safetensors`` suffix, collects the
references in a ``set`` and, for each, calls ``load_state_dict_from_file`` (which opens the
shard through ``safetensors.torch.load_file`` once ``Path.is_file`` says it is a regular file,
links followed) and ``model.load_state_dict(every tensor of the shard, strict=False)``. Without an
index it loads the directory's only ``*.safetensors`` file and refuses a directory with several.

The model (:mod:`.ckpt_torch`) holds one CPU buffer per tensor name the directory's files
declare; a pre-hook on its ``load_state_dict`` records the names each shard delivered, and only
those buffers are returned. Its warnings (tensors absent from the index) are collected, not
printed: :attr:`Loader.messages` keeps the last load's.

Refusals: ``OSError`` (``FileNotFoundError`` for a shard that is not a regular file),
``ValueError`` (the index and reference checks, a file that safetensors cannot read),
``RuntimeError`` (a size mismatch in ``load_state_dict``), ``SafetensorError``; see
:func:`.ckpt_torch.errors`.
"""

from __future__ import annotations

from .ckpt_torch import Received, add_buffers, buffer_tensors, captured, describe_package, errors, slots
from .protocol import Description, Loaded, Rejected

_IMPLEMENTATION = "huggingface_hub load_torch_model"
_ENTRY_POINT = "huggingface_hub:load_torch_model"


class Loader:
    """``huggingface-hub``: ``huggingface_hub.load_torch_model(model, directory)``."""

    def __init__(self) -> None:
        self.name = "huggingface-hub"
        #: The warnings and log records of the last load.
        self.messages: list[str] = []

    def describe(self) -> Description:
        return describe_package(_IMPLEMENTATION, "huggingface_hub", _ENTRY_POINT)

    def load_checkpoint(self, directory: str) -> Loaded:
        import torch
        from huggingface_hub import load_torch_model

        model = torch.nn.Module()
        built = add_buffers(model, slots(directory), "cpu")
        received = Received(model)
        with captured(["huggingface_hub"]) as self.messages:
            try:
                load_torch_model(model, directory)
            except errors() as error:
                raise Rejected(str(error)) from error
        return Loaded(buffer_tensors(model, [s.name for s in built if s.name in received.names]))
