"""The index file's JSON Schema: real indexes pass, bad ones fail, and it agrees with the validator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safetensors_conformance._resources import data_path
from safetensors_conformance.checkpoint import CkptReq, check_index
from safetensors_conformance.checkpoint.fixtures import CASES, INDEX
from safetensors_conformance.checkpoint.names import name_problem

SCHEMA = json.loads(data_path("schema", "checkpoint-index.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
#: The checkpoint requirements a schema can express (the rest are lexical or about files).
EXPRESSIBLE = {
    CkptReq.INDEX_ROOT, CkptReq.INDEX_WEIGHT_MAP, CkptReq.INDEX_METADATA, CkptReq.INDEX_TOTAL_SIZE, CkptReq.SHARD_NAME,
}  # fmt: skip


def test_schema_is_valid_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_every_rule_names_its_requirement() -> None:
    def comments(node: Any) -> list[str]:
        if isinstance(node, dict):
            return [node.get("$comment", "")] + [c for value in node.values() for c in comments(value)]
        if isinstance(node, list):
            return [c for value in node for c in comments(value)]
        return []

    text = " ".join(comments(SCHEMA))
    assert {r for r in EXPRESSIBLE if r.value not in text} == set()


# --- Index files written by the Hugging Face library ----------------------------------------------


@pytest.fixture(scope="module")
def hf_indexes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Index files from huggingface_hub's writers, and one in transformers' save_pretrained layout."""
    torch = pytest.importorskip("torch")
    hub = pytest.importorskip("huggingface_hub")
    generator = torch.Generator().manual_seed(0)
    state_dict = {f"layers.{i}.weight": torch.randn(16, 16, generator=generator) for i in range(3)}
    state_dict["norm.weight"] = torch.ones(16, dtype=torch.bfloat16)
    paths: dict[str, Path] = {}
    plain = tmp_path_factory.mktemp("plain")
    hub.save_torch_state_dict(state_dict, plain, max_shard_size=1100)
    paths["save_torch_state_dict"] = plain / INDEX

    class Tied(torch.nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.embed = torch.nn.Embedding(32, 16)
            self.head = torch.nn.Linear(16, 32, bias=False)
            self.head.weight = self.embed.weight
            self.mid = torch.nn.Linear(16, 16)

    tied = tmp_path_factory.mktemp("tied")
    hub.save_torch_model(Tied(), tied, max_shard_size=1500)
    paths["save_torch_model-tied"] = tied / INDEX
    split = hub.split_torch_state_dict_into_shards(state_dict, max_shard_size=1100)
    styled = tmp_path_factory.mktemp("transformers") / INDEX
    index = {"metadata": {"total_parameters": 784, **split.metadata}, "weight_map": split.tensor_to_filename}
    styled.write_text(json.dumps(index, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    paths["save_pretrained-layout"] = styled
    return paths


@pytest.mark.parametrize("writer", ["save_torch_state_dict", "save_torch_model-tied", "save_pretrained-layout"])
def test_hugging_face_indexes_validate(hf_indexes: dict[str, Path], writer: str) -> None:
    data = hf_indexes[writer].read_bytes()
    VALIDATOR.validate(json.loads(data))
    report = check_index(data, INDEX)
    assert report.findings == ()
    assert report.entries
    assert report.total_size is not None


def test_the_example_checkpoints_indexes_agree_with_the_schema(tmp_path: Path) -> None:
    """Every example index the validator finds well formed (as far as a schema can see) passes the
    schema, and every one it faults on an expressible requirement fails it."""
    seen = 0
    for example in CASES:
        directory = tmp_path / example.id.replace("/", "_")
        directory.mkdir()
        example.build(directory, tmp_path / "canary.safetensors")
        index = directory / INDEX
        if not index.is_file() or index.is_symlink():
            continue
        data = index.read_bytes()
        try:
            document = json.loads(data)
        except ValueError:
            continue  # not JSON: nothing for a schema to see
        broken = {f.requirement for f in check_index(data, INDEX).findings} & EXPRESSIBLE
        broken |= {CkptReq.SHARD_NAME for e in example.violations if e.requirement == "CKPT-SHARD-NAME"}
        lexical = example.id in {"index/total-size-float"}  # 8.0 is an integer to JSON Schema
        assert VALIDATOR.is_valid(document) is (not broken or lexical), example.id
        seen += 1
    assert seen >= 30


REJECTED = {
    "root-array": [],
    "root-string": "weights",
    "no-weight-map": {"metadata": {}},
    "weight-map-array": {"weight_map": [["a", "x.safetensors"]]},
    "weight-map-null": {"weight_map": None},
    "shard-number": {"weight_map": {"a": 1}},
    "shard-null": {"weight_map": {"a": None}},
    "shard-dotdot": {"weight_map": {"a": "../x.safetensors"}},
    "shard-absolute": {"weight_map": {"a": "/tmp/x.safetensors"}},
    "shard-backslash": {"weight_map": {"a": "..\\x.safetensors"}},
    "shard-subdirectory": {"weight_map": {"a": "sub/x.safetensors"}},
    "shard-drive": {"weight_map": {"a": "C:x.safetensors"}},
    "shard-nul": {"weight_map": {"a": "x\u0000.safetensors"}},
    "shard-line-feed": {"weight_map": {"a": "x.safetensors\n"}},
    "shard-pickle": {"weight_map": {"a": "pytorch_model.bin"}},
    "shard-upper-extension": {"weight_map": {"a": "x.SAFETENSORS"}},
    "shard-device": {"weight_map": {"a": "Aux.safetensors"}},
    "shard-fullwidth-solidus": {"weight_map": {"a": "..\uff0fx.safetensors"}},
    "metadata-null": {"metadata": None, "weight_map": {}},
    "metadata-array": {"metadata": [], "weight_map": {}},
    "total-size-string": {"metadata": {"total_size": "8"}, "weight_map": {}},
    "total-size-negative": {"metadata": {"total_size": -1}, "weight_map": {}},
    "total-size-fraction": {"metadata": {"total_size": 8.5}, "weight_map": {}},
    "total-size-2-pow-64": {"metadata": {"total_size": 2**64}, "weight_map": {}},
    "total-size-bool": {"metadata": {"total_size": True}, "weight_map": {}},
}
ACCEPTED = {
    "empty-weight-map": {"weight_map": {}},
    "no-metadata": {"weight_map": {"a": "model-00001-of-00002.safetensors"}},
    "metadata-free-form": {"metadata": {"total_parameters": 3, "lm_head.weight": "a", "x": [1, {}]}, "weight_map": {}},
    "unknown-root-member": {"weight_map": {}, "master_weights": False},
    "total-size-max": {"metadata": {"total_size": 2**64 - 1}, "weight_map": {}},
    "percent-name": {"weight_map": {"a": "..%2Fx.safetensors"}},
    "tensor-name-with-slash": {"weight_map": {"model/layer.weight": "x.safetensors"}},
}


@pytest.mark.parametrize("document", REJECTED.values(), ids=REJECTED.keys())
def test_schema_rejects(document: object) -> None:
    assert not VALIDATOR.is_valid(document)
    assert check_index(json.dumps(document).encode(), INDEX).findings != () or _bad_reference(document)


@pytest.mark.parametrize("document", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_schema_accepts(document: object) -> None:
    assert VALIDATOR.is_valid(document)
    report = check_index(json.dumps(document).encode(), INDEX)
    assert {f.requirement for f in report.findings} <= {CkptReq.INDEX_MEMBERS_KNOWN}


def _bad_reference(document: object) -> bool:
    """Reference names are checked by the directory validator, not by the index reader."""
    assert isinstance(document, dict)
    return any(name_problem(reference) is not None for reference in document["weight_map"].values())


#: Pieces of shard references: portable characters, separators, controls, non-ASCII, device names.
NAME_PIECES = st.sampled_from(
    [*"abzAZ09._- %~", "/", "\\", ":", "\x00", "\x1f", "\x7f", "\u00e9", "\uff0f", "\n", "CON", "nul", "Lpt7"]
)
SUFFIXES = st.sampled_from([".safetensors", ".SAFETENSORS", "", ".bin"])


@settings(max_examples=500, deadline=None)
@given(st.lists(NAME_PIECES, max_size=6).map("".join), SUFFIXES)
def test_the_reference_pattern_is_the_validators_rule(stem: str, suffix: str) -> None:
    reference = stem + suffix
    assert VALIDATOR.is_valid({"weight_map": {"t": reference}}) is (name_problem(reference) is None)
