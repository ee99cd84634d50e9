"""``vectors promote``: fuzz findings become vectors the reference decides, in a copy of the corpus."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from safetensors_conformance._resources import data_root
from safetensors_conformance.cli import main
from safetensors_conformance.corpus import load_corpus
from safetensors_conformance.corpus.lint import MAX_FILE_BYTES, lint
from safetensors_conformance.corpus.promote import PromotionError, judge
from safetensors_conformance.corpus.promote import promote as promote_files
from safetensors_conformance.format import check

from .conftest import entry, make_file

VECTORS = data_root("vectors")


def framed(header: str, data: bytes = b"") -> bytes:
    """A file whose header is padded to a multiple of 8, as writers should."""
    return make_file(header, data, padding=-len(header.encode()) % 8)


OVERLAP = framed("{" + f'"a":{entry()},"b":{entry(offsets="[1,3]")}' + "}", b"\x01\x02\x03")
METADATA = '"__metadata__":{"k":"v"}'
VALID = framed(
    "{" + f'{METADATA},"w":{entry("F32", "[1,1]", "[0,4]")},"b":{entry("U8", "[3]", "[4,7]")}' + "}",
    bytes(range(1, 8)),
)
SIDECAR = {
    "target": "differential",
    "impl": "safetensors",
    "reference": {"accepted": False, "primary": "BUFFER-NO-OVERLAP", "offset": 121},
    "outcomes": {"safetensors": "fail-accepted-invalid"},
    "campaign": {"started": "2026-12-01T10:00:00+00:00", "seed": 7, "executions": 123456},
}


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A copy of the vectors folder: promotion never touches the real corpus in tests."""
    target = tmp_path / "vectors"
    shutil.copytree(VECTORS, target)
    return target


def finding(folder: Path, name: str, content: bytes, sidecar: dict[str, Any] | None = None) -> Path:
    path = folder / f"{name}.bin"
    path.write_bytes(content)
    if sidecar is not None:
        path.with_suffix(".json").write_text(json.dumps(sidecar))
    return path


