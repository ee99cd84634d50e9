"""The vector corpus: it passes its own lint, and the lint catches what it should."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from safetensors_conformance._resources import data_path, data_root
from safetensors_conformance.cli import main
from safetensors_conformance.corpus import load_corpus
from safetensors_conformance.corpus.lint import lint
from safetensors_conformance.format import check

VECTORS = data_root("vectors")
CORPUS = load_corpus()


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), out, err), out.getvalue(), err.getvalue()


def test_the_corpus_passes_its_lint_without_recipes() -> None:
    assert list(lint(VECTORS, synthetic=False, regenerate=True)) == []


@pytest.mark.slow
def test_the_recipes_materialise_and_pass_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFETENSORS_CONFORMANCE_CACHE", str(tmp_path))
    assert list(lint(VECTORS, synthetic=True, regenerate=False)) == []
    assert len(list((tmp_path / "vectors").glob("*.safetensors"))) == sum(1 for v in CORPUS.vectors if v.synth)


def test_at_least_300_vectors_most_of_them_malicious() -> None:
    status, out, _ = run("vectors", "list")
    assert status == 0
    ids = out.split()
    assert len(ids) >= 300
    assert len(ids) == len(set(ids))
    rejected = sum(1 for v in CORPUS.vectors if v.expect != "valid")
    assert rejected > len(CORPUS.vectors) / 2


def test_stats_show_counts_per_group_expect_and_requirement() -> None:
    status, out, _ = run("vectors", "list", "--stats")
    assert status == 0
    assert f"{len(CORPUS.vectors)} vectors" in out
    for section in ("by expect:", "by group:", "by requirement:", "by flag:"):
        assert section in out
    invalid = sum(1 for v in CORPUS.vectors if v.expect == "invalid")
    assert f"{invalid:5d}  invalid" in out


def test_list_filters() -> None:
    _, out, _ = run("vectors", "list", "--requirement", "buffer-no-overlap", "--expect", "invalid")
    assert out.split() == [
        v.id for v in CORPUS.vectors if v.expect == "invalid" and "BUFFER-NO-OVERLAP" in v.requirements
    ]
    _, out, _ = run("vectors", "list", "--flag", "metadata-null")
    assert out.split() == ["metadata/null"]


def test_show_prints_the_entry_and_the_reference_verdict() -> None:
    status, out, _ = run("vectors", "show", "duplicates/name-last-covers-buffer")
    assert status == 0
    entry = json.loads(out[: out.index("\nreference reader")])
    assert entry["requirements"] == ["HEADER-UNIQUE-NAMES"]
    assert "reference reader rejects: HEADER-UNIQUE-NAMES" in out
    assert run("vectors", "show", "no/such-vector")[0] == 2


def test_index_lists_every_vector() -> None:
    lines = (VECTORS / "index.tsv").read_text().splitlines()
    assert lines[0].split("\t") == ["id", "expect", "requirements", "flags", "file"]
    rows = [line.split("\t") for line in lines[1:]]
    assert [row[0] for row in rows] == [v.id for v in CORPUS.vectors]
    for row in rows:
        if not row[4].startswith("synth:"):
            assert (VECTORS / row[4]).is_file()


def test_every_committed_file_is_what_its_expectation_says() -> None:
    for vector in CORPUS.vectors:
        if vector.file is None:
            continue
        report = check(VECTORS / vector.file)
        if vector.expect == "valid":
            assert report.conforms, vector.id
        elif vector.expect == "invalid":
            assert report.primary is not None, vector.id
            assert [report.primary.value] == list(vector.requirements), vector.id


SCHEMA = json.loads(data_path("schema", "vectors.schema.json").read_text())


def _entry(**changes: object) -> dict[str, object]:
    entry = CORPUS.get("buffer/overlap-tied").to_json()
    entry.update(changes)
    return {k: v for k, v in entry.items() if v is not None}


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        (_entry(requirements=["BUFFER-NO-OVERLAP", "BUFFER-NO-GAP"]), "an invalid vector names one requirement"),
        (_entry(expect="valid"), "a valid vector needs expected content"),
        (_entry(id="Overlap"), "ids are GROUP/NAME in lower case"),
        (_entry(phase="parse"), "phase is a closed list"),
        (_entry(file=None), "a vector needs a file or a recipe"),
        (_entry(description="two\nlines"), "descriptions are one line"),
        (_entry(spec="1.0.0"), "spec is a version range"),
    ],
)
def test_manifest_schema_rejects_malformed_entries(entry: dict[str, object], reason: str) -> None:
    document = {"format": 1, "corpus_version": "1.0.0", "spec_version": "1.0.0", "flags": {}, "vectors": [entry]}
    assert not jsonschema.Draft202012Validator(SCHEMA).is_valid(document), reason


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "vectors"
    shutil.copytree(VECTORS, target)
    return target


def _tamper_manifest(folder: Path, change: object) -> None:
    document = json.loads((folder / "manifest.json").read_text())
    change(document)  # type: ignore[operator]
    (folder / "manifest.json").write_text(json.dumps(document))


def test_lint_catches_a_changed_file(copy: Path) -> None:
    path = copy / "files" / "buffer" / "overlap-tied.safetensors"
    path.write_bytes(path.read_bytes()[:-1] + b"\x00")
    problems = list(lint(copy, synthetic=False, regenerate=True))
    assert "buffer/overlap-tied: file does not match the size and sha256 in the manifest" in problems
    assert "files/buffer/overlap-tied.safetensors: differs from what the generator makes" in problems


def test_lint_catches_unlisted_and_missing_files(copy: Path) -> None:
    (copy / "files" / "buffer" / "extra.safetensors").write_bytes(b"")
    (copy / "files" / "root" / "array.safetensors").unlink()
    problems = list(lint(copy, synthetic=False, regenerate=False))
    assert "files/buffer/extra.safetensors: not listed in the manifest" in problems
    assert "root/array: file files/root/array.safetensors is missing" in problems


def test_lint_catches_a_wrong_requirement(copy: Path) -> None:
    def cite_gap(document: dict[str, list[dict[str, object]]]) -> None:
        for vector in document["vectors"]:
            if vector["id"] == "buffer/overlap-tied":
                vector["requirements"] = ["BUFFER-NO-GAP"]

    _tamper_manifest(copy, cite_gap)
    problems = list(lint(copy, synthetic=False, regenerate=False))
    assert (
        "buffer/overlap-tied: the reference's primary requirement is BUFFER-NO-OVERLAP, not BUFFER-NO-GAP "
        "(it reports ['BUFFER-NO-OVERLAP'])"
    ) in problems


def test_lint_catches_retired_and_duplicate_ids(copy: Path) -> None:
    (copy / "retired.txt").write_text("root/array  # withdrawn\n")

    def duplicate(document: dict[str, list[object]]) -> None:
        document["vectors"].append(document["vectors"][0])

    _tamper_manifest(copy, duplicate)
    problems = list(lint(copy, synthetic=False, regenerate=False))
    assert "root/array: id was retired and must not be reused" in problems
    assert f"{CORPUS.vectors[0].id}: id used 2 times" in problems


def test_lint_catches_a_missing_rejection_side(copy: Path) -> None:
    def drop(document: dict[str, list[dict[str, object]]]) -> None:
        document["vectors"] = [v for v in document["vectors"] if v["requirements"] != ["OFFSETS-ORDER"]]

    _tamper_manifest(copy, drop)
    problems = list(lint(copy, synthetic=False, regenerate=False))
    assert "OFFSETS-ORDER: no invalid or acceptable vector breaks it" in problems


def test_lint_catches_a_valid_vector_with_bool_bytes_other_than_0_and_1(copy: Path) -> None:
    def call_valid(document: dict[str, list[dict[str, object]]]) -> None:
        for vector in document["vectors"]:
            if vector["id"] == "dtypes/values-bool-two":
                vector.update(expect="valid", flags=[])

    _tamper_manifest(copy, call_valid)
    problems = list(lint(copy, synthetic=False, regenerate=False))
    assert (
        "dtypes/values-bool-two: tensor 't' holds BOOL bytes other than 0x00 and 0x01 (DATA-BOOL): "
        "such a file is acceptable under flag bool-values, not valid"
    ) in problems
