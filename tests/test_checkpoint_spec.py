"""The checkpoint part of the spec, its index and the validator's requirement table stay in step."""

from __future__ import annotations

import io
import re

import pytest

from safetensors_conformance.checkpoint.fixtures import CASES
from safetensors_conformance.checkpoint.requirements import PRECEDENCE, SHOULD_LEVEL, CkptFlag, CkptReq
from safetensors_conformance.cli import main
from safetensors_conformance.spec import (
    CHECKPOINT_INDEX_FILE,
    CHECKPOINT_SPEC_FILE,
    load_all,
    load_checkpoint_index,
    load_index,
    lookup,
    parse_markdown,
    render_index,
    requirement_text,
    spec_path,
)
from safetensors_conformance.spec import main as spec_main

SPEC_DIR = spec_path().parent
SPEC = (SPEC_DIR / CHECKPOINT_SPEC_FILE[1]).read_text(encoding="utf-8")
INDEX = load_checkpoint_index()
#: Loader and writer requirements are about behaviour, not about a checkpoint's files: a validator
#: cannot see them (the checkpoint adapters and vectors certify them).
BEHAVIOUR_SCOPES = {"loader", "writer"}


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), out, err)
    return status, out.getvalue(), err.getvalue()


def test_index_is_generated_from_the_markdown() -> None:
    version, requirements = parse_markdown(SPEC, CHECKPOINT_SPEC_FILE[1])
    rendered = render_index(version, requirements, CHECKPOINT_SPEC_FILE[1])
    assert (SPEC_DIR / CHECKPOINT_INDEX_FILE[1]).read_text(encoding="utf-8") == rendered
    assert version == "1.0.0"
    assert spec_main(["--check"]) == 0


def test_ids_are_prefixed_unique_and_anchored() -> None:
    _, requirements = parse_markdown(SPEC, CHECKPOINT_SPEC_FILE[1])
    ids = [r.id for r in requirements]
    assert len(ids) == len(set(ids)) == len(re.findall(r'<a id="([^"]+)"></a>', SPEC))
    assert all(i.startswith("CKPT-") for i in ids)
    assert set(ids).isdisjoint(load_index())


def test_every_requirement_mentioned_exists_in_some_part() -> None:
    mentioned = set(re.findall(r"`([A-Z][A-Z0-9]+(?:-[A-Z0-9]+)+)`", SPEC))
    assert mentioned - load_all().keys() == set()


def test_the_validator_checks_exactly_the_checkpoint_requirements() -> None:
    checked = [r.value for r in CkptReq]
    in_spec = [r.id for r in INDEX.values() if r.scope == "checkpoint"]
    assert checked == in_spec  # same set, and the enum's order is the document's (precedence)
    assert {r.scope for r in INDEX.values()} == {"checkpoint", *BEHAVIOUR_SCOPES}
    assert sorted(CkptReq, key=PRECEDENCE.__getitem__) == list(CkptReq)


def test_warning_levels_match_the_spec() -> None:
    assert {r.value for r in SHOULD_LEVEL} == {r.id for r in INDEX.values() if r.scope == "checkpoint" and r.is_warning}


def test_flags_are_the_table_of_section_11() -> None:
    table = SPEC[SPEC.index("## 11.") : SPEC.index("## 12.")]
    defined = set(re.findall(r"^\| `([a-z0-9-]+)` \| `([A-Z0-9-]+)`", table, re.MULTILINE))
    used = {(flag, r.id) for r in INDEX.values() for flag in r.flags}
    assert used == defined
    assert {f.value for f in CkptFlag} == {flag for flag, _ in defined}


def test_lookup_and_cite_cover_both_parts() -> None:
    requirement = lookup("ckpt-shard-name")
    assert requirement is not None
    assert requirement.document == "checkpoint.md"
    assert requirement.url.endswith("/spec/checkpoint.md#ckpt-shard-name")
    assert lookup("HEADER-UTF8") is not None
    assert "CKPT-SHARD-NAME" not in load_index()  # the file format's index is unchanged
    for item in INDEX.values():
        assert requirement_text(item).startswith(f"**{item.id}** ({item.scope}, {item.level}")
    status, out, _ = run_cli("cite", "CKPT-FILE-LINK")
    assert status == 0
    assert out.startswith("CKPT-FILE-LINK — checkpoint requirement, MUST (§3. Checkpoint files)\nfile://")
    assert "#ckpt-file-link\n" in out
    assert "*Note.* The Hugging Face cache" in out


def test_cite_suggests_close_checkpoint_ids() -> None:
    status, _, err = run_cli("cite", "CKPT-SHARD-NAMES")
    assert status == 2
    assert "did you mean CKPT-SHARD-NAME" in err


@pytest.mark.parametrize("requirement", sorted(r.id for r in INDEX.values() if r.scope == "checkpoint"))
def test_every_checkpoint_requirement_is_broken_by_an_example(requirement: str) -> None:
    """Each checkpoint requirement is broken by at least one example checkpoint (the seeds of the
    checkpoint vectors)."""
    cited = {e.requirement for c in CASES for e in (*c.violations, *c.warnings)}
    assert requirement in cited
