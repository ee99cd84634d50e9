"""The steps of scripts/gpu-matrix.sh that need Python: what to run, the machine, the results.

    python scripts/gpu_matrix.py selections DEVICE
    python scripts/gpu_matrix.py cudart DIR
    python scripts/gpu_matrix.py machine OUT/machine.json DEVICE STEPS
    python scripts/gpu_matrix.py ready PREFLIGHT/results.json
    python scripts/gpu_matrix.py finish OUT RUN PREFLIGHT STEPS

Runs under the machine's own interpreter with the package importable (installed there from the
carried wheels and the source tree). Nothing here judges a file: verdicts are the runner's.
"""

from __future__ import annotations

import ctypes
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from safetensors_conformance.adapters.protocol import Description
from safetensors_conformance.corpus import load_corpus
from safetensors_conformance.runner.results import Results, read_stream
from safetensors_conformance.runner_cli import write_reports

#: The loaders with a device option, each put on DEVICE (format with ``device=``).
DEVICE_LOADERS = (
    "safetensors-pt:device={device}",
    "fastsafetensors:device={device},nogds=true",
    "fastsafetensors:device={device},nogds=false",
    "instanttensor:device={device}",
    "runai-model-streamer:device={device}",
)
#: The same libraries on the host of the same machine (versions and torch as on the GPU run), so
#: a difference from the committed CPU matrix can be told apart from a difference of device.
HOST_BASELINES = ("safetensors-pt", "fastsafetensors", "runai-model-streamer")
#: Versions recorded with the machine (results.json records each implementation's own).
PACKAGES = (
    "safetensors-conformance",
    "torch",
    "safetensors",
    "fastsafetensors",
    "instanttensor",
    "runai-model-streamer",
    "numpy",
)
#: The vector every selection must pass before the corpus is run on it (the runner's warm-up file).
SMALLEST = "examples/minimal"
#: Where fastsafetensors looks for the CUDA runtime: dlopen of this unversioned name.
CUDART = "libcudart.so"


def selections(device: str) -> list[str]:
    """The device loaders on ``device``; on a CUDA device the host baselines too."""
    chosen = [template.format(device=device) for template in DEVICE_LOADERS]
    return chosen if device == "cpu" else [*chosen, *HOST_BASELINES]


def cudart(folder: Path) -> dict[str, Any]:
    """Make ``libcudart.so`` loadable by name: a link in ``folder`` (for LD_LIBRARY_PATH) to the
    runtime PyTorch's CUDA packages or the toolkit ship, when the loader cannot find it as it is."""
    try:
        ctypes.CDLL(CUDART)
    except OSError as error:
        missing = str(error)
    else:
        return {"found": CUDART, "linked": None}
    roots = [(Path(p), "nvidia/*/lib/libcudart.so.*") for p in sys.path if p and Path(p).is_dir()]
    roots += [(Path("/usr/local"), "cuda*/lib64/libcudart.so.*")]
    candidates = sorted({str(path) for root, pattern in roots for path in root.glob(pattern)}, reverse=True)
    if not candidates:
        return {"found": None, "linked": None, "error": missing}
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / CUDART
    link.unlink(missing_ok=True)
    link.symlink_to(candidates[0])
    return {"found": candidates[0], "linked": str(link), "error": missing}


def _command(*argv: str) -> str | None:
    """A command's standard output, or ``None`` when it is missing or fails."""
    if shutil.which(argv[0]) is None:
        return None
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout


def _gpus() -> dict[str, Any]:
    """What nvidia-smi says: each GPU's name, driver and memory, and the driver's CUDA version."""
    table = _command("nvidia-smi", "--query-gpu=name,driver_version,memory.total,pci.bus_id", "--format=csv,noheader")
    if table is None:
        return {"nvidia_smi": None, "gpus": [], "cuda_driver": None}
    gpus = []
    for line in table.strip().splitlines():
        name, driver, memory, bus = (field.strip() for field in line.split(",", 3))
        gpus.append({"name": name, "driver": driver, "memory": memory, "pci_bus_id": bus})
    banner = _command("nvidia-smi") or ""
    cuda = re.search(r"CUDA Version:\s*([0-9.]+)", banner)
    return {"nvidia_smi": shutil.which("nvidia-smi"), "gpus": gpus, "cuda_driver": cuda.group(1) if cuda else None}


