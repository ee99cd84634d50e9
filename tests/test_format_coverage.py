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
    assert document["unlisted"] == []
    assert document["stale"] == []
    assert result.returncode == 0
    totals = document["totals"]
    assert 0 < totals["covered_branches"] <= totals["num_branches"]
    missing = sum(1 for gap in document["gaps"] if "->" in gap["key"])
    assert missing == totals["num_branches"] - totals["covered_branches"]


def test_a_gap_without_a_reason_and_a_reason_without_a_gap_both_count(script: ModuleType) -> None:
    found = [script.Gap("format/reader.py:1->2", "if x:  ->  y"), script.Gap("format/header.py:7", "z")]
    result = script.compare(found, {"format/header.py:7": "why", "format/writer.py:9->exit": "why"})
    assert [gap.key for gap in result.unlisted] == ["format/reader.py:1->2"]
    assert result.stale == ("format/writer.py:9->exit",)
    assert script.compare(found, {"format/reader.py:1->2": "a", "format/header.py:7": "b"}) == script.Comparison((), ())


def test_gaps_are_branches_and_the_statement_runs_no_branch_explains(script: ModuleType, tmp_path: Path) -> None:
    source = tmp_path / "format" / "sample.py"
    source.parent.mkdir()
    source.write_text("".join(f"line{n}\n" for n in range(1, 11)))
    data = {
        "files": {
            str(source): {
                "missing_branches": [[2, 3], [5, -4]],
                "missing_lines": [3, 4, 7, 8],
                "executed_lines": [1, 2, 5, 6, 9],
            }
        }
    }
    gaps = script.gaps(data)
    # Lines 3-4 are what the branch 2->3 skips; lines 7-8 have no unreached branch into them.
    assert [gap.key for gap in gaps] == ["format/sample.py:2->3", "format/sample.py:5->exit", "format/sample.py:7-8"]
    assert gaps[0].source == "line2  ->  line3"


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        pytest.param("format/a.py:1->2\n", 3, "no reason", id="no-reason"),
        pytest.param("format/a.py:1->2  one\nformat/a.py:1->2  two\n", 4, "listed twice", id="twice"),
    ],
)
def test_each_gap_is_listed_once_with_a_reason(
    script: ModuleType, tmp_path: Path, text: str, line: int, problem: str
) -> None:
    path = tmp_path / "reasons.txt"
    path.write_text("# comment\n\n" + text)
    with pytest.raises(script.ReasonsError) as caught:
        script.read_reasons(path)
    assert (caught.value.line, caught.value.key, caught.value.problem) == (line, "format/a.py:1->2", problem)
