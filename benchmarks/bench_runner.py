"""Benchmark: the cost of isolation when certifying an implementation.

Runs the corpus against one implementation (default ``safetensors``) three ways, alternating:

* ``none``: the adapter in this process (no isolation; the floor);
* ``worker``: one worker process, restarted only after a crash (what ``run`` and pytest do);
* ``process``: a fresh process per vector, the way JSONTestSuite runs parsers.

    python benchmarks/bench_runner.py [--impl safetensors] [--repeat 3] [--no-synth]

Reports wall time per mode (median of the repeats) and the ratios worker/none and process/worker.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from safetensors_conformance.corpus import load_corpus
from safetensors_conformance.runner import Settings, run

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", default="safetensors")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-synth", action="store_true", help="committed vectors only")
    parser.add_argument("--out", type=Path, default=ROOT / ".bench" / "runner.json")
    args = parser.parse_args()
    corpus = load_corpus()
    vectors = [v for v in corpus.vectors if not (args.no_synth and v.synth)]
    for vector in vectors:  # materialise recipes and compute expected content before timing
        corpus.path(vector)
        corpus.expected(vector)
    times: dict[str, list[float]] = {"none": [], "worker": [], "process": []}
    verdicts: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for round_number in range(args.repeat):
            modes = list(times) if round_number % 2 == 0 else list(reversed(times))
            for mode in modes:
                settings = Settings(timeout=300, memory_limit=None, isolation=mode)  # type: ignore[arg-type]
                started = time.perf_counter()
                results = run([args.impl], vectors, corpus, Path(scratch) / f"{mode}.jsonl", settings, fresh=True)
                times[mode].append(time.perf_counter() - started)
                verdicts[mode] = [r.verdict.value for r in results.results]
    if len({tuple(v) for v in verdicts.values()}) != 1:
        raise SystemExit("the three modes gave different verdicts")
    median = {mode: statistics.median(values) for mode, values in times.items()}
    summary = {
        "implementation": args.impl,
        "vectors": len(vectors),
        "recipes_included": not args.no_synth,
        "seconds": {mode: round(value, 3) for mode, value in median.items()},
        "runs": {mode: [round(v, 3) for v in values] for mode, values in times.items()},
        "worker_over_in_process": round(median["worker"] / median["none"], 2),
        "process_per_vector_over_worker": round(median["process"] / median["worker"], 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n")
    recipes = "without" if args.no_synth else "with"
    print(f"{args.impl}, {len(vectors)} vectors ({recipes} recipes), median of {args.repeat}:")
    for mode, value in median.items():
        print(f"  {mode:8} {value:8.2f} s")
    print(f"  worker / in-process:       {summary['worker_over_in_process']}x")
    print(f"  process per vector / worker: {summary['process_per_vector_over_worker']}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
