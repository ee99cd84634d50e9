"""Large inputs: the header length limit exactly, and files far larger than the header."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from safetensors_conformance import Req, check
from safetensors_conformance.format.limits import MAX_HEADER_LENGTH

pytestmark = pytest.mark.slow
GIB = 1 << 30


def sparse_model(path: Path, tensors: int, tensor_bytes: int) -> int:
    """A conforming file whose buffer is a hole; returns the header length."""
    header = {
        f"layer.{i}": {
            "dtype": "U8",
            "shape": [tensor_bytes],
            "data_offsets": [i * tensor_bytes, (i + 1) * tensor_bytes],
        }
        for i in range(tensors)
    }
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with path.open("wb") as out:
        out.write(len(text).to_bytes(8, "little") + text)
        out.truncate(8 + len(text) + tensors * tensor_bytes)
    return len(text)


def test_ten_gib_file_validates_in_memory_near_the_header_size(tmp_path: Path) -> None:
    path = tmp_path / "big.safetensors"
    header_length = sparse_model(path, 10, GIB)
    assert path.stat().st_size > 10 * GIB
    script = textwrap.dedent(
        f"""
        import resource, sys
        from safetensors_conformance import check
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        report = check({str(path)!r})
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(report.conforms, after - before)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    conforms, growth_kib = done.stdout.split()
    assert conforms == "True"
    assert header_length < 4096
    assert int(growth_kib) < 8 * 1024  # a few MiB at most, nothing like the 10 GiB buffer


def test_header_of_exactly_the_limit_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "limit.safetensors"
    text = b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}'
    with path.open("wb") as out:
        out.write(MAX_HEADER_LENGTH.to_bytes(8, "little") + text)
        out.write(b" " * (MAX_HEADER_LENGTH - len(text)))
        out.write(b"x")
    report = check(path)
    assert report.conforms, report.violations


def test_header_one_byte_over_the_limit_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "over.safetensors"
    with path.open("wb") as out:
        out.write((MAX_HEADER_LENGTH + 1).to_bytes(8, "little"))
        out.truncate(8 + MAX_HEADER_LENGTH + 1)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = check(path)
    assert [(v.requirement, v.offset) for v in report.violations] == [(Req.LAYOUT_HEADER_LIMIT, 0)]
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50 * 1024


def test_a_million_tensors(tmp_path: Path) -> None:
    path = tmp_path / "million.safetensors"
    sparse_model(path, 1_000_000, 1)
    report = check(path, keep_tensors=False)
    assert report.conforms
    assert report.header is not None
    assert len(report.header) == 1_000_000
