"""What an adapter is: a thin wrapper that makes one implementation load a file the same way.

An adapter reports what the implementation returned (tensors as safetensors dtype names, shapes
and raw little-endian bytes, plus metadata) or that it refused the file. It does not judge: the
runner compares against the corpus. Only the implementation's documented errors become
:class:`Rejected`; any other exception escapes, and the runner records the rejection as
unexpected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, Protocol, runtime_checkable

from ..format.dtypes import DTYPES

Kind = Literal["full", "header-only", "validator"]
#: Every dtype of the spec's table: what an implementation is assumed to return unless it says.
ALL_DTYPES: frozenset[str] = frozenset(DTYPES)


class Rejected(Exception):
    """The implementation refused the file through its documented error channel."""


class Unsupported(Exception):
    """The implementation cannot represent something in the file (a dtype, a device)."""


@dataclass(frozen=True)
class Capabilities:
    """What an implementation can do, as its adapter declares it.

    ``kind``: ``full`` returns tensor bytes, ``header-only`` names, dtypes and shapes, and
    ``validator`` only a verdict. ``dtypes``: the dtypes it can return (vectors that need others
    are skipped, not failed); every dtype unless it says otherwise, and an empty set is none.
    ``devices``: where tensors land. ``metadata``: false for a library with no way to return a
    file's metadata, whose content is then compared without it.
    """

    kind: Kind = "full"
    dtypes: frozenset[str] = ALL_DTYPES
    devices: tuple[str, ...] = ("cpu",)
    can_write: bool = False
    metadata: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "dtypes": sorted(self.dtypes),
            "devices": list(self.devices),
            "can_write": self.can_write,
            "metadata": self.metadata,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Capabilities:
        dtypes = data.get("dtypes")
        return cls(
            data.get("kind", "full"),
            ALL_DTYPES if dtypes is None else frozenset(dtypes),
            tuple(data.get("devices", ("cpu",))),
            bool(data.get("can_write", False)),
            bool(data.get("metadata", True)),
        )


@dataclass(frozen=True)
class Description:
    """An implementation as an adapter describes it; ``available`` false says why in ``reason``."""

    implementation: str
    version: str
    capabilities: Capabilities = field(default_factory=Capabilities)
    available: bool = True
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "implementation": self.implementation,
            "version": self.version,
            "capabilities": self.capabilities.to_json(),
            "available": self.available,
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Description:
        return cls(
            str(data.get("implementation", "?")),
            str(data.get("version", "?")),
            Capabilities.from_json(data.get("capabilities") or {}),
            bool(data.get("available", True)),
            data.get("reason"),
        )


class LoadedTensor(NamedTuple):
    """One tensor as an implementation returned it: raw little-endian bytes (``bytes`` or
    ``bytearray``, not copied again), or ``None`` for header-only adapters."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    data: bytes | bytearray | None


@dataclass(frozen=True)
class Loaded:
    """What an implementation returned for a file it accepted. ``tensors`` is ``None`` for validators."""

    tensors: list[LoadedTensor] | None
    metadata: dict[str, str] | None = None


@runtime_checkable
class Adapter(Protocol):
    """Makes one implementation load a file; see the module docstring for the contract."""

    name: str

    def describe(self) -> Description:
        """The implementation, its version and capabilities; never raises."""
        ...

    def load(self, path: str) -> Loaded:
        """Load the whole file; raise :class:`Rejected` or :class:`Unsupported`, or let other errors escape."""
        ...


@runtime_checkable
class Writer(Protocol):
    """An adapter whose implementation can also write files."""

    def save(self, tensors: list[LoadedTensor], metadata: dict[str, str] | None, path: str) -> None: ...
