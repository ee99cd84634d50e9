"""Benchmark: the fuzzing engine, side by side, in one run.

1. Executions per second of the reference target against the upstream style of fuzzing (each
   input written to a temporary file and given to the Hugging Face ``load_file``, as the upstream
   repository's atheris script does), measured two ways:

   * under libFuzzer, for ``--seconds`` each, from the same seeds (the vector files), same
     ``-seed`` and ``-max_len``: the reference target as campaigns run it (instrumented, with the
     structure-aware mutator), and the upstream style as upstream runs it (uninstrumented, with
     libFuzzer's own mutator), and also with the structure-aware mutator;
   * on the same inputs: one fixed set of mutated inputs replayed through each target in this
     process, which compares the targets alone (no libFuzzer, no mutator, no instrumentation).

2. Coverage (libFuzzer's ``cov`` and ``ft``) reached in ``--coverage-seconds`` by the
   structure-aware mutator against libFuzzer's byte-level mutation alone, same seed, from two
   starting points: the vector files (which already reach almost every branch), and one valid
   file (``examples/minimal.safetensors``), where what the mutator itself reaches shows.

    python benchmarks/bench_fuzz.py [--seconds 30] [--coverage-seconds 60] [--inputs 5000]

Writes ``.bench/fuzz.json``. Uses one core at a time.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from safetensors_conformance.fuzzing.campaign import Campaign, Plan, Summary
from safetensors_conformance.fuzzing.mutator import mutate
from safetensors_conformance.fuzzing.targets import Finding, Robustness

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "vectors" / "files"
UPSTREAM = ("numpy", "torch")
AS_UPSTREAM = "--as-upstream"
STRUCTURED = "--structured"


def _loader(kind: str) -> Callable[[str], Any]:
    module = importlib.import_module(f"safetensors.{kind}")  # torch only when asked for: it takes seconds
    return module.load_file  # type: ignore[no-any-return]


def upstream_target(kind: str) -> Callable[[bytes], None]:
    """The upstream style: a temporary file per input, ``load_file``, every exception swallowed."""
    load_file = _loader(kind)

    def target(data: bytes) -> None:
        with tempfile.NamedTemporaryFile(mode="wb") as file:
            file.write(data)
            file.flush()
            with contextlib.suppress(Exception):  # the upstream script counts exceptions and goes on
                load_file(file.name)

    return target


def as_upstream(kind: str, structured: bool, argv: list[str]) -> None:
    """Run as libFuzzer's process: the upstream-style target, uninstrumented."""
    atheris = importlib.import_module("atheris")

    target = upstream_target(kind)
    if structured:
        atheris.Setup(argv, target, custom_mutator=lambda d, m, s: mutate(d, m, s, atheris.Mutate))
    else:
        atheris.Setup(argv, target)
    atheris.Fuzz()


def campaign(name: str, seconds: float, seed: int, folder: Path, **plan: Any) -> dict[str, Any]:
    summary: Summary = Campaign(Plan(target="reference", out=folder / name, seconds=seconds, seed=seed, **plan)).run()
    result = {
        "executions": summary.executions,
        "exec_per_second": sum(job.average_exec_per_second for job in summary.jobs),
        "coverage": summary.coverage,
        "features": summary.features,
        "corpus": summary.corpus,
    }
    print(
        f"  {name:32} {result['exec_per_second']:>9,.0f} exec/s   cov {summary.coverage:>5}   ft {summary.features:>6}"
    )
    return result


def replay(inputs: list[bytes], target: Callable[[bytes], None]) -> float:
    started = time.perf_counter()
    for data in inputs:
        with contextlib.suppress(Finding):
            target(data)
    return len(inputs) / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="per libFuzzer throughput run")
    parser.add_argument("--coverage-seconds", type=float, default=60.0)
    parser.add_argument("--inputs", type=int, default=5000, help="mutated inputs replayed")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / ".bench" / "fuzz.json")
    if sys.argv[1:2] == [AS_UPSTREAM]:  # libFuzzer's process: its options are not ours to parse
        structured = sys.argv[3:4] == [STRUCTURED]
        as_upstream(sys.argv[2], structured, [sys.argv[0], *sys.argv[3 + structured :]])
        return 0
    args = parser.parse_args()

    report: dict[str, Any] = {"seconds": args.seconds, "coverage_seconds": args.coverage_seconds, "seed": args.seed}
    with tempfile.TemporaryDirectory(prefix="bench-fuzz-") as work:
        folder = Path(work)
        print(f"libFuzzer, {args.seconds:g} s each, seeds {SEEDS.relative_to(ROOT)}, -seed={args.seed}:")
        runs = {"reference (campaign)": campaign("reference", args.seconds, args.seed, folder)}
        for kind in UPSTREAM:
            for structured in (False, True):
                name = f"upstream {kind}" + (" (structure-aware)" if structured else "")
                entry = (sys.executable, __file__, AS_UPSTREAM, kind, *([STRUCTURED] if structured else []))
                runs[name] = campaign(name.replace(" ", "-"), args.seconds, args.seed, folder, entry=entry)
        report["libfuzzer"] = runs

        seeds = [path.read_bytes() for path in sorted(SEEDS.rglob("*.safetensors"))]
        inputs = [mutate(seeds[i % len(seeds)], 65536, args.seed + i) for i in range(args.inputs)]
        print(f"replaying the same {len(inputs)} mutated inputs in this process:")
        replayed = {"reference (every check)": replay(inputs, Robustness(deep_every=1))}
        replayed["reference (as campaigns)"] = replay(inputs, Robustness())
        for kind in UPSTREAM:
            replayed[f"upstream {kind}"] = replay(inputs, upstream_target(kind))
        for name, rate in replayed.items():
            print(f"  {name:40} {rate:>9,.0f} exec/s")
        report["replay"] = {name: round(rate, 1) for name, rate in replayed.items()}

        one = folder / "one-seed"
        one.mkdir()
        shutil.copy(SEEDS / "examples" / "minimal.safetensors", one)
        coverage: dict[str, dict[str, Any]] = {}
        for label, seeds in (("vector files", (SEEDS,)), ("one valid file", (one,))):
            print(f"coverage after {args.coverage_seconds:g} s, seeds: {label}:")
            for mutator, bytes_only in (("structure-aware", False), ("byte-level only", True)):
                name = f"{mutator}, {label}"
                coverage[name] = campaign(
                    name.replace(" ", "-").replace(",", ""),
                    args.coverage_seconds,
                    args.seed,
                    folder,
                    bytes_only=bytes_only,
                    seeds=seeds,
                )
        report["coverage"] = coverage

    reference = runs["reference (campaign)"]["exec_per_second"]
    ratios = {
        **{
            f"libfuzzer: reference / {name}": reference / runs[name]["exec_per_second"]
            for name in runs
            if name != "reference (campaign)"
        },
        **{
            f"replay: reference (as campaigns) / upstream {kind}": replayed["reference (as campaigns)"]
            / replayed[f"upstream {kind}"]
            for kind in UPSTREAM
        },
        **{
            f"coverage, {label}: structure-aware / byte-level ({what})": coverage[f"structure-aware, {label}"][key]
            / max(coverage[f"byte-level only, {label}"][key], 1)
            for label in ("vector files", "one valid file")
            for what, key in (("cov", "coverage"), ("ft", "features"))
        },
    }
    report["ratios"] = {name: round(value, 2) for name, value in ratios.items()}
    print("ratios:")
    for name, value in ratios.items():
        print(f"  {name:62} {value:6.2f}x")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
