"""`validate` on hostile inputs and output: the real console script, real streams, real FIFOs.

Every case here once crashed, hung or gave a wrong exit status: lone surrogates in names and
non-UTF-8 file names in the output, FIFOs, pipes, unreadable directories, internal errors.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from safetensors_conformance import Tensor, serialize
from safetensors_conformance._resources import data_path
from safetensors_conformance.cli import main
from safetensors_conformance.format.reader import check

from .conftest import entry, make_file

SCRIPT = [sys.executable, "-m", "safetensors_conformance"]
GOOD = serialize({"w": Tensor("F32", (2,), bytes(8))})
VECTORS = data_path("vectors")
#: Names with lone surrogates: pointers and messages hold them.
SURROGATE_VECTORS = ("strings/name-lone-high-surrogate", "strings/metadata-key-surrogate")


def cli(*argv: str | Path, stdin: bytes | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    """The console script in a fresh process, with a deadline so that a hang fails the test."""
    return subprocess.run(
        [*SCRIPT, *map(os.fsdecode, argv)], input=stdin, capture_output=True, timeout=60, check=False, cwd=cwd
    )


@pytest.mark.parametrize("vector_id", SURROGATE_VECTORS)
def test_lone_surrogates_print_as_escapes_in_text(vector_id: str) -> None:
    done = cli("validate", VECTORS / "files" / f"{vector_id}.safetensors")
    assert done.returncode == 1, done.stderr
    text = done.stdout.decode("utf-8")  # valid UTF-8
    assert "HEADER-STRINGS" in text
    assert "\\ud8" in text or "\\udc" in text


@pytest.mark.parametrize("vector_id", SURROGATE_VECTORS)
def test_lone_surrogates_round_trip_through_json(vector_id: str) -> None:
    done = cli("validate", "--json", VECTORS / "files" / f"{vector_id}.safetensors")
    assert done.returncode == 1, done.stderr
    (result,) = json.loads(done.stdout.decode("utf-8"))
    pointers = [v["pointer"] for v in result["violations"] if v["requirement"] == "HEADER-STRINGS"]
    assert pointers
    assert all(any(0xD800 <= ord(c) <= 0xDFFF for c in p) for p in pointers)  # exact, not replaced


@pytest.mark.parametrize("vector_id", SURROGATE_VECTORS)
def test_vectors_show_prints_surrogate_vectors(vector_id: str) -> None:
    done = cli("vectors", "show", vector_id)
    assert done.returncode == 0, done.stderr
    assert "reference reader rejects: HEADER-STRINGS" in done.stdout.decode("utf-8")


def test_a_file_name_that_is_not_utf8_reads_back_from_json(tmp_path: Path) -> None:
    name = os.fsencode(tmp_path) + b"/bad\xff\xfe.safetensors"
    Path(os.fsdecode(name)).write_bytes(make_file('{"a":' + entry() + ',"a":' + entry() + "}", b"ab"))
    done = cli("validate", "--json", tmp_path)
    assert done.returncode == 1, done.stderr
    (result,) = json.loads(done.stdout.decode("utf-8"))
    assert os.fsencode(result["path"]) == name
    text = cli("validate", tmp_path)
    assert text.returncode == 1
    assert "bad\\udcff\\udcfe.safetensors" in text.stdout.decode("utf-8")


def test_control_characters_in_names_never_reach_the_terminal(tmp_path: Path) -> None:
    path = tmp_path / "evil.safetensors"
    name = '"\\u001b[2J\\u001b]0;x\\u0007"'  # clear the screen, set the window title
    path.write_bytes(make_file("{" + name + ":" + entry() + "," + name + ":" + entry() + "}", b"ab"))
    done = cli("validate", path)
    assert done.returncode == 1
    assert b"\x1b" not in done.stdout
    assert b"\\x1b[2J" in done.stdout


# --- Streams, FIFOs, devices ---------------------------------------------------------------------


def test_dash_reads_standard_input() -> None:
    assert cli("validate", "-", stdin=GOOD).returncode == 0
    bad = cli("validate", "-", stdin=GOOD + b"x")  # one trailing byte
    assert bad.returncode == 1
    assert b"BUFFER-NO-TRAILING" in bad.stdout


def test_dash_reads_a_stream_larger_than_its_header(tmp_path: Path) -> None:
    big = serialize({"w": Tensor("U8", (3_000_000,), bytes(3_000_000))})
    done = cli("validate", "--json", "-", stdin=big)
    assert done.returncode == 0, done.stdout
    (result,) = json.loads(done.stdout)
    assert (result["path"], result["valid"]) == ("-", True)


def test_dash_reports_a_truncated_stream_as_such() -> None:
    done = cli("validate", "--json", "-", stdin=GOOD[:20])
    assert done.returncode == 1
    (result,) = json.loads(done.stdout)
    assert [v["requirement"] for v in result["violations"]] == ["LAYOUT-HEADER-BOUNDS"]


def test_a_pipe_named_as_a_path_is_refused_not_misread() -> None:
    done = cli("validate", "/dev/stdin", stdin=GOOD)
    assert done.returncode == 2
    assert b"not a regular file" in done.stderr
    assert b"with -" in done.stderr


def test_a_fifo_without_a_writer_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "model.safetensors"
    os.mkfifo(fifo)
    done = cli("validate", fifo)
    assert done.returncode == 2
    assert b"a FIFO, not a regular file" in done.stderr


def test_a_fifo_inside_a_directory_is_reported_not_skipped(tmp_path: Path) -> None:
    (tmp_path / "good.safetensors").write_bytes(GOOD)
    os.mkfifo(tmp_path / "pipe.safetensors")
    (tmp_path / "dangling.safetensors").symlink_to(tmp_path / "missing")
    done = cli("validate", "--json", tmp_path)
    assert done.returncode == 2
    results = {Path(r["path"]).name: r for r in json.loads(done.stdout)}
    assert results["good.safetensors"]["valid"] is True
    assert results["pipe.safetensors"]["valid"] is None
    assert "FIFO" in results["pipe.safetensors"]["error"]
    assert results["dangling.safetensors"]["valid"] is None


def test_a_directory_that_cannot_be_read_is_an_error(tmp_path: Path) -> None:
    """An unreadable directory inside the tree (here: one whose path is longer than PATH_MAX, which
    fails for every user, root included) is an error line and exit 2, never "all conform"."""
    (tmp_path / "good.safetensors").write_bytes(GOOD)
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        for _ in range(20):  # 20 x 251 characters: past Linux's 4096-byte PATH_MAX
            os.mkdir("d" * 250, dir_fd=fd)
            inner = os.open("d" * 250, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
    finally:
        os.close(fd)
    done = cli("validate", "--json", ".", cwd=tmp_path)
    assert done.returncode == 2
    results = json.loads(done.stdout)
    assert [r["valid"] for r in results if r["path"].endswith("good.safetensors")] == [True]
    errors = [r for r in results if r["valid"] is None]
    assert errors
    assert all(r["error"].startswith("cannot read this directory") for r in errors)


def test_an_internal_error_is_exit_2_not_1(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("simulated reader bug")

    monkeypatch.setattr("safetensors_conformance.validate_cli.check", broken)
    path = tmp_path / "good.safetensors"
    path.write_bytes(GOOD)
    out, err = io.StringIO(), io.StringIO()
    assert main(["validate", str(path)], out, err) == 2
    assert "internal error: RuntimeError: simulated reader bug" in err.getvalue()


def test_an_internal_error_outside_validate_is_exit_2(tmp_path: Path) -> None:
    # A results file that is a directory makes `report` fail in a way no option check foresees.
    done = cli("report", tmp_path)
    assert done.returncode == 2
    assert b"Traceback" not in done.stdout


def test_counts_read_right_for_one(tmp_path: Path) -> None:
    (tmp_path / "one.safetensors").write_bytes(GOOD)
    out = cli("validate", tmp_path / "one.safetensors").stdout.decode()
    assert "(1 tensor)" in out
    assert out.endswith("1 file: 1 conforms, 0 do not\n")
    trailing = tmp_path / "trailing.safetensors"
    trailing.write_bytes(GOOD + b"x")
    assert (
        "1 byte after the last tensor (buffer offset 8) belongs to no tensor"
        in cli("validate", trailing).stdout.decode()
    )


def test_a_closed_pipe_is_neither_pass_nor_fail() -> None:
    argv = [*SCRIPT, "validate", str(VECTORS / "files")]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdout.readline()
        process.stdout.close()  # as `| head -1` does
        assert process.wait(timeout=120) == 141
        assert b"Traceback" not in process.stderr.read()


def test_ctrl_c_during_run_exits_130_with_one_line_and_stops_the_workers(tmp_path: Path) -> None:
    argv = [*SCRIPT, "run", "--impl", "tests.hostile_adapters:Forever", "--vector-id", "dtypes/f32-sample"]
    argv += ["--vector-id", "root/array", "--out", str(tmp_path), "--quiet", "--vector-timeout", "60"]
    root = Path(__file__).resolve().parent.parent
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=root) as process:
        deadline = time.monotonic() + 30
        while not (tmp_path / "results.jsonl").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # the worker is now inside the endless load
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 130
        assert process.stderr is not None
        err = process.stderr.read().decode()
    assert "Traceback" not in err
    assert "interrupted: the results so far are in" in err
    assert not _processes_running("hostile_adapters:Forever")  # no worker left spinning
    assert (tmp_path / "results.jsonl").read_text().startswith('{"kind": "run"')


def _processes_running(marker: str) -> list[int]:
    found = []
    for process in Path("/proc").iterdir():
        if process.name.isdigit():
            try:
                if marker.encode() in (process / "cmdline").read_bytes():
                    found.append(int(process.name))
            except OSError:
                continue
    return found


def test_an_endless_stream_is_read_only_as_far_as_its_header_needs() -> None:
    with Path("/dev/zero").open("rb") as endless:  # N = 0: the rest of the stream cannot matter
        done = subprocess.run(
            [*SCRIPT, "validate", "--json", "-"], stdin=endless, capture_output=True, timeout=60, check=False
        )
    assert done.returncode == 1
    (result,) = json.loads(done.stdout)
    assert result["primary"] == "HEADER-JSON"
    trailing = cli("validate", "--json", "-", stdin=GOOD + bytes(3_000_000))  # counted to the last byte
    (result,) = json.loads(trailing.stdout)
    assert [v["message"].split(" after")[0] for v in result["violations"]] == ["3000000 bytes"]


class _Pipe(io.BytesIO):
    """Bytes read as a stream: no file descriptor and no seeking, as from a pipe."""

    def seekable(self) -> bool:
        return False

    def fileno(self) -> int:
        raise io.UnsupportedOperation("fileno")


def test_a_stream_gets_the_same_findings_as_the_file_for_every_committed_vector() -> None:
    files = sorted((VECTORS / "files").rglob("*.safetensors"))
    assert len(files) > 500
    differ = []
    for path in files:
        by_path, by_stream = check(path), check(_Pipe(path.read_bytes()))
        if [(v.requirement, v.offset, v.pointer) for v in by_path.violations] != [
            (v.requirement, v.offset, v.pointer) for v in by_stream.violations
        ]:
            differ.append(path.relative_to(VECTORS))
    assert differ == []
