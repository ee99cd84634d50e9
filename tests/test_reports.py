"""`run`, `report`, `compare` and `adapters` from the command line, and what the reports hold."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from safetensors_conformance._resources import data_path
from safetensors_conformance.cli import main
from safetensors_conformance.corpus import load_corpus
from safetensors_conformance.runner.results import Results

SCHEMA = json.loads(data_path("schema", "results.schema.json").read_text())
SUBSET = ["--group", "buffer", "--group", "duplicates", "--group", "metadata"]


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), out, err), out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("run")
    status, out, _ = run(
        "run", "--impl", "reference", "--impl", "safetensors", *SUBSET, "--out", str(folder), "--quiet"
    )
    assert status == 1, out  # safetensors keeps the last of duplicate names
    return folder


def test_run_writes_every_report(results_dir: Path) -> None:
    for name in ("results.jsonl", "results.json", "results.md", "results.html"):
        assert (results_dir / name).stat().st_size > 0


def test_results_follow_their_schema(results_dir: Path) -> None:
    document = json.loads((results_dir / "results.json").read_text())
    jsonschema.validate(document, SCHEMA)
    assert document["selections"] == ["reference", "safetensors"]
    verdicts = {(r["implementation"], r["vector"]): r["verdict"] for r in document["results"]}
    assert verdicts[("safetensors", "duplicates/name-last-covers-buffer")] == "fail-accepted-invalid"
    assert verdicts[("reference", "duplicates/name-last-covers-buffer")] == "pass"


def test_markdown_matrix_groups_by_requirement(results_dir: Path) -> None:
    text = (results_dir / "results.md").read_text()
    assert "## [HEADER-UNIQUE-NAMES](spec.html#header-unique-names) (MUST) — 4. Header text" in text
    assert "| `duplicates/name-identical-entries`, `duplicates/name-last-covers-buffer`" in text
    assert "| ✓ | ✗a |" in text


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.external: list[str] = []
        self.sections: dict[str, list[str]] = {}
        self._section = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        if "src" in values or tag in ("link", "img"):
            self.external.append(tag)
        if tag == "section":
            self._section = str(values.get("id"))
            self.sections[self._section] = []
        if tag == "tr" and values.get("class") == "vec":
            self.sections[self._section].append(str(values.get("id")))


def test_html_matrix_is_self_contained_and_lists_failures_first(results_dir: Path) -> None:
    page = _Page()
    page.feed((results_dir / "results.html").read_text())
    assert page.external == []
    assert "table" in page.tags
    document = json.loads((results_dir / "results.json").read_text())
    failing = {r["vector"] for r in document["results"] if r["verdict"].startswith("fail")}
    rows = page.sections["HEADER-UNIQUE-NAMES"]
    first = [vector in failing for vector in rows]
    assert first == sorted(first, reverse=True)  # failing vectors, then the others
    assert True in first
    assert False in first


def test_report_renders_again_from_results_json(results_dir: Path, tmp_path: Path) -> None:
    status, out, _ = run(
        "report",
        str(results_dir / "results.json"),
        "--markdown",
        str(tmp_path / "r.md"),
        "--html",
        str(tmp_path / "r.html"),
    )
    assert status == 0
    assert (tmp_path / "r.md").read_text() == (results_dir / "results.md").read_text()
    assert (tmp_path / "r.html").read_text() == (results_dir / "results.html").read_text()
    assert "verdicts per requirement section" in out


def test_compare_shows_what_changed_and_fails_on_regressions(results_dir: Path, tmp_path: Path) -> None:
    before = Results.read(results_dir / "results.json")
    after = json.loads((results_dir / "results.json").read_text())
    for result in after["results"]:
        if result["implementation"] == "reference" and result["vector"] == "buffer/overlap-tied":
            result["verdict"] = "fail-accepted-invalid"
        if result["implementation"] == "safetensors" and result["vector"] == "duplicates/name-three-times":
            result["verdict"] = "pass"
    (tmp_path / "after.json").write_text(json.dumps(after))
    status, out, _ = run("compare", str(results_dir / "results.json"), str(tmp_path / "after.json"))
    assert status == 1
    assert "regressions: 1\n  reference buffer/overlap-tied: pass -> fail-accepted-invalid" in out
    assert "improvements: 1\n  safetensors duplicates/name-three-times: fail-accepted-invalid -> pass" in out
    assert f"unchanged: {len(before.results) - 2}" in out
    same, _, _ = run("compare", str(results_dir / "results.json"), str(results_dir / "results.json"))
    assert same == 0


def _edited(results_dir: Path, tmp_path: Path, name: str, edit: object) -> Path:
    document = json.loads((results_dir / "results.json").read_text())
    edit(document)  # type: ignore[operator]
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


def test_compare_with_results_that_tested_nothing_fails(results_dir: Path, tmp_path: Path) -> None:
    empty = _edited(results_dir, tmp_path, "empty.json", lambda d: d.update(results=[]))
    status, out, _ = run("compare", str(results_dir / "results.json"), str(empty))
    assert status == 1
    assert "nothing compared: the second results hold no verdicts: nothing was tested" in out
    assert "vectors removed" not in out


def test_compare_pairs_the_same_implementation_under_another_selection(results_dir: Path, tmp_path: Path) -> None:
    def rename(document: dict[str, object]) -> None:
        for item in document["implementations"]:  # type: ignore[attr-defined]
            if item["selection"] == "safetensors":
                item["selection"], item["version"] = "serve:python hf-reader.py", "9.9.9"
        document["implementations"] = [i for i in document["implementations"] if i["selection"] != "reference"]  # type: ignore[attr-defined]
        document["results"] = [
            {**r, "implementation": "serve:python hf-reader.py"}
            for r in document["results"]  # type: ignore[attr-defined]
            if r["implementation"] == "safetensors"
        ]

    renamed = _edited(results_dir, tmp_path, "renamed.json", rename)
    status, out, _ = run("compare", str(results_dir / "results.json"), str(renamed))
    assert status == 0, out
    assert "compared: safetensors -> serve:python hf-reader.py (0.8.0 -> 9.9.9)" in out
    assert "implementations removed: reference" in out


def test_compare_needs_a_shared_implementation_or_a_pair(results_dir: Path, tmp_path: Path) -> None:
    def other(document: dict[str, object]) -> None:
        document["implementations"] = [
            {**i, "selection": "cmd:x", "implementation": "another"}
            for i in document["implementations"]  # type: ignore[attr-defined]
            if i["selection"] == "reference"
        ]
        document["results"] = [
            {**r, "implementation": "cmd:x"}
            for r in document["results"]  # type: ignore[attr-defined]
            if r["implementation"] == "reference"
        ]

    unrelated = _edited(results_dir, tmp_path, "other.json", other)
    status, out, _ = run("compare", str(results_dir / "results.json"), str(unrelated))
    assert status == 1
    assert "share no implementation (pair them with --pair BEFORE=AFTER)" in out
    paired, out, _ = run("compare", str(results_dir / "results.json"), str(unrelated), "--pair", "reference=cmd:x")
    assert paired == 0, out
    assert "compared: reference -> cmd:x" in out


def test_compare_counts_a_pass_that_became_a_skip_as_a_regression(results_dir: Path, tmp_path: Path) -> None:
    def skip(document: dict[str, object]) -> None:
        for result in document["results"]:  # type: ignore[attr-defined]
            if result["implementation"] == "reference" and result["vector"] == "buffer/overlap-tied":
                result["verdict"] = "skip-unsupported"

    skipped = _edited(results_dir, tmp_path, "skipped.json", skip)
    status, out, _ = run("compare", str(results_dir / "results.json"), str(skipped))
    assert status == 1
    assert "regressions: 1\n  reference buffer/overlap-tied: pass -> skip-unsupported" in out


def test_report_renders_an_interrupted_stream(results_dir: Path, tmp_path: Path) -> None:
    stream = tmp_path / "results.jsonl"
    lines = (results_dir / "results.jsonl").read_text().splitlines()
    stream.write_text("\n".join(lines[:6]) + "\n" + lines[6][:15])  # killed mid-write
    status, out, _ = run("report", str(stream))
    assert status == 0, out
    assert (tmp_path / "results.md").exists()
    assert (tmp_path / "results.html").exists()


def test_known_failures_make_the_run_pass(tmp_path: Path) -> None:
    known = Path(__file__).resolve().parent.parent / "examples" / "known-failures" / "safetensors.txt"
    status, out, _ = run(
        "run", "--impl", "safetensors", *SUBSET, "--out", str(tmp_path), "--quiet", "--known-failures", str(known)
    )
    assert status == 0, out
    assert "known failures (listed in the known-failures file)" in out
    results = json.loads((tmp_path / "results.json").read_text())
    groups = set(SUBSET[1::2])
    assert len(results["results"]) == sum(1 for v in load_corpus().vectors if v.group in groups)


def test_an_implementation_that_cannot_run_fails_the_run(tmp_path: Path) -> None:
    status, out, _ = run("run", "--impl", "safetensors-pt:device=cuda:0", *SUBSET, "--out", str(tmp_path), "--quiet")
    assert status == 1
    assert "not run: safetensors-pt:device=cuda:0: CUDA is not available on this machine" in out


def test_run_usage_errors(tmp_path: Path) -> None:
    assert run("run", "--impl", "nope", "--out", str(tmp_path))[0] == 2
    assert run("run", "--impl", "reference", "--vector-id", "no/such", "--out", str(tmp_path))[0] == 2
    assert run("run", "--impl", "reference", "--policy", "metadata-null=maybe", "--out", str(tmp_path))[0] == 2


def test_adapters_lists_what_works_here() -> None:
    status, out, _ = run("adapters")
    assert status == 0
    lines = {line.split()[0]: line for line in out.splitlines() if line and not line.startswith("also")}
    assert set(lines) >= {"reference", "safetensors", "safetensors-np", "safetensors-pt"}
    assert "0.8.0" in lines["safetensors"]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--impl", "reference", "--impl", "reference"], "--impl names reference more than once"),
        (["--impl", "reference", "--vector-timeout", "0"], "must be a number of seconds above 0"),
        (["--impl", "reference", "--vector-timeout=-1"], "must be a number of seconds above 0"),
        (["--impl", "reference", "--vector-timeout", "nan"], "must be a number of seconds above 0"),
        (["--impl", "reference", "--jobs", "0"], "must be at least 1"),
        (["--impl", "reference", "--memory-limit=-5"], "must be at least 0"),
        (["--impl", "reference", "--policy", "bogus=accept"], "unknown flag 'bogus'; the flags are bool-values, "),
        (["--impl", "reference", "--policy", "metadata-null=accept@other"], "'other' is not one of the --impl"),
        (["--impl", "reference", "--policy", "metadata-null=maybe"], "expected FLAG=accept|reject|either"),
    ],
)
def test_bad_run_options_are_usage_errors(
    tmp_path: Path, argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run("run", *argv, "--out", str(tmp_path / "out"), "--quiet")
    assert status == 2
    assert says in err + capsys.readouterr().err  # argparse reports its own errors on stderr
    assert not (tmp_path / "out").exists()  # nothing was run


def test_every_failing_vector_is_named_in_every_report(results_dir: Path, tmp_path: Path) -> None:
    document = json.loads((results_dir / "results.json").read_text())
    failing = [r["vector"] for r in document["results"] if r["verdict"].startswith("fail")]
    assert len(failing) > 6  # more than one folded row can show
    status, out, _ = run(
        "report",
        str(results_dir / "results.json"),
        "--markdown",
        str(tmp_path / "r.md"),
        "--html",
        str(tmp_path / "r.html"),
    )
    assert status == 0
    markdown, page = (tmp_path / "r.md").read_text(), (tmp_path / "r.html").read_text()
    for vector in failing:
        assert f"`{vector}`" in markdown
        assert f"<code>{vector}</code>" in page
        assert vector in out


def test_rejections_through_unexpected_errors_are_shown(results_dir: Path, tmp_path: Path) -> None:
    def flag(document: dict[str, Any]) -> None:
        for result in document["results"]:
            if result["vector"] == "buffer/overlap-tied" and result["implementation"] == "safetensors":
                result["flagged"] = "unexpected ValueError"

    path = _edited(results_dir, tmp_path, "flagged.json", flag)
    status, out, _ = run("report", str(path))
    assert status == 0
    row = "| `safetensors` | `buffer/overlap-tied` | unexpected ValueError |"
    assert row in (tmp_path / "flagged.md").read_text()
    html_row = '<td><code>safetensors</code></td><td>unexpected ValueError</td><td>1: <a href="#buffer/overlap-tied">'
    assert html_row in (tmp_path / "flagged.html").read_text()
    assert "safetensors buffer/overlap-tied: unexpected ValueError" in out


def test_vectors_appear_under_every_requirement_they_cite(tmp_path: Path) -> None:
    status, out, _ = run("run", "--impl", "reference", "--group", "dtypes", "--out", str(tmp_path), "--quiet")
    assert status == 0, out
    markdown = (tmp_path / "results.md").read_text()
    assert "## [DATA-ENCODING](spec.html#data-encoding) (MUST) — 7. Data types" in markdown
    assert "7. Data types" in out


def test_spec_links_work_offline_or_point_where_asked(results_dir: Path, tmp_path: Path) -> None:
    spec = (results_dir / "spec.html").read_text()
    assert '<a id="buffer-no-overlap"></a><strong>BUFFER-NO-OVERLAP</strong>' in spec
    assert "<table>" in spec
    page = _Page()
    page.feed(spec)
    assert page.external == []
    assert 'href="spec.html#header-unique-names"' in (results_dir / "results.html").read_text()
    html_path, markdown_path = str(tmp_path / "r.html"), str(tmp_path / "r.md")
    url = "https://example.org/spec/safetensors.md"
    status, _, _ = run(
        "report", str(results_dir / "results.json"), "--html", html_path, "--markdown", markdown_path, "--spec-url", url
    )
    assert status == 0
    assert 'href="https://example.org/spec/safetensors.md#header-unique-names"' in (tmp_path / "r.html").read_text()
    assert "(https://example.org/spec/safetensors.md#header-unique-names)" in (tmp_path / "r.md").read_text()
    assert not (tmp_path / "spec.html").exists()


def test_adapters_lists_every_adapter_and_describes_any_selection() -> None:
    status, out, _ = run("adapters", "--json")
    assert status == 0
    rows = {row["name"]: row for row in json.loads(out)}
    assert {"reference", "safetensors", "safetensors-np", "safetensors-pt", "ckpt:reference"} <= rows.keys()
    for row in rows.values():
        assert {"name", "available", "version", "kind", "dtypes", "reason"} <= row.keys()
    assert rows["ckpt:reference"]["target"] == "safetensors_conformance.adapters.checkpoint:ReferenceCheckpointLoader"
    status, out, _ = run("adapters", "--json", "ckpt:tests.checkpoint_loaders:JoinsReferences", "ckpt:nope")
    loader, unknown = json.loads(out)
    assert (loader["available"], loader["implementation"]) == (True, "JoinsReferences")
    assert (unknown["available"], unknown["reason"].split(":")[0]) == (False, "SelectionError")
    status, out, _ = run("adapters", "--json", "safetensors-pt:device=cuda:0", "tests.hostile_adapters:BrokenDescribe")
    gpu, broken = json.loads(out)
    assert (gpu["available"], gpu["reason"]) == (False, "CUDA is not available on this machine")
    assert (broken["available"], broken["reason"]) == (False, "RuntimeError: no description")
    status, out, _ = run("adapters", "safetensors-pt:device=cuda:0")
    header, row = out.splitlines()[:2]
    assert row.index("no") == header.index("available")  # columns line up
    assert row.rstrip().endswith("CUDA is not available on this machine")


CORPUS = load_corpus()


def test_phase_selects_vectors_in_run_and_vectors_list(tmp_path: Path) -> None:
    header_only = [v.id for v in CORPUS.vectors if v.phase == "header" and v.group == "buffer"]
    status, out, _ = run("vectors", "list", "--group", "buffer", "--phase", "header")
    assert status == 0
    assert out.split() == header_only
    status, _, _ = run(
        "run", "--impl", "reference", "--group", "sizes", "--phase", "validation", "--out", str(tmp_path), "--quiet"
    )
    assert status == 0
    document = json.loads((tmp_path / "results.json").read_text())
    chosen = {CORPUS.get(v).phase for v in document["vectors"]}
    assert chosen == {"validation"}


def test_compare_exact_fails_on_any_change(results_dir: Path, tmp_path: Path) -> None:
    same, _, _ = run("compare", "--exact", str(results_dir / "results.json"), str(results_dir / "results.json"))
    assert same == 0

    def improve(document: dict[str, Any]) -> None:
        for result in document["results"]:
            if result["implementation"] == "safetensors" and result["vector"] == "duplicates/name-three-times":
                result["verdict"] = "pass"

    better = _edited(results_dir, tmp_path, "better.json", improve)
    assert run("compare", str(results_dir / "results.json"), str(better))[0] == 0  # an improvement is fine
    assert run("compare", "--exact", str(results_dir / "results.json"), str(better))[0] == 1


def test_compare_pairs_selections_that_hold_equals_signs(results_dir: Path, tmp_path: Path) -> None:
    def renamed(name: str) -> Callable[[dict[str, object]], None]:
        def edit(document: dict[str, object]) -> None:
            document["implementations"] = [
                {**i, "selection": name, "implementation": name}
                for i in document["implementations"]  # type: ignore[attr-defined]
                if i["selection"] == "reference"
            ]
            document["results"] = [
                {**r, "implementation": name}
                for r in document["results"]  # type: ignore[attr-defined]
                if r["implementation"] == "reference"
            ]

        return edit

    old = _edited(results_dir, tmp_path, "old.json", renamed("lib==1.0"))
    new = _edited(results_dir, tmp_path, "new.json", renamed("lib:key=value"))
    status, out, _ = run("compare", str(old), str(new), "--pair", "lib==1.0=lib:key=value")
    assert status == 0, out
    assert "compared: lib==1.0 -> lib:key=value" in out
    assert run("compare", str(old), str(new), "--pair", "lib==1.0=nothing")[0] == 2
    assert run("compare", str(old), str(new), "--pair", "lib")[0] == 2