def _torch() -> dict[str, Any]:
    try:
        import torch  # noqa: PLC0415 - the record is written without torch too
    except ImportError as error:
        return {"version": None, "error": str(error)}
    found: dict[str, Any] = {
        "version": torch.__version__,
        "cuda": torch.version.cuda,
        "cuda_available": torch.cuda.is_available(),
        "devices": [],
    }
    if found["cuda_available"]:
        for index in range(torch.cuda.device_count()):
            properties = torch.cuda.get_device_properties(index)
            found["devices"].append(
                {
                    "index": index,
                    "name": properties.name,
                    "capability": f"{properties.major}.{properties.minor}",
                    "memory_bytes": properties.total_memory,
                }
            )
    return found


def _versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for package in PACKAGES:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = None
    return found


def _gds() -> dict[str, Any]:
    """What GPU Direct Storage needs: fastsafetensors falls back to its bounce buffers (nogds)
    without the nvidia-fs device node, so a nogds=false run without it reads as nogds."""
    try:
        ctypes.CDLL("libcufile.so.0")
        cufile: str | None = "libcufile.so.0"
    except OSError:
        cufile = None
    return {"nvidia_fs_device": Path("/dev/nvidia-fs0").exists(), "cufile": cufile}


def machine(path: Path, device: str, steps: Path) -> dict[str, Any]:
    """Write the machine record: GPU, driver, CUDA, torch, Python, package versions, what ran."""
    record = {
        "script": "scripts/gpu-matrix.sh",
        "device": device,
        "selections": selections(device),
        **_gpus(),
        "torch": _torch(),
        "python": platform.python_version(),
        "executable": sys.executable,
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
        "packages": _versions(),
        "gds": _gds(),
        "cudart": json.loads(os.environ.get("GPU_MATRIX_CUDART", "null")),
        "steps": _steps(steps),
    }
    _write_json(path, record)
    return record


def _steps(path: Path) -> list[dict[str, Any]]:
    """The script's step log: one ``name<TAB>exit status<TAB>seconds<TAB>note`` line per step."""
    if not path.exists():
        return []
    steps = []
    for line in path.read_text(encoding="utf-8").splitlines():
        name, status, seconds, note = [*line.split("\t", 3), "", "", ""][:4]
        steps.append(
            {
                "step": name,
                "status": int(status) if status.isdigit() else status,  # a word for a step not run
                "seconds": int(seconds) if seconds.isdigit() else None,
                "note": note or None,
            }
        )
    return steps


def ready(preflight: Path) -> tuple[list[str], dict[str, Description]]:
    """From the preflight's results.json: the selections to run on the corpus, and those not run,
    each described as unavailable with why. The runner says why for those it could not start
    (CUDA or the library missing); one that could not load the smallest valid file here is not
    run either, since the machine, not the corpus, is then at fault."""
    results = Results.read(preflight)
    verdicts = {r.implementation: r for r in results.results if r.vector == SMALLEST}
    chosen: list[str] = []
    refused: dict[str, Description] = {}
    for selection, description in results.implementations.items():
        result = verdicts.get(selection)
        if not description.available:
            refused[selection] = description
        elif result is not None and result.verdict.failed:
            why = f"{result.verdict}: {result.detail or 'no detail'}"
            reason = f"cannot load the smallest valid file here ({SMALLEST}: {why})"
            refused[selection] = replace(description, available=False, reason=reason[:400])
        else:
            chosen.append(selection)
    return chosen, refused


