"""What running one implementation on one file produced, as the runner records it.

The same shape travels over the external-program protocol (``schema/external-protocol.schema.json``),
so a Python adapter in a worker process and a program in another language report alike.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import operator
from dataclasses import dataclass
from typing import Any, Literal, TypeGuard

from ..corpus.model import TensorDigest, content_digest
from .protocol import Loaded

#: Above this many tensors a worker reports one digest of the content instead of a list: a
#: million-tensor listing would be a 130 MB reply.
DIGEST_ABOVE = 10_000
#: Tensors of at most this many bytes (the first few of a file) travel with their bytes in hex.
SAMPLE_BYTES = 64
SAMPLED_TENSORS = 16

OutcomeKind = Literal["accepted", "rejected", "unsupported", "crash", "timeout", "memory-limit"]
#: Outcomes an implementation reports itself; the others are the runner's findings.
REPORTED = ("accepted", "rejected", "unsupported", "memory-limit")


class ProtocolError(ValueError):
    """A program's reply does not follow the protocol."""


@dataclass(frozen=True)
class Digest:
    """A whole content in one hash (see :func:`content_digest`), for very many tensors."""

    count: int
    sha256: str


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    tensors: tuple[TensorDigest, ...] | None = None
    metadata: dict[str, str] | None = None
    digest: Digest | None = None
    error: str | None = None
    error_type: str | None = None
    unexpected: bool = False
    detail: str | None = None
    #: For an accepted file: what the implementation returned that is not content (a shape of
    #: floats, a negative dimension, metadata that is not strings). It is evidence, judged the same
    #: way whichever process found it, never a protocol failure.
    malformed: str | None = None
    #: The returned bytes of small tensors, in hex, so that a wrong-content verdict can show them.
    samples: dict[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"outcome": self.kind}
        if self.kind == "accepted" and self.malformed is not None:
            data["malformed"] = self.malformed
        elif self.kind == "accepted":
            if self.digest is not None:
                data["digest"] = {"count": self.digest.count, "sha256": self.digest.sha256}
            else:
                data["tensors"] = None if self.tensors is None else [t.to_json() for t in self.tensors]
            data["metadata"] = self.metadata
            if self.samples:
                data["samples"] = self.samples
        for key in ("error", "error_type", "detail"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        if self.unexpected:
            data["unexpected"] = True
        return data


class Malformed(ValueError):
    """Returned content that cannot be content; the message says what and where."""


def dimension(value: object, where: str) -> int:
    """A shape dimension as an ``int``: any integer type (NumPy's included), never a bool, a
    float or a negative number."""
    if isinstance(value, bool):
        raise Malformed(f"{where}: dimension {value!r} is a boolean")
    try:
        number = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise Malformed(f"{where}: dimension {short_repr(value)} is not an integer") from None
    if number < 0:
        raise Malformed(f"{where}: dimension {number} is negative")
    return number


def check_metadata(metadata: object) -> dict[str, str] | None:
    """Metadata as returned: ``None`` or a mapping of strings to strings."""
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise Malformed(f"metadata {short_repr(metadata)} is not a mapping")
    for key, value in metadata.items():
        if type(key) is not str or type(value) is not str:
            raise Malformed(f"metadata entry {short_repr(key)}: {short_repr(value)} is not a pair of strings")
    return metadata


def short_repr(value: object, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters for a message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


_Row = tuple[str, str, tuple[int, ...], int | None, str | None]


def from_loaded(loaded: Loaded) -> Outcome:
    """The outcome of an adapter's successful load: tensor bytes become digests.

    What the adapter returned is checked here, in whichever process runs the adapter, so that the
    verdict is the same in every isolation mode.
    """
    try:
        metadata = check_metadata(loaded.metadata)
        if loaded.tensors is None:
            return Outcome("accepted", None, metadata)
        rows = [_row(t) for t in loaded.tensors]
    except Malformed as error:
        return Outcome("accepted", malformed=str(error))
    if len(rows) > DIGEST_ABOVE:
        return Outcome("accepted", None, metadata, Digest(len(rows), content_digest(rows, metadata)))
    samples = {
        t.name: bytes(t.data).hex()
        for t in loaded.tensors[:SAMPLED_TENSORS]
        if isinstance(t.data, (bytes, bytearray)) and len(t.data) <= SAMPLE_BYTES
    }
    return Outcome("accepted", tuple(map(TensorDigest._make, rows)), metadata, samples=samples or None)


def _row(tensor: Any) -> _Row:
    name, dtype, shape, data = tensor
    if type(name) is not str:
        raise Malformed(f"tensor name {short_repr(name)} is not a string")
    if type(dtype) is not str:
        raise Malformed(f"tensor {name!r}: dtype {short_repr(dtype)} is not a string")
    if type(shape) is tuple and all(type(d) is int and d >= 0 for d in shape):
        dims = shape  # the common case, checked without a call per dimension
    else:
        try:
            dims = tuple(dimension(d, f"tensor {name!r}") for d in shape)
        except TypeError:
            raise Malformed(f"tensor {name!r}: shape {short_repr(shape)} is not a sequence") from None
    if data is None:
        return (name, dtype, dims, None, None)
    if not isinstance(data, (bytes, bytearray)):
        raise Malformed(f"tensor {name!r}: data of type {type(data).__name__} is not bytes")
    return (name, dtype, dims, len(data), hashlib.sha256(data).hexdigest())


def parse_reply(message: dict[str, Any]) -> Outcome:
    """An outcome from a program's reply (``outcome`` and its fields); raises :class:`ProtocolError`.

    Content that cannot be content (a fractional dimension, metadata that is not strings) is not a
    protocol error: it is what the implementation returned, and the outcome says so.
    """
    kind = message.get("outcome")
    if kind not in REPORTED:
        raise ProtocolError(f"'outcome' must be one of {', '.join(REPORTED)}, not {kind!r}")
    if kind == "accepted":
        malformed = message.get("malformed")
        if isinstance(malformed, str):
            return Outcome("accepted", malformed=malformed)
        try:
            return _accepted(message)
        except Malformed as problem:
            return Outcome("accepted", malformed=str(problem))
    error = message.get("error")
    if error is not None and not isinstance(error, str):
        raise ProtocolError("'error' must be a string")
    return Outcome(
        kind,
        error=error,
        error_type=message.get("error_type") if isinstance(message.get("error_type"), str) else None,
        unexpected=message.get("unexpected") is True,
    )


def _accepted(message: dict[str, Any]) -> Outcome:
    if "tensors" not in message and "digest" not in message:
        raise ProtocolError("an accepted result needs 'tensors' (null for a validator) or 'digest'")
    tensors = message.get("tensors")
    metadata = check_metadata(message.get("metadata"))
    digest = message.get("digest")
    if digest is not None:
        if not isinstance(digest, dict) or type(digest.get("count")) is not int or not _is_sha256(digest.get("sha256")):
            raise ProtocolError("'digest' must be an object with an integer 'count' and a hex 'sha256'")
        return Outcome("accepted", None, metadata, Digest(digest["count"], digest["sha256"].lower()))
    if tensors is None:
        return Outcome("accepted", None, metadata)
    if not isinstance(tensors, list):
        raise ProtocolError("'tensors' must be an array or null")
    samples = message.get("samples")
    if not (isinstance(samples, dict) and all(isinstance(v, str) and set(v) <= _HEX for v in samples.values())):
        samples = None
    return Outcome("accepted", tuple(_tensor(t) for t in tensors), metadata, samples=samples)


def _is_sha256(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and len(value) == 64 and all(c in _HEX for c in value)


_HEX = frozenset("0123456789abcdefABCDEF")


def _tensor(item: Any) -> TensorDigest:
    if not isinstance(item, dict):
        raise ProtocolError("each tensor must be an object")
    name, dtype, shape = item.get("name"), item.get("dtype"), item.get("shape")
    if not isinstance(name, str) or not isinstance(dtype, str):
        raise ProtocolError("a tensor needs a string 'name' and 'dtype'")
    if not isinstance(shape, list):
        raise Malformed(f"tensor {name!r}: shape {short_repr(shape)} is not an array")
    if not all(type(d) is int and d >= 0 for d in shape):
        shape = [dimension(d, f"tensor {name!r}") for d in shape]
    if "data" in item:
        try:
            data = base64.b64decode(item["data"], validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise ProtocolError(f"tensor {name!r}: 'data' is not base64") from None
        return TensorDigest(name, dtype, tuple(shape), len(data), hashlib.sha256(data).hexdigest())
    sha256, nbytes = item.get("sha256"), item.get("nbytes")
    if sha256 is None and nbytes is None:
        return TensorDigest(name, dtype, tuple(shape), None, None)
    if not _is_sha256(sha256) or type(nbytes) is not int:
        raise ProtocolError(f"tensor {name!r}: give 'data' (base64), or 'sha256' (hex) with 'nbytes'")
    return TensorDigest(name, dtype, tuple(shape), nbytes, sha256.lower())
