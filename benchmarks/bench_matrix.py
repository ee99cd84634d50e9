"""Benchmark: the whole matrix (every implementation of results/) with implementations run at once.

Runs ``safetensors-conformance run`` with the selections of ``results/results.json`` over the
committed vectors, alternating ``--jobs 1`` and ``--jobs 2`` (whole commands, start-up and reports
included), and reports the median wall times and their ratio, jobs 2 over jobs 1.

    python benchmarks/bench_matrix.py [--repeat 3] [--out .bench/matrix.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(selections: list[str], jobs: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        argv = [sys.executable, "-m", "safetensors_conformance", "run", "--no-synth", "--quiet", "--out", folder]
        argv += [f"--impl={s}" for s in selections] + ["--jobs", str(jobs)]
        started = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, check=False)
        elapsed = time.perf_counter() - started
        if done.returncode not in (0, 1) or "not run:" in done.stdout:
            raise SystemExit(f"the matrix did not run: {done.stdout[-2000:]}{done.stderr[-2000:]}")
        return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / ".bench" / "matrix.json")
    args = parser.parse_args()
    selections = json.loads((ROOT / "results" / "results.json").read_text())["selections"]
    runs: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(args.repeat):
        for jobs in (1, 2):
            runs[jobs].append(timed(selections, jobs))
    serial, parallel = statistics.median(runs[1]), statistics.median(runs[2])
    report = {
        "implementations": len(selections),
        "jobs_1_runs": [round(t, 2) for t in runs[1]],
        "jobs_2_runs": [round(t, 2) for t in runs[2]],
        "jobs_1_median": round(serial, 2),
        "jobs_2_median": round(parallel, 2),
        "ratio": round(parallel / serial, 3),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"{len(selections)} implementations over the committed vectors (whole commands, medians of {args.repeat}):")
    print(f"  --jobs 1: {serial:.2f} s   --jobs 2: {parallel:.2f} s   ratio {parallel / serial:.2f}")


if __name__ == "__main__":
    main()
