"""Adapters that misbehave on purpose, to prove the runner classifies each and keeps going.

They are selected as ``tests.hostile_adapters:NAME`` and run in worker processes.
"""

from __future__ import annotations

import ctypes
import os
import sys

from safetensors_conformance.adapters.protocol import Capabilities, Description, Loaded, LoadedTensor
from safetensors_conformance.adapters.reference import ReferenceAdapter
from safetensors_conformance.format.dtypes import DTYPES

ALL = Capabilities("full", frozenset(DTYPES))


class _Base:
    def __init__(self) -> None:
        self.name = type(self).__name__

    def describe(self) -> Description:
        return Description(f"hostile {self.name}", "0", ALL)


class Segfault(_Base):
    """Dereferences a null pointer."""

    def load(self, path: str) -> Loaded:
        ctypes.string_at(0)
        raise AssertionError("unreachable")


class Forever(_Base):
    """Never returns."""

    def load(self, path: str) -> Loaded:
        while True:
            pass


class Hog(_Base):
    """Asks for 100 GiB."""

    def load(self, path: str) -> Loaded:
        hoard = bytearray(100 << 30)
        return Loaded([LoadedTensor("x", "U8", (len(hoard),), bytes(hoard))])


class Garbage(ReferenceAdapter):
    """Prints garbage on stdout and stderr, then answers correctly."""

    def load(self, path: str) -> Loaded:
        print("}{ not a protocol line")
        os.write(1, b"\x00\xff garbage straight to fd 1\n")
        sys.stdout.flush()
        return super().load(path)


class WrongBytes(ReferenceAdapter):
    """Answers with the right names, dtypes and shapes but flips the first byte of each tensor."""

    def load(self, path: str) -> Loaded:
        loaded = super().load(path)
        assert loaded.tensors is not None
        flipped = [
            LoadedTensor(t.name, t.dtype, t.shape, bytes([t.data[0] ^ 0xFF]) + t.data[1:] if t.data else t.data)
            for t in loaded.tensors
        ]
        return Loaded(flipped, loaded.metadata)


class AcceptAll(_Base):
    """Accepts every file and returns nothing."""

    def load(self, path: str) -> Loaded:
        return Loaded([], None)


class Exits(_Base):
    """Exits the process with status 3."""

    def load(self, path: str) -> Loaded:
        os._exit(3)


class InternalError(_Base):
    """Rejects everything through a KeyError, not its documented error."""

    def load(self, path: str) -> Loaded:
        return {}["header"]  # type: ignore[no-any-return]


class BrokenDescribe(_Base):
    """Cannot even describe itself."""

    def describe(self) -> Description:
        raise RuntimeError("no description")

    def load(self, path: str) -> Loaded:
        raise AssertionError("unreachable")


class _Faithful(_Base):
    """Reads with the reference, then hands back what a real implementation might return: values
    that are not content. Each must be judged as evidence, the same way in every isolation mode."""

    def load(self, path: str) -> Loaded:
        loaded = ReferenceAdapter().load(path)
        return self.change(loaded)

    def change(self, loaded: Loaded) -> Loaded:
        raise NotImplementedError


def _dims(loaded: Loaded, dim: object) -> Loaded:
    tensors = [
        LoadedTensor(t.name, t.dtype, tuple(dim for _ in t.shape) or (dim,), t.data) for t in loaded.tensors or []
    ]
    return Loaded(tensors, loaded.metadata)


class FloatShapes(_Faithful):
    def change(self, loaded: Loaded) -> Loaded:
        return _dims(loaded, 2.0)


class BoolShapes(_Faithful):
    def change(self, loaded: Loaded) -> Loaded:
        return _dims(loaded, True)


class NegativeShapes(_Faithful):
    def change(self, loaded: Loaded) -> Loaded:
        return _dims(loaded, -1)


class NanShapes(_Faithful):
    def change(self, loaded: Loaded) -> Loaded:
        return _dims(loaded, float("nan"))


class NumberMetadata(_Faithful):
    def change(self, loaded: Loaded) -> Loaded:
        return Loaded(loaded.tensors, {"format": 1})  # type: ignore[dict-item]


class NumpyIntegerShapes(_Faithful):
    """NumPy integers are integers: this one is right."""

    def change(self, loaded: Loaded) -> Loaded:
        import numpy as np  # noqa: PLC0415 - only this adapter needs NumPy

        tensors = [
            LoadedTensor(t.name, t.dtype, tuple(np.int64(d) for d in t.shape), t.data) for t in loaded.tensors or []
        ]
        return Loaded(tensors, loaded.metadata)


class Versioned(ReferenceAdapter):
    """The reference under a version taken from the environment, to stand for an upgrade."""

    def describe(self) -> Description:
        return Description("versioned", os.environ.get("VERSIONED_ADAPTER_VERSION", "1"), ALL)


class Gradual(ReferenceAdapter):
    """Grows its resident memory 32 MiB at a time and never stops (except on the runner's warm-up
    file, which it reads): only the memory watch ends it."""

    def load(self, path: str) -> Loaded:
        if path.endswith("examples/minimal.safetensors"):
            return super().load(path)
        held = []
        while True:
            held.append(bytearray(32 << 20))  # zero-filled, so every page is touched


class ReservesAddressSpace(ReferenceAdapter):
    """Reserves 16 GiB of address space it never touches, as V8 does for WebAssembly, then reads
    the file like the reference: within any resident-memory limit, far past an address-space one."""

    def load(self, path: str) -> Loaded:
        import mmap  # noqa: PLC0415 - only this adapter maps memory

        flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | getattr(mmap, "MAP_NORESERVE", 0)
        self.reserved = mmap.mmap(-1, 16 << 30, flags=flags, prot=mmap.PROT_READ)
        return super().load(path)


class ImportFails(_Base):
    """Its implementation cannot be imported here: every load fails with ImportError."""

    def load(self, path: str) -> Loaded:
        raise ImportError("libimplementation.so: cannot open shared object file")
