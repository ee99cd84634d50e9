"""The reference reader as an adapter: the baseline every other implementation is compared with."""

from __future__ import annotations

from .. import __version__
from ..format.dtypes import DTYPES
from ..format.reader import open_file
from ..format.violations import FormatError
from .protocol import Capabilities, Description, Loaded, LoadedTensor, Rejected


class ReferenceAdapter:
    """``reference``: this project's strict reader (rejects every implementation-defined case)."""

    def __init__(self) -> None:
        self.name = "reference"

    def describe(self) -> Description:
        return Description(
            "safetensors-conformance reference reader", __version__, Capabilities("full", frozenset(DTYPES))
        )

    def load(self, path: str) -> Loaded:
        try:
            with open_file(path) as file:
                buffer = file.read_buffer()
                tensors = [
                    LoadedTensor(name, i.dtype, i.shape, buffer[i.begin : i.end])
                    for name, i in file.header.tensors.items()
                ]
                return Loaded(tensors, file.metadata)
        except FormatError as error:
            raise Rejected(str(error)) from error
