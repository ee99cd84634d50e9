"""The Ray recipe (``safetensors_conformance.ray_validate``) on a local two-CPU Ray cluster.

One cluster serves the whole module (starting one takes seconds); the tests that need no cluster
do not ask for it. Every report is compared byte for byte with what ``validate --json`` prints.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from safetensors_conformance import cli, ray_validate
from safetensors_conformance.checkpoint.fixtures import write_standard
from safetensors_conformance.format.reader import Tensor
from safetensors_conformance.format.writer import serialize

# Ray Data's DataContext sets three of its own deprecated fields when it is first built, and warns
# about each (Ray 2.60.0): nothing this project does can avoid them, and they say nothing about it.
pytestmark = [
    pytest.mark.filterwarnings(rf"ignore:`{field}` is deprecated:DeprecationWarning:ray\.data\.context")
    for field in ("use_push_based_shuffle", "use_polars", "use_arrow_tensor_v2")
]


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    """A local Ray cluster with two CPUs, for the whole module; its address."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


def conforming(path: Path, values: bytes = b"\x01\x02") -> Path:
    path.write_bytes(serialize({"w": Tensor("U8", (len(values),), values)}))
    return path


def out_of_bounds(path: Path) -> Path:
    """A file whose one tensor ends past the buffer: BUFFER-BOUNDS."""
    path.write_bytes(serialize({"w": Tensor("U8", (2,), b"\x01\x02")})[:-1])
    return path


def checkpoint(directory: Path) -> Path:
    directory.mkdir(parents=True)
    write_standard(directory)
    return directory


def validate_json(target: str) -> str:
    out = io.StringIO()
    cli.main(["validate", "--json", target], stdout=out, stderr=io.StringIO())
    return out.getvalue()


