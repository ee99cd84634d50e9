"""The Run:ai Model Streamer, ``SafetensorsStreamer`` (``runai-model-streamer``).

Entry point: ``with SafetensorsStreamer() as streamer: streamer.stream_file(path, device=DEVICE)``,
then ``streamer.get_tensors()``, which yields ``(name, torch.Tensor)`` pairs. Option ``device``
(default ``cpu``; a CUDA device is reported unavailable where CUDA is missing): the streamer reads
into host buffers and moves each range to that device before cutting the tensors from it; the
adapter copies them back to the host. The streamer reads the 8-byte length and the header through
its C++ reader, parses the header with Python's ``json``
(``safetensors_pytorch.SafetensorsMetadata``), checks it (the header length against a 100 MiB cap,
each tensor's size against its offsets, no gap or overlap between tensors, the data starting at 0,
the file's length equal to the end of the last tensor), then streams the tensor bytes. There is
no API for ``__metadata__``: the streamer skips that entry.

Documented rejection: ``ValueError`` (``"Corrupted File: ..."``, ``"Corrupted Header: ..."``,
``"Corrupted Tensor ..."``, ``"Unsupported dtype ..."``; the header reader turns its JSON, UTF-8
and short-read failures into ``ValueError`` too). That is :class:`Rejected`; anything else (a
``KeyError`` for a missing field, a ``TypeError`` for a field of the wrong type) escapes. Its dtype
table (``safetensors_pytorch.safetensors_to_torch_dtype``) has no FNUZ type and no F6: those are
:class:`Unsupported`, found in the header before the streamer runs.
"""

from __future__ import annotations

from .devices import torch_device_problem
from .protocol import Capabilities, Description, Loaded, LoadedTensor, Rejected, Unsupported
from .tensors import from_torch, header_dtypes

_DISTRIBUTION = "runai-model-streamer"


class Adapter:
    """``runai-model-streamer``: ``SafetensorsStreamer().stream_file(path, device=DEVICE)`` and ``get_tensors()``."""

    def __init__(self, device: str = "cpu") -> None:
        self.name = "runai-model-streamer"
        self.device = device

    def describe(self) -> Description:
        from importlib.metadata import PackageNotFoundError, version

        implementation = f"Run:ai Model Streamer SafetensorsStreamer.stream_file (device {self.device})"
        try:
            found = version(_DISTRIBUTION)
            dtypes = _dtypes()
        except (PackageNotFoundError, ImportError, OSError) as error:
            reason = f"runai-model-streamer is not importable: {error}"
            return Description(implementation, "not installed", available=False, reason=reason)
        capabilities = Capabilities("full", dtypes, (self.device,), metadata=False)
        problem = torch_device_problem(self.device)
        return Description(implementation, found, capabilities, available=problem is None, reason=problem)

    def load(self, path: str) -> Loaded:
        from runai_model_streamer import SafetensorsStreamer  # type: ignore[import-untyped]

        supported = _dtypes()
        for name, dtype in header_dtypes(path):
            if dtype not in supported:
                raise Unsupported(f"runai-model-streamer has no {dtype} (tensor {name!r})")
        with SafetensorsStreamer() as streamer:
            try:
                streamer.stream_file(path, device=self.device)
                pairs = list(streamer.get_tensors())
            except ValueError as error:
                raise Rejected(str(error)) from error
            # Converted outside the handler: the helpers' UnknownDtype is a ValueError too.
            tensors: list[LoadedTensor] = [from_torch(name, tensor) for name, tensor in pairs]
        return Loaded(tensors, None)


def _dtypes() -> frozenset[str]:
    """The codes of the streamer's dtype table (it depends on the installed torch)."""
    from runai_model_streamer.safetensors_streamer import safetensors_pytorch  # type: ignore[import-untyped]

    return frozenset(safetensors_pytorch.safetensors_to_torch_dtype)
