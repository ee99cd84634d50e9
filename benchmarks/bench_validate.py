"""Benchmark: ``safetensors-conformance validate`` against the reference library, as whole processes.

For each file, both commands run alternately ``--repeat`` times; the report gives median wall
time, median peak RSS and the ratio ours / reference (below 1.0 means faster), and the ratio of
the fastest runs, which is less sensitive to a noisy machine. The reference
command is ``safe_open(path, framework="np").keys()`` of the Hugging Face library.

A 10 GiB sparse file (a 1 KiB header over a buffer that is a hole) shows peak memory against the
header size: validation reads the header only. Peak RSS comes from ``wait4``; a child started
with vfork counts the benchmark's own pages until it execs, so figures below that floor (shown
by the bare interpreter) are not resolved.

    python benchmarks/bench_validate.py [--repeat 5] [--out .bench/results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from safetensors_conformance import Tensor, write_file

ROOT = Path(__file__).resolve().parent.parent
OURS = [str(Path(sys.executable).parent / "safetensors-conformance"), "validate"]
REFERENCE = [
    sys.executable,
    "-c",
    "import sys\nfrom safetensors import safe_open\nwith safe_open(sys.argv[1], framework='np') as f:\n    f.keys()",
]


def make_model(path: Path, tensors: int) -> None:
    """A canonical file (the layout the reference writer produces) of small BF16 tensors."""
    items = {f"layers.{i}.weight": Tensor("BF16", (4,), bytes(8)) for i in range(tensors)}
    write_file(path, items, {"format": "pt"})


def make_sparse(path: Path, gib: int) -> int:
    header = {
        f"layer.{i}": {"dtype": "U8", "shape": [1 << 30], "data_offsets": [i << 30, (i + 1) << 30]} for i in range(gib)
    }
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with path.open("wb") as out:
        out.write(len(text).to_bytes(8, "little") + text)
        out.truncate(8 + len(text) + (gib << 30))
    return len(text)


def header_length(path: Path) -> int:
    with path.open("rb") as file:
        return int.from_bytes(file.read(8), "little")


def timed(command: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one process; it must exit 0."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{command} failed: {process.stderr.read().decode() if process.stderr else ''}")
    return elapsed, usage.ru_maxrss


def compare(path: Path, repeat: int) -> dict[str, object]:
    ours: list[tuple[float, int]] = []
    reference: list[tuple[float, int]] = []
    for round_number in range(repeat):
        pair = [(ours, [*OURS, str(path)]), (reference, [*REFERENCE, str(path)])]
        for results, command in pair if round_number % 2 == 0 else reversed(pair):
            results.append(timed(command))
    ours_time = statistics.median(t for t, _ in ours)
    reference_time = statistics.median(t for t, _ in reference)
    return {
        "file": path.name,
        "size_bytes": path.stat().st_size,
        "header_bytes": header_length(path),
        "ours_seconds": round(ours_time, 3),
        "reference_seconds": round(reference_time, 3),
        "ratio": round(ours_time / reference_time, 3),
        "ratio_of_fastest_runs": round(min(t for t, _ in ours) / min(t for t, _ in reference), 3),
        "ours_peak_rss_mib": round(statistics.median(m for _, m in ours) / 1024, 1),
        "reference_peak_rss_mib": round(statistics.median(m for _, m in reference) / 1024, 1),
        "ours_runs": [round(t, 3) for t, _ in ours],
        "reference_runs": [round(t, 3) for t, _ in reference],
    }


def main() -> int:
    if sys.argv[1:2] == ["--make"]:
        make_model(Path(sys.argv[2]), int(sys.argv[3]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--work", type=Path, default=ROOT / ".bench")
    parser.add_argument("--out", type=Path, default=ROOT / ".bench" / "results.json")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    # An installed wheel has its bytecode compiled; an editable checkout may not (PYTHONDONTWRITEBYTECODE).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "harness")], check=True)
    rows = []
    for tensors in (100_000, 1_000_000):
        path = args.work / f"tensors-{tensors}.safetensors"
        if not path.exists():  # in a child process, so that this one stays small for the RSS figures
            subprocess.run([sys.executable, __file__, "--make", str(path), str(tensors)], check=True)
        rows.append({"tensors": tensors, **compare(path, args.repeat)})
    sparse = args.work / "sparse-10gib.safetensors"
    sparse_header = make_sparse(sparse, 10)
    seconds, rss = timed([*OURS, str(sparse)])
    _, imports_rss = timed([sys.executable, "-c", "import safetensors_conformance.cli"])
    _, bare_rss = timed([sys.executable, "-c", "pass"])
    sparse.unlink()
    result = {
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "comparisons": rows,
        "sparse_10gib": {
            "header_bytes": sparse_header,
            "seconds": round(seconds, 3),
            "peak_rss_mib": round(rss / 1024, 1),
            "imports_only_peak_rss_mib": round(imports_rss / 1024, 1),
            "bare_interpreter_peak_rss_mib": round(bare_rss / 1024, 1),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print("| tensors | header | ours (s) | reference (s) | ratio | fastest runs | ours RSS (MiB) | ref. RSS (MiB) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['tensors']:,} | {row['header_bytes']:,} B | {row['ours_seconds']} | {row['reference_seconds']} "
            f"| {row['ratio']} | {row['ratio_of_fastest_runs']} | {row['ours_peak_rss_mib']} "
            f"| {row['reference_peak_rss_mib']} |"
        )
    sparse_result = result["sparse_10gib"]
    print(
        f"\n10 GiB sparse file, {sparse_header:,}-byte header: {sparse_result['seconds']} s, peak RSS "
        f"{sparse_result['peak_rss_mib']} MiB; importing the CLI alone: "
        f"{sparse_result['imports_only_peak_rss_mib']} MiB; "
        f"a bare interpreter: {sparse_result['bare_interpreter_peak_rss_mib']} MiB"
    )
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
