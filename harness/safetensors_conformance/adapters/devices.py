"""Where an adapter's tensors can land: the one check every device option needs."""

from __future__ import annotations


def torch_device_problem(device: str) -> str | None:
    """Why PyTorch cannot use ``device`` on this machine (``cpu`` or ``cuda[:N]``), or ``None``.

    An adapter whose device is missing describes itself as unavailable with this reason: its
    vectors are then reported as not run here, never as failed.
    """
    if device == "cpu":
        return None
    if not device.startswith("cuda"):
        return f"device {device!r} is not supported by this adapter (cpu or cuda[:N])"
    import torch

    if not torch.cuda.is_available():
        return "CUDA is not available on this machine"
    index = device.partition(":")[2] or "0"
    if not index.isdigit() or int(index) >= torch.cuda.device_count():
        return f"there is no {device} (this machine has {torch.cuda.device_count()} CUDA devices)"
    return None
