"""Benchmark: ``safetensors-conformance validate`` against the reference library, as whole processes.

Three workloads, each a set of commands run alternately ``--repeat`` times (the order rotates each
round), all in one run so that the ratios are side by side on the same machine state:

* 1,000 shards of 300 tensors, written by the Hugging Face writer (``safetensors.numpy.save_file``,
  headers of about 32 KB): ``validate DIR``, ``validate --jobs 2 DIR``, ``validate DIR`` without
  msgspec (the named checks alone), against a Python loop over ``safe_open(f, framework="np")``
  calling ``.keys()`` and ``.metadata()`` for each file;
* files of 100,000 and 1,000,000 tensors (the canonical writer): ``validate FILE``, with and
  without msgspec, against ``safe_open(FILE, framework="np").keys()``;
* a 10 GiB sparse file (a 1 KiB header over a buffer that is a hole): peak memory against the
  header size, since validation reads the header only.

The report gives median wall time and peak RSS per command, and each command's ratio to the
reference (below 1.0 means faster) by medians and by fastest runs, which is less sensitive to a
noisy machine. Peak RSS comes from ``wait4``; a child started with vfork counts the benchmark's own
pages until it execs, so figures below that floor (shown by the bare interpreter) are not resolved.

    python benchmarks/bench_validate.py [--repeat 9] [--only shards|files|sparse] [--out .bench/results.json]
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
#: ``validate`` as if msgspec were not installed: the named checks decide every header.
STRICT = [
    sys.executable,
    "-c",
    "import sys\nsys.modules['msgspec'] = None\nfrom safetensors_conformance.cli import entry\nentry()",
    "validate",
]
REFERENCE = [
    sys.executable,
    "-c",
    "import sys\nfrom safetensors import safe_open\nwith safe_open(sys.argv[1], framework='np') as f:\n    f.keys()",
]
REFERENCE_LOOP = [
    sys.executable,
    "-c",
    "import os, sys\nfrom safetensors import safe_open\nfor name in sorted(os.listdir(sys.argv[1])):\n"
    "    with safe_open(os.path.join(sys.argv[1], name), framework='np') as f:\n        f.keys()\n        f.metadata()",
]
SHARDS = 1000
SHARD_TENSORS = 300
#: Layer parts of a decoder block, with the shape each has here (tiny: the headers are the point).
PARTS = (
    ("self_attn.q_proj.weight", (2, 4)),
    ("self_attn.k_proj.weight", (2, 4)),
    ("self_attn.v_proj.weight", (2, 4)),
    ("self_attn.o_proj.weight", (2, 4)),
    ("mlp.gate_proj.weight", (2, 4)),
    ("mlp.up_proj.weight", (2, 4)),
    ("mlp.down_proj.weight", (2, 4)),
    ("input_layernorm.weight", (8,)),
    ("post_attention_layernorm.weight", (8,)),
    ("self_attn.q_proj.bias", (8,)),
)


def make_model(path: Path, tensors: int) -> None:
    """A canonical file (the layout the reference writer produces) of small BF16 tensors."""
    items = {f"layers.{i}.weight": Tensor("BF16", (4,), bytes(8)) for i in range(tensors)}
    write_file(path, items, {"format": "pt"})


def make_shards(directory: Path) -> None:
    """1,000 shards of 300 float16 tensors each, as a checkpoint's shards are: by the HF writer."""
    import numpy as np  # noqa: PLC0415 - only the child process that writes the shards needs them
    from safetensors.numpy import save_file  # noqa: PLC0415

    directory.mkdir(parents=True, exist_ok=True)
    for shard in range(SHARDS):
        tensors = {}
        for index in range(SHARD_TENSORS):
            part, shape = PARTS[index % len(PARTS)]
            layer = shard * (SHARD_TENSORS // len(PARTS)) + index // len(PARTS)
            tensors[f"model.text_model.layers.{layer}.{part}"] = np.zeros(shape, dtype=np.float16)
        save_file(tensors, str(directory / f"shard-{shard:05d}.safetensors"), metadata={"format": "np"})


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
    """Wall seconds and peak RSS (KiB: the largest of the process and its children) of one process; it must exit 0."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{command} failed: {process.stderr.read().decode() if process.stderr else ''}")
    return elapsed, usage.ru_maxrss


def compare(commands: dict[str, list[str]], reference: str, repeat: int) -> dict[str, dict[str, object]]:
    """Run every command ``repeat`` times, alternating (the order rotates each round)."""
    runs: dict[str, list[tuple[float, int]]] = {name: [] for name in commands}
    names = list(commands)
    for round_number in range(repeat):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            runs[name].append(timed(commands[name]))
    reference_median = statistics.median(t for t, _ in runs[reference])
    reference_fastest = min(t for t, _ in runs[reference])
    return {
        name: {
            "median_seconds": round(statistics.median(t for t, _ in timings), 3),
            "ratio": round(statistics.median(t for t, _ in timings) / reference_median, 3),
            "ratio_of_fastest_runs": round(min(t for t, _ in timings) / reference_fastest, 3),
            "peak_rss_mib": round(statistics.median(m for _, m in timings) / 1024, 1),
            "runs": [round(t, 3) for t, _ in timings],
        }
        for name, timings in runs.items()
    }


def bench_shards(work: Path, repeat: int) -> dict[str, object]:
    directory = work / f"hf-shards-{SHARDS}x{SHARD_TENSORS}"
    if not directory.is_dir() or len(list(directory.iterdir())) != SHARDS:
        # In a child process, so that this one stays small (and never imports NumPy).
        subprocess.run([sys.executable, __file__, "--make-shards", str(directory)], check=True)
    files = sorted(directory.iterdir())
    headers = [header_length(f) for f in files]
    commands = {
        "validate": [*OURS, str(directory)],
        "validate --jobs 2": [*OURS, "--jobs", "2", str(directory)],
        "validate, no msgspec": [*STRICT, str(directory)],
        "safe_open loop": [*REFERENCE_LOOP, str(directory)],
    }
    return {
        "files": len(files),
        "tensors_per_file": SHARD_TENSORS,
        "mean_header_bytes": round(statistics.mean(headers)),
        "total_bytes": sum(f.stat().st_size for f in files),
        "commands": compare(commands, "safe_open loop", repeat),
    }


def bench_file(work: Path, tensors: int, repeat: int) -> dict[str, object]:
    path = work / f"tensors-{tensors}.safetensors"
    if not path.exists():  # in a child process, so that this one stays small for the RSS figures
        subprocess.run([sys.executable, __file__, "--make", str(path), str(tensors)], check=True)
    commands = {
        "validate": [*OURS, str(path)],
        "validate, no msgspec": [*STRICT, str(path)],
        "safe_open keys": [*REFERENCE, str(path)],
    }
    return {
        "tensors": tensors,
        "header_bytes": header_length(path),
        "size_bytes": path.stat().st_size,
        "commands": compare(commands, "safe_open keys", repeat),
    }


def bench_sparse(work: Path) -> dict[str, object]:
    sparse = work / "sparse-10gib.safetensors"
    sparse_header = make_sparse(sparse, 10)
    seconds, rss = timed([*OURS, str(sparse)])
    _, imports_rss = timed([sys.executable, "-c", "import safetensors_conformance.cli"])
    _, bare_rss = timed([sys.executable, "-c", "pass"])
    sparse.unlink()
    return {
        "header_bytes": sparse_header,
        "seconds": round(seconds, 3),
        "peak_rss_mib": round(rss / 1024, 1),
        "imports_only_peak_rss_mib": round(imports_rss / 1024, 1),
        "bare_interpreter_peak_rss_mib": round(bare_rss / 1024, 1),
    }


def table(rows: list[tuple[str, dict[str, dict[str, object]]]]) -> list[str]:
    lines = [
        "| workload | command | median (s) | ratio | fastest-run ratio | peak RSS (MiB) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for workload, commands in rows:
        for name, figures in commands.items():
            lines.append(
                f"| {workload} | {name} | {figures['median_seconds']} | {figures['ratio']} "
                f"| {figures['ratio_of_fastest_runs']} | {figures['peak_rss_mib']} |"
            )
    return lines


def main() -> int:
    if sys.argv[1:2] == ["--make"]:
        make_model(Path(sys.argv[2]), int(sys.argv[3]))
        return 0
    if sys.argv[1:2] == ["--make-shards"]:
        make_shards(Path(sys.argv[2]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--only", choices=["shards", "files", "sparse"], action="append", help="(repeatable)")
    parser.add_argument("--work", type=Path, default=ROOT / ".bench")
    parser.add_argument("--out", type=Path, default=ROOT / ".bench" / "results.json")
    args = parser.parse_args()
    only = set(args.only or ["shards", "files", "sparse"])
    args.work.mkdir(parents=True, exist_ok=True)
    # An installed wheel has its bytecode compiled; an editable checkout may not (PYTHONDONTWRITEBYTECODE).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "harness")], check=True)
    result: dict[str, object] = {"python": sys.version.split()[0], "cpus": os.cpu_count(), "repeat": args.repeat}
    rows: list[tuple[str, dict[str, dict[str, object]]]] = []
    if "shards" in only:
        shards = bench_shards(args.work, args.repeat)
        result["shards"] = shards
        rows.append((f"{SHARDS:,} HF shards x {SHARD_TENSORS} tensors", shards["commands"]))
    if "files" in only:
        files = [bench_file(args.work, tensors, args.repeat) for tensors in (100_000, 1_000_000)]
        result["files"] = files
        rows.extend((f"one file, {f['tensors']:,} tensors", f["commands"]) for f in files)
    if "sparse" in only:
        result["sparse_10gib"] = bench_sparse(args.work)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print("\n".join(table(rows)))
    if "shards" in result:
        print(f"\nshards: mean header {shards['mean_header_bytes']:,} B, {shards['total_bytes']:,} B in all")
    if "sparse_10gib" in result:
        sparse = result["sparse_10gib"]
        assert isinstance(sparse, dict)
        print(
            f"\n10 GiB sparse file, {sparse['header_bytes']:,}-byte header: {sparse['seconds']} s, peak RSS "
            f"{sparse['peak_rss_mib']} MiB; importing the CLI alone: {sparse['imports_only_peak_rss_mib']} MiB; "
            f"a bare interpreter: {sparse['bare_interpreter_peak_rss_mib']} MiB"
        )
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
