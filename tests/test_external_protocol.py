"""The external-program protocol: its schema, the runner's parser, and a real program's messages."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safetensors_conformance import Tensor, load, write_file
from safetensors_conformance._resources import data_path
from safetensors_conformance.adapters.external import ProgramSession
from safetensors_conformance.adapters.outcome import ProtocolError, parse_reply
from safetensors_conformance.corpus import load_corpus
from safetensors_conformance.corpus.model import content_digest

SCHEMA = json.loads(data_path("schema", "external-protocol.schema.json").read_text())
ROOT = Path(__file__).resolve().parent.parent
SHA = "ab" * 32


def validator(definition: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(
        {"$schema": SCHEMA["$schema"], "$defs": SCHEMA["$defs"], "$ref": f"#/$defs/{definition}"}
    )


def test_schema_is_valid_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


GOOD_RESULTS: list[dict[str, Any]] = [
    {
        "outcome": "accepted",
        "tensors": [{"name": "w", "dtype": "F32", "shape": [2], "nbytes": 8, "sha256": SHA}],
        "metadata": None,
    },
    {
        "outcome": "accepted",
        "tensors": [{"name": "w", "dtype": "F32", "shape": [2], "data": "AAAAAAAAAAA="}],
        "metadata": {"k": "v"},
    },
    {"outcome": "accepted", "tensors": [{"name": "w", "dtype": "F32", "shape": []}], "metadata": None},
    {"outcome": "accepted", "tensors": None},
    {"outcome": "accepted", "digest": {"count": 3, "sha256": SHA}, "metadata": None},
    {"outcome": "rejected", "error": "bad header", "error_type": "HeaderError"},
    {"outcome": "rejected", "error": "index out of range", "unexpected": True},
    {"outcome": "unsupported", "error": "no BF16"},
    {"outcome": "memory-limit"},
]
# Each bad result, and the field its ProtocolError must name.
BAD_RESULTS: list[tuple[dict[str, Any], str]] = [
    ({"outcome": "maybe"}, "'outcome'"),
    ({"outcome": "accepted"}, "'tensors'"),
    ({"outcome": "accepted", "tensors": [{"name": "w", "dtype": "F32", "shape": [2], "sha256": SHA}]}, "'nbytes'"),
    ({"outcome": "accepted", "tensors": [{"name": 1, "dtype": "F32", "shape": [2]}]}, "'name'"),
    ({"outcome": "rejected", "error": 5}, "'error'"),
    (
        {
            "outcome": "accepted",
            "tensors": [{"name": "w", "dtype": "U8", "shape": [1], "nbytes": 1, "sha256": "zz" * 32}],
        },
        "'sha256'",
    ),
    ({"outcome": "accepted", "digest": {"count": 3, "sha256": "g" * 64}, "metadata": None}, "'digest'"),
]


@pytest.mark.parametrize("message", GOOD_RESULTS)
def test_good_results_pass_the_schema_and_the_parser(message: dict[str, Any]) -> None:
    assert validator("result").is_valid(message)
    assert parse_reply(message).kind == message["outcome"]


@pytest.mark.parametrize(("message", "field"), BAD_RESULTS)
def test_bad_results_fail_the_schema_and_the_parser(message: dict[str, Any], field: str) -> None:
    assert not validator("result").is_valid(message)
    with pytest.raises(ProtocolError, match=re.escape(field)):
        parse_reply(message)


#: Replies the schema refuses but that are an implementation's content, not a broken protocol:
#: the runner judges them (wrong content, or an accepted invalid file), as it does for Python adapters.
NOT_CONTENT = [
    (
        {"outcome": "accepted", "tensors": [{"name": "w", "dtype": "F32", "shape": [-1], "nbytes": 0, "sha256": SHA}]},
        "tensor 'w': dimension -1 is negative",
    ),
    (
        {"outcome": "accepted", "tensors": [{"name": "w", "dtype": "F32", "shape": [2.0], "nbytes": 8, "sha256": SHA}]},
        "tensor 'w': dimension 2.0 is not an integer",
    ),
    (
        {
            "outcome": "accepted",
            "tensors": [{"name": "w", "dtype": "F32", "shape": [True], "nbytes": 4, "sha256": SHA}],
        },
        "tensor 'w': dimension True is a boolean",
    ),
    ({"outcome": "accepted", "tensors": [], "metadata": {"k": 1}}, "metadata entry 'k': 1 is not a pair of strings"),
    ({"outcome": "accepted", "tensors": [], "metadata": ["k"]}, "metadata ['k'] is not a mapping"),
]


@pytest.mark.parametrize(("message", "problem"), NOT_CONTENT)
def test_content_that_is_not_content_is_evidence_not_a_protocol_error(message: dict[str, Any], problem: str) -> None:
    outcome = parse_reply(message)
    assert (outcome.kind, outcome.malformed) == ("accepted", problem)
    assert parse_reply(outcome.to_json()) == outcome  # the worker's reply carries it unchanged


def test_requests_and_replies() -> None:
    requests = validator("request")
    assert requests.is_valid({"seq": 1, "op": "start", "protocol": 1})
    assert requests.is_valid({"seq": 2, "op": "load", "path": "/x.safetensors"})
    assert requests.is_valid({"seq": 3, "op": "stop"})
    assert not requests.is_valid({"seq": 2, "op": "load"})
    replies = validator("reply")
    assert replies.is_valid({"seq": 1, "started": {"implementation": "r", "version": "1"}})
    assert replies.is_valid({"seq": 2, "outcome": "rejected", "error": "no"})
    assert replies.is_valid({"seq": 3, "stopped": True})
    assert not replies.is_valid({"outcome": "rejected"})


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_the_javascript_reader_speaks_the_protocol() -> None:
    program = ["node", str(ROOT / "examples" / "js-reader" / "reader.mjs")]
    described = subprocess.run([*program, "--describe"], capture_output=True, text=True, check=True)
    assert validator("description").is_valid(json.loads(described.stdout))
    corpus = load_corpus()
    for vector_id, status in (("examples/minimal", 0), ("buffer/overlap-tied", 1)):
        done = subprocess.run(
            [*program, str(corpus.path(corpus.get(vector_id)))], capture_output=True, text=True, check=False
        )
        assert done.returncode == status
        assert validator("result").is_valid(json.loads(done.stdout))
    served = subprocess.run(
        [*program, "--serve"],
        input="\n".join(
            json.dumps(m)
            for m in (
                {"seq": 1, "op": "start", "protocol": 1},
                {"seq": 2, "op": "load", "path": str(corpus.path(corpus.get("examples/minimal")))},
                {"seq": 3, "op": "stop"},
            )
        )
        + "\n",
        capture_output=True,
        text=True,
        check=True,
    )
    replies = [json.loads(line) for line in served.stdout.splitlines()]
    assert [r["seq"] for r in replies] == [1, 2, 3]
    assert all(validator("reply").is_valid(r) for r in replies)


rows = st.lists(
    st.tuples(
        st.text(max_size=6),
        st.sampled_from(["U8", "F32", "BF16", "F8_E4M3"]),
        st.lists(st.integers(0, 2**40), max_size=3).map(tuple),
        st.none() | st.integers(0, 2**40),
        st.none() | st.text("0123456789abcdef", min_size=64, max_size=64),
    ),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(rows, st.none() | st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=3))
def test_content_digest_is_the_documented_hash(
    tensors: list[tuple[str, str, tuple[int, ...], int | None, str | None]], metadata: dict[str, str] | None
) -> None:
    """docs/external-protocol.md, spelled out with json.dumps: what another language computes."""
    compact = {"separators": (",", ":"), "ensure_ascii": True}
    lines = "".join(
        json.dumps([n, d, list(s), b, h], **compact) + "\n" for n, d, s, b, h in sorted(tensors, key=lambda t: t[0])
    )  # type: ignore[arg-type]
    text = lines + json.dumps(metadata or {}, sort_keys=True, **compact)  # type: ignore[arg-type]
    assert content_digest(tensors, metadata) == hashlib.sha256(text.encode("ascii")).hexdigest()


SLOW_REPLIER = r"""
import json, sys, time
for line in sys.stdin:
    request = json.loads(line)
    if request["op"] == "start":
        print(json.dumps({"seq": request["seq"], "started": {"implementation": "slow", "version": "0"}}), flush=True)
    elif request["op"] == "load":
        metadata = {"k": "x" * 5_000_000}
        reply = json.dumps({"seq": request["seq"], "outcome": "accepted", "tensors": [], "metadata": metadata})
        half = len(reply) // 2
        sys.stdout.write(reply[:half]); sys.stdout.flush(); time.sleep(0.1)
        sys.stdout.write(reply[half:] + "\n"); sys.stdout.flush()
    else:
        break
