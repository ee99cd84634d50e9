"""Benchmark: remote validation of a 10 GiB file served by nginx on loopback, as whole processes.

A sparse 10 GiB file (a header of ``--tensors`` entries over a buffer that is a hole) is served
by nginx (``tests/range_servers.py``). Each run is a whole ``python -c`` process that calls
``check_url`` on its URL; beside it, alternately, the same check of the same file on disk
(``check(path)``). The report gives, per side, the median wall time and peak RSS (``VmHWM``),
the ratio remote / local, and the requests nginx logged for each remote run and the bytes it sent.
A server with ranges switched off shows what a refused answer costs: the time to the error and
the bytes nginx sent before the client hung up. The bare interpreter and the imports alone give
the floor of the RSS figures.

    python benchmarks/bench_remote.py [--repeat 5] [--tensors 1000] [--out .bench/remote.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.range_servers import Nginx  # noqa: E402 - the test helpers live beside the package, not in it

GIB = 1 << 30
#: Each child prints its own peak RSS (VmHWM, in KiB) last: ``wait4``'s figure for a child started
#: with vfork counts the benchmark's own pages until the exec, which hides anything below them.
_PEAK = "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])\n"
REMOTE = [
    sys.executable,
    "-c",
    "import sys\nfrom safetensors_conformance.remote import check_url\n"
    "ok = check_url(sys.argv[1], keep_tensors=False).conforms\n" + _PEAK + "sys.exit(0 if ok else 1)",
]
LOCAL = [
    sys.executable,
    "-c",
    "import sys\nfrom safetensors_conformance import check\n"
    "ok = check(sys.argv[1], keep_tensors=False).conforms\n" + _PEAK + "sys.exit(0 if ok else 1)",
]
REFUSED = [
    sys.executable,
    "-c",
    "import sys\nfrom safetensors_conformance.remote import RemoteError, check_url\nok = False\n"
    "try:\n    check_url(sys.argv[1])\nexcept RemoteError as error:\n    ok = error.kind == 'no-ranges'\n"
    + _PEAK
    + "sys.exit(0 if ok else 1)",
]
IMPORTS = [sys.executable, "-c", "import safetensors_conformance.remote\n" + _PEAK]
BARE = [sys.executable, "-c", _PEAK]


def make_sparse(path: Path, size: int, tensors: int) -> int:
    """A conforming file of ``size`` bytes: ``tensors`` U8 tensors sharing a buffer that is a hole.
    Returns the header length."""
    estimate = 128 + 128 * tensors  # room for the header, so that the buffer length is known first
    buffer = size - 8 - estimate
    step = buffer // tensors
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    for i in range(tensors):
        end = buffer if i == tensors - 1 else (i + 1) * step
        header[f"model.layers.{i}.weight"] = {"dtype": "U8", "shape": [end - i * step], "data_offsets": [i * step, end]}
    text = json.dumps(header, separators=(",", ":")).encode()
    if len(text) > estimate:
        raise SystemExit(f"header of {len(text)} bytes does not fit the {estimate} reserved")
    text = text.ljust(estimate)
    with path.open("wb") as out:
        out.write(len(text).to_bytes(8, "little") + text)
        out.truncate(size)
    return len(text)


def timed(command: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB, as the process reports it) of one process; it must exit 0."""
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{command} failed: {done.stderr.decode()}")
    return elapsed, int(done.stdout.split()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--tensors", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=ROOT / ".bench" / "remote.json")
    args = parser.parse_args()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "harness")], check=True)
    with tempfile.TemporaryDirectory(prefix="bench-remote-") as scratch:
        work = Path(scratch)
        served = work / "root"
        served.mkdir()
        path = served / "big.safetensors"
        header = make_sparse(path, 10 * GIB, args.tensors)
        locations = f"        location /noranges/ {{ alias {served}/; max_ranges 0; }}\n"
        with Nginx(served, work / "nginx", locations) as nginx:
            url = nginx.url("big.safetensors")
            remote: list[tuple[float, int]] = []
            local: list[tuple[float, int]] = []
            requests: list[int] = []
            sent: list[int] = []
            nginx.take()
            for round_number in range(args.repeat):
                pair = [(remote, [*REMOTE, url]), (local, [*LOCAL, str(path)])]
                for results, command in pair if round_number % 2 == 0 else reversed(pair):
                    results.append(timed(command))
                log = nginx.take()
                requests.append(len(log))
                sent.append(sum(line.sent for line in log))
            refused_seconds, refused_rss = timed([*REFUSED, nginx.url("noranges/big.safetensors")])
            refused_sent = sum(line.sent for line in nginx.take(until="/noranges/big.safetensors"))
        _, imports_rss = timed(IMPORTS)
        _, bare_rss = timed(BARE)
    remote_time = statistics.median(t for t, _ in remote)
    local_time = statistics.median(t for t, _ in local)
    result = {
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "file_bytes": 10 * GIB,
        "tensors": args.tensors,
        "header_bytes": header,
        "remote_seconds": round(remote_time, 3),
        "local_seconds": round(local_time, 3),
        "ratio": round(remote_time / local_time, 3),
        "remote_peak_rss_mib": round(statistics.median(m for _, m in remote) / 1024, 1),
        "local_peak_rss_mib": round(statistics.median(m for _, m in local) / 1024, 1),
        "requests_per_run": requests,
        "bytes_sent_per_run": sent,
        "no_ranges_seconds": round(refused_seconds, 3),
        "no_ranges_peak_rss_mib": round(refused_rss / 1024, 1),
        "no_ranges_bytes_sent": refused_sent,
        "imports_only_peak_rss_mib": round(imports_rss / 1024, 1),
        "bare_interpreter_peak_rss_mib": round(bare_rss / 1024, 1),
        "remote_runs": [round(t, 3) for t, _ in remote],
        "local_runs": [round(t, 3) for t, _ in local],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"10 GiB sparse file, {args.tensors:,} tensors, {header:,}-byte header, nginx on loopback:")
    print("| | wall (s, median) | peak RSS (MiB) | requests | bytes sent |")
    print("|---|---:|---:|---:|---:|")
    print(
        f"| remote `check_url` | {result['remote_seconds']} | {result['remote_peak_rss_mib']} "
        f"| {max(requests)} | {max(sent):,} |"
    )
    print(f"| local `check` | {result['local_seconds']} | {result['local_peak_rss_mib']} | - | - |")
    print(
        f"| server without ranges (error) | {result['no_ranges_seconds']} | {result['no_ranges_peak_rss_mib']} "
        f"| 1 | {refused_sent:,} |"
    )
    print(
        f"\nremote / local: {result['ratio']}; importing the module alone: "
        f"{result['imports_only_peak_rss_mib']} MiB; a bare interpreter: {result['bare_interpreter_peak_rss_mib']} MiB"
    )
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
