"""What the reference says about an input, as the vector the runner judges an implementation by.

A fuzz input becomes a :class:`~..corpus.model.Vector` the way the corpus would hold it:
``valid`` with its content when the reference accepts it without findings under a flag;
``invalid`` citing the primary requirement when it rejects it; ``acceptable`` with the flags when
every violation is one a reader MAY accept (spec section 12), with the content a lenient reader
must then return. The runner's ``run_vector`` and ``judge`` do the rest, so a fuzz finding is
exactly a verdict that is a failure.

``f6-bit-order`` leaves only the values of F6 elements to the reader, never acceptance, and raw
bytes must come back unchanged: an F6 input is judged as ``valid``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Final

from ..corpus.build import phase_of, spec_range
from ..corpus.model import Expected, ExpectedTensor, Vector
from ..format import reader
from ..format.header import METADATA_KEY, Header
from ..format.jsontext import decode
from ..format.requirements import Flag, Req
from .framing import FIELDS, frame, split

#: Flags of MUST-level requirements whose files a lenient reader reads as this module does.
_LENIENT: Final = frozenset(
    {Flag.HEADER_LEADING_WHITESPACE, Flag.HEADER_TRAILING_WHITESPACE, Flag.METADATA_NULL, Flag.ENTRY_UNKNOWN_FIELDS}
)
_JSON_WHITESPACE: Final = " \t\n\r"
#: DATA-BOOL is not a requirement the reference checks (values are data): it is named here.
DATA_BOOL: Final = "DATA-BOOL"


@dataclass(frozen=True)
class Oracle:
    """The reference's judgement of one input."""

    vector: Vector
    #: What a reader that accepts the input must return; ``None`` for an invalid input, or for an
    #: acceptable one whose lenient reading could not be derived (then it is not judged).
    expected: Expected | None
    report: reader.Report

    @property
    def accepted(self) -> bool:
        return self.report.conforms

    @property
    def primary(self) -> Req | None:
        return self.report.primary

    @property
    def offset(self) -> int | None:
        """Where the primary violation starts (``None`` for a file the reference accepts)."""
        primary = self.report.primary
        return next((v.offset for v in self.report.violations if v.requirement == primary), None)

    @property
    def judgeable(self) -> bool:
        return self.vector.expect == "invalid" or self.expected is not None

    @property
    def side(self) -> str:
        """The reference's side of an outcome pattern: its primary requirement, ``accepted``, or
        ``acceptable`` with the flags."""
        if self.vector.expect == "invalid":
            return self.vector.requirements[0]
        if self.vector.expect == "acceptable":
            return "acceptable:" + ",".join(self.vector.flags)
        return "accepted"


def judge_input(data: bytes) -> Oracle:
    """The reference's judgement of ``data`` (raises only what the reference itself raises)."""
    report = reader.check(data)
    digest = hashlib.sha256(data).hexdigest()
    if report.conforms:
        assert report.header is not None
        expected = content(report.header, data)
        flagged = {w.flag.value: w.requirement.value for w in report.warnings if w.flag is not None}
        if _bool_values(report.header, data):
            flagged[Flag.BOOL_VALUES.value] = DATA_BOOL
        expect = "acceptable" if flagged else "valid"
        flags = tuple(sorted(flagged))
        requirements = tuple(sorted(set(flagged.values())))
    elif report.primary is not None:
        expect, flags, requirements, expected = "invalid", (), (report.primary.value,), None
    else:
        found = [v for v in (*report.violations, *report.warnings) if v.flag is not None]
        flags = tuple(sorted({v.flag.value for v in found if v.flag is not None}))
        requirements = tuple(sorted({v.requirement.value for v in found}))
        expect = "acceptable"
        expected = lenient_content(data, report)
    vector = Vector(
        id=f"fuzz/{digest[:16]}",
        expect=expect,
        requirements=requirements,
        flags=flags,
        phase=phase_of(expect, requirements),
        description="a fuzz input",
        sha256=digest,
        size=len(data),
        provenance={"source": "fuzz"},
        spec=spec_range(requirements, flags),
        expected=expected,
    )
    return Oracle(vector, expected, report)


def content(header: Header, data: bytes) -> Expected:
    """The tensors (in buffer order) and metadata of a conforming file."""
    start = header.data_start
    tensors = tuple(
        ExpectedTensor.of(name, info.dtype, info.shape, data[start + info.begin : start + info.end])
        for name, info in header.tensors.items()
    )
    return Expected(tensors, header.metadata)


def _bool_values(header: Header, data: bytes) -> bool:
    """DATA-BOOL: a BOOL tensor holds a byte other than 0x00 and 0x01 (flag bool-values)."""
    start = header.data_start
    return any(
        info.dtype == "BOOL" and data[start + info.begin : start + info.end].translate(None, b"\x00\x01")
        for info in header.tensors.values()
    )


def lenient_content(data: bytes, report: reader.Report) -> Expected | None:
    """The content a reader that takes every flag must return (spec section 12): whitespace
    around the value skipped, null metadata absent, unknown fields ignored.

    It is found by writing the header again without what the flags allow and checking that file
    with the reference; ``None`` when a flag is not one of those, or the rewritten file does not
    conform after all.
    """
    if any(v.flag not in _LENIENT for v in report.violations):
        return None
    parts = split(data)
    if parts is None:
        return None
    header_bytes, buffer = parts
    text = header_bytes.decode("utf-8")
    # The reference's decoder: ignored fields may nest deeper than any stack, or hold numbers
    # too long to convert. Objects come back as tuples of pairs.
    root = decode(text, len(text) - len(text.lstrip(_JSON_WHITESPACE))).value
    assert isinstance(root, tuple)
    members: dict[str, object] = {}
    for name, value in root:
        if name == METADATA_KEY:
            if value is not None:
                members[name] = dict(value)
        else:
            members[name] = {field: item for field, item in value if field in FIELDS}
    rebuilt = frame(json.dumps(members, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), buffer)
    again = reader.check(rebuilt)
    if not again.conforms or again.header is None:
        return None
    return content(again.header, rebuilt)
