"""The isolated runner: hostile adapters are classified and never stop a run; results stream and resume."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from safetensors_conformance.adapters.external import classify_exit
from safetensors_conformance.adapters.outcome import Digest, Outcome, TensorDigest
from safetensors_conformance.adapters.protocol import Capabilities
from safetensors_conformance.corpus import load_corpus
from safetensors_conformance.corpus.model import content_digest
from safetensors_conformance.runner import Settings, Verdict, judge, run
from safetensors_conformance.runner.results import FolderInUse, FolderLock, Results, StreamError, read_stream
from safetensors_conformance.runner.run import deadline

ROOT = Path(__file__).resolve().parent.parent
CORPUS = load_corpus()
IDS = ["dtypes/f32-sample", "examples/minimal", "buffer/overlap-tied", "framing/length-past-end-large", "metadata/null"]
VECTORS = [CORPUS.get(i) for i in IDS]
VALID = ("dtypes/f32-sample", "examples/minimal")
INVALID = ("buffer/overlap-tied", "framing/length-past-end-large")
QUICK = Settings(timeout=1.5, memory_limit=1 << 30)


def verdicts(
    tmp_path: Path, selection: str, settings: Settings = QUICK, vectors: Sequence[object] = VECTORS
) -> dict[str, tuple[Verdict, str | None, str | None]]:
    results = run([selection], vectors, CORPUS, tmp_path / "results.jsonl", settings, fresh=True)  # type: ignore[arg-type]
    assert results.implementations[selection].available, results.implementations[selection].reason
    return {r.vector: (r.verdict, r.detail, r.flagged) for r in results.results}


def test_reference_passes_the_sample(tmp_path: Path) -> None:
    found = verdicts(tmp_path, "reference")
    assert {k: v[0] for k, v in found.items()} == {
        **dict.fromkeys(VALID + INVALID, Verdict.PASS),
        "metadata/null": Verdict.ACCEPTABLE_REJECTED,
    }


def test_a_segfault_is_a_crash_and_the_worker_restarts(tmp_path: Path) -> None:
    found = verdicts(tmp_path, "tests.hostile_adapters:Segfault")
    assert {v[0] for v in found.values()} == {Verdict.CRASH}
    assert all("SIGSEGV" in (v[1] or "") for v in found.values())
    assert len(found) == len(IDS)


def test_an_endless_loop_is_a_timeout(tmp_path: Path) -> None:
    found = verdicts(
        tmp_path, "tests.hostile_adapters:Forever", Settings(timeout=0.5, memory_limit=1 << 30), VECTORS[:3]
    )
    assert {v[0] for v in found.values()} == {Verdict.TIMEOUT}


def test_asking_for_100_gib_hits_the_memory_limit(tmp_path: Path) -> None:
    found = verdicts(tmp_path, "tests.hostile_adapters:Hog")
    assert {v[0] for v in found.values()} == {Verdict.MEMORY_LIMIT}
    assert {v[1] for v in found.values()} == {"MemoryError"}


def test_printing_garbage_cannot_corrupt_the_protocol(tmp_path: Path) -> None:
    assert verdicts(tmp_path, "tests.hostile_adapters:Garbage") == verdicts(tmp_path / "reference", "reference")


def test_wrong_bytes_are_wrong_content(tmp_path: Path) -> None:
    found = verdicts(tmp_path, "tests.hostile_adapters:WrongBytes")
    for vector in VALID:
        assert found[vector][0] is Verdict.FAIL_WRONG_CONTENT
        assert "bytes with sha256" in (found[vector][1] or "")
    for vector in INVALID:
        assert found[vector][0] is Verdict.PASS


def test_accepting_everything_fails_every_vector_that_must_be_rejected(tmp_path: Path) -> None:
    found = verdicts(tmp_path, "tests.hostile_adapters:AcceptAll")
    for vector in INVALID:
        assert found[vector][0] is Verdict.FAIL_ACCEPTED_INVALID
    for vector in (*VALID, "metadata/null"):
        assert found[vector][0] is Verdict.FAIL_WRONG_CONTENT


def test_exiting_is_a_crash(tmp_path: Path) -> None:
    found = verdicts(tmp_path, "tests.hostile_adapters:Exits")
    assert {v[0] for v in found.values()} == {Verdict.CRASH}
    assert all("exited with status 3" in (v[1] or "") for v in found.values())


def test_rejection_by_an_internal_error_counts_but_is_flagged(tmp_path: Path) -> None:
    found = verdicts(tmp_path, "tests.hostile_adapters:InternalError")
    for vector in INVALID:
        assert found[vector][0] is Verdict.PASS
        assert found[vector][2] == "unexpected KeyError"
    for vector in VALID:
        assert found[vector][0] is Verdict.FAIL_REJECTED_VALID


def test_an_adapter_that_cannot_describe_itself_is_unavailable(tmp_path: Path) -> None:
    results = run(["tests.hostile_adapters:BrokenDescribe"], VECTORS, CORPUS, tmp_path / "r.jsonl", QUICK, fresh=True)
    description = results.implementations["tests.hostile_adapters:BrokenDescribe"]
    assert not description.available
    assert "no description" in (description.reason or "")
    assert results.results == []


def test_a_program_answering_garbage_crashes_and_is_restarted(tmp_path: Path) -> None:
    selection = f"serve:{sys.executable} {ROOT / 'tests' / 'garbage_server.py'}"
    found = verdicts(tmp_path, selection)
    assert {v[0] for v in found.values()} == {Verdict.CRASH}
    assert all("protocol error: not a JSON line" in (v[1] or "") for v in found.values())


def test_results_stream_and_an_interrupted_run_resumes(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    first = run(["reference"], VECTORS, CORPUS, path, QUICK, fresh=True)
    lines = path.read_text().splitlines()
    assert [json.loads(line)["kind"] for line in lines] == ["run", "implementation"] + ["result"] * len(IDS)
    # Keep two results, as if the run had been killed, plus a torn line from the interrupted write.
    kept = [*lines[:4], lines[4][:10]]
    path.write_text("\n".join(kept))
    marker = json.loads(lines[3])
    resumed = run(["reference"], VECTORS, CORPUS, path, QUICK)
    assert sorted(r.vector for r in resumed.results) == sorted(IDS)
    assert [r.verdict for r in resumed.results] == [r.verdict for r in first.results]
    assert any(r.vector == marker["vector"] and r.seconds == marker["seconds"] for r in resumed.results)
    # The torn line was cut: every result of both runs reads back from the file.
    again, _ = read_stream(path)
    assert again is not None
    assert sorted(r.vector for r in again.results) == sorted(IDS)


def test_a_different_run_is_not_overwritten_without_fresh(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    run(["reference"], VECTORS[:2], CORPUS, path, QUICK, fresh=True)
    with pytest.raises(ValueError, match="different run"):
        run(["reference"], VECTORS, CORPUS, path, QUICK)


def test_isolation_modes_agree(tmp_path: Path) -> None:
    by_mode = {}
    for mode in ("worker", "process", "none"):
        settings = Settings(timeout=30, memory_limit=None, isolation=mode)  # type: ignore[arg-type]
        by_mode[mode] = verdicts(tmp_path / mode, "reference", settings)
    assert by_mode["worker"] == by_mode["process"] == by_mode["none"]


# --- Judging ---------------------------------------------------------------------------------------

FULL = Capabilities("full")


def test_policies_decide_acceptable_vectors() -> None:
    vector = CORPUS.get("metadata/null")
    expected = CORPUS.expected(vector)
    assert expected is not None
    accepted = Outcome(
        "accepted", tuple(TensorDigest(t.name, t.dtype, t.shape, t.nbytes, t.sha256) for t in expected.tensors), None
    )
    rejected = Outcome("rejected", error="no")
    assert judge(vector, expected, accepted, FULL, {}).verdict is Verdict.ACCEPTABLE_ACCEPTED
    assert judge(vector, expected, rejected, FULL, {}).verdict is Verdict.ACCEPTABLE_REJECTED
    assert judge(vector, expected, accepted, FULL, {"metadata-null": "reject"}).verdict is Verdict.FAIL_ACCEPTED_INVALID
    assert judge(vector, expected, rejected, FULL, {"metadata-null": "accept"}).verdict is Verdict.FAIL_REJECTED_VALID


def test_header_only_and_validator_kinds_are_judged_on_what_they_return() -> None:
    vector = CORPUS.get("dtypes/f32-sample")
    expected = CORPUS.expected(vector)
    assert expected is not None
    no_bytes = Outcome(
        "accepted", tuple(TensorDigest(t.name, t.dtype, t.shape, None, None) for t in expected.tensors), None
    )
    assert judge(vector, expected, no_bytes, Capabilities("header-only"), {}).verdict is Verdict.PASS
    assert judge(vector, expected, no_bytes, FULL, {}).verdict is Verdict.FAIL_WRONG_CONTENT
    assert (
        judge(vector, expected, Outcome("accepted", None, None), Capabilities("validator"), {}).verdict is Verdict.PASS
    )


def test_unsupported_dtypes_are_skipped_not_failed(tmp_path: Path) -> None:
    vector = CORPUS.get("dtypes/bf16-sample")
    found = verdicts(tmp_path, "safetensors-np", vectors=[vector])
    assert found[vector.id][0] is Verdict.SKIP_UNSUPPORTED
    assert "BF16" in (found[vector.id][1] or "")


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
@pytest.mark.parametrize("mode", ["serve", "cmd"])
def test_the_javascript_reader_speaks_both_modes(tmp_path: Path, mode: str) -> None:
    flag = " --serve" if mode == "serve" else ""
    found = verdicts(
        tmp_path, f"{mode}:node {ROOT / 'examples' / 'js-reader' / 'reader.mjs'}{flag}", Settings(timeout=30)
    )
    # The example reader treats "__metadata__": null as absent (flag metadata-null).
    assert {k: v[0] for k, v in found.items()} == {
        **dict.fromkeys(VALID + INVALID, Verdict.PASS),
        "metadata/null": Verdict.ACCEPTABLE_ACCEPTED,
    }
    assert found["buffer/overlap-tied"][1] == "Rejection: b does not start where the previous tensor ends"


def test_results_json_round_trips(tmp_path: Path) -> None:
    results = run(["reference"], VECTORS, CORPUS, tmp_path / "results.jsonl", QUICK, fresh=True)
    results.write(tmp_path / "results.json")
    again = Results.read(tmp_path / "results.json")
    assert again.to_json() == results.to_json()


def test_the_deadline_grows_with_the_file_and_its_header(tmp_path: Path) -> None:
    short = tmp_path / "short"
    short.write_bytes(b"\x01\x02")
    assert deadline(30, short) == 30 + 2 / 2_000_000
    # 8 + 4,000,000 header bytes + 1,000,000 data bytes: 2.5 s for the file, 4 s for the header.
    large = tmp_path / "large"
    with large.open("wb") as file:
        file.write((4_000_000).to_bytes(8, "little"))
        file.truncate(5_000_008)
    assert deadline(30, large) == pytest.approx(30 + 5_000_008 / 2_000_000 + 4.0)
    # A declared length past the end counts only the bytes the file has.
    lying = tmp_path / "lying"
    lying.write_bytes((2**63).to_bytes(8, "little") + b" " * 1_000_000)
    assert deadline(30, lying) == pytest.approx(30 + 1_000_008 / 2_000_000 + 1.0)


def test_a_header_only_reader_reporting_a_digest_is_judged_without_bytes() -> None:
    """Above 10,000 tensors a worker reports one digest; a header-only reader's has no bytes in it."""
    vector = CORPUS.get("dtypes/f32-sample")
    expected = CORPUS.expected(vector)
    assert expected is not None
    rows = [(t.name, t.dtype, t.shape, None, None) for t in expected.tensors]
    digest = Outcome("accepted", None, None, Digest(len(rows), content_digest(rows, None)))
    assert judge(vector, expected, digest, Capabilities("header-only"), {}).verdict is Verdict.PASS
    assert judge(vector, expected, digest, FULL, {}).verdict is Verdict.FAIL_WRONG_CONTENT


