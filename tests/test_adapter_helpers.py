"""What a user needs to write an adapter: conversions, honest capabilities, the walk-through's example."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest
import torch

from safetensors_conformance.adapters import (
    DTYPES,
    Capabilities,
    UnknownDtype,
    from_buffer,
    from_numpy,
    from_torch,
)
from safetensors_conformance.adapters.external import OneShotAdapter
from safetensors_conformance.adapters.outcome import Digest, Outcome, TensorDigest
from safetensors_conformance.corpus import load_corpus
from safetensors_conformance.corpus.model import content_digest
from safetensors_conformance.runner import Verdict, judge

ROOT = Path(__file__).resolve().parent.parent
CORPUS = load_corpus()


def test_from_torch_gives_the_files_shape_for_packed_f4() -> None:
    packed = torch.tensor([[0xC2, 0x17]], dtype=torch.uint8).view(torch.float4_e2m1fn_x2)
    tensor = from_torch("w", packed)
    assert (tensor.dtype, tensor.shape, tensor.data) == ("F4", (1, 4), b"\xc2\x17")
    bf16 = from_torch("b", torch.tensor([1.0], dtype=torch.bfloat16))
    assert (bf16.dtype, bf16.shape, bf16.data) == ("BF16", (1,), b"\x80\x3f")
    assert from_torch("e", torch.zeros((0, 3))).data == b""


def test_from_numpy_knows_ml_dtypes_and_takes_the_dtype_when_the_library_changes_it() -> None:
    fp8 = np.array([1.0], dtype=ml_dtypes.float8_e4m3fn)
    assert from_numpy("f", fp8)[1:] == ("F8_E4M3", (1,), b"\x38")
    as_bytes = fp8.view(np.uint8)  # what MLX hands back
    assert from_numpy("f", as_bytes, dtype="F8_E4M3")[1:] == ("F8_E4M3", (1,), b"\x38")
    assert from_numpy("s", np.array(7, dtype=np.int64)).shape == ()  # a scalar stays a scalar
    big_endian = np.array([1], dtype=">u2")
    assert from_numpy("u", big_endian).data == b"\x01\x00"  # the file's byte order


def test_unknown_dtypes_are_errors_that_say_so() -> None:
    with pytest.raises(UnknownDtype, match="'F128' is not a safetensors dtype"):
        from_buffer("x", "F128", (1,), b"")
    with pytest.raises(UnknownDtype, match="has no safetensors code"):
        from_numpy("x", np.array(["a"]))
    assert set(DTYPES) == Capabilities().dtypes  # every dtype unless declared otherwise


def test_an_empty_dtype_set_means_none_and_skips() -> None:
    vector = CORPUS.get("dtypes/f32-sample")
    expected = CORPUS.expected(vector)
    from safetensors_conformance.runner.verdicts import unsupported_dtypes  # noqa: PLC0415

    assert unsupported_dtypes(expected, Capabilities("full", frozenset())) == {"F32"}
    assert unsupported_dtypes(expected, Capabilities("full")) == set()


def test_a_reader_without_metadata_is_judged_on_the_rest() -> None:
    vector = CORPUS.get("examples/metadata-and-scalar")
    expected = CORPUS.expected(vector)
    assert expected is not None
    assert expected.metadata
    listing = Outcome("accepted", tuple(expected.tensors), None)
    blind = Capabilities("full", metadata=False)
    assert judge(vector, expected, listing, blind, {}).verdict is Verdict.PASS
    assert judge(vector, expected, listing, Capabilities("full"), {}).verdict is Verdict.FAIL_WRONG_CONTENT
    digest = Outcome("accepted", None, None, Digest(1, content_digest(expected.tensors, None)))
    assert judge(vector, expected, digest, blind, {}).verdict is Verdict.PASS
    wrong = (TensorDigest("step", "I64", (), 8, "0" * 64),)
    assert judge(vector, expected, Outcome("accepted", wrong, None), blind, {}).verdict is Verdict.FAIL_WRONG_CONTENT


def test_a_program_without_describe_is_not_run(tmp_path: Path) -> None:
    program = tmp_path / "reader.py"
    program.write_text('import sys\nprint(\'{"outcome": "rejected"}\')\nsys.exit(1)\n')
    described = OneShotAdapter("cmd:x", [sys.executable, str(program)]).describe()
    assert not described.available
    assert described.reason is not None
    assert "--describe' printed no description" in described.reason


# --- The walk-through's example works as written ---------------------------------------------------

LIBRARY = '''
"""A stand-in for a user's library: the reference reader behind another API."""
import numpy as np
from safetensors_conformance import FormatError as _Invalid, load as _load

__version__ = "1.0"

class FormatError(ValueError):
    pass

class DtypeNotSupported(Exception):
    pass

def load(path):
    try:
        tensors, metadata = _load(path)
    except _Invalid as error:
        raise FormatError(str(error)) from error
    arrays = {}
    for name, t in tensors.items():
        if t.dtype not in ("F32", "F16", "I64", "U8"):
            raise DtypeNotSupported(t.dtype)
        code = {"F32": "<f4", "F16": "<f2", "I64": "<i8", "U8": "u1"}[t.dtype]
        arrays[name] = np.frombuffer(t.data, dtype=code).reshape(t.shape)
    return arrays, metadata
'''


def test_the_walk_through_example_certifies(tmp_path: Path) -> None:
    text = (ROOT / "docs" / "writing-an-adapter.md").read_text()
    example = re.search(r"```python\n(.*?)```", text, re.DOTALL)
    assert example is not None
    (tmp_path / "my_adapter.py").write_text(example.group(1))
    (tmp_path / "my_library.py").write_text(LIBRARY)
    done = subprocess.run(
        [sys.executable, "-m", "safetensors_conformance", "run", "--impl", "my_adapter:MyReader", "--group",
         "examples", "--group", "buffer", "--out", str(tmp_path / "out"), "--quiet"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert "not run" not in done.stdout, done.stdout + done.stderr
    assert done.returncode == 0, done.stdout + done.stderr
    listed = subprocess.run(
        [sys.executable, "-m", "safetensors_conformance", "adapters", "my_adapter:MyReader"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert "my-library" in listed.stdout