def finish(out: Path, run: Path, preflight: Path, steps: Path) -> int:
    """results.json, .md and .html in ``out``: the run's results (a partial stream if it was
    stopped), the selections the preflight did not run as unavailable, the machine named."""
    record = json.loads((out / "machine.json").read_text(encoding="utf-8"))
    record["steps"] = _steps(steps)
    chosen, refused = ready(preflight / "results.json") if (preflight / "results.json").exists() else ([], {})
    complete = (run / "results.json").exists()
    if complete:
        results = Results.read(run / "results.json")
    elif (run / "results.jsonl").exists() and (streamed := read_stream(run / "results.jsonl")[0]) is not None:
        results = streamed
    elif not chosen and refused:
        # Nothing could run: the preflight's record, without its one vector's verdicts.
        results = Results.read(preflight / "results.json")
        results.results.clear()
        complete = True
    else:
        print("gpu-matrix: the run left no results", file=sys.stderr)
        _write_json(out / "machine.json", record)
        return 1
    results.implementations.update(refused)
    order: list[str] = record.get("selections", [])
    ranked = sorted(results.implementations, key=lambda s: order.index(s) if s in order else len(order))
    results.implementations = {s: results.implementations[s] for s in ranked}
    results.run["selections"] = list(results.implementations)
    write_reports(results, load_corpus(), out, "../spec.html")
    _name_machine(out / "results.md", record, complete)

    counts: dict[str, Counter[str]] = {s: Counter() for s in results.implementations}
    for result in results.results:
        counts[result.implementation][result.verdict.value] += 1
    record["complete"] = complete
    record["implementations"] = {
        selection: {
            "available": description.available,
            "reason": description.reason,
            "version": description.version,
            "verdicts": dict(sorted(counts[selection].items())),
        }
        for selection, description in results.implementations.items()
    }
    _write_json(out / "machine.json", record)
    for selection, summary in record["implementations"].items():
        state = "ran" if summary["available"] else f"unavailable: {summary['reason']}"
        print(f"gpu-matrix: {selection}: {state} {summary['verdicts'] or ''}".rstrip())
    if not complete:
        print("gpu-matrix: the run stopped before the end: results.md marks it incomplete", file=sys.stderr)
    return 0 if complete else 1


def _name_machine(path: Path, record: dict[str, Any], complete: bool) -> None:
    """One line under the title naming where the matrix ran (and whether it ran to the end)."""
    torch, gpus = record.get("torch") or {}, record.get("gpus") or []
    if gpus:
        names = ", ".join(gpu["name"] for gpu in gpus)
        where = f"{names}, driver {gpus[0]['driver']}, CUDA {record.get('cuda_driver')} (driver)"
    else:
        where = "no GPU (nvidia-smi found none)"
    line = (
        f"Machine: {where}; torch {torch.get('version')} (CUDA {torch.get('cuda')}), Python {record.get('python')}; "
        f"device `{record['device']}`; run by scripts/gpu-matrix.sh, details in machine.json."
    )
    if gpus and not (record.get("gds") or {}).get("nvidia_fs_device"):
        line += " No GDS device node (/dev/nvidia-fs0): fastsafetensors with nogds=false fell back to its nogds copier."
    if not complete:
        line += " **Incomplete**: the run stopped at its time budget; blank cells were not reached."
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[3:3] = ["", line]
    path.write_text("\n".join(lines), encoding="utf-8")


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=1) + "\n", encoding="utf-8")


def main(argv: list[str]) -> int:
    command, *args = argv
    if command == "selections":
        print("\n".join(selections(args[0])))
        return 0
    if command == "cudart":
        print(json.dumps(cudart(Path(args[0]))))
        return 0
    if command == "machine":
        machine(Path(args[0]), args[1], Path(args[2]))
        return 0
    if command == "ready":
        chosen, refused = ready(Path(args[0]))
        for selection, description in refused.items():
            print(f"gpu-matrix: not run: {selection}: {description.reason}", file=sys.stderr)
        for selection in chosen:
            print(selection)
        return 0
    if command == "finish":
        return finish(Path(args[0]), Path(args[1]), Path(args[2]), Path(args[3]))
    print(f"gpu_matrix.py: unknown command {command!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