@pytest.mark.parametrize(
    ("adapter", "problem"),
    [
        ("FloatShapes", "dimension 2.0 is not an integer"),
        ("BoolShapes", "dimension True is a boolean"),
        ("NegativeShapes", "dimension -1 is negative"),
        ("NanShapes", "dimension nan is not an integer"),
        ("NumberMetadata", "metadata entry 'format': 1 is not a pair of strings"),
        ("NumpyIntegerShapes", None),
    ],
)
def test_what_an_adapter_returns_is_judged_alike_in_every_mode(
    tmp_path: Path, adapter: str, problem: str | None
) -> None:
    """The same faithful adapter gives the same verdicts in a worker, a process per vector and
    this process: returned values that are not content are wrong content, never a crash."""
    vectors = [CORPUS.get(i) for i in ("dtypes/f32-sample", "examples/metadata-and-scalar", "buffer/overlap-tied")]
    by_mode = {}
    for mode in ("worker", "process", "none"):
        settings = Settings(timeout=30, memory_limit=None, isolation=mode)  # type: ignore[arg-type]
        by_mode[mode] = verdicts(tmp_path / mode, f"tests.hostile_adapters:{adapter}", settings, vectors)
    assert by_mode["worker"] == by_mode["process"] == by_mode["none"]
    got = by_mode["worker"]
    assert got["buffer/overlap-tied"][0] is Verdict.PASS  # rejected by the reference inside
    if problem is None:
        assert {v[0] for v in got.values()} == {Verdict.PASS}
    else:
        for vector_id in ("dtypes/f32-sample", "examples/metadata-and-scalar"):
            verdict, detail, _ = got[vector_id]
            assert verdict is Verdict.FAIL_WRONG_CONTENT
            assert detail is not None
            assert problem in detail


