"""Checked by mypy (not run): every built-in adapter satisfies the Adapter protocol."""

from __future__ import annotations

from safetensors_conformance.adapters.external import OneShotAdapter, PersistentAdapter
from safetensors_conformance.adapters.hf import BytesAdapter, NumpyAdapter, TorchAdapter
from safetensors_conformance.adapters.lib_fastsafetensors import Adapter as Fastsafetensors
from safetensors_conformance.adapters.lib_gguf import Adapter as Gguf
from safetensors_conformance.adapters.lib_hf_hub import Adapter as HfHub
from safetensors_conformance.adapters.lib_instanttensor import Adapter as Instanttensor
from safetensors_conformance.adapters.lib_mlx import Adapter as Mlx
from safetensors_conformance.adapters.lib_modelvet import Adapter as Modelvet
from safetensors_conformance.adapters.lib_pure_safetensors import Adapter as PureSafetensors
from safetensors_conformance.adapters.lib_runai import Adapter as Runai
from safetensors_conformance.adapters.lib_safetensors_print import Adapter as SafetensorsPrint
from safetensors_conformance.adapters.lib_tinygrad import Adapter as Tinygrad
from safetensors_conformance.adapters.lib_torch_dcp import Adapter as TorchDcp
from safetensors_conformance.adapters.lib_uel import Adapter as Uel
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
    Fastsafetensors(),
    Gguf(),
    HfHub(),
    Instanttensor(),
    Mlx(),
    Modelvet(),
    PureSafetensors(),
    Runai(),
    SafetensorsPrint(),
    Tinygrad(),
    TorchDcp(),
    Uel(),
]
