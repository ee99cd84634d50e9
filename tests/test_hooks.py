"""The pre-commit hook (``.pre-commit-hooks.yaml``) and the GitHub Action (``action.yml``).

The hook runs under pre-commit itself: ``pre-commit try-repo`` installs this project from a fresh
repository holding its working tree into a hook environment (a wheel build, with the package
index) and runs the hook on the staged files of a model repository. The Action's ``run:`` scripts
run in bash as a runner runs them (``bash --noprofile --norc -eo pipefail``), with the ``GITHUB_*``
files and the ``env:`` of each step evaluated from the inputs and the earlier steps' outputs; the
``uses:`` step (setup-python) is stood in for by this interpreter.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from safetensors_conformance import cli
from safetensors_conformance.checkpoint.fixtures import CASES, write_standard
from safetensors_conformance.format.reader import Tensor
from safetensors_conformance.format.writer import serialize
from safetensors_conformance.report import validate_summary

yaml = pytest.importorskip("yaml")  # PyYAML comes with pre-commit (the dev extra)

ROOT = Path(__file__).resolve().parent.parent
#: What building and installing the package needs (pyproject.toml's wheel target), and the hooks.
PACKAGE_FILES = (
    "pyproject.toml",
    "README.md",
    "harness",
    "spec",
    "schema",
    "vectors",
    "docs",
    "examples/known-failures",
    "examples/js-reader",
    ".pre-commit-hooks.yaml",
    "action.yml",
)
GIT = shutil.which("git") or "/usr/bin/git"
BASH = shutil.which("bash") or "/bin/bash"
GIT_IDENTITY = ["-c", "user.name=test", "-c", "user.email=test@example.invalid", "-c", "commit.gpgsign=false"]


def git(cwd: Path, *args: str) -> None:
    subprocess.run([GIT, *GIT_IDENTITY, *args], cwd=cwd, check=True, capture_output=True)


def conforming(path: Path, values: bytes = b"\x01\x02") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(serialize({"w": Tensor("U8", (len(values),), values)}))
    return path


def out_of_bounds(path: Path) -> Path:
    """A file whose one tensor ends past the buffer: BUFFER-BOUNDS, at offset 64, /w/data_offsets."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(serialize({"w": Tensor("U8", (2,), b"\x01\x02")})[:-1])
    return path


def checkpoint(directory: Path, case_id: str = "valid/two-shards") -> Path:
    """A checkpoint of the fixtures (an index and its shards); its index file."""
    directory.mkdir(parents=True)
    case = next(c for c in CASES if c.id == case_id)
    case.build(directory, directory.parent / "canary")
    return directory / "model.safetensors.index.json"


@pytest.fixture(scope="module")
def project_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new repository with one commit: this checkout's package files as they are now, committed
    or not (what ``git add`` would take), so the hooks under test are the ones in the tree."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout of this project")
    listed = subprocess.run(
        [GIT, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *PACKAGE_FILES],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout
    repo = tmp_path_factory.mktemp("project")
    for name in filter(None, listed.split(b"\0")):
        source = ROOT / os.fsdecode(name)
        if source.is_file():  # listed but deleted in the tree: not part of it
            (repo / os.fsdecode(name)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / os.fsdecode(name))
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "the working tree under test")
    return repo


# --- pre-commit -----------------------------------------------------------------------------------


def test_the_hook_manifest_selects_models_and_indexes() -> None:
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hook["id"] == "safetensors-conformance"
    assert hook["entry"] == "safetensors-conformance validate"
    assert hook["language"] == "python"
    selected = re.compile(hook["files"])
    names = ["model.safetensors", "m/model.safetensors.index.json", "model.safetensors.json", "model.bin", "a.json"]
    assert [bool(selected.search(n)) for n in names] == [True, True, False, False, False]


