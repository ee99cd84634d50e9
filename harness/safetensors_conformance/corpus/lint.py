"""``vectors check``: everything that must hold for the corpus, each problem reported once.

The manifest follows its schema; ids are unique and never reused; files match the manifest and
stay small; the reference reader agrees with every vector; valid vectors hold no BOOL byte but
0x00 and 0x01 (DATA-BOOL, which the reference does not read); valid headers pass the header schema;
every requirement has vectors; regenerating gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import jsonschema

from .._resources import data_path
from ..format.reader import Report, check
from ..spec import load_index
from . import Corpus, parse_manifest, synth
from .build import phase_of
from .generate import FILES, build, flag_registry
from .model import Expected, Vector

#: Committed vector files stay small; anything larger is a recipe.
MAX_FILE_BYTES = 64 * 1024

#: Requirements for which a vector file cannot show the violation, with the reason.
NO_INVALID_VECTOR = {
    "DATA-ENCODING": "about what bytes mean; vectors check it through expected content",
    "DATA-PACKING": "about what bytes mean; vectors check it through expected content",
}
#: Requirements no vector cites, with the reason: they are about writers or about how a reader
#: behaves on every vector, which the conformance runner judges.
NOT_CITED = {
    "READER-REJECT": "judged by the runner on every invalid vector",
    "READER-ACCEPT": "judged by the runner on every valid vector",
    "READER-VALIDATE-FIRST": "judged by the runner: a lazy reader must not expose tensors of a rejected file",
    "READER-BOUNDED": "judged by the runner's memory limit on every vector",
    "READER-ROBUST": "judged by the runner: crashes and timeouts on any vector",
    "WRITER-CONFORMING": "a writer requirement: the corpus tests readers",
    "WRITER-RESERVED-NAME": "a writer requirement: the corpus tests readers",
    "WRITER-PADDING": "a writer requirement: the corpus tests readers",
    "WRITER-ORDER": "a writer requirement: the corpus tests readers",
    "WRITER-DETERMINISTIC": "a writer requirement: the corpus tests readers",
}


def schema_problems(document: object, schema_name: str, label: str) -> list[str]:
    """The first 20 ways ``document`` breaks the schema ``schema/<schema_name>``, one line each."""
    schema = json.loads(data_path("schema", schema_name).read_text(encoding="utf-8"))
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(document), key=lambda e: list(e.path))
    return [f"{label}: {'/'.join(map(str, error.path))}: {error.message[:200]}" for error in errors[:20]]


def lint(folder: Path, *, synthetic: bool = True, regenerate: bool = True) -> Iterator[str]:
    """Every problem with the corpus in ``folder``, one line each."""
    manifest_path = folder / "manifest.json"
    document = json.loads(manifest_path.read_text(encoding="utf-8"))
    schema_errors = schema_problems(document, "vectors.schema.json", "manifest")
    yield from schema_errors
    if schema_errors:
        return
    corpus = parse_manifest(folder, document)
    yield from _identity(corpus, folder)
    yield from _files(corpus, folder)
    yield from _flags(corpus)
    yield from _coverage(corpus)
    yield from _agreement(corpus, synthetic)
    if regenerate:
        yield from _regeneration(folder)


def _identity(corpus: Corpus, folder: Path) -> Iterator[str]:
    counts = Counter(v.id for v in corpus.vectors)
    for vector_id, count in counts.items():
        if count > 1:
            yield f"{vector_id}: id used {count} times"
    retired_path = folder / "retired.txt"
    retired = (
        {line.split("#")[0].strip() for line in retired_path.read_text().splitlines()}
        if retired_path.exists()
        else set()
    )
    for vector in corpus.vectors:
        if vector.id in retired:
            yield f"{vector.id}: id was retired and must not be reused"
        if vector.phase != phase_of(vector.expect, vector.requirements):
            yield f"{vector.id}: phase {vector.phase!r} should be {phase_of(vector.expect, vector.requirements)!r}"


def _files(corpus: Corpus, folder: Path) -> Iterator[str]:
    listed = set()
    for vector in corpus.vectors:
        if vector.file is None:
            continue
        listed.add(vector.file)
        if vector.file != f"{FILES}/{vector.id}.safetensors":
            yield f"{vector.id}: file {vector.file!r} does not follow files/<id>.safetensors"
        path = folder / vector.file
        if not path.is_file():
            yield f"{vector.id}: file {vector.file} is missing"
            continue
        content = path.read_bytes()
        if len(content) > MAX_FILE_BYTES:
            yield f"{vector.id}: {len(content)} bytes, over the {MAX_FILE_BYTES}-byte limit for committed files"
        if len(content) != vector.size or hashlib.sha256(content).hexdigest() != vector.sha256:
            yield f"{vector.id}: file does not match the size and sha256 in the manifest"
    if (folder / FILES).exists():
        for path in sorted((folder / FILES).rglob("*")):
            relative = path.relative_to(folder).as_posix()
            if path.is_file() and relative not in listed:
                yield f"{relative}: not listed in the manifest"


def _flags(corpus: Corpus) -> Iterator[str]:
    registry = flag_registry()
    if corpus.flags != registry:
        yield "manifest flags differ from the spec's table of implementation-defined behaviours (section 12)"
    for vector in corpus.vectors:
        unknown = set(vector.flags) - corpus.flags.keys()
        if unknown:
            yield f"{vector.id}: flags {sorted(unknown)} are not in the registry"
        if vector.expect == "acceptable" and not vector.flags:
            yield f"{vector.id}: an acceptable vector needs a flag"
        if vector.expect != "acceptable" and vector.flags:
            yield f"{vector.id}: only acceptable vectors carry flags"
        for flag in vector.flags:
            if flag in corpus.flags and corpus.flags[flag]["requirement"] not in vector.requirements:
                owner = corpus.flags[flag]["requirement"]
                yield f"{vector.id}: flag {flag} belongs to {owner}, which the vector does not cite"


def _coverage(corpus: Corpus) -> Iterator[str]:
    index = load_index()
    accepted: Counter[str] = Counter()
    rejected: Counter[str] = Counter()
    for vector in corpus.vectors:
        for requirement in vector.requirements:
            if requirement not in index:
                yield f"{vector.id}: cites unknown requirement {requirement}"
            # An acceptable vector shows both sides: readers may reject it or must read it right.
            if vector.expect != "valid":
                rejected[requirement] += 1
            if vector.expect != "invalid":
                accepted[requirement] += 1
    for entry in index.values():
        rid = entry.id
        if rid in NOT_CITED:
            if accepted[rid] or rejected[rid]:
                yield f"{rid}: listed as never cited, but vectors cite it"
            continue
        if not accepted[rid] and not rejected[rid]:
            yield f"{rid}: no vector cites it"
        if entry.scope == "file" and entry.level == "MUST":
            if not rejected[rid] and rid not in NO_INVALID_VECTOR:
                yield f"{rid}: no invalid or acceptable vector breaks it"
            if not accepted[rid]:
                yield f"{rid}: no valid or acceptable vector exercises its accepting side"


def _agreement(corpus: Corpus, synthetic: bool) -> Iterator[str]:
    header_schema = json.loads(data_path("schema", "header.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(header_schema)
    for vector in corpus.vectors:
        if vector.synth is not None and not synthetic:
            continue
        # The fingerprint cache is keyed by the recipe module's source: a changed recipe is recomputed.
        if vector.synth is not None and (
            synth.fingerprint(vector.synth["recipe"], vector.synth["params"])[2] != vector.expected_sha256
        ):
            yield f"{vector.id}: the recipe's expected content does not match expected_sha256"
        path = corpus.path(vector)
        if not path.is_file():
            continue  # reported by the file checks
        report = check(path)
        yield from _judge(vector, corpus.expected(vector), report, path)
        if vector.expect == "valid" and vector.synth is None:
            content = path.read_bytes()
            length = int.from_bytes(content[:8], "little")
            header = json.loads(content[8 : 8 + length])
            if not validator.is_valid(header):
                yield f"{vector.id}: a valid vector's header fails header.schema.json"


def _judge(vector: Vector, expected: Expected | None, report: Report, path: Path) -> Iterator[str]:
    """The reference must agree with the vector.

    For an invalid vector, its primary requirement (spec section 1, *Precedence*) is the one the
    vector cites. An acceptable vector either breaks only flagged requirements, and then the
    reference reports exactly the cited ones, each under one of the vector's flags; or it is a file
    the reference accepts (flags about values or resource limits), and then it reads it exactly.
    """
    found = {v.requirement.value for v in report.violations}
    if vector.expect == "invalid":
        if report.conforms:
            yield f"{vector.id}: the reference accepts a vector that must be rejected ({vector.requirements[0]})"
        elif len(vector.requirements) != 1:
            yield f"{vector.id}: an invalid vector cites one (primary) requirement, not {list(vector.requirements)}"
        elif report.primary != vector.requirements[0]:
            shown = "none (every violation is flagged)" if report.primary is None else report.primary.value
            yield (
                f"{vector.id}: the reference's primary requirement is {shown}, not {vector.requirements[0]} "
                f"(it reports {sorted(found)})"
            )
        return
    if not report.conforms:
        flags = {v.flag.value for v in report.violations if v.flag is not None}
        if vector.expect == "valid":
            yield f"{vector.id}: the reference rejects a valid vector: {sorted(found)}"
        elif report.primary is not None:
            yield f"{vector.id}: the reference finds an unflagged violation of {report.primary.value}"
        elif found != set(vector.requirements) or flags != set(vector.flags):
            yield (
                f"{vector.id}: the reference reports {sorted(found)} under flags {sorted(flags)}, "
                f"not {list(vector.requirements)} under {list(vector.flags)}"
            )
        return
    # A conforming file may still draw flagged SHOULD-level findings (packed-rows): then it is an
    # acceptable vector with that flag, never a valid one.
    flagged = {w.flag.value for w in report.warnings if w.flag is not None}
    if vector.expect == "valid" and flagged:
        yield f"{vector.id}: a valid vector draws findings under flags {sorted(flagged)}"
    elif vector.expect == "acceptable" and not flagged <= set(vector.flags):
        yield f"{vector.id}: the reference's findings carry flags {sorted(flagged)}, not {list(vector.flags)}"
    assert expected is not None
    problem = _content_problem(report, expected, path)
    if problem:
        yield f"{vector.id}: the reference reads different content: {problem}"
    if vector.expect == "valid":
        yield from (f"{vector.id}: {finding}" for finding in _bool_problems(report, path))


def _content_problem(report: Report, expected: Expected, path: Path) -> str | None:
    header = report.header
    assert header is not None
    with path.open("rb") as file:
        file.seek(header.data_start)
        buffer = file.read()
    if (header.metadata or None) != (expected.metadata or None):
        return f"metadata {header.metadata!r}, expected {expected.metadata!r}"
    infos = list(header.tensors.values())
    if [i.name for i in infos] != [t.name for t in expected.tensors]:
        return "tensor names or order differ"
    for info, want in zip(infos, expected.tensors, strict=True):
        if (info.dtype, info.shape, info.nbytes) != (want.dtype, want.shape, want.nbytes):
            return f"tensor {info.name!r}: {info.dtype} {list(info.shape)} {info.nbytes} bytes"
        if hashlib.sha256(buffer[info.begin : info.end]).hexdigest() != want.sha256:
            return f"tensor {info.name!r}: bytes differ"
    return None


def _bool_problems(report: Report, path: Path) -> Iterator[str]:
    """DATA-BOOL, which the reference's checks do not read: a valid vector's BOOL bytes are 0x00 or 0x01."""
    header = report.header
    assert header is not None
    with path.open("rb") as file:
        for info in header.tensors.values():
            if info.dtype == "BOOL":
                file.seek(header.data_start + info.begin)
                if file.read(info.nbytes).translate(None, b"\x00\x01"):
                    yield (
                        f"tensor {info.name!r} holds BOOL bytes other than 0x00 and 0x01 (DATA-BOOL): "
                        "such a file is acceptable under flag bool-values, not valid"
                    )


def _regeneration(folder: Path) -> Iterator[str]:
    built = build(folder)
    if (folder / "manifest.json").read_text(encoding="utf-8") != built.manifest:
        yield "manifest.json differs from what the generator makes: run `safetensors-conformance vectors build`"
    if not (folder / "index.tsv").exists() or (folder / "index.tsv").read_text(encoding="utf-8") != built.index:
        yield "index.tsv differs from what the generator makes: run `safetensors-conformance vectors build`"
    for path, content in built.files.items():
        target = folder / path
        if target.is_file() and target.read_bytes() != content:
            yield f"{path}: differs from what the generator makes"
