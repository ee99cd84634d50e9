"""``vectors promote``: a fuzz finding becomes a vector of the corpus.

The reference reader, the oracle of the corpus, decides everything the vector says about readers:

* a file it rejects for an unflagged violation is ``invalid`` and cites the primary requirement;
* a file it rejects only under flags, or accepts with flagged findings (``packed-rows``), or
  accepts although a ``BOOL`` tensor holds bytes other than 0x00 and 0x01 (DATA-BOOL: bytes the
  header checks do not look at) is ``acceptable`` with those flags;
* any other file it accepts is ``valid`` and cites READER-CONTENT.

Expected content is what the reference reads: from the file itself, or, for a file it rejects
only under flags, from the file with the flagged deviations undone, which is how spec section 12
says a reader that accepts it must read it. The campaign's sidecar (``FILE.json``, written by the
fuzz triage) only adds provenance; where its verdict differs from the reference's, the reference
wins and a note says so.

A finding is stored as ``fuzz/NAME.bin`` and ``fuzz/NAME.json`` in the vectors folder (see
``corpus/groups/fuzz.py``) and the corpus is rebuilt. NAME comes from the content, so promoting
the same bytes again changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..format.header import METADATA_KEY
from ..format.jsontext import decode, skip_whitespace
from ..format.limits import HEADER_ALIGNMENT, LENGTH_PREFIX_SIZE
from ..format.reader import Tensor, check
from ..format.requirements import Flag
from ..spec import load_index, spec_version
from ..textout import terminal
from .build import expected_of
from .generate import build, write
from .groups import fuzz
from .lint import MAX_FILE_BYTES, lint
from .model import Expected

#: A finding becomes a committed file, so it must fit the corpus's limit for those.
MAX_FINDING_BYTES = MAX_FILE_BYTES
#: The requirement a valid finding cites: a reader must return exactly what it holds.
VALID_REQUIREMENT = "READER-CONTENT"
#: DATA-BOOL is about tensor bytes, which the reference's checks do not read.
BOOL_REQUIREMENT = "DATA-BOOL"
_TARGETS = ("reference", "differential")
#: A valid finding's description lists this many tensors at most.
_LISTED_TENSORS = 3


class PromotionError(Exception):
    """A finding that cannot be promoted: ``path`` names the file, ``problem`` says why."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


@dataclass(frozen=True)
class Judgement:
    """What the reference reader makes of a file, as a vector."""

    expect: str
    requirements: tuple[str, ...]
    flags: tuple[str, ...]
    description: str
    expected: Expected | None
    #: The reference's verdict, to compare with the campaign's.
    accepted: bool
    primary: str | None


@dataclass(frozen=True)
class Outcome:
    """What promoting one file did; ``added`` is false when the corpus already had it as ``vector_id``."""

    path: Path
    vector_id: str
    added: bool
    judgement: Judgement | None = None
    notes: tuple[str, ...] = ()


# --- The reference's judgement -------------------------------------------------------------------


