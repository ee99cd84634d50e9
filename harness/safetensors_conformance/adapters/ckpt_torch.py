"""What the checkpoint loaders that load into a PyTorch model share: the model, and what reached it.

Loaders such as ``huggingface_hub.load_torch_model`` take a model and fill it; they return
nothing but the model. To certify one, the adapter builds a model *for the vector*: one buffer
(buffers take every dtype, parameters only floating ones) per tensor name that the directory's
own files declare, and then reports the buffers the loader filled, never the ones it left as
they were built.

Which names and shapes (:func:`slots`): every name that an index file of the directory maps and
every name that a ``*.safetensors`` file of the directory stores, each with the dtype and shape
of the header of the shard the index maps it to (or else of the first file, by name, that stores
it); a name no header in the directory declares (mapped to a shard outside it, or to none) gets
no buffer, since nothing says its shape. A real model has slots for more than the index maps (a
tied weight the writer left out of ``weight_map``, a parameter whose stale copy sits in a reused
shard), so the model can receive whatever the directory holds: a loader that delivers a tensor
it should not (an unmapped one, a stray file's, the wrong copy of a duplicate) is seen doing it,
where a narrower model would let ``load_state_dict(strict=False)`` drop it unseen.

These files are read only through :class:`..checkpoint.fs.Directory`, so the adapter itself never
opens a file outside the directory (the run's canary would count the adapter's read), never
follows a link out and never opens a FIFO. A dotted name becomes nested submodules; a name that
cannot be a buffer (empty, clashing with an attribute or with another name's submodule) or whose
dtype PyTorch cannot hold as the file stores it (``F4`` is packed in pairs, ``F6`` is absent)
gets none.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from ..checkpoint.fs import Directory
from ..checkpoint.index import MAX_INDEX_BYTES
from ..checkpoint.names import is_index_name, is_stray_candidate
from ..format.limits import LENGTH_PREFIX_SIZE, MAX_HEADER_LENGTH
from .protocol import Capabilities, Description, LoadedTensor
from .tensors import TORCH_NAMES, from_torch

if TYPE_CHECKING:
    import torch

#: The dtypes a buffer holds as the file stores them (``F4`` comes back packed in pairs).
DTYPES: Final = frozenset(TORCH_NAMES.values()) - {"F4"}
_TORCH_DTYPES: Final = {code: name for name, code in TORCH_NAMES.items() if code in DTYPES}
#: Checkpoint loaders return no file metadata: content is compared without it.
CAPABILITIES: Final = Capabilities("full", DTYPES, metadata=False)


class Slot(NamedTuple):
    """One buffer of the model built for a checkpoint: a tensor name, its dtype code and shape."""

    name: str
    dtype: str
    shape: tuple[int, ...]


def slots(directory: str) -> list[Slot]:
    """The model's buffers for a checkpoint directory (see the module docstring): the index's
    names in its order, then the other stored names by file and header order."""
    listing = Directory(directory)
    readable = [name for name in listing.entries if listing.problem(name) is None]
    headers = {name: _header(listing, name) for name in readable if is_stray_candidate(name)}
    mapped: dict[str, str] = {}
    for name in readable:
        if is_index_name(name):
            for tensor, shard in _weight_map(listing, name).items():
                mapped.setdefault(tensor, shard)
    names = list(mapped) + [t for declared in headers.values() for t in declared if t not in mapped]
    found: dict[str, Slot] = {}
    for tensor in names:
        if tensor in found:
            continue
        shard = mapped.get(tensor, "")
        sources = [shard] if tensor in headers.get(shard, {}) else []
        sources += [file for file, declared in headers.items() if tensor in declared]
        if sources:
            dtype, shape = headers[sources[0]][tensor]
            found[tensor] = Slot(tensor, dtype, shape)
    return list(found.values())


def _header(listing: Directory, name: str) -> dict[str, tuple[str, tuple[int, ...]]]:
    """``name -> (dtype, shape)`` from a file's header, as the file declares it; empty when the
    header cannot be read as JSON (the loader then meets the file on its own)."""
    try:
        with listing.open(name) as handle:
            prefix = handle.read(LENGTH_PREFIX_SIZE)
            length = int.from_bytes(prefix, "little")
            if len(prefix) < LENGTH_PREFIX_SIZE or length > MAX_HEADER_LENGTH:
                return {}
            root = json.loads(handle.read(length).decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    declared: dict[str, tuple[str, tuple[int, ...]]] = {}
    for tensor, entry in root.items() if isinstance(root, dict) else ():
        if tensor == "__metadata__" or not isinstance(entry, dict):
            continue
        dtype, shape = entry.get("dtype"), entry.get("shape")
        dims = shape if isinstance(shape, list) else None
        if dtype in _TORCH_DTYPES and dims is not None and all(type(d) is int and d >= 0 for d in dims):
            declared[tensor] = (dtype, tuple(dims))
    return declared


def _weight_map(listing: Directory, name: str) -> dict[str, str]:
    """An index file's ``weight_map`` as Python's ``json`` reads it; empty when it cannot."""
    try:
        root = json.loads(listing.read(name, MAX_INDEX_BYTES))
    except (OSError, ValueError, RecursionError):
        return {}
    weight_map = root.get("weight_map") if isinstance(root, dict) else None
    if not isinstance(weight_map, dict):
        return {}
    return {tensor: shard for tensor, shard in weight_map.items() if isinstance(shard, str)}


def add_buffers(module: torch.nn.Module, wanted: Sequence[Slot], device: str | None) -> list[Slot]:
    """Register one uninitialised buffer per slot on ``module`` (a dotted name in nested
    submodules) on ``device`` (``None``: PyTorch's current default); returns the slots that could
    be registered."""
    import torch

    added = []
    for slot in wanted:
        *path, leaf = slot.name.split(".")
        owner = module
        try:
            for part in path:
                child = getattr(owner, part, None)
                if child is None:
                    child = torch.nn.Module()
                    owner.add_module(part, child)
                elif not isinstance(child, torch.nn.Module):  # a buffer or a method of that name
                    raise KeyError(part)
                owner = child
            dtype = getattr(torch, _TORCH_DTYPES[slot.dtype])
            owner.register_buffer(leaf, torch.empty(slot.shape, dtype=dtype, device=device))
        except (KeyError, TypeError):  # not a name a buffer or a submodule can have
            continue
        added.append(slot)
    return added


def buffer_tensors(module: torch.nn.Module, names: Sequence[str]) -> list[LoadedTensor]:
    """The named buffers of ``module``, as the protocol's tensors, in the order given."""
    return [from_torch(name, module.get_buffer(name)) for name in names]


class Received:
    """The model's state names that reached its ``load_state_dict``, seen by a pre-hook.

    A loader that fills a model through ``load_state_dict(state_dict, strict=False)`` delivers
    exactly the names of ``state_dict`` that the model has; the rest it drops.
    """

    def __init__(self, module: torch.nn.Module) -> None:
        self.names: set[str] = set()
        self._keys = set(module.state_dict())
        module.register_load_state_dict_pre_hook(self._seen)  # type: ignore[no-untyped-call]

    def _seen(self, _module: torch.nn.Module, state_dict: dict[str, Any], prefix: str, *_: object) -> None:
        if prefix == "":  # the root call sees the whole state dict
            self.names.update(name for name in state_dict if name in self._keys)


class _Collect(logging.Handler):
    def __init__(self, into: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(f"{record.levelname} {record.name}: {record.getMessage()}")


@contextmanager
def captured(loggers: Sequence[str]) -> Iterator[list[str]]:
    """Collect the warnings (``warnings.warn``) and the log records that reach the root logger or
    these libraries' own loggers (which some keep from propagating) while a loader runs, instead of
    printing them: they are part of its behaviour, not errors."""
    messages: list[str] = []
    handler = _Collect(messages)
    saved = []
    for name in ("", *loggers):
        logger = logging.getLogger(name)
        saved.append((logger, logger.handlers[:], logger.propagate))
        logger.handlers[:] = [handler]
        logger.propagate = False
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                yield messages
            finally:
                messages.extend(f"{w.category.__name__}: {w.message}" for w in caught)
    finally:
        for logger, handlers, propagate in saved:
            logger.handlers[:] = handlers
            logger.propagate = propagate


def describe_package(implementation: str, package: str, entry_point: str) -> Description:
    """A loader's description: ``package``'s version, after importing ``entry_point``
    (``module:attr``) so that its import cost falls in the worker's start, not in a timed load."""
    from importlib import import_module
    from importlib.metadata import PackageNotFoundError, version

    module, _, attr = entry_point.partition(":")
    try:
        found = version(package)
        torch_version = version("torch")
        import_module("torch")
        getattr(import_module(module), attr)
    except (PackageNotFoundError, ImportError, AttributeError) as error:
        reason = f"{entry_point} is not importable: {type(error).__name__}: {error}"
        return Description(implementation, "not installed", available=False, reason=reason)
    return Description(f"{implementation} (PyTorch {torch_version})", found, CAPABILITIES)


def errors(*extra: type[BaseException]) -> tuple[type[BaseException], ...]:
    """The exceptions the loaders document as their refusals: ``OSError`` (a file that is not
    there or not readable), ``ValueError`` (a bad index or file, JSON errors included),
    ``RuntimeError`` (``load_state_dict``'s size mismatch) and safetensors' own error. Anything
    else (``KeyError``, ``TypeError``, ``AttributeError`` on a malformed index) escapes and is
    recorded as an unexpected rejection."""
    from safetensors import SafetensorError

    return (OSError, ValueError, RuntimeError, SafetensorError, *extra)