def promote(corpus: Path, *paths: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(["vectors", "promote", "--dir", str(corpus), *map(str, paths)], out, err)
    return status, out.getvalue(), err.getvalue()


def entries(corpus: Path) -> dict[str, dict[str, Any]]:
    manifest = json.loads((corpus / "manifest.json").read_text())
    return {v["id"]: v for v in manifest["vectors"]}


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_an_invalid_finding_cites_the_references_primary_requirement(corpus: Path, tmp_path: Path) -> None:
    status, out, _ = promote(corpus, finding(tmp_path, "overlap", OVERLAP, SIDECAR))
    assert status == 0
    vector_id = f"fuzz/buffer-no-overlap-{digest(OVERLAP)[:10]}"
    assert out.startswith(f"{vector_id}: added, invalid (BUFFER-NO-OVERLAP)")
    vector = entries(corpus)[vector_id]
    primary = next(v for v in check(OVERLAP).violations if v.requirement == "BUFFER-NO-OVERLAP")
    assert vector["expect"] == "invalid"
    assert vector["requirements"] == ["BUFFER-NO-OVERLAP"]
    assert vector["flags"] == []
    assert vector["phase"] == "validation"
    assert "expected" not in vector
    assert vector["description"] == f"fuzz finding: {primary.message}"
    assert vector["provenance"] == {
        "source": "fuzz",
        "detail": f"vectors/fuzz/{vector_id[5:]}.json",
        "campaign": {
            "target": "differential",
            "impl": "safetensors",
            "started": "2026-12-01T10:00:00+00:00",
            "seed": 7,
            "executions": 123456,
        },
    }
    assert (corpus / vector["file"]).read_bytes() == OVERLAP
    assert list(lint(corpus, synthetic=False, regenerate=True)) == []


def test_a_valid_finding_expects_what_the_reference_reads(corpus: Path, tmp_path: Path) -> None:
    assert promote(corpus, finding(tmp_path, "valid", VALID))[0] == 0
    vector = entries(corpus)[f"fuzz/reader-content-{digest(VALID)[:10]}"]
    assert (vector["expect"], vector["requirements"], vector["phase"]) == ("valid", ["READER-CONTENT"], "data")
    # In buffer order, the bytes the header points at.
    assert vector["expected"] == {
        "tensors": [
            {"name": "w", "dtype": "F32", "shape": [1, 1], "nbytes": 4, "sha256": digest(b"\x01\x02\x03\x04")},
            {"name": "b", "dtype": "U8", "shape": [3], "nbytes": 3, "sha256": digest(b"\x05\x06\x07")},
        ],
        "metadata": {"k": "v"},
    }
    assert vector["provenance"] == {"source": "fuzz", "detail": f"vectors/fuzz/{vector['id'][5:]}.json"}
    assert vector["spec"] == ">=1.1.0"
    assert list(lint(corpus, synthetic=False, regenerate=True)) == []


@pytest.mark.parametrize(
    ("content", "requirements", "flags", "data"),
    [
        pytest.param(
            framed("  {" + f'"__metadata__":null,"a":{entry()[:-1]},"x":[1]}}' + "}", b"\x01\x02"),
            ["HEADER-START", "META-OBJECT", "ENTRY-FIELDS-KNOWN"],
            ["header-leading-whitespace", "metadata-null", "entry-unknown-fields"],
            b"\x01\x02",
            id="rejected-under-flags",
        ),
        pytest.param(
            framed("{" + f'"a":{entry("BOOL", "[3]", "[0,3]")}' + "}", b"\x00\x02\x01"),
            ["DATA-BOOL"],
            ["bool-values"],
            b"\x00\x02\x01",
            id="bool-bytes",
        ),
    ],
)
def test_an_implementation_defined_finding_is_acceptable_with_its_flags(
    corpus: Path, tmp_path: Path, content: bytes, requirements: list[str], flags: list[str], data: bytes
) -> None:
    assert promote(corpus, finding(tmp_path, "flagged", content))[0] == 0
    vector = entries(corpus)[f"fuzz/{requirements[0].lower()}-{digest(content)[:10]}"]
    assert (vector["expect"], vector["requirements"], vector["flags"]) == ("acceptable", requirements, flags)
    # A reader that accepts it reads it as if the flagged deviations were not there.
    [tensor] = vector["expected"]["tensors"]
    assert (tensor["name"], tensor["sha256"], vector["expected"]["metadata"]) == ("a", digest(data), None)
    assert list(lint(corpus, synthetic=False, regenerate=True)) == []


def _findings(corpus: Path) -> list[Path]:
    """The promoted findings the corpus holds (the committed ones included)."""
    folder = corpus / "fuzz"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_promoting_twice_changes_nothing(corpus: Path, tmp_path: Path) -> None:
    path = finding(tmp_path, "overlap", OVERLAP, SIDECAR)
    assert promote(corpus, path)[0] == 0
    manifest = (corpus / "manifest.json").read_bytes()
    kept = sorted((corpus / "fuzz").iterdir())
    status, out, _ = promote(corpus, path)
    assert status == 0
    assert f"already in the corpus as fuzz/buffer-no-overlap-{digest(OVERLAP)[:10]}; nothing to do" in out
    assert "0 vectors added, 1 already present" in out
    assert (corpus / "manifest.json").read_bytes() == manifest
    assert sorted((corpus / "fuzz").iterdir()) == kept


def test_a_file_the_corpus_has_is_not_added_again(corpus: Path) -> None:
    before = _findings(corpus)
    status, out, _ = promote(corpus, corpus / "files" / "buffer" / "overlap-tied.safetensors")
    assert status == 0
    assert "already in the corpus as buffer/overlap-tied" in out
    assert _findings(corpus) == before


def test_vectors_build_keeps_promoted_findings(corpus: Path, tmp_path: Path) -> None:
    assert promote(corpus, finding(tmp_path, "valid", VALID))[0] == 0
    before = (corpus / "manifest.json").read_bytes()
    assert main(["vectors", "build", "--dir", str(corpus)], io.StringIO(), io.StringIO()) == 0
    assert (corpus / "manifest.json").read_bytes() == before
    assert list(lint(corpus, synthetic=False, regenerate=True)) == []


@pytest.mark.parametrize(
    ("name", "content", "sidecar", "blamed", "problem"),
    [
        pytest.param("absent", None, None, ".bin", "no such file", id="missing-file"),
        pytest.param(
            "big", b"\0" * (MAX_FILE_BYTES + 1), None, ".bin", f"{MAX_FILE_BYTES + 1:,} bytes, over the", id="too-big"
        ),
        pytest.param(
            "sidecar", OVERLAP, {**SIDECAR, "target": "other"}, ".json", "not a finding's sidecar", id="bad-sidecar"
        ),
    ],
)
def test_a_finding_that_cannot_be_promoted_changes_nothing(
    corpus: Path,
    tmp_path: Path,
    name: str,
    content: bytes | None,
    sidecar: dict[str, Any] | None,
    blamed: str,
    problem: str,
) -> None:
    good = finding(tmp_path, "valid", VALID)
    bad = tmp_path / f"{name}.bin" if content is None else finding(tmp_path, name, content, sidecar)
    manifest = (corpus / "manifest.json").read_bytes()
    before = _findings(corpus)
    with pytest.raises(PromotionError) as caught:
        promote_files([good, bad], corpus)
    assert caught.value.path == bad.with_suffix(blamed)
    assert caught.value.problem.startswith(problem)
    status, out, err = promote(corpus, good, bad)
    assert (status, out) == (2, "")
    assert str(bad.with_suffix(blamed)) in err
    assert (corpus / "manifest.json").read_bytes() == manifest
    assert _findings(corpus) == before


#: Committed vectors whose outcome promotion would not reproduce, with why (kept true: each must
#: still differ as stated).
DIFFERENT = {
    # f6-bit-order is about how readers interpret values, which no file shows; F6 data is valid
    # in every other vector of the corpus, and so in a finding.
    "dtypes/f6-e2m3-bit-order": ("acceptable", "valid"),
    "dtypes/f6-e3m2-bit-order": ("acceptable", "valid"),
}
#: Committed vectors promotion refuses, with the start of its reason (kept true as well): a
#: finding with more findings than the reference lists is to be minimized first, but the corpus
#: holds two on purpose, to test the limit itself.
REFUSED = {
    "scale/non-object-entries-1001": "it has more findings than the reader reports",
    "scale/misaligned-control-names-501": "it has more findings than the reader reports",
}


def test_promotion_judges_the_committed_vectors_as_the_corpus_does() -> None:
    vectors = load_corpus().vectors
    assert set(DIFFERENT) | set(REFUSED) <= {v.id for v in vectors if v.file is not None}
    for vector in vectors:
        if vector.file is None:
            continue
        if vector.id in REFUSED:
            with pytest.raises(ValueError, match=f"^{re.escape(REFUSED[vector.id])}"):
                judge((VECTORS / vector.file).read_bytes())
            continue
        judgement = judge((VECTORS / vector.file).read_bytes())
        if vector.id in DIFFERENT:
            assert (vector.expect, judgement.expect) == DIFFERENT[vector.id]
            continue
        assert judgement.expect == vector.expect, vector.id
        if vector.expect == "invalid":
            assert judgement.requirements == vector.requirements, vector.id
        else:
            assert vector.expected is not None
            assert judgement.expected is not None
            assert judgement.expected.digest == vector.expected.digest, vector.id
        if vector.expect == "acceptable":
            assert set(judgement.flags) == set(vector.flags), vector.id
