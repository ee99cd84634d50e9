"""Checkpoint loaders with the faults real loaders have, for the checkpoint runner's tests.

Each is what some loader does in earnest; none is told where the canary is.
"""

from __future__ import annotations

import json
from pathlib import Path

from safetensors_conformance.adapters.protocol import Capabilities, Description, Loaded, LoadedTensor, Rejected
from safetensors_conformance.format.reader import open_file
from safetensors_conformance.format.violations import FormatError

INDEX = "model.safetensors.index.json"


def _file_tensors(path: str) -> dict[str, LoadedTensor]:
    try:
        with open_file(path) as file:
            buffer = file.read_buffer()
            return {
                name: LoadedTensor(name, i.dtype, i.shape, bytes(buffer[i.begin : i.end]))
                for name, i in file.header.tensors.items()
            }
    except FormatError as error:
        raise Rejected(str(error)) from error


def _weight_map(directory: str) -> dict[str, str]:
    weight_map: dict[str, str] = json.loads(Path(directory, INDEX).read_text(encoding="utf-8"))["weight_map"]
    return weight_map


class _Loader:
    def __init__(self) -> None:
        self.name = type(self).__name__

    def describe(self) -> Description:
        return Description(self.name, "0", Capabilities("full", metadata=False))


class JoinsReferences(_Loader):
    """Opens ``directory / reference`` for each shard the index names, links followed:
    a reference such as ``../canary.safetensors``, an absolute path or a link out reaches the canary."""

    def load_checkpoint(self, directory: str) -> Loaded:
        weight_map = _weight_map(directory)
        shards = {reference: _file_tensors(str(Path(directory) / reference)) for reference in weight_map.values()}
        return Loaded([shards[reference][name] for name, reference in weight_map.items()])


class SetOfShards(_Loader):
    """Collects the index's shard names in a ``set`` and loads every tensor of each, the later copy of
    a name winning: which copy of a duplicated tensor is returned depends on ``PYTHONHASHSEED``."""

    def load_checkpoint(self, directory: str) -> Loaded:
        weight_map = _weight_map(directory)
        found: dict[str, LoadedTensor] = {}
        for shard in set(weight_map.values()):
            found.update(_file_tensors(str(Path(directory) / shard)))
        return Loaded([found[name] for name in weight_map])


class GlobsShards(_Loader):
    """Ignores the index and loads every tensor of every ``*.safetensors`` file of the directory."""

    def load_checkpoint(self, directory: str) -> Loaded:
        found: dict[str, LoadedTensor] = {}
        for path in sorted(Path(directory).glob("*.safetensors")):
            if path.is_file() and not path.is_symlink():
                found.update(_file_tensors(str(path)))
        return Loaded(list(found.values()))
