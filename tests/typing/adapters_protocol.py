"""Checked by mypy (not run): every built-in adapter satisfies the Adapter protocol."""

from __future__ import annotations

from safetensors_conformance.adapters.external import OneShotAdapter, PersistentAdapter
from safetensors_conformance.adapters.hf import BytesAdapter, NumpyAdapter, TorchAdapter
from safetensors_conformance.adapters.protocol import Adapter
from safetensors_conformance.adapters.reference import ReferenceAdapter

ADAPTERS: list[Adapter] = [
    ReferenceAdapter(),
    BytesAdapter(),
    NumpyAdapter(),
    TorchAdapter(),
    TorchAdapter(device="cuda:0"),
    OneShotAdapter("cmd:reader", ["reader"]),
    PersistentAdapter("serve:reader", ["reader", "--serve"]),
]
