"""The command line: exit statuses, human and JSON output, cite."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

import safetensors_conformance as package
from safetensors_conformance import Tensor, serialize
from safetensors_conformance._resources import data_path
from safetensors_conformance.cli import main
from safetensors_conformance.corpus import load_corpus
from safetensors_conformance.runner_cli import RunUsageError, select_vectors

from .conftest import entry, make_file

REPORT_SCHEMA = json.loads(data_path("schema", "validate-report.schema.json").read_text())
GOOD = serialize({"w": Tensor("F32", (2,), bytes(8))}, {"format": "pt"})
BAD = make_file('{"a":' + entry() + ',"a":' + entry() + "}", b"ab")
WARNS = make_file('{"a":' + entry() + "}", b"ab")  # conforms; header not padded


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), out, err)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for name, content in {"good": GOOD, "bad": BAD, "warns": WARNS}.items():
        paths[name] = tmp_path / f"{name}.safetensors"
        paths[name].write_bytes(content)
    return paths


def test_exit_0_when_every_file_conforms_even_with_warnings(files: dict[str, Path]) -> None:
    status, out, _ = run("validate", str(files["good"]), str(files["warns"]))
    assert status == 0
    assert "warning LAYOUT-HEADER-ALIGN at offset 0" in out
    assert "spec/safetensors.md#layout-header-align" in out


def test_exit_1_when_any_file_does_not_conform(files: dict[str, Path]) -> None:
    status, out, _ = run("validate", str(files["good"]), str(files["bad"]))
    assert status == 1
    assert f"FAIL  {files['bad']}" in out
    assert "error   HEADER-UNIQUE-NAMES at offset 61, /a:" in out
    assert "spec/safetensors.md#header-unique-names" in out


def test_exit_2_on_unreadable_input(files: dict[str, Path], tmp_path: Path) -> None:
    status, _, err = run("validate", str(files["bad"]), str(tmp_path / "missing.safetensors"))
    assert status == 2
    assert "missing.safetensors: No such file or directory" in err


def test_exit_2_on_usage_errors() -> None:
    assert run("validate")[0] == 2
    assert run("frobnicate")[0] == 2


def test_directories_expand_to_their_safetensors_files(files: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a model")
    status, out, _ = run("validate", "--json", str(tmp_path))
    assert status == 1
    assert [Path(r["path"]).name for r in json.loads(out)] == [
        "bad.safetensors",
        "good.safetensors",
        "warns.safetensors",
    ]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run("validate", str(empty))[0] == 2


def test_json_report_follows_its_schema(files: dict[str, Path], tmp_path: Path) -> None:
    status, out, _ = run("validate", "--json", *map(str, files.values()), str(tmp_path / "missing"))
    assert status == 2
    report = json.loads(out)
    jsonschema.validate(report, REPORT_SCHEMA)
    by_name = {Path(r["path"]).name: r for r in report}
    assert by_name["bad.safetensors"]["violations"] == [
        {
            "requirement": "HEADER-UNIQUE-NAMES",
            "message": "name 'a' appears more than once",
            "offset": 61,
            "pointer": "/a",
            "flag": None,
        }
    ]
    assert by_name["bad.safetensors"]["primary"] == "HEADER-UNIQUE-NAMES"
    assert by_name["warns.safetensors"]["valid"] is True
    assert [w["requirement"] for w in by_name["warns.safetensors"]["warnings"]] == ["LAYOUT-HEADER-ALIGN"]
    assert by_name["missing"]["valid"] is None


def test_cite_prints_text_and_link() -> None:
    status, out, _ = run("cite", "buffer-no-overlap", "HEADER-START")
    assert status == 0
    assert out.startswith("BUFFER-NO-OVERLAP — file requirement, MUST (§9. The byte buffer)\nfile://")
    assert "#buffer-no-overlap\n" in out
    assert "*Rationale.* Two names on the same bytes" in out  # the README's example has its rationale
    assert "**HEADER-START** (file, MUST; flag `header-leading-whitespace`)" in out


def test_cite_suggests_close_ids() -> None:
    status, _, err = run("cite", "BUFFER-NO-OVERLAPS")
    assert status == 2
    assert "did you mean BUFFER-NO-OVERLAP" in err


def test_console_script_and_module_entry_points(files: dict[str, Path]) -> None:
    for command in (
        [sys.executable, "-m", "safetensors_conformance"],
        [str(Path(sys.executable).parent / "safetensors-conformance")],
    ):
        done = subprocess.run([*command, "validate", str(files["bad"])], capture_output=True, text=True, check=False)
        assert done.returncode == 1
        assert "HEADER-UNIQUE-NAMES" in done.stdout


def test_package_facade_exports_resolve() -> None:
    for name in package.__all__:
        assert getattr(package, name) is not None


STARTUP_PROBE = """
import sys
from safetensors_conformance import cli
status = cli.main(["validate", sys.argv[1]])
ours = tuple(f"safetensors_conformance.{p}" for p in ("runner", "corpus", "report", "spec", "adapters"))
heavy = sorted(
    name for name in sys.modules
    if name.split(".")[0] in {"rich", "jsonschema", "dataclasses", "numpy", "safetensors"} or name.startswith(ours)
)
print(status, heavy)
"""


def test_validate_of_a_conforming_file_imports_only_the_reader(tmp_path: Path) -> None:
    """`validate` must start fast: the runner, corpus, reports, spec index and third-party
    libraries stay unimported (checked in a fresh interpreter; pytest has imported them here)."""
    path = tmp_path / "ok.safetensors"
    path.write_bytes(serialize({"w": Tensor("U8", (2,), b"\x01\x02")}))
    done = subprocess.run([sys.executable, "-c", STARTUP_PROBE, str(path)], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == "0 []"


def test_synth_only_selects_the_recipe_vectors_and_excludes_no_synth() -> None:
    corpus = load_corpus()
    options: dict[str, object] = {"vector_id": [], "requirement": [], "flag": [], "synth_only": True}
    chosen = select_vectors(corpus, options.get)
    recipes = [v.id for v in corpus.vectors if v.synth is not None]
    assert [v.id for v in chosen] == recipes
    assert len(recipes) >= 7
    options["no_synth"] = True
    with pytest.raises(RunUsageError):
        select_vectors(corpus, options.get)
    assert run("run", "--impl", "reference", "--no-synth", "--synth-only")[0] == 2