def recipe(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = ray_validate.main(list(argv), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def report_of(out: Path, target: Path | str) -> Path:
    return out / ray_validate.report_name(str(target))


# --- On the cluster -------------------------------------------------------------------------------


def test_each_report_is_what_validate_json_prints(ray_cluster: str, tmp_path: Path) -> None:
    good = conforming(tmp_path / "good.safetensors")
    bad = out_of_bounds(tmp_path / "bad.safetensors")
    model = checkpoint(tmp_path / "model")
    missing = tmp_path / "missing.safetensors"
    latin1 = conforming(tmp_path / os.fsdecode(b"mod\xe8le.safetensors"))  # a name that is not UTF-8
    targets = (good, bad, model, missing, latin1)
    out = tmp_path / "reports"
    status, printed, _ = recipe(*map(str, targets), "--out", str(out))
    assert status == 2  # validate's status for a set with an input it could not read
    assert printed == f"5 inputs: 3 conform, 1 does not, 1 could not be checked; reports in {out}\n"
    assert sorted(p.name for p in out.iterdir()) == sorted(ray_validate.report_name(str(p)) for p in targets)
    for target in targets:
        assert report_of(out, target).read_text(encoding="utf-8") == validate_json(str(target))
    [bad_entry] = json.loads(report_of(out, bad).read_text(encoding="utf-8"))
    assert (bad_entry["valid"], bad_entry["primary"]) == (False, "BUFFER-BOUNDS")
    [model_entry] = json.loads(report_of(out, model).read_text(encoding="utf-8"))
    assert model_entry["checkpoint"]["shards"] == [
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
    ]
    [missing_entry] = json.loads(report_of(out, missing).read_text(encoding="utf-8"))
    assert missing_entry["path"] == str(missing)
    assert missing_entry["valid"] is None
    assert missing_entry["error"]


def test_a_directory_gives_the_entries_validate_dir_gives(ray_cluster: str, tmp_path: Path) -> None:
    root = tmp_path / "hub"
    (root / "sub").mkdir(parents=True)
    conforming(root / "a.safetensors")
    out_of_bounds(root / "sub" / "b.safetensors")
    (root / "sub" / "notes.txt").write_text("not a model", encoding="utf-8")
    model = checkpoint(root / "model")
    (model / "extra").mkdir()
    conforming(model / "extra" / "c.safetensors", b"\x03")
    out = tmp_path / "reports"
    status, _, _ = recipe(str(root), "--out", str(out), "--quiet")
    assert status == 1
    # A checkpoint's folder is one input, with what lies under it; every other file is one input.
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ray_validate.report_name(str(p)) for p in (root / "a.safetensors", root / "sub" / "b.safetensors", model)
    )
    entries = [e for p in out.iterdir() for e in json.loads(p.read_text(encoding="utf-8"))]
    expected = json.loads(validate_json(str(root)))
    assert sorted(entries, key=json.dumps) == sorted(expected, key=json.dumps)
    assert len(expected) == 4  # a, b, the checkpoint, and c beside the checkpoint's index


def test_a_rerun_keeps_written_reports_and_validates_only_the_rest(ray_cluster: str, tmp_path: Path) -> None:
    good = conforming(tmp_path / "good.safetensors")
    bad = out_of_bounds(tmp_path / "bad.safetensors")
    out = tmp_path / "reports"
    assert recipe(str(good), str(bad), "--out", str(out), "--quiet")[0] == 1
    # Plant the bad file's report as the good one's: a rerun that validated the good file again
    # would overwrite it, one that skips it keeps it and counts it as not conforming.
    planted = report_of(out, bad).read_text(encoding="utf-8")
    report_of(out, good).write_text(planted, encoding="utf-8")
    late = conforming(tmp_path / "late.safetensors", b"\x09")
    status, printed, _ = recipe(str(good), str(bad), str(late), "--out", str(out), "--quiet")
    assert status == 1
    assert printed.startswith("3 inputs: 1 conforms, 2 do not, 0 could not be checked (2 reported by an earlier run)")
    assert report_of(out, good).read_text(encoding="utf-8") == planted
    assert report_of(out, late).read_text(encoding="utf-8") == validate_json(str(late))


def test_retry_errors_redoes_only_the_error_reports(ray_cluster: str, tmp_path: Path) -> None:
    late = tmp_path / "late.safetensors"
    out = tmp_path / "reports"
    assert recipe(str(late), "--out", str(out), "--quiet")[0] == 2
    conforming(late)
    assert recipe(str(late), "--out", str(out), "--quiet")[0] == 2  # the error report is kept
    status, printed, _ = recipe(str(late), "--out", str(out), "--quiet", "--retry-errors")
    assert (status, printed.split(";")[0]) == (0, "1 input: 1 conforms, 0 do not, 0 could not be checked")
    assert report_of(out, late).read_text(encoding="utf-8") == validate_json(str(late))


def test_the_module_entry_joins_a_running_cluster(ray_cluster: str, tmp_path: Path) -> None:
    listing = tmp_path / "inputs.txt"
    good = conforming(tmp_path / "good.safetensors")
    bad = out_of_bounds(tmp_path / "bad.safetensors")
    listing.write_text(f"# two files\n{good}\n\n{bad}\n", encoding="utf-8")
    out = tmp_path / "reports"
    command = [sys.executable, "-m", "safetensors_conformance.ray_validate", f"@{listing}", "--out", str(out)]
    done = subprocess.run(
        [*command, "--address", ray_cluster, "--quiet"], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines()[-1].startswith("2 inputs: 1 conforms, 1 does not")
    for target in (good, bad):
        assert report_of(out, target).read_text(encoding="utf-8") == validate_json(str(target))


# --- Without a cluster ----------------------------------------------------------------------------


def test_validate_never_imports_ray(tmp_path: Path) -> None:
    """`validate` of files and of a checkpoint, in a fresh interpreter, loads neither Ray nor the recipe."""
    good = conforming(tmp_path / "good.safetensors")
    bad = out_of_bounds(tmp_path / "bad.safetensors")
    model = checkpoint(tmp_path / "model")
    probe = (
        "import sys\nfrom safetensors_conformance import cli\n"
        "for json_flag in ([], ['--json']):\n"
        "    cli.main(['validate', *json_flag, *sys.argv[1:]])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'ray' or m.endswith('ray_validate')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(good), str(bad), str(model)], capture_output=True, text=True, check=True
    )
    assert '"primary": "BUFFER-BOUNDS"' in done.stdout  # validate ran to the end
    assert done.stdout.splitlines()[-1] == "[]"


def test_inputs_from_lists_directories_and_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    conforming(tmp_path / "b.safetensors")
    (tmp_path / "folder").mkdir()
    conforming(tmp_path / "folder" / "z.safetensors")
    conforming(tmp_path / "folder" / "a.safetensors")
    (tmp_path / "empty").mkdir()
    listing = tmp_path / "list.txt"
    url = "https://models.example/org/model/resolve/main/model.safetensors"
    listing.write_text(f"  b.safetensors  \n# a comment\n\n{url}\nfolder\n", encoding="utf-8")
    inputs = ray_validate.collect_inputs([f"@{listing}", "b.safetensors", "empty", "gone.safetensors"])
    assert inputs == [
        str(tmp_path / "b.safetensors"),  # relative paths are made absolute, and each input is kept once
        url,
        str(tmp_path / "folder" / "a.safetensors"),
        str(tmp_path / "folder" / "z.safetensors"),
        str(tmp_path / "empty"),  # nothing in it: validate says so
        str(tmp_path / "gone.safetensors"),
    ]


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["-", "--out", "reports"], id="standard-input"),
        pytest.param(["@empty.txt", "--out", "reports"], id="empty-list"),
        pytest.param(["@absent.txt", "--out", "reports"], id="missing-list"),
        pytest.param(
            ["x.safetensors", "--out", "reports", "--address", "auto", "--num-cpus", "2"], id="cpus-and-address"
        ),
        pytest.param(["x.safetensors"], id="no-out"),
    ],
)
def test_usage_errors_exit_2_before_starting_ray(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty.txt").write_text("# nothing\n", encoding="utf-8")
    with contextlib.redirect_stderr(io.StringIO()):  # argparse writes its usage errors to sys.stderr
        assert recipe(*argv)[0] == 2
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())


