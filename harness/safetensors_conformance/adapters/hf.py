"""The Hugging Face ``safetensors`` library (Rust core) through three of its Python entry points.

* ``safetensors``: the bytes API, ``safetensors.deserialize`` (raw dtype names and bytes, every dtype);
* ``safetensors-np``: ``safe_open(path, framework="np")``, tensors as NumPy arrays;
* ``safetensors-pt``: ``safe_open(path, framework="pt", device=...)``, tensors as PyTorch tensors.

Only ``SafetensorError`` counts as a rejection; any other exception is an unexpected error.
NumPy cannot hold BF16, FP8, F4 or F6 and PyTorch has no F6: those are declared, not failed.
"""

from __future__ import annotations

from ..format.dtypes import DTYPES
from .devices import torch_device_problem
from .protocol import Capabilities, Description, Loaded, LoadedTensor, Rejected, Unsupported
from .tensors import TORCH_NAMES, from_numpy, from_torch

_NUMPY_DTYPES = frozenset({"BOOL", "U8", "I8", "I16", "U16", "F16", "I32", "U32", "F32", "C64", "F64", "I64", "U64"})
_TORCH_DTYPES = frozenset(TORCH_NAMES.values())


def _version(package: str) -> str | None:
    """The installed version, without importing the package (importing torch takes seconds)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def _missing(implementation: str, package: str) -> Description:
    return Description(
        implementation, "not installed", available=False, reason=f"the {package!r} package is not installed"
    )


class BytesAdapter:
    """``safetensors``: ``safetensors.deserialize(bytes)`` and ``safe_open(...).metadata()``."""

    def __init__(self) -> None:
        self.name = "safetensors"

    def describe(self) -> Description:
        # The module's own version: load imports it anyway, and a worker then starts without
        # importlib.metadata.
        try:
            import safetensors
        except ImportError:
            return _missing("safetensors (Hugging Face, deserialize)", "safetensors")
        found = str(safetensors.__version__)
        return Description("safetensors (Hugging Face, deserialize)", found, Capabilities("full", frozenset(DTYPES)))

    def load(self, path: str) -> Loaded:
        import safetensors

        with open(path, "rb") as file:  # noqa: PTH123 - the bytes API takes the whole file
            content = file.read()
        try:
            views = safetensors.deserialize(content)  # type: ignore[no-untyped-call]
            with safetensors.safe_open(path, framework="numpy") as opened:
                metadata = opened.metadata()
        except safetensors.SafetensorError as error:
            raise Rejected(str(error)) from error
        # ``data`` is a bytearray: taken as it is, a million tensors are not copied a second time.
        tensors = [LoadedTensor(name, view["dtype"], tuple(view["shape"]), view["data"]) for name, view in views]
        return Loaded(tensors, metadata)


class NumpyAdapter:
    """``safetensors-np``: ``safe_open(path, framework="np")`` and ``get_tensor``."""

    def __init__(self) -> None:
        self.name = "safetensors-np"

    def describe(self) -> Description:
        found, numpy = _version("safetensors"), _version("numpy")
        if found is None or numpy is None:
            return _missing("safetensors (Hugging Face, safe_open numpy)", "safetensors" if found is None else "numpy")
        return Description(
            f"safetensors (Hugging Face, safe_open numpy {numpy})", found, Capabilities("full", _NUMPY_DTYPES)
        )

    def load(self, path: str) -> Loaded:
        import safetensors

        try:
            with safetensors.safe_open(path, framework="np") as opened:
                metadata = opened.metadata()
                tensors = []
                for name in opened.keys():  # noqa: SIM118 - safe_open has no __iter__
                    dtype = opened.get_slice(name).get_dtype()
                    if dtype not in _NUMPY_DTYPES:
                        raise Unsupported(f"NumPy has no {dtype}")
                    tensors.append(from_numpy(name, opened.get_tensor(name)))
        except safetensors.SafetensorError as error:
            raise Rejected(str(error)) from error
        return Loaded(tensors, metadata)


class TorchAdapter:
    """``safetensors-pt``: ``safe_open(path, framework="pt", device=DEVICE)``; option ``device`` (default ``cpu``).

    Tensors on an accelerator are copied back to the host. F4 comes back as packed pairs
    (``float4_e2m1fn_x2``), so its last dimension is doubled to give the file's shape.
    """

    def __init__(self, device: str = "cpu") -> None:
        self.name = "safetensors-pt"
        self.device = device

    def describe(self) -> Description:
        found, torch_version = _version("safetensors"), _version("torch")
        implementation = f"safetensors (Hugging Face, safe_open torch {torch_version}, device {self.device})"
        if found is None or torch_version is None:
            return _missing(implementation, "safetensors" if found is None else "torch")
        capabilities = Capabilities("full", _TORCH_DTYPES, (self.device,))
        reason = torch_device_problem(self.device)
        return Description(implementation, found, capabilities, available=reason is None, reason=reason)

    def load(self, path: str) -> Loaded:
        import safetensors

        try:
            with safetensors.safe_open(path, framework="pt", device=self.device) as opened:
                metadata = opened.metadata()
                tensors = []
                for name in opened.keys():  # noqa: SIM118 - safe_open has no __iter__
                    dtype = opened.get_slice(name).get_dtype()
                    if dtype not in _TORCH_DTYPES:
                        raise Unsupported(f"PyTorch has no {dtype}")
                    tensors.append(from_torch(name, opened.get_tensor(name)))
        except safetensors.SafetensorError as error:
            raise Rejected(str(error)) from error
        return Loaded(tensors, metadata)
