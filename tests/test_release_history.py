"""The release history (scripts/release_history.py) and its protocol program for the Hugging Face
library (examples/hf-release-reader/reader.py).

Nothing here builds the release environments (``make history`` does, with the package
registries): the history table is checked on real runs of two in-tree adapters standing in for
two releases, and the protocol program on the project's own safetensors release.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import safetensors
from scripts.release_history import SERIES, Cell, gist, history, history_of, renamed, render

from safetensors_conformance import Tensor, load, write_file
from safetensors_conformance._resources import data_path
from safetensors_conformance.adapters.outcome import parse_reply
from safetensors_conformance.corpus import load_corpus
from safetensors_conformance.corpus.model import content_digest
from safetensors_conformance.runner.results import Results
from safetensors_conformance.runner.run import Settings, run
from safetensors_conformance.runner.verdicts import Verdict

ROOT = Path(__file__).resolve().parent.parent
READER = ROOT / "examples" / "hf-release-reader" / "reader.py"
PUBLISHED = ROOT / "results" / "history"
SCHEMA = json.loads(data_path("schema", "external-protocol.schema.json").read_text())
SETTINGS = Settings(timeout=30, memory_limit=1 << 30, jobs=2)
#: Vectors on which the reference and safetensors 0.8.0 differ (two failures of the library and an
#: implementation-defined choice) and two on which they agree.
CHANGED = ("duplicates/name-identical-entries", "sizes/overflow-zero-first", "start/leading-space")
SAME = ("examples/minimal", "buffer/overlap-tied")


def validator(definition: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(
        {"$schema": SCHEMA["$schema"], "$defs": SCHEMA["$defs"], "$ref": f"#/$defs/{definition}"}
    )


def run_vectors(tmp_path: Path, selections: list[str], ids: tuple[str, ...]) -> Results:
    corpus = load_corpus()
    vectors = [v for v in corpus.vectors if v.id in ids]
    assert len(vectors) == len(ids)
    results = run(selections, vectors, corpus, tmp_path / "results.jsonl", SETTINGS, fresh=True)
    assert all(d.available for d in results.implementations.values()), results.implementations
    return results


@pytest.fixture(scope="module")
def two_releases(tmp_path_factory: pytest.TempPathFactory) -> Results:
    """The reference and the safetensors adapter, run for real, named as two releases."""
    raw = run_vectors(tmp_path_factory.mktemp("two"), ["reference", "safetensors"], SAME + CHANGED)
    return renamed(raw, {"reference": "reader==1", "safetensors": "reader==2"})


def test_the_history_has_a_row_for_each_vector_whose_verdict_changed(two_releases: Results) -> None:
    corpus = load_corpus()
    found = history_of(two_releases, corpus)
    assert found.releases == ("reader==1", "reader==2")
    # In corpus order, each filed under the requirement it cites.
    order = [v.id for v in corpus.vectors if v.id in CHANGED]
    assert [row.vector for row in found.rows] == order
    rows = {row.vector: row for row in found.rows}
    assert rows["duplicates/name-identical-entries"].requirement == "HEADER-UNIQUE-NAMES"
    assert rows["sizes/overflow-zero-first"].requirement == "SIZE-LIMIT"
    assert rows["sizes/overflow-zero-first"].cells == (Cell(Verdict.PASS), Cell(Verdict.FAIL_ACCEPTED_INVALID))
    assert rows["start/leading-space"].cells == (
        Cell(Verdict.ACCEPTABLE_REJECTED),
        Cell(Verdict.ACCEPTABLE_ACCEPTED),
    )
    (step,) = found.steps
    assert (step.previous, step.release) == ("reader==1", "reader==2")
    assert [c.vector for c in step.changes] == order
    change = next(c for c in step.changes if c.vector == "sizes/overflow-zero-first")
    # The reference's rejection names the requirement it found broken; the library accepted.
    assert change.before_detail is not None
    assert "SIZE-LIMIT" in change.before_detail
    assert change.after_detail == "accepted a file that breaks SIZE-LIMIT"


def test_history_md_names_the_changed_vectors_under_their_requirements(two_releases: Results) -> None:
    text = render(history_of(two_releases, load_corpus()), two_releases, "How it was run.")
    changed_rows = [line for line in text.splitlines() if line.startswith("| `") and "/" in line.split("|")[1]]
    assert sorted(line.split("`")[1] for line in changed_rows) == sorted(CHANGED)
    assert "| `sizes/overflow-zero-first` | ✓ | ✗a |" in changed_rows
    assert "### [`SIZE-LIMIT`](../../spec.html#size-limit)" in text
    assert all(vector not in text for vector in SAME)


def test_a_release_without_results_is_an_error(two_releases: Results) -> None:
    with pytest.raises(ValueError, match=r"reader==3"):
        history(two_releases, ["reader==1", "reader==3"], {})


def test_the_same_verdict_flagged_or_not_is_a_change() -> None:
    """A rejection through the documented error and one through an internal error are two behaviours."""
    assert Cell(Verdict.PASS) != Cell(Verdict.PASS, flagged=True)
    assert Cell(Verdict.PASS, flagged=True).text() == "✓†"
    assert Cell(None).text() == "—"


@pytest.mark.parametrize(
    ("detail", "expected"),
    [
        (None, "accepted and read right"),
        ("exited with status 1; stderr: Traceback\n  File x\npyo3_runtime.PanicException: range end", None),
        ("x" * 300, None),
    ],
    ids=["none", "crash-last-line", "long"],
)
def test_a_gist_is_one_short_line(detail: str | None, expected: str | None) -> None:
    text = gist(detail)
    assert "\n" not in text
    assert len(text) <= 100
    if expected is not None:
        assert text == expected
    if detail and "Panic" in detail:
        assert text == "pyo3_runtime.PanicException: range end"


def test_the_published_histories_are_what_their_results_render_to() -> None:
    """history.md is derived from results.json beside it, never edited by hand."""
    corpus = load_corpus()
    for key, series in SERIES.items():
        folder = PUBLISHED / key
        results = Results.read(folder / "results.json")
        assert list(results.implementations) == [series.name(r) for r in series.releases]
        same = corpus if corpus.corpus_version == results.run.get("corpus_version") else None
        expected = render(history_of(results, same), results, series.how)
        assert (folder / "history.md").read_text(encoding="utf-8") == expected


# --- The protocol program, on the project's own safetensors -------------------------------------


def test_the_release_reader_describes_its_release() -> None:
    done = subprocess.run([sys.executable, str(READER), "--describe"], capture_output=True, text=True, check=True)
    description = json.loads(done.stdout)
    assert validator("description").is_valid(description)
    assert description["version"] == safetensors.__version__
    assert description["available"] is True
    # Every dtype: a release that does not know one rejects the file, which is what is recorded.
    assert "dtypes" not in description["capabilities"]


#: A valid file with metadata, sub-byte and 8-bit float dtypes, an invalid one, an
#: implementation-defined one, and one the library fails.
PROTOCOL_VECTORS = (
    "examples/minimal",
    "metadata/several-keys",
    "dtypes/f4-sample",
    "dtypes/every-dtype",
    "buffer/overlap-tied",
    "start/leading-space",
    "duplicates/name-identical-entries",
)


def test_the_release_reader_runs_like_the_in_tree_adapter(tmp_path: Path) -> None:
    """Through ``serve:`` and ``cmd:``, the program gets the in-tree adapter's verdicts."""
    program = f"{shlex.quote(sys.executable)} {shlex.quote(str(READER))}"
    selections = [f"serve:{program} --serve", f"cmd:{program}", "safetensors"]
    results = run_vectors(tmp_path, selections, PROTOCOL_VECTORS)
    table = results.by_implementation()
    expected = {v: (r.verdict, r.flagged) for v, r in table["safetensors"].items()}
    assert set(expected) == set(PROTOCOL_VECTORS)
    for selection in selections[:2]:
        assert {v: (r.verdict, r.flagged) for v, r in table[selection].items()} == expected
        assert results.implementations[selection].version == safetensors.__version__
    assert expected["dtypes/every-dtype"] == (Verdict.PASS, None)
    assert expected["duplicates/name-identical-entries"] == (Verdict.FAIL_ACCEPTED_INVALID, None)


