"""Certifying checkpoint loaders through the faces: `run --impl ckpt:NAME`, its reports, and
`pytest --impl=ckpt:NAME`.

The loaders are the reference and the faulty ones of :mod:`tests.checkpoint_loaders`, so each
expected verdict follows from a fault the loader has on purpose.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import jsonschema
import pytest

from safetensors_conformance._resources import data_path
from safetensors_conformance.adapters.checkpoint import BUILT_IN, resolve_loader
from safetensors_conformance.cli import main
from safetensors_conformance.corpus.checkpoints import load
from safetensors_conformance.runner.canary import available

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.skipif(available() is not None, reason=available() or "")

VECTORS = {v.id: v for v in load()}
JOINS = "ckpt:tests.checkpoint_loaders:JoinsReferences"
OUTSIDE = ["ckpt/reference/dotdot", "ckpt/reference/absolute", "ckpt/files/link-out"]
CHOSEN = [*OUTSIDE, "ckpt/valid/two-shards", "ckpt/stray/second-shard-set"]


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def _ids(*ids: str) -> list[str]:
    return [part for vector_id in ids for part in ("--vector-id", vector_id)]


def test_run_certifies_loaders_and_reports_them(tmp_path: Path) -> None:
    status, out, _ = _cli(
        "run", "--impl", "ckpt:reference", "--impl", JOINS, *_ids(*CHOSEN), "--quiet", "--out", str(tmp_path)
    )
    assert status == 1  # the faulty loader fails
    document = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    jsonschema.validate(document, json.loads(data_path("schema", "results.schema.json").read_text(encoding="utf-8")))
    assert document["vectors"] == [v for v in VECTORS if v in CHOSEN]  # in manifest order
    verdicts = {(r["implementation"], r["vector"]): r["verdict"] for r in document["results"]}
    assert verdicts == {
        **{("ckpt:reference", v): "pass" for v in CHOSEN if v != "ckpt/stray/second-shard-set"},
        ("ckpt:reference", "ckpt/stray/second-shard-set"): "acceptable-accepted",
        **{(JOINS, v): "fail-read-outside" for v in OUTSIDE},
        (JOINS, "ckpt/valid/two-shards"): "pass",
        # It loads only what the index maps: the second shard set beside it is not read.
        (JOINS, "ckpt/stray/second-shard-set"): "acceptable-accepted",
    }
    assert f"fail-read-outside {JOINS} ckpt/reference/dotdot" in out
    page = (tmp_path / "results.html").read_text(encoding="utf-8")
    # A section per checkpoint requirement, linked to the checkpoint part's page written beside it.
    cited = VECTORS["ckpt/reference/dotdot"].requirements[0]
    anchor = cited.lower()
    assert f'<section id="{cited}"' in page
    assert f'href="checkpoint-spec.html#{anchor}"' in page
    assert f'id="{anchor}"' in (tmp_path / "checkpoint-spec.html").read_text(encoding="utf-8")
    # The row of a conforming checkpoint lists its files and the tensors a loader returns.
    assert "model-00001-of-00002.safetensors" in page
    assert "## [CKPT-" in (tmp_path / "results.md").read_text(encoding="utf-8")


def test_a_run_resumes_without_running_a_loader_again(tmp_path: Path) -> None:
    first = _cli("run", "--impl", "ckpt:reference", *_ids(*CHOSEN[:2]), "--quiet", "--out", str(tmp_path))
    assert first[0] == 0
    kept = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))["results"]
    status, _, err = _cli("run", "--impl", "ckpt:reference", *_ids(*CHOSEN[:2]), "--quiet", "--out", str(tmp_path))
    assert status == 0
    assert "kept 2 results" in err
    again = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))["results"]
    assert [r["seconds"] for r in again] == [r["seconds"] for r in kept]  # the same results, not new ones


def test_file_adapters_and_loaders_run_side_by_side(tmp_path: Path) -> None:
    status, _, _ = _cli(
        "run",
        "--impl",
        "reference",
        "--impl",
        "ckpt:reference",
        *_ids("root/array", "ckpt/valid/one-shard"),
        "--quiet",
        "--out",
        str(tmp_path),
    )
    assert status == 0
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))["results"]
    assert [(r["implementation"], r["vector"]) for r in results] == [
        ("reference", "root/array"),
        ("ckpt:reference", "ckpt/valid/one-shard"),
    ]


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--impl", "ckpt:no-such-loader"], "no checkpoint loader named 'no-such-loader'"),
        (["--impl", "ckpt:reference", "--vector-id", "ckpt/no/such"], "no such vectors: ckpt/no/such"),
        (
            ["--impl", "ckpt:reference", "--requirement", "BUFFER-NO-OVERLAP"],
            "no checkpoint vectors for ckpt:reference",
        ),
        # A file adapter would be certified on nothing: only checkpoint vectors are selected.
        (
            ["--impl", "reference", "--impl", "ckpt:reference", "--vector-id", "ckpt/valid/two-shards"],
            "no file vectors for reference",
        ),
    ],
)
def test_usage_errors(tmp_path: Path, argv: list[str], said: str) -> None:
    status, _, err = _cli("run", *argv, "--quiet", "--out", str(tmp_path))
    assert status == 2
    assert said in err


def test_pytest_certifies_a_loader(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(f"--impl={JOINS}", *[f"--vector-id={v}" for v in CHOSEN], "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=len(OUTSIDE))
    text = result.stdout.str()
    cited = VECTORS["ckpt/reference/dotdot"].requirements[0]
    assert f"ckpt/reference/dotdot on {JOINS}: fail-read-outside" in text
    assert f"requirement: {cited} (" in text


def test_pytest_reference_loader_passes_every_checkpoint_vector(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--impl=ckpt:reference", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=len(VECTORS))


PUBLISHED = Path(__file__).resolve().parent.parent / "results" / "checkpoints" / "results.json"
#: Loaders that need an environment of their own (scripts/extra-loaders.sh), published apart.
EXTRA = PUBLISHED.parent.parent / "checkpoints-extra" / "results.json"


def test_the_published_checkpoint_matrix_is_current() -> None:
    """results/checkpoints/ (`make matrix-checkpoints`) covers today's vectors with the loaders
    installed here, in the versions installed here; its verdicts are what the loader tests assert."""
    document = json.loads(PUBLISHED.read_text(encoding="utf-8"))
    assert document["vectors"] == list(VECTORS)
    published = {d["selection"]: d for d in document["implementations"]}
    extra = {d["selection"] for d in json.loads(EXTRA.read_text(encoding="utf-8"))["implementations"]}
    assert extra
    assert set(published) == {f"ckpt:{name}" for name in BUILT_IN} - extra
    for selection, entry in published.items():
        description = resolve_loader(selection.removeprefix("ckpt:")).describe()
        assert (entry["implementation"], entry["version"]) == (description.implementation, description.version)
        assert entry["available"], selection
    pairs = {(r["implementation"], r["vector"]) for r in document["results"]}
    assert pairs == {(s, v) for s in published for v in VECTORS}


def test_isolation_is_said_to_apply_to_file_adapters_only(tmp_path: Path) -> None:
    status, _, err = _cli(
        "run", "--impl", "ckpt:reference", *_ids(CHOSEN[3]), "--isolation", "process", "--quiet", "--out", str(tmp_path)
    )
    assert status == 0
    assert "--isolation process applies to file adapters; checkpoint loaders run in a worker per seed" in err


def test_checkpoint_requirements_link_beside_a_markdown_spec(tmp_path: Path) -> None:
    base = "https://example.org/spec/safetensors.md"
    argv = ["run", "--impl", "ckpt:reference", *_ids(OUTSIDE[0]), "--spec-url", base, "--quiet", "--out", str(tmp_path)]
    assert _cli(*argv)[0] == 0
    anchor = VECTORS[OUTSIDE[0]].requirements[0].lower()
    assert f"(https://example.org/spec/checkpoint.md#{anchor})" in (tmp_path / "results.md").read_text(encoding="utf-8")