"""


def test_a_long_reply_in_pieces_is_read_whole() -> None:
    """A 5 MB reply line arriving in many reads, with a pause inside it, is one reply."""
    session = ProgramSession([sys.executable, "-c", SLOW_REPLIER], timeout=30, memory_limit=None)
    try:
        assert session.start().available
        for _ in range(2):
            outcome = session.load("/unused")
            assert outcome.kind == "accepted"
            assert outcome.metadata == {"k": "x" * 5_000_000}
    finally:
        session.close()


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_the_javascript_readers_digest_matches(tmp_path: Path) -> None:
    """Above 10,000 tensors the JS reader sends a digest. Names beyond U+FFFF sort differently by
    UTF-16 unit than by code point, and integer-like metadata keys come first in a JS object: the
    digest must still be the one the runner computes."""
    tensors = {f"t{i}": Tensor("U8", (1,), bytes([i % 256])) for i in range(10_001)}
    for name in ("\U0001f600", "\uffff", "\x7f", "é", 'q"\\'):
        tensors[name] = Tensor("U8", (2,), name.encode()[:2].ljust(2, b"\0"))
    metadata = {"10": "a", "9": "b", "\U0001f600": "\x7f", "\ufb01": "é"}
    path = tmp_path / "many.safetensors"
    write_file(path, tensors, metadata)
    done = subprocess.run(
        ["node", str(ROOT / "examples" / "js-reader" / "reader.mjs"), str(path)],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    )
    reply = json.loads(done.stdout)
    assert validator("result").is_valid(reply)
    outcome = parse_reply(reply)
    loaded, _ = load(path)
    rows = [(n, t.dtype, t.shape, len(t.data), hashlib.sha256(t.data).hexdigest()) for n, t in loaded.items()]
    assert outcome.digest is not None
    assert outcome.digest.count == len(tensors)
    assert outcome.digest.sha256 == content_digest(rows, metadata)


def misbehaving(mode: str) -> ProgramSession:
    return ProgramSession(
        [sys.executable, str(ROOT / "tests" / "misbehaving_server.py"), mode], timeout=5, memory_limit=None
    )


def test_a_crash_is_judged_by_its_own_stderr_not_an_earlier_files() -> None:
    session = misbehaving("oom-then-segfault")
    try:
        assert session.start().available
        assert session.load("/first").kind == "rejected"
        crashed = session.load("/second")
        assert crashed.kind == "crash"
        assert "SIGSEGV" in (crashed.detail or "")
    finally:
        session.close()


def test_a_program_that_closes_its_output_but_lives_on_is_a_crash_not_a_hang() -> None:
    session = misbehaving("close-stdout")
    try:
        assert session.start().available
        outcome = session.load("/any", timeout=1)
        assert outcome.kind == "crash"
        assert outcome.detail == "closed its output without exiting"
        assert not session.alive
    finally:
        session.close()


def test_a_persistent_program_that_does_not_exist_is_unavailable(tmp_path: Path) -> None:
    session = ProgramSession([str(tmp_path / "no-such-program")], timeout=5, memory_limit=None)
    description = session.start()
    assert not description.available
    assert (description.reason or "").startswith("cannot run: ")
    assert session.load("/any").kind == "crash"
