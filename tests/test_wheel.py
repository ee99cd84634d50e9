"""The wheel works on its own: built, installed alone in a fresh venv, run from elsewhere."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from .conftest import entry, make_file

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(work),
            str(ROOT),
        ],
        check=True,
    )
    wheel = next(work.glob("safetensors_conformance-*.whl"))
    venv.create(work / "venv", with_pip=True)
    python = work / "venv" / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", str(wheel)], check=True)
    return wheel, work / "venv" / "bin"


def test_wheel_ships_spec_and_schemas(installed: tuple[Path, Path]) -> None:
    names = set(zipfile.ZipFile(installed[0]).namelist())
    for data in (
        "spec/safetensors.md",
        "spec/requirements.json",
        "schema/header.schema.json",
        "schema/validate-report.schema.json",
        "docs/external-protocol.md",
        "examples/known-failures/safetensors.txt",
        "examples/js-reader/reader.mjs",
        "examples/js-reader/known-failures.txt",
    ):
        assert f"safetensors_conformance/_data/{data}" in names
    # Users type-check their own adapters against the Adapter protocol (PEP 561).
    assert "safetensors_conformance/py.typed" in names


def test_installed_validate_and_cite_work_outside_the_checkout(installed: tuple[Path, Path], tmp_path: Path) -> None:
    bin_dir = installed[1]
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(make_file('{"a":' + entry() + "}", b"abc"))
    done = subprocess.run(
        [str(bin_dir / "safetensors-conformance"), "validate", str(bad)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "BUFFER-NO-TRAILING" in done.stdout
    assert "site-packages/safetensors_conformance/_data/spec/safetensors.md#buffer-no-trailing" in done.stdout
    cite = subprocess.run(
        [str(bin_dir / "python"), "-m", "safetensors_conformance", "cite", "HEADER-UTF8"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "**HEADER-UTF8** (file, MUST)" in cite.stdout


def test_installed_corpus_is_usable(installed: tuple[Path, Path], tmp_path: Path) -> None:
    script = str(installed[1] / "safetensors-conformance")
    listed = subprocess.run([script, "vectors", "list"], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert len(listed.stdout.split()) >= 300
    counted = subprocess.run(
        [script, "vectors", "list", "--stats"], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert "by requirement:" in counted.stdout
    shown = subprocess.run(
        [script, "vectors", "show", "buffer/overlap-tied"], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert "reference reader rejects: BUFFER-NO-OVERLAP" in shown.stdout
    build = subprocess.run([script, "vectors", "build"], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert build.returncode == 2
    assert "not in a source checkout" in build.stderr