def test_many_inputs_at_once_give_each_input_its_own_report(tmp_path: Path) -> None:
    inputs = [
        str(conforming(tmp_path / "good.safetensors")),
        str(out_of_bounds(tmp_path / "bad.safetensors")),
        str(checkpoint(tmp_path / "model")),  # a directory: run alone
        str(tmp_path / "missing.safetensors"),
        str(conforming(tmp_path / "late.safetensors", b"\x07")),
    ]
    assert ray_validate.validate_inputs(inputs) == [validate_json(i) for i in inputs]


def test_output_that_does_not_split_by_input_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """If validate of several files gave other than one entry per file, each file is validated alone."""
    inputs = [str(conforming(tmp_path / "good.safetensors")), str(out_of_bounds(tmp_path / "bad.safetensors"))]
    calls: list[list[str]] = []

    def first_entry_only(argv: list[str], *, stdout: io.StringIO, stderr: io.StringIO) -> int:
        calls.append(argv)
        captured = io.StringIO()
        status = cli.main(argv, stdout=captured, stderr=stderr)
        stdout.write(json.dumps(json.loads(captured.getvalue())[:1]))
        return status

    monkeypatch.setattr(ray_validate, "cli_main", first_entry_only)
    reports = ray_validate.validate_inputs(inputs)
    assert calls == [["validate", "--json", *inputs]] + [["validate", "--json", i] for i in inputs]
    assert [json.loads(r)[0]["valid"] for r in reports] == [True, False]


def test_report_names_are_stable_distinct_and_portable() -> None:
    inputs = [
        "/data/org/model/model-00001-of-00002.safetensors",
        "/data/org/model/model-00001-of-00002.safetensors/",
        "/data/other/model/model-00001-of-00002.safetensors",
        "https://hub.example/a b/c?d=e",
        "/data/\udcff-not-utf-8.safetensors",
        "/" + "x" * 300,
        "/",
    ]
    names = [ray_validate.report_name(i) for i in inputs]
    assert names == [ray_validate.report_name(i) for i in inputs]
    assert len(set(names)) == len(names)
    assert all(len(n.encode()) <= 255 and n.endswith(".json") and not n.startswith(".") for n in names)
    assert all(set(n) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") for n in names)
    assert names[0].startswith("data_org_model_model-00001-of-00002.safetensors-")


def test_a_validate_that_raises_gives_an_error_report(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object, **__: object) -> int:
        raise RecursionError("too deep")

    monkeypatch.setattr(ray_validate, "cli_main", broken)
    [entry] = json.loads(ray_validate.validate_input("/data/model.safetensors"))
    assert entry == {
        "path": "/data/model.safetensors",
        "valid": None,
        "error": "internal error: RecursionError: too deep",
        "violations": [],
        "warnings": [],
    }
    assert ray_validate.status_of([entry]) == 2


def test_only_whole_reports_count_as_done(tmp_path: Path) -> None:
    bad = str(out_of_bounds(tmp_path / "bad.safetensors"))
    torn, empty = str(tmp_path / "torn.safetensors"), str(tmp_path / "empty.safetensors")
    reports = tmp_path / "reports"
    reports.mkdir()
    ray_validate.write_report(reports, bad, validate_json(bad))
    (reports / ray_validate.report_name(torn)).write_text('[{"path": "/data/torn.safe', encoding="utf-8")
    (reports / ray_validate.report_name(empty)).write_text("[]", encoding="utf-8")
    todo, done = ray_validate.pending([bad, torn, empty], reports, retry_errors=False)
    assert (todo, done) == ([torn, empty], [ray_validate.Outcome(bad, 1)])
    assert sorted(p.name for p in reports.iterdir() if p.name.startswith(".")) == []  # no temporary left
