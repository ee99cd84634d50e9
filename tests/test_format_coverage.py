"""Branch coverage of the reference (``format/``) reached by the corpus alone; every gap has a reason.

The measurement runs ``scripts/format_coverage.py`` in a fresh interpreter (here the reference is
already imported, so its module-level code could not be measured); its figure is printed at the
end of the test run.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "format_coverage.py"


@pytest.fixture(scope="module")
def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("format_coverage", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def test_every_branch_the_corpus_leaves_unreached_is_listed_with_its_reason(terminal_summary: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--json"], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.stdout, result.stderr
    document = json.loads(result.stdout)
    terminal_summary.append(f"{document['summary']}; {document['vectors']} vectors in {document['seconds']} s")
    assert document["problems"] == []
    assert document["unlisted"] == []  # each shown with its source line
    assert document["stale"] == []  # each shown with its listed reason
    assert result.returncode == 0
    totals = document["totals"]
    assert 0 < totals["covered_branches"] <= totals["num_branches"]
    missing = sum(1 for gap in document["gaps"] if "->" in gap["key"])
    assert missing == totals["num_branches"] - totals["covered_branches"]


def test_the_report_shows_the_source_of_an_unlisted_gap_and_the_reason_of_a_stale_one(
    script: ModuleType, tmp_path: Path
) -> None:
    listed = script.read_reasons(script.REASONS)
    dropped = "format/header.py:Header.__repr__+1"
    assert dropped in listed
    reasons = tmp_path / "reasons.txt"
    lines = [f"{key}  {reason}" for key, reason in listed.items() if key != dropped]
    reasons.write_text("\n".join([*lines, "format/header.py:Header.nothing+1  unreachable: no such code"]) + "\n")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--reasons", str(reasons)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    report = result.stdout.splitlines()
    unlisted = 'unreached and not listed in reasons.txt: format/header.py:Header.__repr__+1  return f"Header(length='
    assert any(line.startswith(unlisted) for line in report)
    stale = (
        "listed in reasons.txt but no such gap now (reached, or its code changed): "
        "format/header.py:Header.nothing+1  unreachable: no such code"
    )
    assert stale in report


def test_a_gap_without_a_reason_and_a_reason_without_a_gap_both_count(script: ModuleType) -> None:
    found = [script.Gap("format/reader.py:f+1->+2", "if x:  ->  y"), script.Gap("format/header.py:g+7", "z")]
    result = script.compare(found, {"format/header.py:g+7": "why", "format/writer.py:h+9->exit": "why"})
    assert [gap.key for gap in result.unlisted] == ["format/reader.py:f+1->+2"]
    assert result.stale == ("format/writer.py:h+9->exit",)
    assert script.compare(found, {"format/reader.py:f+1->+2": "a", "format/header.py:g+7": "b"}) == script.Comparison(
        (), ()
    )


SAMPLE = """\
import os


def first(x):
    if x:
        x += 1
        return x
    while x:
        x -= 1
    return 0


class Box:
    def get(self):
        def inner():
            return 3
        y = 1
        z = 2
        return inner() + y + z
"""
#: Coverage's view of SAMPLE: the branch into ``if x`` and the loop's exit unreached, then lines
#: 6-7 (which that branch skips), 16 (inner never called) and 18-19 (a run no branch leads into).
SAMPLE_COVERAGE = {
    "missing_branches": [[5, 6], [8, -4]],
    "missing_lines": [6, 7, 16, 18, 19],
    "executed_lines": [1, 4, 5, 8, 9, 10, 13, 14, 15, 17],
}


def _gaps(script: ModuleType, folder: Path, prefix: str) -> list[Any]:
    """The gaps of SAMPLE after ``prefix`` (whole lines), coverage's line numbers shifted to match."""
    shift = prefix.count("\n")
    source = folder / "format" / "sample.py"
    source.parent.mkdir(exist_ok=True)
    source.write_text(prefix + SAMPLE)

    def moved(line: int) -> int:
        return line - shift if line < 0 else line + shift  # an exit is its function's def line, negated

    info = {key: [moved(n) for n in lines] for key, lines in SAMPLE_COVERAGE.items() if key != "missing_branches"}
    info["missing_branches"] = [[moved(a), moved(b)] for a, b in SAMPLE_COVERAGE["missing_branches"]]
    gaps: list[Any] = script.gaps({"files": {str(source): info}})
    return gaps


def test_gaps_are_branches_and_the_statement_runs_no_branch_explains(script: ModuleType, tmp_path: Path) -> None:
    gaps = _gaps(script, tmp_path, "")
    assert [gap.key for gap in gaps] == [
        "format/sample.py:first+1->+2",
        "format/sample.py:first+4->exit",
        "format/sample.py:Box.get.inner+1",
        "format/sample.py:Box.get+4-+5",
    ]
    assert gaps[0].source == "if x:  ->  x += 1"
    assert gaps[3].source == "z = 2"


def test_a_gap_keeps_its_key_when_lines_are_added_above_its_function(script: ModuleType, tmp_path: Path) -> None:
    before = _gaps(script, tmp_path, "")
    after = _gaps(script, tmp_path, "# a comment\n\nLIMIT = 3\n")
    assert after == before


def test_scopes_are_qualified_names_with_their_def_lines(script: ModuleType) -> None:
    scopes = script.scopes("x = 1\ndef f():\n    pass\ndef f():\n    pass\nclass C:\n    y = 2\n")
    assert scopes[1] == ("<module>", 0)
    assert scopes[3] == ("f", 2)
    assert scopes[5] == ("f#2", 4)
    assert scopes[7] == ("C", 6)


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        pytest.param("format/a.py:f+1->+2\n", 3, "no reason", id="no-reason"),
        pytest.param("format/a.py:f+1->+2  one\nformat/a.py:f+1->+2  two\n", 4, "listed twice", id="twice"),
    ],
)
def test_each_gap_is_listed_once_with_a_reason(
    script: ModuleType, tmp_path: Path, text: str, line: int, problem: str
) -> None:
    path = tmp_path / "reasons.txt"
    path.write_text("# comment\n\n" + text)
    with pytest.raises(script.ReasonsError) as caught:
        script.read_reasons(path)
    assert (caught.value.line, caught.value.key, caught.value.problem) == (line, "format/a.py:f+1->+2", problem)
