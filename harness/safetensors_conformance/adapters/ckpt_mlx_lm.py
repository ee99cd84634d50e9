"""mlx-lm's loader: ``mlx_lm.utils.load_model`` on the checkpoint directory (``mlx-lm``).

``load_model(path, get_model_classes=...)`` is mlx-lm's documented hook for a model it does not
ship: the adapter gives it a model with one array per name the directory's own files declare
(:func:`.ckpt_torch.slots`, the model the PyTorch loaders get too: every name the index maps or a
shard stores, with its header's shape), described by a ``config.json`` it writes into the
directory (the run's scratch copy of the vector). Everything mlx-lm then reads, and from where, is
its own: it never opens the index, globs ``model*.safetensors`` in the directory (in the order the
file system lists them; links followed), merges every tensor of every file it found into one dict
(``dict.update``: a name in two files keeps the copy of the file listed last), and loads that into
the model with ``load_weights(strict=True)``, which refuses a name the model lacks, a parameter no
file filled and a shape that differs. The model's arrays are placeholders of the slots' shapes
(strict loading checks shapes, not dtypes, and replaces every one), so what comes back is what
was read.

mlx-lm documents ``FileNotFoundError`` and ``ValueError``; MLX's own refusals reach Python as
``RuntimeError`` and are told apart as in :mod:`.lib_mlx`. Those are :class:`Rejected`; anything
else escapes, and the runner flags the rejection as unexpected.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Final

from .ckpt_config import write_config
from .ckpt_torch import slots
from .hf import _missing, _version
from .lib_mlx import _DTYPES, _classify, _tensor
from .protocol import Capabilities, Description, Loaded, Rejected

_IMPLEMENTATION: Final = "mlx-lm mlx_lm.utils.load_model (local directory, MLX CPU)"
_MODEL_TYPE: Final = "conformance-vector"
_CAPABILITIES: Final = Capabilities("full", _DTYPES, metadata=False)


class Loader:
    """``mlx-lm``: ``load_model`` with a model built for the checkpoint."""

    def __init__(self) -> None:
        self.name = "mlx-lm"

    def describe(self) -> Description:
        found = _version("mlx-lm")
        if found is None:
            return _missing(_IMPLEMENTATION, "mlx-lm")
        try:
            _classes()  # imports MLX and mlx-lm now, not within the first load's timeout
        except ImportError as error:  # plain ``mlx`` (without ``mlx[cpu]``) does not import on Linux
            return Description(_IMPLEMENTATION, found, available=False, reason=f"mlx-lm does not import: {error}")
        return Description(_IMPLEMENTATION, found, _CAPABILITIES)

    def load_checkpoint(self, directory: str) -> Loaded:
        import mlx.core as mx
        from mlx.utils import tree_flatten
        from mlx_lm.utils import load_model

        prepare(directory)
        model_class, args_class = _classes()
        try:
            loaded: Any = load_model(Path(directory), get_model_classes=lambda config: (model_class, args_class))
            model = loaded[0]
            arrays: list[tuple[str, Any]] = tree_flatten(model.parameters())  # type: ignore[assignment]
            tensors = [_tensor(mx, name, array) for name, array in arrays]
        except (FileNotFoundError, ValueError) as error:
            raise Rejected(str(error)) from error
        except RuntimeError as error:
            verdict = _classify(str(error))
            if verdict is None:
                raise
            raise verdict from error
        return Loaded(tensors, None)


def prepare(directory: str) -> None:
    """Write the model's ``config.json`` into the directory; opens nothing outside it."""
    specs = [[s.name, list(s.shape)] for s in slots(directory)]
    write_config(directory, {"model_type": _MODEL_TYPE, "tensors": specs})


@cache
def _classes() -> tuple[Any, Any]:
    """The model class and its arguments class (made on first use: defining them imports MLX)."""
    import mlx.core as mx
    import mlx_lm.utils  # noqa: F401 - imported here so that a broken install shows in describe
    from mlx.nn.layers.base import Module
    from mlx.utils import tree_unflatten

    class VectorArgs:
        def __init__(self, tensors: list[list[Any]]) -> None:
            self.tensors = tensors

        @classmethod
        def from_dict(cls, config: dict[str, Any]) -> VectorArgs:
            return cls(config["tensors"])

    class VectorModel(Module):
        """One placeholder array per slot; dotted names nest as mlx-lm's own models do."""

        def __init__(self, args: VectorArgs) -> None:
            super().__init__()  # type: ignore[no-untyped-call]
            arrays = [(name, mx.zeros(shape, dtype=mx.uint8)) for name, shape in args.tensors]
            for key, value in tree_unflatten(arrays).items():
                self[key] = value

    return VectorModel, VectorArgs
