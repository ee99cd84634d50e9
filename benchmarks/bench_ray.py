"""Benchmark: the Ray recipe beside ``validate DIR`` on 1,000 ordinary shards, as whole processes.

The set is what a model hub holds most of: 1,000 files of 300 small tensors each, written by the
Hugging Face library (``safetensors.numpy.save_file``), headers of about 32 KB. Each command runs
``--repeat`` times, in turns, and the report gives the median wall time of each and its ratio to
the Hugging Face loop (``safe_open(f).keys()`` and ``.metadata()`` over every file, one process):

* ``validate DIR``, and ``validate --jobs 2 DIR`` when this version has ``--jobs``;
* the Ray recipe on a local two-CPU cluster it starts itself (Ray start-up included), writing a
  report per file into a fresh directory;
* the Ray recipe rerun over its own reports (every input already done: no cluster is started);
* Ray alone: ``ray.init(num_cpus=2)`` and ``ray.shutdown()`` in a fresh process, the floor of
  any run on a new local cluster;
* the recipe on a cluster that is already up, as a hub's would be: one process starts Ray, runs
  the recipe once to start its workers, then times a second run into a fresh directory (in-process,
  Ray start-up excluded; reported beside the whole-process figures, not in their median).

    python benchmarks/bench_ray.py [--repeat 3] [--out .bench/ray.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
CLI = str(Path(PYTHON).parent / "safetensors-conformance")
SHARDS = 1_000
TENSORS = 300
#: The parts of a transformer layer, so that names are as long as real ones.
PARTS = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj")

HF_LOOP = """
import sys
from pathlib import Path
from safetensors import safe_open
for path in sorted(Path(sys.argv[1]).glob("*.safetensors")):
    with safe_open(path, framework="np") as f:
        f.keys()
        f.metadata()
"""
RAY_ALONE = "import ray\nray.init(num_cpus=2, include_dashboard=False)\nray.shutdown()"
WARM_CLUSTER = """
import io, json, logging, sys, tempfile, time
import ray
from safetensors_conformance import ray_validate
ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
times = []
for _ in range(2):
    start = time.perf_counter()
    argv = [sys.argv[1], "--out", tempfile.mkdtemp(dir=sys.argv[2]), "--quiet"]
    assert ray_validate.main(argv, stdout=io.StringIO()) == 0
    times.append(time.perf_counter() - start)
ray.shutdown()
print(json.dumps(times))
"""


def make_shards(directory: Path) -> int:
    """The 1,000 shards (not named as a shard set: ``validate DIR`` checks each as a file); header bytes of one."""
    directory.mkdir(parents=True, exist_ok=True)
    for shard in range(SHARDS):
        tensors = {
            f"model.layers.{shard * 60 + i // len(PARTS)}.{PARTS[i % len(PARTS)]}.weight": np.full(
                (2, 2), i, dtype=np.float16
            )
            for i in range(TENSORS)
        }
        save_file(tensors, str(directory / f"shard-{shard:05d}.safetensors"), metadata={"format": "pt"})
    with (directory / "shard-00000.safetensors").open("rb") as first:
        return int.from_bytes(first.read(8), "little")


def has_jobs() -> bool:
    done = subprocess.run([CLI, "validate", "--help"], capture_output=True, text=True, check=True)
    return "--jobs" in done.stdout


def timed(command: list[str], *, before: Callable[[], None] | None = None) -> float:
    """Wall seconds of one process, which must exit 0; ``before`` runs first, untimed."""
    if before is not None:
        before()
    start = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{command} exited {done.returncode}: {done.stderr.decode()[-2000:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, default=ROOT / ".bench")
    parser.add_argument("--out", type=Path, default=ROOT / ".bench" / "ray.json")
    args = parser.parse_args()
    shards = args.work / f"shards-{SHARDS}x{TENSORS}"
    header_bytes = make_shards(shards) if not (shards / f"shard-{SHARDS - 1:05d}.safetensors").exists() else None
    if header_bytes is None:
        with (shards / "shard-00000.safetensors").open("rb") as first:
            header_bytes = int.from_bytes(first.read(8), "little")
    # An installed wheel has its bytecode compiled; an editable checkout may not (PYTHONDONTWRITEBYTECODE).
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(ROOT / "harness")], check=True)

    scratch = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    fresh = scratch / "fresh"
    kept = scratch / "kept"

    def clear_fresh() -> None:
        shutil.rmtree(fresh, ignore_errors=True)

    recipe = [PYTHON, "-m", "safetensors_conformance.ray_validate", str(shards), "--num-cpus", "2", "--quiet"]
    commands: dict[str, tuple[list[str], Callable[[], None] | None]] = {
        "hf_safe_open_loop": ([PYTHON, "-c", HF_LOOP, str(shards)], None),
        "validate": ([CLI, "validate", str(shards)], None),
    }
    if has_jobs():
        commands["validate_jobs_2"] = ([CLI, "validate", "--jobs", "2", str(shards)], None)
    commands["ray_recipe_fresh"] = ([*recipe, "--out", str(fresh)], clear_fresh)
    commands["ray_recipe_all_done"] = ([*recipe, "--out", str(kept)], None)
    commands["ray_init_and_shutdown"] = ([PYTHON, "-c", RAY_ALONE], None)

    timed([*recipe, "--out", str(kept)])  # the reports the all-done reruns find; also warms the page cache
    runs: dict[str, list[float]] = {name: [] for name in commands}
    for round_number in range(args.repeat):
        order = list(commands.items())
        for name, (command, before) in order if round_number % 2 == 0 else reversed(order):
            runs[name].append(timed(command, before=before))
    reports = len(list(fresh.glob("*.json")))
    warm = []
    for _ in range(args.repeat):
        done = subprocess.run(
            [PYTHON, "-c", WARM_CLUSTER, str(shards), str(scratch)], capture_output=True, text=True, check=True
        )
        warm.append(json.loads(done.stdout.splitlines()[-1]))
    shutil.rmtree(scratch)
    if reports != SHARDS:
        raise SystemExit(f"the Ray recipe wrote {reports} reports for {SHARDS} files")

    base = statistics.median(runs["hf_safe_open_loop"])
    rows = [
        {
            "command": name,
            "median_seconds": round(statistics.median(times), 3),
            "ratio_to_hf_loop": round(statistics.median(times) / base, 2),
            "runs": [round(t, 3) for t in times],
        }
        for name, times in runs.items()
    ]
    rows.append(
        {
            "command": "ray_recipe_on_a_warm_cluster_in_process",
            "median_seconds": round(statistics.median(second for _, second in warm), 3),
            "ratio_to_hf_loop": round(statistics.median(second for _, second in warm) / base, 2),
            "runs": [round(second, 3) for _, second in warm],
            "first_runs_on_the_new_cluster": [round(first, 3) for first, _ in warm],
        }
    )
    result = {
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "shards": SHARDS,
        "tensors_per_shard": TENSORS,
        "header_bytes_per_shard": header_bytes,
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{SHARDS:,} shards of {TENSORS} tensors, {header_bytes:,}-byte headers; median of {args.repeat} runs")
    print("| command | median (s) | ÷ HF loop | runs (s) |")
    print("|---|---:|---:|---|")
    for row in rows:
        print(f"| {row['command']} | {row['median_seconds']} | {row['ratio_to_hf_loop']} | {row['runs']} |")
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
