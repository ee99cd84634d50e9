"""The published matrix (results/) is what the implementations installed here do today.

Regenerating it over the committed vectors must give exactly the committed verdicts: a new release
of an implementation, or a change in the corpus, shows up here as a failure to look at (then run
`make matrix` and commit the new results with the change explained).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from safetensors_conformance.cli import main

ROOT = Path(__file__).resolve().parent.parent
PUBLISHED = ROOT / "results" / "results.json"


def test_the_published_matrix_still_holds(tmp_path: Path) -> None:
    published = json.loads(PUBLISHED.read_text())
    selections = published["selections"]
    assert sum(d["available"] for d in published["implementations"]) >= 16
    argv = ["run", *(f"--impl={s}" for s in selections), "--no-synth", "--jobs", "2", "--quiet", "--out", str(tmp_path)]
    out = io.StringIO()
    status = main(argv, out, io.StringIO())
    assert status in (0, 1), out.getvalue()
    # Only what the published matrix records as unavailable (the CUDA paths here) may be missing,
    # and for the reason it records.
    unavailable = {
        f"not run: {description['selection']}: {description['reason']}"
        for description in published["implementations"]
        if not description["available"]
    }
    missing = {line for line in out.getvalue().splitlines() if line.startswith("not run:")}
    assert missing == unavailable, out.getvalue()
    compared = io.StringIO()
    unstable = str(ROOT / "results" / "unstable.txt")
    argv = ["compare", "--exact", "--unstable", unstable, str(PUBLISHED), str(tmp_path / "results.json")]
    same = main(argv, compared, io.StringIO())
    assert same == 0, compared.getvalue()


@pytest.mark.parametrize("name", ["results.md", "results.html", "spec.html", "FINDINGS.md"])
def test_the_published_reports_are_there(name: str) -> None:
    assert (ROOT / "results" / name).stat().st_size > 0