@pytest.mark.slow
def test_pre_commit_runs_the_hook_on_staged_files(project_repo: Path, tmp_path: Path) -> None:
    pre_commit = pytest.importorskip("pre_commit")
    models = tmp_path / "models"
    models.mkdir()
    git(models, "init", "-q")
    conforming(models / "good.safetensors")
    out_of_bounds(models / "bad.safetensors")
    checkpoint(models / "ckpt")
    checkpoint(models / "broken", "reference/missing")  # the index names a shard that is not there
    (models / "README.md").write_text("not checked", encoding="utf-8")
    out_of_bounds(models / "unstaged.safetensors")  # not staged: not checked
    git(models, "add", "good.safetensors", "bad.safetensors", "ckpt", "broken", "README.md")
    command = [sys.executable, "-m", pre_commit.__name__, "try-repo", str(project_repo), "safetensors-conformance"]
    done = subprocess.run(command, cwd=models, capture_output=True, text=True, check=False, timeout=600)
    assert done.returncode == 1, done.stdout + done.stderr
    assert re.search(r"^safetensors conformance\.+Failed$", done.stdout, re.MULTILINE), done.stdout
    verdicts = [line for line in done.stdout.splitlines() if line.startswith(("PASS", "FAIL"))]
    failed = [line for line in verdicts if line.startswith("FAIL")]
    assert len(failed) == 2, done.stdout
    assert any("bad.safetensors" in line and "BUFFER-BOUNDS" in line for line in failed)
    assert any("broken" in line and "model.safetensors.index.json" in line for line in failed)
    assert "CKPT-SHARD-EXISTS" in done.stdout  # the broken checkpoint's requirement
    passed = [line for line in verdicts if line.startswith("PASS")]
    assert any("good.safetensors" in line for line in passed)
    assert any("ckpt" in line and "model.safetensors.index.json" in line for line in passed)
    assert "unstaged" not in done.stdout
    assert "README" not in done.stdout


# --- The GitHub Action ----------------------------------------------------------------------------

_EXPRESSION = re.compile(r"\$\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}")


class Step(NamedTuple):
    id: str
    status: int
    stdout: str
    outputs: dict[str, str]
    summary: str


def action() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    return loaded