def judge(content: bytes) -> Judgement:
    """The vector the reference reader makes of ``content``.

    Raises ``ValueError`` when no one vector can say what the file is (then it should be minimized).
    """
    report = check(content)
    if report.unreported_violations or report.unreported_warnings:
        raise ValueError("it has more findings than the reader reports: minimize it first")
    if report.primary is not None:
        violation = next(v for v in report.violations if v.requirement == report.primary)
        return Judgement(
            "invalid",
            (report.primary.value,),
            (),
            _description(violation.message),
            None,
            accepted=False,
            primary=report.primary.value,
        )
    # Accepted, or rejected only under flags: a reader that accepts it must read it as if the
    # flagged deviations were not there.
    findings = [w for w in report.warnings if w.flag is not None] if report.conforms else list(report.violations)
    tensors, metadata = _read(content if report.conforms else _undo_flags(content))
    requirements = [f.requirement.value for f in findings]
    flags = [f.flag.value for f in findings if f.flag is not None]
    what = [f.message for f in findings]
    if any(t.dtype == "BOOL" and t.data.strip(b"\x00\x01") for _, t in tensors):
        if not report.conforms:
            raise ValueError(
                "it has flagged header findings and BOOL bytes other than 0x00 and 0x01, which one vector "
                "cannot carry: minimize it first"
            )
        requirements.append(BOOL_REQUIREMENT)
        flags.append(Flag.BOOL_VALUES.value)
        what.append("a BOOL tensor holds bytes other than 0x00 and 0x01 (readers may reject it: flag bool-values)")
    expected = expected_of(tensors, metadata)
    if not flags:
        return Judgement(
            "valid", (VALID_REQUIREMENT,), (), _description(_summary(expected)), expected, accepted=True, primary=None
        )
    return Judgement(
        "acceptable",
        _in_spec_order(requirements),
        tuple(dict.fromkeys(flags)),
        _description(what[0]),
        expected,
        accepted=report.conforms,
        primary=None,
    )


def _read(content: bytes) -> tuple[list[tuple[str, Tensor]], dict[str, str] | None]:
    """Every tensor in buffer order, and the metadata, as the reference reads a file it accepts."""
    header = check(content).header
    if header is None:
        raise ValueError("the reference cannot read it even with its flagged deviations undone")
    start = header.data_start
    tensors = [
        (name, Tensor(info.dtype, info.shape, content[start + info.begin : start + info.end]))
        for name, info in header.tensors.items()
    ]
    return tensors, header.metadata


def _undo_flags(content: bytes) -> bytes:
    """The file as section 12 says a reader that accepts its flagged deviations reads it: the
    header without leading whitespace, a null ``__metadata__`` or unknown entry fields, padded
    with spaces (which also stands for any JSON whitespace in the padding); the same buffer.

    Only called for a file whose every violation is flagged, so the header is JSON text whose
    names are unique and whose entries have their three fields.
    """
    length = int.from_bytes(content[:LENGTH_PREFIX_SIZE], "little")
    text = content[LENGTH_PREFIX_SIZE : LENGTH_PREFIX_SIZE + length].decode("utf-8")
    root = decode(text, skip_whitespace(text, 0)).value
    assert type(root) is tuple
    document: dict[str, object] = {}
    for name, value in root:
        if name == METADATA_KEY:
            if value is not None:
                document[name] = dict(value)
            continue
        fields = dict(value)
        document[name] = {key: fields[key] for key in ("dtype", "shape", "data_offsets")}
    header = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    header += b" " * (-len(header) % HEADER_ALIGNMENT)
    return len(header).to_bytes(LENGTH_PREFIX_SIZE, "little") + header + content[LENGTH_PREFIX_SIZE + length :]


def _in_spec_order(requirements: Iterable[str]) -> tuple[str, ...]:
    order = {rid: rank for rank, rid in enumerate(load_index())}
    return tuple(sorted(dict.fromkeys(requirements), key=lambda rid: order.get(rid, len(order))))


def _description(text: str) -> str:
    """One printable line: messages quote names, which the fuzzer chose."""
    return "fuzz finding: " + terminal(text)


def _summary(expected: Expected) -> str:
    count = len(expected.tensors)
    shown = [f"{t.dtype} {list(t.shape)}" for t in expected.tensors[:_LISTED_TENSORS]]
    if count > _LISTED_TENSORS:
        shown.append("...")
    listed = f" ({', '.join(shown)})" if shown else ""
    keys = len(expected.metadata or {})
    metadata = f"{keys} metadata key{'' if keys == 1 else 's'}" if expected.metadata is not None else "no metadata"
    return f"a conforming file of {count} tensor{'' if count == 1 else 's'}{listed} and {metadata}"


# --- Findings and their sidecars -----------------------------------------------------------------


def vector_name(judgement: Judgement, content: bytes) -> str:
    """The finding's stable name: the requirement it cites and the start of its hash."""
    return f"{judgement.requirements[0].lower()}-{hashlib.sha256(content).hexdigest()[:10]}"


