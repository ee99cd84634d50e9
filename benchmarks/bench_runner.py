"""Benchmark: the cost of isolation when certifying an implementation.

Runs the corpus against one implementation (default ``safetensors``) three ways, alternating:

* ``none``: the adapter in this process (no isolation; the floor);
* ``worker``: one worker process, restarted only after a crash (what ``run`` and pytest do);
* ``process``: a fresh process per vector, the way JSONTestSuite runs parsers.

    python benchmarks/bench_runner.py [--impl safetensors] [--repeat 3] [--no-synth]

Each mode runs on the whole corpus and, separately, on the committed files alone (without the
seven large generated vectors, the recipes). Reports median wall times, the ratios
worker/in-process and process-per-vector/worker for both sets, and the most any isolated run
could reach on the whole corpus: process-per-vector over the time the implementation itself
spends loading the recipes in-process (measured per vector by the runner), which no sequential
run can go below.

The in-process mode runs under the same garbage-collector settings as a worker, so the comparison
is of isolation alone.

It then times the whole command a user runs, ``safetensors-conformance run --no-synth --isolation
MODE`` (start-up, loading the corpus and writing the reports included), on the committed files.
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

from safetensors_conformance.adapters.serve import tune_collector
from safetensors_conformance.corpus import load_corpus
from safetensors_conformance.runner import Settings, run
from safetensors_conformance.runner.run import Isolation

ROOT = Path(__file__).resolve().parent.parent
MODES: tuple[Isolation, ...] = ("none", "worker", "process")
LABELS = {"none": "in-process", "worker": "worker", "process": "process per vector"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", default="safetensors")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-synth", action="store_true", help="committed vectors only")
    parser.add_argument("--out", type=Path, default=ROOT / ".bench" / "runner.json")
    parser.add_argument("--no-cli", action="store_true", help="skip timing the whole run command")
    args = parser.parse_args()
    corpus = load_corpus()
    committed = [v for v in corpus.vectors if not v.synth]
    sets = {"committed": committed} if args.no_synth else {"whole": list(corpus.vectors), "committed": committed}
    recipes = {v.id for v in corpus.vectors if v.synth}
    for vector in sets.get("whole", committed):  # materialise recipes before timing
        corpus.path(vector)
    tune_collector()
    wall: dict[tuple[str, str], list[float]] = {(name, mode): [] for name in sets for mode in MODES}
    recipe_loads: list[float] = []
    verdicts: dict[tuple[str, str], list[str]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for round_number in range(args.repeat):
            for mode in MODES if round_number % 2 == 0 else reversed(MODES):
                for name, vectors in sets.items():
                    settings = Settings(timeout=300, memory_limit=None, isolation=mode)
                    started = time.perf_counter()
                    results = run([args.impl], vectors, corpus, Path(scratch) / "results.jsonl", settings, fresh=True)
                    wall[name, mode].append(time.perf_counter() - started)
                    verdicts[name, mode] = [r.verdict.value for r in results.results]
                    if name == "whole" and mode == "none":
                        recipe_loads.append(sum(r.seconds for r in results.results if r.vector in recipes))
    for name in sets:
        if len({tuple(verdicts[name, mode]) for mode in MODES}) != 1:
            raise SystemExit(f"the three modes gave different verdicts on the {name} set")
    seconds = {key: statistics.median(values) for key, values in wall.items()}
    summary: dict[str, object] = {"implementation": args.impl, "repeat": args.repeat}
    for name, vectors in sets.items():
        summary[name] = {
            "vectors": len(vectors),
            "seconds": {mode: round(seconds[name, mode], 3) for mode in MODES},
            "runs": {mode: [round(v, 3) for v in wall[name, mode]] for mode in MODES},
            "worker_over_in_process": round(seconds[name, "worker"] / seconds[name, "none"], 2),
            "process_per_vector_over_worker": round(seconds[name, "process"] / seconds[name, "worker"], 2),
        }
    print(f"{args.impl}: median wall seconds of {args.repeat} alternating runs")
    print(f"  {'':20}" + "".join(f"{f'{name} ({len(vectors)})':>18}" for name, vectors in sets.items()))
    for mode in MODES:
        print(f"  {LABELS[mode]:20}" + "".join(f"{seconds[name, mode]:18.2f}" for name in sets))
    for key, label in (
        ("worker_over_in_process", "worker / in-process"),
        ("process_per_vector_over_worker", "process per vector / worker"),
    ):
        print(f"  {label:28}" + "".join(f"{summary[name][key]:>17}x" for name in sets))  # type: ignore[index]
    if recipe_loads:
        floor = statistics.median(recipe_loads)
        bound = round(seconds["whole", "process"] / floor, 2)
        summary["recipes_in_process_load_seconds"] = round(floor, 3)
        summary["whole_process_per_vector_over_recipe_loads"] = bound
        print(f"  the implementation loads the {len(recipes)} recipes in {floor:.2f} s in-process; no sequential run")
        print(f"  of the whole corpus is faster, so process per vector / any isolated run <= {bound}x")
    if not args.no_cli:
        summary["command"] = time_commands(args.impl, args.repeat)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


def time_commands(impl: str, repeat: int) -> dict[str, object]:
    """Median wall time of ``run --no-synth`` as a whole process, per isolation mode."""
    runs: dict[str, list[float]] = {mode: [] for mode in MODES}
    with tempfile.TemporaryDirectory() as scratch:
        for round_number in range(repeat):
            for mode in MODES if round_number % 2 == 0 else reversed(MODES):
                command = [sys.executable, "-m", "safetensors_conformance", "run", "--impl", impl, "--no-synth"]
                command += ["--isolation", mode, "--fresh", "--quiet", "--out", scratch]
                started = time.perf_counter()
                done = subprocess.run(command, stdout=subprocess.DEVNULL, check=False)
                runs[mode].append(time.perf_counter() - started)
                if done.returncode not in (0, 1):
                    raise SystemExit(f"{' '.join(command)} exited with {done.returncode}")
    median = {mode: statistics.median(values) for mode, values in runs.items()}
    print(f"  whole command, run --no-synth ({repeat} alternating runs, median):")
    for mode in MODES:
        print(f"  {LABELS[mode]:20} {median[mode]:18.2f}")
    worker_ratio = round(median["worker"] / median["none"], 2)
    process_ratio = round(median["process"] / median["worker"], 2)
    print(f"  {'worker / in-process':28} {worker_ratio:>17}x")
    print(f"  {'process per vector / worker':28} {process_ratio:>17}x")
    return {
        "seconds": {mode: round(value, 3) for mode, value in median.items()},
        "runs": {mode: [round(v, 3) for v in values] for mode, values in runs.items()},
        "worker_over_in_process": worker_ratio,
        "process_per_vector_over_worker": process_ratio,
    }


if __name__ == "__main__":
    raise SystemExit(main())
