"""Benchmark: the cost of isolation when certifying an implementation.

Runs the corpus against one implementation (default ``safetensors``) three ways, alternating:

* ``none``: the adapter in this process (no isolation; the floor);
* ``worker``: one worker process, restarted only after a crash (what ``run`` and pytest do);
* ``process``: a fresh process per vector, the way JSONTestSuite runs parsers.

    python benchmarks/bench_runner.py [--impl safetensors] [--repeat 3] [--no-synth]

Each run's wall time is split into the recipes (the seven large generated vectors: the time spent
loading them, as the runner measured it per vector) and the rest (the committed files, with
start-up, judging and writing results). Reports medians per mode and part, the ratios
worker/in-process and process-per-vector/worker for the whole corpus and for the committed files,
and the most any isolated run could reach on the whole corpus: process-per-vector over the time
the implementation itself spends on the recipes in-process, which no sequential run can go below.

The in-process mode runs under the same garbage-collector settings as a worker, so the comparison
is of isolation alone.
"""

from __future__ import annotations

import argparse
import json
import statistics
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
    args = parser.parse_args()
    corpus = load_corpus()
    vectors = [v for v in corpus.vectors if not (args.no_synth and v.synth)]
    recipes = {v.id for v in vectors if v.synth}
    for vector in vectors:  # materialise recipes and compute expected content before timing
        expected = corpus.expected(vector)
        corpus.path(vector)
        if expected is not None:
            _ = expected.digest
    tune_collector()
    whole: dict[str, list[float]] = {mode: [] for mode in MODES}
    recipe_time: dict[str, list[float]] = {mode: [] for mode in MODES}
    verdicts: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for round_number in range(args.repeat):
            for mode in MODES if round_number % 2 == 0 else reversed(MODES):
                settings = Settings(timeout=300, memory_limit=None, isolation=mode)
                started = time.perf_counter()
                results = run([args.impl], vectors, corpus, Path(scratch) / f"{mode}.jsonl", settings, fresh=True)
                whole[mode].append(time.perf_counter() - started)
                recipe_time[mode].append(sum(r.seconds for r in results.results if r.vector in recipes))
                verdicts[mode] = [r.verdict.value for r in results.results]
    if len({tuple(v) for v in verdicts.values()}) != 1:
        raise SystemExit("the three modes gave different verdicts")
    seconds = {
        mode: {
            "whole": statistics.median(whole[mode]),
            "recipes": statistics.median(recipe_time[mode]),
            "committed": statistics.median(w - r for w, r in zip(whole[mode], recipe_time[mode], strict=True)),
        }
        for mode in MODES
    }

    def ratio(top: str, bottom: str, part: str) -> float:
        return round(seconds[top][part] / seconds[bottom][part], 2)

    summary = {
        "implementation": args.impl,
        "vectors": len(vectors),
        "recipes": len(recipes),
        "repeat": args.repeat,
        "seconds": {mode: {k: round(v, 3) for k, v in parts.items()} for mode, parts in seconds.items()},
        "runs": {mode: [round(v, 3) for v in values] for mode, values in whole.items()},
        "worker_over_in_process": {part: ratio("worker", "none", part) for part in ("whole", "committed")},
        "process_per_vector_over_worker": {part: ratio("process", "worker", part) for part in ("whole", "committed")},
    }
    if recipes:
        # No sequential run takes less than the implementation's own time on the recipes.
        summary["process_per_vector_over_recipe_floor"] = round(
            seconds["process"]["whole"] / seconds["none"]["recipes"], 2
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n")
    committed = len(vectors) - len(recipes)
    print(f"{args.impl}: {len(vectors)} vectors, median wall seconds of {args.repeat} alternating runs")
    print(f"  {'':20} {'whole corpus':>13} {f'{committed} files':>12} {f'{len(recipes)} recipes':>11}")
    for mode in MODES:
        parts = seconds[mode]
        print(f"  {LABELS[mode]:20} {parts['whole']:13.2f} {parts['committed']:12.2f} {parts['recipes']:11.2f}")
    for key, label in (
        ("worker_over_in_process", "worker / in-process"),
        ("process_per_vector_over_worker", "process per vector / worker"),
    ):
        values = summary[key]
        print(f"  {label:30} whole {values['whole']:>7}x   committed files {values['committed']:>7}x")
    if recipes:
        floor = summary["process_per_vector_over_recipe_floor"]
        print(f"  process per vector / recipes' in-process time: {floor}x (the most any isolated run can reach)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