# --- One writer, and resumes that never certify stale or damaged results ----------------------------


def test_an_upgrade_between_runs_reruns_that_implementation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "results.jsonl"
    selection = "tests.hostile_adapters:Versioned"
    monkeypatch.setenv("VERSIONED_ADAPTER_VERSION", "1.0")
    run([selection], VECTORS, CORPUS, path, QUICK, fresh=True)
    monkeypatch.setenv("VERSIONED_ADAPTER_VERSION", "2.0")
    notices: list[str] = []
    after = run([selection], VECTORS, CORPUS, path, QUICK, notice=notices.append)
    assert after.implementations[selection].version == "2.0"
    assert len(after.results) == len(VECTORS)
    assert any(
        "now versioned 2.0, was versioned 1.0" in n and f"its {len(VECTORS)} earlier results" in n for n in notices
    )
    # Read back, the stream holds only the new version's results, once each.
    again, resumed = read_stream(path)
    assert again is not None
    assert again.implementations[selection].version == "2.0"
    assert sorted(r.vector for r in again.results) == sorted(IDS)
    assert resumed.duplicates == 0


def test_a_second_writer_is_refused_with_the_holder_named(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    with FolderLock(tmp_path), pytest.raises(FolderInUse, match=r"in use by another run \(pid \d+ on "):
        run(["reference"], VECTORS, CORPUS, path, QUICK)
    assert not path.exists()
    run(["reference"], VECTORS, CORPUS, path, QUICK)  # released: the next run goes ahead


def test_repeated_results_are_kept_once(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    run(["reference"], VECTORS, CORPUS, path, QUICK, fresh=True)
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines, *lines[2:]]) + "\n")  # every result twice, as two writers left it
    results, resumed = read_stream(path)
    assert results is not None
    assert len(results.results) == len(IDS)
    assert resumed.duplicates == len(IDS)
    notices: list[str] = []
    again = run(["reference"], VECTORS, CORPUS, path, QUICK, notice=notices.append)
    assert len(again.results) == len(IDS)
    assert notices == [f"resuming {path}: kept {len(IDS)} results; {len(IDS)} repeated result(s) dropped"]