def test_the_release_reader_answers_one_shot_by_exit_status() -> None:
    corpus = load_corpus()
    for vector_id, status in (("examples/minimal", 0), ("buffer/overlap-tied", 1)):
        path = corpus.path(corpus.get(vector_id))
        done = subprocess.run([sys.executable, str(READER), str(path)], capture_output=True, text=True, check=False)
        assert done.returncode == status
        assert validator("result").is_valid(json.loads(done.stdout))


def test_the_release_readers_digest_matches(tmp_path: Path) -> None:
    """Above 10,000 tensors it sends the protocol's digest, which must be the runner's."""
    tensors = {f"t{i}": Tensor("U8", (1,), bytes([i % 256])) for i in range(10_001)}
    tensors["\U0001f600"] = Tensor("U8", (2,), b"ab")
    metadata = {"10": "a", "9": "b", "\ufb01": "é"}
    path = tmp_path / "many.safetensors"
    write_file(path, tensors, metadata)
    done = subprocess.run([sys.executable, str(READER), str(path)], capture_output=True, text=True, check=True)
    reply = json.loads(done.stdout)
    assert validator("result").is_valid(reply)
    outcome = parse_reply(reply)
    loaded, _ = load(path)
    rows = [(n, t.dtype, t.shape, len(t.data), hashlib.sha256(t.data).hexdigest()) for n, t in loaded.items()]
    assert outcome.digest is not None
    assert outcome.digest.count == len(tensors)
    assert outcome.digest.sha256 == content_digest(rows, metadata)