def run_action(
    workspace: Path, inputs: dict[str, str], given: dict[str, dict[str, str]], *, action_path: Path = ROOT
) -> list[Step]:
    """Run the Action's ``run:`` steps as a runner would, in order, until one fails; the steps named
    in ``given`` are not run, and their outputs are the ones given."""
    definition = action()
    values = {name: str(spec.get("default", "")) for name, spec in definition["inputs"].items()}
    values.update(inputs)
    outputs: dict[str, dict[str, str]] = dict(given)
    temp = workspace.parent / "runner-temp"
    temp.mkdir(exist_ok=True)
    steps = []
    for number, step in enumerate(definition["runs"]["steps"]):
        step_id = step.get("id", str(number))
        if step_id in given:
            continue
        assert "run" in step, f"step {step_id} is not a script and no outputs were given for it"

        def evaluate(match: re.Match[str]) -> str:
            context, _, rest = match.group(1).partition(".")
            if context == "inputs":
                return values[rest]
            if context == "github" and rest == "action_path":
                return str(action_path)
            if context == "steps":
                source, kind, name = rest.split(".")
                assert kind == "outputs"
                return outputs.get(source, {}).get(name, "")
            raise AssertionError(f"the test does not evaluate {match.group(0)}")

        output_file, summary_file = temp / f"output-{number}", temp / f"summary-{number}"
        output_file.write_text("", encoding="utf-8")
        summary_file.write_text("", encoding="utf-8")
        script = temp / f"step-{number}.sh"
        script.write_text(step["run"], encoding="utf-8")
        env = {
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", str(temp)),
            "RUNNER_TEMP": str(temp),
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_ACTION_PATH": str(action_path),
            "GITHUB_OUTPUT": str(output_file),
            "GITHUB_STEP_SUMMARY": str(summary_file),
            **{name: _EXPRESSION.sub(evaluate, str(value)) for name, value in step.get("env", {}).items()},
        }
        assert step["shell"] == "bash"
        done = subprocess.run(
            [BASH, "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=workspace,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        produced = dict(line.split("=", 1) for line in output_file.read_text(encoding="utf-8").splitlines())
        outputs[step_id] = produced
        steps.append(Step(step_id, done.returncode, done.stdout + done.stderr, produced, summary_file.read_text()))
        if done.returncode:
            break
    return steps


def this_interpreter() -> dict[str, dict[str, str]]:
    """Outputs that stand for setup-python and the install step: this interpreter, which has the package."""
    return {"python": {"python-path": sys.executable}, "install": {"python": sys.executable}}


def model_folder(workspace: Path) -> Path:
    models = workspace / "models"
    conforming(models / "good.safetensors")
    out_of_bounds(models / "bad.safetensors")
    models.joinpath("ckpt").mkdir(parents=True)
    write_standard(models / "ckpt")
    return models


def validate_json(target: str, cwd: Path) -> str:
    out = io.StringIO()
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        cli.main(["validate", "--json", target], stdout=out, stderr=io.StringIO())
    finally:
        os.chdir(previous)
    return out.getvalue()


def test_the_action_scripts_take_workflow_values_only_through_env() -> None:
    """A path or version from a workflow is data in an environment variable, never shell code."""
    definition = action()
    assert definition["runs"]["using"] == "composite"
    assert set(definition["inputs"]) == {"path", "python-version", "version"}
    scripts = [step for step in definition["runs"]["steps"] if "run" in step]
    assert [s["id"] for s in scripts] == ["install", "validate"]
    assert all("${{" not in step["run"] and step["shell"] == "bash" for step in scripts)


def test_the_action_summarises_a_folder_and_fails_when_a_file_does_not_conform(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    model_folder(workspace)
    [step] = run_action(workspace, {"path": "models"}, this_interpreter())
    assert (step.id, step.status, step.outputs["status"]) == ("validate", 1, "1")
    assert Path(step.outputs["report"]).read_text(encoding="utf-8") == validate_json("models", workspace)
    lines = step.summary.splitlines()
    assert lines[0] == "### ❌ safetensors conformance: 2 of 3 conform"
    rows = [line for line in lines if line.startswith("| ")]
    assert rows[1:] == [
        "| ❌ FAIL | models/bad.safetensors | file | **BUFFER-BOUNDS** | 1 |",
        "| ✅ PASS | models/ckpt | checkpoint, 2 shards |  | 0 |",
        "| ✅ PASS | models/good.safetensors | file |  | 0 |",
    ]
    assert "#### ❌ models/bad.safetensors" in lines
    [finding] = [line for line in lines if line.startswith("- error")]
    assert finding.startswith(
        "- error **BUFFER-BOUNDS** in models/bad.safetensors, at offset 64, pointer /w/data\\_offsets: "
    )
    assert "::error file=models/bad.safetensors,title=BUFFER-BOUNDS::" in step.stdout


def test_the_action_passes_a_conforming_folder(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    conforming(workspace / "models" / "good.safetensors")
    (workspace / "models" / "ckpt").mkdir()
    write_standard(workspace / "models" / "ckpt")
    [step] = run_action(workspace, {"path": "models"}, this_interpreter())
    assert (step.status, step.outputs["status"]) == (0, "0")
    assert step.summary.splitlines()[0] == "### ✅ safetensors conformance: 2 of 2 conform"
    assert "::" not in step.stdout


def test_the_action_reports_a_path_it_cannot_read(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    [step] = run_action(workspace, {"path": "no-such-models"}, this_interpreter())
    assert (step.status, step.outputs["status"]) == (2, "2")
    [row] = [line for line in step.summary.splitlines() if line.startswith("| ⚠️ ERROR")]
    assert row.startswith("| ⚠️ ERROR | no-such-models |  | ")
    assert "::error file=no-such-models::" in step.stdout


@pytest.mark.slow
def test_the_action_installs_its_own_copy(project_repo: Path, tmp_path: Path) -> None:
    """The install step builds the Action's own checkout into a virtual environment of its own."""
    workspace = tmp_path / "workspace"
    model_folder(workspace)
    given = {"python": {"python-path": sys.executable}}
    install, validate = run_action(workspace, {"path": "models"}, given, action_path=project_repo)
    assert install.status == 0, install.stdout
    installed = Path(install.outputs["python"])
    assert installed.parent.parent == tmp_path / "runner-temp" / "safetensors-conformance-venv"
    assert (validate.status, validate.outputs["status"]) == (1, "1"), validate.stdout
    assert validate.summary.splitlines()[0] == "### ❌ safetensors conformance: 2 of 3 conform"
    located = subprocess.run(
        [str(installed), "-c", "import safetensors_conformance as s; print(s.__file__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(located.stdout.strip()).is_relative_to(installed.parent.parent)  # not this checkout


# --- The summary ----------------------------------------------------------------------------------


def test_names_from_files_cannot_add_markup_or_commands(tmp_path: Path) -> None:
    hostile = "a|b [x](evil.example) `c` $d$ <b>,e:f%0A.safetensors"
    out_of_bounds(tmp_path / hostile)
    report = json.loads(validate_json(hostile, tmp_path))
    entries = validate_summary.parse(report)
    text = validate_summary.render(entries)
    [row] = [line for line in text.splitlines() if line.startswith("| ❌")]
    assert row.count("|") - row.count("\\|") == 6  # the file name adds no cell
    assert all(markup not in text for markup in ("[x](", "<b>", "`c`"))
    assert "a\\|b \\[x\\](evil.example) \\`c\\` \\$d\\$ \\<b\\>,e:f%0A.safetensors" in row
    [command] = validate_summary.workflow_commands(entries)
    assert command.startswith("::error file=a|b [x](evil.example) `c` $d$ <b>%2Ce%3Af%250A.safetensors,title=")


def test_long_reports_are_cut_and_requirements_link_to_the_spec(tmp_path: Path) -> None:
    for number in range(validate_summary.MAX_ROWS + 3):
        out_of_bounds(tmp_path / f"{number:03d}.safetensors")
    checkpoint(tmp_path / "broken", "reference/missing")
    entries = validate_summary.parse(json.loads(validate_json(str(tmp_path), tmp_path)))
    assert len(entries) == validate_summary.MAX_ROWS + 4
    text = validate_summary.render(entries, spec_url="https://spec.example/spec/")
    lines = text.splitlines()
    assert len([line for line in lines if line.startswith("| ❌ FAIL")]) == validate_summary.MAX_ROWS
    assert "| | … and 4 more (see the JSON report) | | | |" in lines
    assert len([line for line in lines if line.startswith("#### ")]) == validate_summary.MAX_DETAILED
    assert (
        f"… and {len(entries) - validate_summary.MAX_DETAILED} more that do not conform (see the JSON report)" in lines
    )
    assert "[**BUFFER-BOUNDS**](https://spec.example/spec/safetensors.md#buffer-bounds)" in text
    broken = next(e for e in entries if e.kind.startswith("checkpoint"))
    assert broken.findings[0].requirement == "CKPT-SHARD-EXISTS"
    assert broken.findings[0].file == "model.safetensors.index.json"
    link = validate_summary.requirement_link("CKPT-SHARD-EXISTS", "https://spec.example/spec")
    assert link == "[**CKPT-SHARD-EXISTS**](https://spec.example/spec/checkpoint.md#ckpt-shard-exists)"
    assert len(validate_summary.workflow_commands(entries)) == validate_summary.MAX_ANNOTATIONS


def test_no_report_is_summarised_with_validates_errors(tmp_path: Path) -> None:
    report, errors, summary = tmp_path / "report.json", tmp_path / "errors.txt", tmp_path / "summary.md"
    report.write_text("", encoding="utf-8")
    errors.write_text("usage: safetensors-conformance validate\nerror: unrecognized arguments: --bogus\n")
    summary.write_text("earlier step\n", encoding="utf-8")
    argv = [str(report), "--status", "2", "--stderr", str(errors), "--summary", str(summary)]
    assert validate_summary.main(argv, stdout=io.StringIO()) == 0
    lines = summary.read_text(encoding="utf-8").splitlines()
    assert lines[:2] == ["earlier step", "### ⚠️ safetensors conformance: no report"]  # appended
    assert lines[3].startswith("validate printed no report (exit status 2): ")
    assert lines[-3:] == ["usage: safetensors-conformance validate", "error: unrecognized arguments: --bogus", "```"]
