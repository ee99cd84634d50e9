"""IBM's fastsafetensors (the vLLM GPU loader), ``fastsafe_open`` (``fastsafetensors``).

Entry point: ``fastsafe_open(path, framework="pt", device=DEVICE, nogds=NOGDS)``, then
``keys()``, ``get_tensor(name)`` and ``metadata()``. Options: ``device`` (default ``cpu``; a CUDA
device is reported unavailable where CUDA is missing) and ``nogds`` (default true: the bounce-buffer
``pread`` copier; false asks for GPU Direct Storage). The header is read by
``common.SafeTensorsMetadata.from_fd``: the 8-byte length (at most 100,000,000), that many bytes
decoded as UTF-8 and parsed with Python's ``json``, then each tensor checked in offset order
(contiguous from 0, size matching shape and dtype, the end within the file); bytes past the last
tensor are allowed. ``metadata()`` maps each file to its ``__metadata__``, or to ``""`` when there
is none: the adapter reports ``""`` as no metadata.

Documented rejections: the library raises plain ``Exception`` for every refusal of its own
(``HeaderTooSmall``, ``HeaderTooLarge``, ``InvalidHeaderLength``, ``InvalidOffset``,
``TensorInvalidInfo``, ``MetadataIncompleteBuffer``, ``UnexpectedEOF``) and ``ValueError`` for a
shape that is not non-negative integers, an F4 last dimension that is odd, and (through its
``DType`` enum) an unknown dtype code; ``json.JSONDecodeError`` and ``UnicodeDecodeError`` from the
header parse are ``ValueError`` too. Those are :class:`Rejected`. Only an exception whose type is
exactly ``Exception`` counts; every subclass of it other than ``ValueError`` (``KeyError`` for a
missing field, ``TypeError``, ``RuntimeError`` from the C++ copier) escapes. It has no C64, FNUZ or
F6 type: those are :class:`Unsupported`, found in the header before the library opens the file.
"""

from __future__ import annotations

from typing import Any

from .devices import torch_device_problem
from .protocol import Capabilities, Description, Loaded, LoadedTensor, Rejected, Unsupported
from .tensors import from_torch, header_dtypes

_DISTRIBUTION = "fastsafetensors"


class Adapter:
    """``fastsafetensors``: ``fastsafe_open(path, framework="pt", device=DEVICE, nogds=NOGDS)``."""

    def __init__(self, device: str = "cpu", nogds: bool | str = True) -> None:
        self.name = "fastsafetensors"
        self.device = device
        self.nogds = _flag(nogds)

    def describe(self) -> Description:
        from importlib.metadata import PackageNotFoundError, version

        implementation = f"fastsafetensors fastsafe_open (framework pt, device {self.device}, nogds={self.nogds})"
        try:
            found = version(_DISTRIBUTION)
            dtypes = _dtypes()
        except (PackageNotFoundError, ImportError, OSError) as error:
            reason = f"fastsafetensors is not importable: {error}"
            return Description(implementation, "not installed", available=False, reason=reason)
        capabilities = Capabilities("full", dtypes, (self.device,), metadata=True)
        problem = torch_device_problem(self.device)
        return Description(implementation, found, capabilities, available=problem is None, reason=problem)

    def load(self, path: str) -> Loaded:
        import fastsafetensors  # type: ignore[import-untyped]

        supported = _dtypes()
        for name, dtype in header_dtypes(path):
            if dtype not in supported:
                raise Unsupported(f"fastsafetensors has no {dtype} (tensor {name!r})")
        try:
            with fastsafetensors.fastsafe_open(path, framework="pt", device=self.device, nogds=self.nogds) as opened:
                metadata = next(iter(opened.metadata().values()), None)
                pairs = [(name, opened.get_tensor(name)) for name in opened.keys()]  # noqa: SIM118 - no __iter__
        except ValueError as error:
            raise Rejected(str(error)) from error
        except Exception as error:
            # The library's own refusals are ``Exception`` itself; any subclass is someone else's error.
            if type(error) is not Exception:
                raise
            raise Rejected(str(error)) from error
        # Converted outside the handlers: the helpers' UnknownDtype is a ValueError too.
        tensors: list[LoadedTensor] = [from_torch(name, tensor) for name, tensor in pairs]
        return Loaded(tensors, _metadata(metadata))


def _metadata(value: Any) -> Any:
    """``__metadata__`` as the library kept it (an ``OrderedDict``), ``""`` meaning none."""
    if isinstance(value, str) and not value:
        return None
    return dict(value) if isinstance(value, dict) else value


def _dtypes() -> frozenset[str]:
    """The codes of the library's ``DType`` that its PyTorch layer maps (it depends on the installed torch)."""
    from fastsafetensors.frameworks._torch import dtype_convert  # type: ignore[import-untyped]

    return frozenset(str(dtype.value) for dtype in dtype_convert)


def _flag(value: bool | str) -> bool:
    """A boolean option, given as a bool or (on the command line) as text."""
    if isinstance(value, bool):
        return value
    text = value.strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"nogds={value!r} is not a boolean (true or false)")
