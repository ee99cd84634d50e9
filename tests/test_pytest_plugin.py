"""The pytest plugin, end to end: `pytest --impl=NAME` in an empty directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from safetensors_conformance.corpus import load_corpus

pytest_plugins = ["pytester"]

CORPUS = load_corpus()
COMMITTED = [v for v in CORPUS.vectors if v.synth is None]
HF_KNOWN = "examples/known-failures/safetensors.txt"


def test_reference_passes_every_committed_vector(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--impl=reference", "--no-synth", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=len(COMMITTED))


@pytest.mark.slow
def test_reference_passes_every_vector_recipes_included(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--impl=reference", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=len(CORPUS.vectors))


def test_items_are_named_by_implementation_and_vector(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(
        "--impl=reference", "--impl=safetensors", "--requirement=BUFFER-NO-OVERLAP", "--collect-only", "-q"
    )
    wanted = [v.id for v in CORPUS.vectors if "BUFFER-NO-OVERLAP" in v.requirements]
    lines = [line for line in result.outlines if "::" in line]
    assert lines == [f"{impl}::{vector}" for impl in ("reference", "safetensors") for vector in wanted]


def test_selection_by_id_flag_and_keyword(pytester: pytest.Pytester) -> None:
    by_id = pytester.runpytest("--impl=reference", "--vector-id=buffer/overlap-tied", "--vector-id=root/array")
    by_id.assert_outcomes(passed=2)
    by_flag = pytester.runpytest("--impl=reference", "--flag=metadata-null")
    by_flag.assert_outcomes(passed=sum(1 for v in CORPUS.vectors if "metadata-null" in v.flags))
    by_keyword = pytester.runpytest("--impl=reference", "--no-synth", "-k", "duplicates/")
    by_keyword.assert_outcomes(passed=sum(1 for v in COMMITTED if v.group == "duplicates"))


def test_safetensors_fails_exactly_on_its_known_divergences(pytester: pytest.Pytester) -> None:
    known = _known("safetensors")
    result = pytester.runpytest("--impl=safetensors", "--no-synth")
    failed = {
        line.split("::", 1)[1].split(" ")[0] for line in result.outlines if line.startswith("FAILED safetensors::")
    }
    assert failed == known
    result.assert_outcomes(passed=len(COMMITTED) - len(known), failed=len(known))


def test_known_failures_turn_into_strict_xfails(pytester: pytest.Pytester) -> None:
    known = pytester.path / "known.txt"
    known.write_text(_repo_file(HF_KNOWN))
    result = pytester.runpytest("--impl=safetensors", "--no-synth", f"--known-failures={known}")
    result.assert_outcomes(passed=len(COMMITTED) - len(_known("safetensors")), xfailed=len(_known("safetensors")))


def test_a_known_failure_that_passes_fails_the_run(pytester: pytest.Pytester) -> None:
    known = pytester.path / "known.txt"
    known.write_text("reference buffer/overlap-tied  # pretend the reference is wrong here\n")
    result = pytester.runpytest("--impl=reference", "--vector-id=buffer/overlap-tied", f"--known-failures={known}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*XPASS(strict)*pretend the reference is wrong here*"])


def test_failure_text_names_the_requirement_and_expected_versus_observed(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--impl=safetensors", "--vector-id=duplicates/name-last-covers-buffer")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*duplicates/name-last-covers-buffer on safetensors: fail-accepted-invalid",
            "*requirement: HEADER-UNIQUE-NAMES (file, MUST) file://*/spec/safetensors.md#header-unique-names",
            "*expected:    invalid: a reader must reject it",
            "*observed:    accepted a file that breaks HEADER-UNIQUE-NAMES",
            "*reference:   rejects it (primary: HEADER-UNIQUE-NAMES):",
            "*HEADER-UNIQUE-NAMES at offset *, pointer '/a': name 'a' appears more than once",
        ]
    )


def test_failure_text_shows_the_bytes_of_small_tensors_and_where_an_error_was_raised(
    pytester: pytest.Pytester,
) -> None:
    pytester.syspathinsert(str(_repo()))
    wrong = pytester.runpytest("--impl=tests.hostile_adapters:WrongBytes", "--vector-id=examples/minimal")
    wrong.assert_outcomes(failed=1)
    wrong.stdout.fnmatch_lines(
        [
            "*(returned ff 00 80 3f 00 00 00 c0)*",
            "*file holds:  metadata None",
            "*'weight' F32 ?2?: 00 00 80 3f 00 00 00 c0",
        ]
    )
    raised = pytester.runpytest("--impl=tests.hostile_adapters:InternalError", "--vector-id=examples/minimal")
    raised.assert_outcomes(failed=1)
    raised.stdout.fnmatch_lines(["*observed:    KeyError: 'header'", "*hostile_adapters.py*in load*"])


def test_policy_per_flag(pytester: pytest.Pytester) -> None:
    strict = pytester.runpytest("--impl=safetensors", "--flag=metadata-null", "--policy=metadata-null=reject")
    strict.assert_outcomes(failed=1)
    lenient = pytester.runpytest("--impl=reference", "--flag=metadata-null", "--policy=metadata-null=accept@reference")
    lenient.assert_outcomes(failed=1)
    either = pytester.runpytest("--impl=reference", "--impl=safetensors", "--flag=metadata-null")
    either.assert_outcomes(passed=2)


def test_unsupported_dtypes_are_skipped_and_unavailable_devices_skip(pytester: pytest.Pytester) -> None:
    numpy = pytester.runpytest("--impl=safetensors-np", "--vector-id=dtypes/bf16-sample", "-rs")
    numpy.assert_outcomes(skipped=1)
    numpy.stdout.fnmatch_lines(["*declares no support for BF16*"])
    cuda = pytester.runpytest("--impl=safetensors-pt:device=cuda:0", "--vector-id=dtypes/f32-sample", "-rs")
    cuda.assert_outcomes(skipped=1)
    cuda.stdout.fnmatch_lines(["*unavailable here: CUDA is not available on this machine*"])


def test_a_crashing_implementation_is_a_failure_not_a_dead_session(pytester: pytest.Pytester) -> None:
    pytester.syspathinsert(str(_repo()))
    result = pytester.runpytest(
        "--impl=tests.hostile_adapters:Segfault", "--vector-id=root/array", "--vector-id=examples/minimal"
    )
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        ["*root/array on tests.hostile_adapters:Segfault: crash", "*observed:    killed by SIGSEGV*"]
    )


def test_bad_selections_are_usage_errors(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--impl=no-such-reader")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*no adapter named 'no-such-reader'*"])


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--policy=metadata-null=maybe", "*--policy 'metadata-null=maybe': expected FLAG=accept|reject|either*"),
        ("--known-failures=/no/such/file.txt", "*No such file or directory*/no/such/file.txt*"),
        ("--requirement=NO-SUCH-ID", "*the filters select no vectors*"),
        ("--vector-id=no/such", "*no such vectors: no/such*"),
    ],
)
def test_bad_options_are_usage_errors_not_tracebacks(pytester: pytest.Pytester, option: str, message: str) -> None:
    result = pytester.runpytest("--impl=reference", option)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_without_impl_the_plugin_stays_out_of_the_way(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok():\n    assert True\n")
    pytester.runpytest().assert_outcomes(passed=1)


def _repo() -> Path:
    return Path(__file__).resolve().parent.parent


def _repo_file(relative: str) -> str:
    return (_repo() / relative).read_text()


def _known(implementation: str) -> set[str]:
    """The vectors the known-failures file lists for one implementation (or for all)."""
    vectors = set()
    for line in _repo_file(HF_KNOWN).splitlines():
        words = line.split("#")[0].split()
        if words and (len(words) == 1 or " ".join(words[:-1]) == implementation):
            vectors.add(words[-1])
    return {v for v in vectors if CORPUS.get(v).synth is None}


def test_items_are_counted_as_collected(pytester: pytest.Pytester) -> None:
    wanted = sum(1 for v in CORPUS.vectors if "BUFFER-NO-OVERLAP" in v.requirements)
    collected = pytester.runpytest("--impl=reference", "--requirement=BUFFER-NO-OVERLAP", "--collect-only")
    collected.stdout.fnmatch_lines([f"collected {wanted} items", f"*{wanted} tests collected*"])
    ran = pytester.runpytest("--impl=reference", "--requirement=BUFFER-NO-OVERLAP")
    ran.stdout.fnmatch_lines([f"collected {wanted} items"])
    ran.assert_outcomes(passed=wanted)


def test_an_implementation_that_cannot_run_fails_the_session(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--impl=tests.hostile_adapters:BrokenDescribe", "--requirement=BUFFER-NO-OVERLAP")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["not run: tests.hostile_adapters:BrokenDescribe: *no description*"])


def test_an_implementation_named_twice_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--impl=reference", "--impl=reference")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--impl names reference more than once*"])


def test_phase_selects_vectors(pytester: pytest.Pytester) -> None:
    wanted = sum(1 for v in COMMITTED if v.phase == "validation" and v.group == "offsets")
    result = pytester.runpytest("--impl=reference", "--group=offsets", "--phase=validation")
    result.assert_outcomes(passed=wanted)