def test_a_damaged_run_record_is_refused_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    run(["reference"], VECTORS, CORPUS, path, QUICK, fresh=True)
    damaged = "garbage" + path.read_text()[7:]
    path.write_text(damaged)
    with pytest.raises(StreamError, match=r"line 1 of .* is not a run record"):
        run(["reference"], VECTORS, CORPUS, path, QUICK)
    assert path.read_text() == damaged  # untouched


def test_a_different_run_names_what_differs(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    run(["reference"], VECTORS, CORPUS, path, QUICK, fresh=True)
    slower = Settings(timeout=2.5, memory_limit=1 << 30)
    with pytest.raises(StreamError, match=r"settings\.timeout: 1\.5 -> 2\.5"):
        run(["reference"], VECTORS, CORPUS, path, slower)


def test_unreadable_lines_are_run_again_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    run(["reference"], VECTORS, CORPUS, path, QUICK, fresh=True)
    lines = path.read_text().splitlines()
    lines[3] = "{not json"
    path.write_text("\n".join(lines) + "\n")
    notices: list[str] = []
    again = run(["reference"], VECTORS, CORPUS, path, QUICK, notice=notices.append)
    assert sorted(r.vector for r in again.results) == sorted(IDS)
    assert notices == [f"resuming {path}: kept {len(IDS) - 1} results; 1 unreadable line(s) are run again"]


# --- The memory limit is on resident memory ----------------------------------------------------


def test_growing_resident_memory_is_stopped_at_the_limit(tmp_path: Path) -> None:
    settings = Settings(timeout=30, memory_limit=512 << 20)
    got = verdicts(tmp_path, "tests.hostile_adapters:Gradual", settings, [VECTORS[0], VECTORS[2]])
    for verdict, detail, _ in got.values():
        assert verdict is Verdict.MEMORY_LIMIT
        assert detail is not None
        assert "over the 512 MiB limit" in detail


def test_address_space_that_is_only_reserved_does_not_count(tmp_path: Path) -> None:
    settings = Settings(timeout=30, memory_limit=1 << 30)  # 1 GiB: the reservation is 16 GiB
    got = verdicts(tmp_path, "tests.hostile_adapters:ReservesAddressSpace", settings, VECTORS[:3])
    assert {verdict for verdict, _, _ in got.values()} == {Verdict.PASS}


@pytest.mark.parametrize(
    "stderr",
    [
        "RangeError: WebAssembly.instantiate(): Out of memory: Cannot allocate Wasm memory for new instance",
        "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
        "memory allocation of 1099511627776 bytes failed",
        "terminate called after throwing an instance of 'std::bad_alloc'",
        "MemoryError",
        "OSError: [Errno 12] Cannot allocate memory",
    ],
)
def test_out_of_memory_messages_are_recognised_in_any_case(stderr: str) -> None:
    assert classify_exit(1, stderr).kind == "memory-limit"
    assert classify_exit(-6, stderr.upper()).kind == "memory-limit"
    assert classify_exit(-11, "Segmentation fault").kind == "crash"


def test_a_worker_that_cannot_load_anything_is_not_run(tmp_path: Path) -> None:
    """An implementation whose imports fail, or that cannot start within the memory limit, is not
    run (with the reason), never a verdict on each vector."""
    for selection, settings, says in (
        ("tests.hostile_adapters:ImportFails", QUICK, "ImportError: libimplementation.so"),
        ("safetensors-np", Settings(timeout=30, memory_limit=20 << 20), "over the 20 MiB limit"),
    ):
        results = run([selection], VECTORS, CORPUS, tmp_path / "results.jsonl", settings, fresh=True)
        description = results.implementations[selection]
        assert not description.available
        assert description.reason is not None
        assert says in description.reason
        assert results.results == []