def read_finding(path: Path) -> tuple[bytes, dict[str, Any] | None]:
    """The finding's bytes, and its sidecar (``FILE.json`` beside ``FILE.bin``) when there is one."""
    if path.suffix == ".json":
        raise PromotionError(path, "give the finding's bytes (FILE.bin), not its sidecar")
    if not path.is_file():
        raise PromotionError(path, "no such file")
    size = path.stat().st_size
    if size > MAX_FINDING_BYTES:
        raise PromotionError(
            path, f"{size:,} bytes, over the {MAX_FINDING_BYTES:,}-byte limit for committed vectors: minimize it first"
        )
    content = path.read_bytes()
    sidecar_path = path.with_suffix(".json")
    if not sidecar_path.is_file():
        return content, None
    try:
        sidecar = json.loads(sidecar_path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise PromotionError(sidecar_path, f"not JSON: {error}") from None
    return content, _checked_sidecar(sidecar, sidecar_path)


def _checked_sidecar(sidecar: object, path: Path) -> dict[str, Any]:
    """The sidecar, if it has the shape the fuzz triage writes."""

    def fail(problem: str) -> PromotionError:
        return PromotionError(path, f"not a finding's sidecar: {problem}")

    if not isinstance(sidecar, dict):
        raise fail("not an object")
    if sidecar.get("target") not in _TARGETS:
        raise fail(f"target must be one of {', '.join(_TARGETS)}")
    if not isinstance(sidecar.get("impl", ""), str | None):
        raise fail("impl must be a string")
    campaign = sidecar.get("campaign")
    if not isinstance(campaign, dict):
        raise fail("campaign must be an object")
    try:
        datetime.fromisoformat(campaign["started"])
    except (KeyError, TypeError, ValueError):
        raise fail("campaign.started must be an ISO 8601 time") from None
    for key in ("seed", "executions"):
        if type(campaign.get(key)) is not int or campaign[key] < 0:
            raise fail(f"campaign.{key} must be a non-negative integer")
    reference = sidecar.get("reference")
    if reference is not None and (
        not isinstance(reference, dict)
        or type(reference.get("accepted")) is not bool
        or not isinstance(reference.get("primary"), str | None)
    ):
        raise fail("reference must be an object with accepted (a boolean) and primary (an ID or null)")
    if not isinstance(sidecar.get("outcomes", {}), dict):
        raise fail("outcomes must be an object")
    return sidecar


def _provenance(name: str, sidecar: dict[str, Any] | None) -> dict[str, Any]:
    provenance: dict[str, Any] = {"source": "fuzz", "detail": f"vectors/{fuzz.files(name)[1]}"}
    if sidecar is not None:
        campaign = sidecar["campaign"]
        provenance["campaign"] = {
            "target": sidecar["target"],
            **({"impl": sidecar["impl"]} if sidecar.get("impl") else {}),
            "started": campaign["started"],
            "seed": campaign["seed"],
            "executions": campaign["executions"],
        }
    return provenance


def _notes(judgement: Judgement, sidecar: dict[str, Any] | None) -> tuple[str, ...]:
    """Where the campaign's reference saw the file differently (a reader fixed since, say)."""
    seen = None if sidecar is None else sidecar.get("reference")
    if seen is None or (seen["accepted"], seen["primary"]) == (judgement.accepted, judgement.primary):
        return ()

    def verdict(accepted: bool, primary: str | None) -> str:
        return "accepts it" if accepted else f"rejects it ({primary or 'flagged findings only'})"

    return (
        f"the campaign's reference {verdict(seen['accepted'], seen['primary'])}, the reference now "
        f"{verdict(judgement.accepted, judgement.primary)}: the vector follows the reference now",
    )


def record(name: str, content: bytes, judgement: Judgement, sidecar: dict[str, Any] | None) -> dict[str, Any]:
    """The finding's record: its manifest entry as promoted, and what the campaign observed."""
    document: dict[str, Any] = {
        "id": f"{fuzz.GROUP}/{name}",
        "sha256": hashlib.sha256(content).hexdigest(),
        "size": len(content),
        "expect": judgement.expect,
        "requirements": list(judgement.requirements),
        "flags": list(judgement.flags),
        "description": judgement.description,
    }
    if judgement.expected is not None:
        document["expected"] = judgement.expected.to_json()
    # Decided by the reference of this spec version; earlier versions may order violations differently.
    document["spec"] = f">={spec_version()}"
    document["provenance"] = _provenance(name, sidecar)
    if sidecar is not None and (sidecar.get("reference") is not None or sidecar.get("outcomes")):
        document["observed"] = {"reference": sidecar.get("reference"), "outcomes": sidecar.get("outcomes", {})}
    return document


# --- Promotion -----------------------------------------------------------------------------------


def promote(paths: Sequence[Path], folder: Path) -> list[Outcome]:
    """Add the findings at ``paths`` to the corpus in the vectors folder ``folder``.

    Every file is read and judged before anything is written, so a bad one changes nothing; so
    does a new vector that ``vectors check`` would not pass (the folder is put back as it was).
    """
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    known = {vector["sha256"]: vector["id"] for vector in manifest["vectors"]}
    retired_path = folder / "retired.txt"
    retired = (
        {line.split("#")[0].strip() for line in retired_path.read_text(encoding="utf-8").splitlines()}
        if retired_path.exists()
        else set()
    )
    outcomes: list[Outcome] = []
    new: dict[str, bytes] = {}
    for path in paths:
        content, sidecar = read_finding(path)
        try:
            judgement = judge(content)
        except ValueError as error:
            raise PromotionError(path, str(error)) from None
        except Exception as error:
            # The oracle must only ever accept or reject: this finding is a bug of the reader.
            raise PromotionError(
                path, f"the reference reader fails on it ({type(error).__name__}: {error}): fix the reader first"
            ) from error
        name = vector_name(judgement, content)
        vector_id = f"{fuzz.GROUP}/{name}"
        sha256 = hashlib.sha256(content).hexdigest()
        if sha256 in known:
            outcomes.append(Outcome(path, known[sha256], added=False))
            continue
        if vector_id in retired:
            raise PromotionError(path, f"its id {vector_id} was retired and is never used again")
        data_name, record_name = fuzz.files(name)
        known[sha256] = vector_id
        new[data_name] = content
        text = json.dumps(record(name, content, judgement, sidecar), indent=1, ensure_ascii=True) + "\n"
        new[record_name] = text.encode("utf-8")
        outcomes.append(Outcome(path, vector_id, added=True, judgement=judgement, notes=_notes(judgement, sidecar)))
    if new:
        _add(folder, new, [o.vector_id for o in outcomes if o.added])
    return outcomes


def _add(folder: Path, files: dict[str, bytes], ids: list[str]) -> None:
    """Write the findings, rebuild the corpus, and check the new vectors; undo it all if they fail."""
    (folder / fuzz.FOLDER).mkdir(exist_ok=True)
    for relative, content in files.items():
        (folder / relative).write_bytes(content)
    try:
        write(build(folder), folder)
        prefixes = tuple(f"{vector_id}:" for vector_id in ids)
        problems = [p for p in lint(folder, synthetic=False, regenerate=False) if p.startswith(prefixes)]
    except BaseException:
        _remove(folder, files)
        raise
    if problems:
        _remove(folder, files)
        raise PromotionError(folder, "the new vectors would not pass `vectors check`: " + "; ".join(problems))


def _remove(folder: Path, files: dict[str, bytes]) -> None:
    for relative in files:
        (folder / relative).unlink(missing_ok=True)
    if not any((folder / fuzz.FOLDER).iterdir()):
        (folder / fuzz.FOLDER).rmdir()
    write(build(folder), folder)
