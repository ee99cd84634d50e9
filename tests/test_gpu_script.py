"""scripts/gpu-matrix.sh and gpu-wheels.sh: the GPU run, rehearsed on a machine without one.

The script runs here as it would on the lent GPU machine, on two vectors and with this
interpreter (no wheels to install): its CUDA selections must come out unavailable with the
runner's reason, never failed, and the host baselines must run.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import pytest

from safetensors_conformance._resources import data_path
from safetensors_conformance.adapters.protocol import Capabilities, Description
from safetensors_conformance.runner.results import Result, Results
from safetensors_conformance.runner.verdicts import Verdict

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"
VECTORS = ("examples/minimal", "framing/length-two")
NO_CUDA = "CUDA is not available on this machine"
BASH = shutil.which("bash") or "/bin/bash"


def _helper() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gpu_matrix", SCRIPTS / "gpu_matrix.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gpu_matrix = _helper()


def _cuda_present() -> bool:
    import torch  # noqa: PLC0415 - only the rehearsal asks

    return bool(torch.cuda.is_available())


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    if _cuda_present():
        pytest.skip("CUDA is present: the script would run the CUDA loaders for real")
    out = tmp_path_factory.mktemp("gpu-out")
    env = {
        **os.environ,
        "OUT": str(out),
        "GPU_MATRIX_PYTHON": sys.executable,
        "GPU_MATRIX_WHEELS": str(out / "no-wheels"),
        "GPU_MATRIX_VECTORS": " ".join(VECTORS),
    }
    done = subprocess.run(
        [BASH, str(SCRIPTS / "gpu-matrix.sh")], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    return done, out


@pytest.mark.parametrize("script", ["gpu-matrix.sh", "gpu-wheels.sh"])
def test_scripts_parse(script: str) -> None:
    subprocess.run([BASH, "-n", str(SCRIPTS / script)], check=True)


def test_selections_put_every_loader_on_the_device() -> None:
    on_gpu = gpu_matrix.selections("cuda:0")
    assert on_gpu[:5] == [
        "safetensors-pt:device=cuda:0",
        "fastsafetensors:device=cuda:0,nogds=true",
        "fastsafetensors:device=cuda:0,nogds=false",
        "instanttensor:device=cuda:0",
        "runai-model-streamer:device=cuda:0",
    ]
    assert on_gpu[5:] == ["safetensors-pt", "fastsafetensors", "runai-model-streamer"]
    # On the host: the same loaders with device=cpu, and no baselines (they would repeat them).
    assert gpu_matrix.selections("cpu") == [s.replace("cuda:0", "cpu") for s in on_gpu[:5]]


def test_wheel_pins_follow_the_project_pins() -> None:
    """The carried loaders are those the CPU matrix certifies, except the streamer's 0.17.0,
    which has no Python 3.12 wheel."""
    text = (SCRIPTS / "gpu-wheels.sh").read_text()
    carried = dict(re.findall(r"^\s+([a-z][a-z0-9-]*)==(\S+)$", text, re.MULTILINE))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    pinned = dict(p.split("==") for p in project["impls"] + project["dev"])
    shared = {name: version for name, version in carried.items() if name in pinned}
    assert shared.pop("runai-model-streamer") == "0.17.1"
    assert pinned["runai-model-streamer"] == "0.17.0"
    assert {"fastsafetensors", "instanttensor", "jsonschema", "hatchling"} <= shared.keys()
    assert shared == {name: pinned[name] for name in shared}


def test_rehearsal_writes_its_files(rehearsal: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    done, out = rehearsal
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    names = sorted(p.name for p in out.iterdir() if p.is_file())
    assert names == ["gpu-matrix.log", "machine.json", "results.html", "results.json", "results.md"]


def test_machine_record(rehearsal: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    _, out = rehearsal
    record = json.loads((out / "machine.json").read_text())
    assert record["device"] == "cuda:0"
    assert record["gpus"] == []
    assert record["torch"]["cuda_available"] is False
    assert record["torch"]["version"].startswith("2.")
    assert record["python"] == f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"
    assert set(record["packages"]) == set(gpu_matrix.PACKAGES)
    assert record["packages"]["fastsafetensors"] == "0.5.0"
    assert record["gds"] == {"nvidia_fs_device": False, "cufile": None}
    steps = {step["step"]: step for step in record["steps"]}
    assert steps["install"]["status"] == "skipped"
    assert steps["machine"]["status"] == 0
    assert steps["preflight"]["status"] == 1  # the runner's: selections not run
    assert steps["run"]["status"] == 0  # only the baselines ran, and they passed
    assert record["complete"] is True


def test_cuda_selections_are_unavailable_not_failed(rehearsal: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    _, out = rehearsal
    document = json.loads((out / "results.json").read_text())
    jsonschema.validate(document, json.loads(data_path("schema", "results.schema.json").read_text()))
    selections = gpu_matrix.selections("cuda:0")
    assert document["selections"] == selections
    described = {item["selection"]: item for item in document["implementations"]}
    assert list(described) == selections
    verdicts: dict[str, list[str]] = {s: [] for s in selections}
    for result in document["results"]:
        verdicts[result["implementation"]].append(result["verdict"])
    for selection in selections[:5]:
        assert described[selection]["available"] is False
        assert described[selection]["reason"] == NO_CUDA
        assert verdicts[selection] == []
    for selection in selections[5:]:
        assert described[selection]["available"] is True
        assert verdicts[selection] == ["pass", "pass"]
    summary = json.loads((out / "machine.json").read_text())["implementations"]
    assert summary["instanttensor:device=cuda:0"] == {
        "available": False,
        "reason": NO_CUDA,
        "version": "0.2.2",
        "verdicts": {},
    }


def test_markdown_names_the_machine(rehearsal: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    _, out = rehearsal
    lines = (out / "results.md").read_text().splitlines()
    assert lines[4].startswith("Machine: no GPU (nvidia-smi found none); torch 2.")
    assert "device `cuda:0`" in lines[4]
    row = f"| `fastsafetensors:device=cuda:0,nogds=false` | unavailable: {NO_CUDA} |"
    assert any(line.startswith(row) for line in lines)


def _description(available: bool = True, reason: str | None = None) -> Description:
    return Description("a loader", "1.0", Capabilities(), available=available, reason=reason)


def test_preflight_refuses_a_selection_that_cannot_load_the_smallest_file(tmp_path: Path) -> None:
    results = Results(
        {"selections": ["broken", "fine", "absent"]},
        {"broken": _description(), "fine": _description(), "absent": _description(False, "not installed")},
        [
            Result("broken", "examples/minimal", Verdict.FAIL_REJECTED_VALID, "GPU runtime library not found"),
            Result("fine", "examples/minimal", Verdict.PASS),
        ],
    )
    results.write(tmp_path / "results.json")
    chosen, refused = gpu_matrix.ready(tmp_path / "results.json")
    assert chosen == ["fine"]
    assert refused["absent"].reason == "not installed"
    assert refused["broken"].available is False
    assert refused["broken"].reason == (
        "cannot load the smallest valid file here (examples/minimal: fail-rejected-valid: "
        "GPU runtime library not found)"
    )


def test_a_stopped_run_is_reported_incomplete(
    rehearsal: tuple[subprocess.CompletedProcess[str], Path], tmp_path: Path
) -> None:
    """The run cut off by its time limit leaves only its stream: the reports say so."""
    _, out = rehearsal
    document: dict[str, Any] = json.loads((out / "results.json").read_text())
    run = tmp_path / "run"
    run.mkdir()
    head = {k: v for k, v in document.items() if k not in {"format", "implementations", "results"}}
    lines = [{"kind": "run", **head}]
    lines += [{"kind": "implementation", **item} for item in document["implementations"]]
    lines += [{"kind": "result", **result} for result in document["results"][:-1]]
    (run / "results.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    report = tmp_path / "out"
    report.mkdir()
    (report / "machine.json").write_text((out / "machine.json").read_text())
    status = gpu_matrix.finish(report, run, tmp_path / "no-preflight", tmp_path / "steps.tsv")
    assert status == 1
    assert json.loads((report / "machine.json").read_text())["complete"] is False
    assert "**Incomplete**" in (report / "results.md").read_text().splitlines()[4]
    assert len(json.loads((report / "results.json").read_text())["results"]) == len(document["results"]) - 1
