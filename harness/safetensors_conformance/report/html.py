"""The HTML matrix: one self-contained page (inline style and script, nothing loaded).

From the top: the legend; per implementation the requirements it fails, with counts, each a link
to that filtered view; the verdict counts; then the matrix, implementations across, one row per
vector, grouped under the requirement it cites first, failing vectors first. Each vector's row
opens on its description, expected outcome and content, what the implementations said and, for
files of at most :data:`HEX_LIMIT` bytes, the bytes in hex.

Without a script the page shows all of it (details open on a click). With one, a filter bar
filters by implementation, requirement, verdict and vector id, and keeps that state in the URL
hash (see :mod:`.html_assets`). Every vector row has its id as anchor (``#buffer/overlap-tied``),
every requirement section its requirement id (``#BUFFER-NO-OVERLAP``).

At the size of the published matrix (18 implementations, 607 vectors) the page is 1.6 MB; each
requirement's section is laid out only when it scrolls into view, which keeps the first layout
short.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from html import escape
from urllib.parse import urlencode

from ..corpus import Corpus, Vector
from ..corpus.checkpoints import CkptVector
from ..corpus.checkpoints import load as load_checkpoints
from ..runner.results import Result, Results
from ..runner.run import CHECKPOINT_PREFIX
from ..runner.verdicts import Verdict
from ..spec import Requirement, load_all
from .html_assets import SCRIPT, STYLE
from .model import LEGEND, SYMBOLS, citations_of, flagged, totals
from .spec_html import DEFAULT_SPEC_URL, requirement_url

#: Files up to this size show their bytes in hex: 574 of the 614 committed files, 51 kB in all
#: (their dumps are a sixth of the published page); the larger ones are deep, long or many-tensor files.
HEX_LIMIT = 512
#: Longer texts are cut here: a detail, a tensor name, the metadata of the scale vectors.
TEXT_LIMIT = 300
#: Tensors listed per vector (``scale/tensors-1000`` has a thousand).
TENSOR_LIMIT = 12
#: Marks a rejection through an unexpected internal error (the rejection counts; see ``model.flagged``).
FLAG_MARK = "⚑"
#: Until the browser lays a section out it takes the height estimated from these: a line of text
#: (pixels), the characters of a line in a row and in a section's heading (measured in Chromium).
LINE_HEIGHT, ROW_CHARACTERS, HEADING_CHARACTERS = 21, 76, 110
#: Column labels longer than this are replaced by the implementation's first word.
LABEL_LIMIT = 20

#: The class of a matrix cell for each verdict (short: there are ten thousand cells).
CODES = {
    Verdict.PASS: "p",
    Verdict.ACCEPTABLE_ACCEPTED: "aa",
    Verdict.ACCEPTABLE_REJECTED: "ar",
    Verdict.FAIL_ACCEPTED_INVALID: "fa",
    Verdict.FAIL_REJECTED_VALID: "fr",
    Verdict.FAIL_WRONG_CONTENT: "fc",
    Verdict.CRASH: "cr",
    Verdict.TIMEOUT: "to",
    Verdict.MEMORY_LIMIT: "ml",
    Verdict.SKIP_UNSUPPORTED: "sk",
    Verdict.FAIL_READ_OUTSIDE: "fo",
    Verdict.NONDETERMINISTIC: "nd",
}
EXPECT = {
    "valid": "valid: a reader must accept it and return the content below",
    "invalid": "invalid: a reader must reject it",
    "acceptable": "implementation-defined: a reader may accept or reject it, as the flags below allow",
}

_CODE = re.compile(r"`([^`]+)`")


def render(results: Results, corpus: Corpus | None, spec_url: str = DEFAULT_SPEC_URL) -> str:
    names = list(results.implementations)
    index = load_all()
    vectors = {v.id: v for v in corpus.vectors} if corpus is not None else {}
    checkpoints = {v.id: v for v in load_checkpoints()} if corpus is not None else {}
    citations = citations_of(corpus)
    table = results.by_implementation()
    vector_ids = list(dict.fromkeys(r.vector for r in results.results))
    cited = {v: citations.get(v, (v.split("/")[0],)) for v in vector_ids}
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>safetensors conformance results</title>',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<style>{STYLE}</style><style id="column-filter"></style></head><body>',
        "<h1>safetensors conformance results</h1>",
        f'<div class="meta">corpus {escape(str(results.run.get("corpus_version")))} · spec '
        f"{escape(str(results.run.get('spec_version')))} · safetensors-conformance "
        f"{escape(str(results.run.get('tool_version')))} · {len(names)} implementations · "
        f"{len(vector_ids)} vectors · {len(results.results)} results</div>",
    ]
    out.append(_legend())
    out += _failures(results, cited, index)
    out += _counts(results)
    out += _filters(names, cited, index)
    out += _matrix(results, table, vector_ids, cited, vectors, checkpoints, corpus, index, spec_url)
    out += _flagged(results)
    out.append(f"<script>{SCRIPT}</script>")
    out.append("</body></html>")
    return "\n".join(out)


def _legend() -> str:
    return (
        '<p class="legend" id="legend">'
        + "".join(f'<span class="{CODES[v]}">{escape(SYMBOLS[v])} {escape(text)}</span>' for v, text in LEGEND.items())
        + f"<span>{FLAG_MARK} rejected, but through an unexpected internal error</span></p>"
    )


def _counts(results: Results) -> list[str]:
    counts = totals(results)
    out = [
        '<h2 id="summary">Verdicts per implementation</h2>',
        '<table class="counts"><tr><th>implementation</th><th>reads with</th><th>version</th>'
        + "".join(f'<th class="{CODES[v]}" title="{escape(LEGEND[v])}">{escape(SYMBOLS[v])}</th>' for v in SYMBOLS)
        + "</tr>",
    ]
    for name, description in results.implementations.items():
        label = f"<td><code>{escape(name)}</code></td><td><small>{escape(description.implementation)}</small></td>"
        if not description.available:
            reason = escape(description.reason or "")
            out.append(f'<tr>{label}<td colspan="{len(SYMBOLS) + 1}">unavailable: {reason}</td></tr>')
            continue
        cells = "".join(f'<td class="n">{counts[name][v] or ""}</td>' for v in SYMBOLS)
        out.append(f"<tr>{label}<td>{escape(description.version)}</td>{cells}</tr>")
    out.append("</table>")
    return out


def _failures(results: Results, cited: dict[str, tuple[str, ...]], index: dict[str, Requirement]) -> list[str]:
    """Per implementation, each requirement it fails and on how many vectors (a vector counts under
    every requirement it cites, as the requirement filter shows it)."""
    order = _order(index)
    failing: dict[str, Counter[str]] = {name: Counter() for name in results.implementations}
    vectors: Counter[str] = Counter()
    for result in results.results:
        if result.verdict.failed:
            vectors[result.implementation] += 1
            failing.setdefault(result.implementation, Counter()).update(cited.get(result.vector, ()))
    out = [
        '<h2 id="failures">Failures by implementation</h2>',
        '<table class="failing"><tr><th>implementation</th><th>failing vectors</th>'
        "<th>requirements it fails, with the number of failing vectors citing each (links filter the matrix)</th></tr>",
    ]
    for name, description in results.implementations.items():
        head = f"<td><code>{escape(name)}</code></td>"
        if not description.available:
            out.append(f'<tr>{head}<td colspan="2">unavailable: {escape(description.reason or "")}</td></tr>')
            continue
        if not vectors[name]:
            out.append(f'<tr>{head}<td class="n">0</td><td></td></tr>')
            continue
        links = []
        for requirement in sorted(failing[name], key=order):
            state = _filter_hash(impl=name, req=requirement, verdict="failed")
            links.append(
                f'<a class="f" href="#{escape(requirement)}" data-filter="{escape(state)}">'
                f"{escape(requirement)}&nbsp;{failing[name][requirement]}</a>"
            )
        every = escape(_filter_hash(impl=name, verdict="failed"))
        out.append(
            f'<tr>{head}<td class="n"><a href="#vectors" data-filter="{every}">{vectors[name]}</a></td>'
            f"<td>{' '.join(links)}</td></tr>"
        )
    out.append("</table>")
    return out


def _filters(names: list[str], cited: dict[str, tuple[str, ...]], index: dict[str, Requirement]) -> list[str]:
    """The filter bar: hidden until the script shows it, as it does nothing without one."""
    requirements = sorted({r for rs in cited.values() for r in rs}, key=_order(index))
    impls = "".join(f'<option value="{escape(n)}">{escape(n)}</option>' for n in names)
    reqs = "".join(f'<option value="{escape(r)}">{escape(r)}</option>' for r in requirements)
    verdicts = "".join(
        f'<option value="{escape(v.value)}">{escape(SYMBOLS[v])} {escape(v.value)}</option>' for v in SYMBOLS
    )
    return [
        f'<h2 id="vectors">Vectors</h2><p class="note">Files of at most {HEX_LIMIT} bytes show their bytes in hex; '
        "larger ones their size and SHA-256. Click a vector for its details.</p>",
        '<form id="filters" hidden role="search">',
        '<label>vector id <input type="search" name="q" id="q" placeholder="e.g. overlap" autocomplete="off"></label>',
        f'<label>implementation <select name="impl" id="impl"><option value="">all</option>{impls}</select></label>',
        f'<label>requirement <select name="req" id="req"><option value="">all</option>{reqs}</select></label>',
        '<label>verdict <select name="verdict" id="verdict"><option value="">any</option>'
        f'<option value="failed">any failure</option>{verdicts}'
        f'<option value="flagged">{FLAG_MARK} rejected through an unexpected error</option></select></label>',
        '<button type="button" name="clear">clear</button> <span id="shown" aria-live="polite"></span>',
        "</form>",
    ]


def _matrix(
    results: Results,
    table: dict[str, dict[str, Result]],
    vector_ids: list[str],
    cited: dict[str, tuple[str, ...]],
    vectors: dict[str, Vector],
    checkpoints: dict[str, CkptVector],
    corpus: Corpus | None,
    index: dict[str, Requirement],
    spec_url: str,
) -> list[str]:
    names = list(results.implementations)
    # Each vector is one row (one anchor), filed under the requirement it cites first.
    filed: dict[str, list[str]] = {}
    also: dict[str, list[str]] = {}
    for vector_id in vector_ids:
        first, *others = cited[vector_id]
        filed.setdefault(first, []).append(vector_id)
        for requirement in others:
            also.setdefault(requirement, []).append(vector_id)
    data = {
        "data-impls": json.dumps(names),
        "data-verdicts": json.dumps({CODES[v]: v.value for v in CODES}),
        "data-failed": json.dumps([CODES[v] for v in CODES if v.failed]),
    }
    attributes = " ".join(f'{key}="{escape(value)}"' for key, value in data.items())
    # One table per requirement, each in a <section> the browser lays out only when it is on screen
    # (content-visibility): with fixed column widths they line up under the one sticky header.
    out = [
        f'<div id="matrix" {attributes} style="--cols: {len(names)}">',
        '<div class="head"><table class="m"><tr><th>vector</th>'
        + "".join(
            f'<th class="impl" title="{escape(n)}"><span>{escape(label)}</span></th>' for n, label in _labels(results)
        )
        + "</tr></table></div>",
    ]
    for requirement in sorted(filed.keys() | also.keys(), key=_order(index)):
        ids = filed.get(requirement, [])
        failing = {v for v in ids if any(r.verdict.failed for r in _row(table, names, v) if r is not None)}
        ids = sorted(ids, key=lambda v: v not in failing)  # stable: corpus order within each part
        height = _estimated_height(index.get(requirement), ids, also.get(requirement, []), {**vectors, **checkpoints})
        out.append(
            f'<section id="{escape(requirement)}" style="contain-intrinsic-size: auto {height}px"><table class="m">'
        )
        spec = index.get(requirement)
        out.append(_section_row(requirement, spec, ids, also.get(requirement, []), table, names, spec_url))
        out += [_vector_row(v, vectors.get(v) or checkpoints.get(v), corpus, cited[v], table, names) for v in ids]
        out.append("</table></section>")
    out.append("</div>")
    return out


def _estimated_height(
    spec: Requirement | None, ids: list[str], also: list[str], vectors: dict[str, Vector | CkptVector]
) -> int:
    """About the pixels a section takes (the scrollbar and jumps to an anchor are right before it
    is laid out; once it has been, the browser remembers its real height)."""
    heading = len(spec.statement) + len(spec.section) + 40 if spec is not None else 40
    heading += sum(len(v) + 2 for v in also)
    height = 2 * LINE_HEIGHT + LINE_HEIGHT * -(-heading // HEADING_CHARACTERS)
    for vector_id in ids:
        vector = vectors.get(vector_id)
        text = len(vector_id) + 1 + (len(vector.description) if vector is not None else 0)
        height += 6 + LINE_HEIGHT * -(-text // ROW_CHARACTERS)
    return height


def _section_row(
    requirement: str,
    spec: Requirement | None,
    ids: list[str],
    also: list[str],
    table: dict[str, dict[str, Result]],
    names: list[str],
    spec_url: str,
) -> str:
    """The requirement's heading row: what it says, and per implementation how many of the vectors
    citing it fail."""
    heading = f'<a class="rid" href="#{escape(requirement)}"><code>{escape(requirement)}</code></a>'
    if spec is not None:
        link = requirement_url(spec_url, spec)
        heading += f' {escape(spec.level)} · {escape(spec.section)} · <a href="{escape(link)}">spec</a>'
        heading += f"<p>{_inline_code(spec.statement)}</p>"
    every = ids + also
    note = f"{len(every)} vector{'s' if len(every) != 1 else ''}"
    if also:
        links = ", ".join(f'<a href="#{escape(v)}"><code>{escape(v)}</code></a>' for v in also)
        note += f"; {len(also)} filed under the requirement they cite first: {links}"
    cells = []
    for name in names:
        count = sum(1 for v in every if (r := table[name].get(v)) is not None and r.verdict.failed)
        title = f' title="{escape(name)}: {count} failing"' if count else ""
        cells.append(f"<td{title}>{count or ''}</td>")
    return f'<tr class="req"><th>{heading}<small>{note}</small></th>{"".join(cells)}</tr>'


def _vector_row(
    vector_id: str,
    vector: Vector | CkptVector | None,
    corpus: Corpus | None,
    requirements: tuple[str, ...],
    table: dict[str, dict[str, Result]],
    names: list[str],
) -> str:
    cells = "".join(_cell(result) for result in _row(table, names, vector_id))
    description = f' <span class="d">{escape(vector.description)}</span>' if vector is not None else ""
    link = f'<a href="#{escape(vector_id)}"><code>{escape(vector_id)}</code></a>'
    info = "".join(_vector_info(vector_id, vector, corpus, requirements, table, names))
    return (
        f'<tr class="vec" id="{escape(vector_id)}" data-r="{escape(" ".join(requirements))}">'
        f'<td class="vec"><details><summary>{link}{description}</summary>{info}</details></td>{cells}</tr>'
    )


def _vector_info(
    vector_id: str,
    vector: Vector | CkptVector | None,
    corpus: Corpus | None,
    requirements: tuple[str, ...],
    table: dict[str, dict[str, Result]],
    names: list[str],
) -> Iterator[str]:
    yield '<div class="info"><dl>'
    if vector is not None:
        expected = EXPECT.get(vector.expect, vector.expect)
        if isinstance(vector, CkptVector):  # the same outcomes, asked of a checkpoint loader
            expected = expected.replace("a reader", "a loader")
        yield f"<dt>expected</dt><dd>{escape(expected)}</dd>"
        if vector.flags and corpus is not None:
            flags = "".join(
                f"<li><code>{escape(f)}</code>: {_inline_code(corpus.flags.get(f, {}).get('description', ''))}</li>"
                for f in vector.flags
            )
            yield f"<dt>flags</dt><dd><ul>{flags}</ul></dd>"
    links = ", ".join(f'<a href="#{escape(r)}"><code>{escape(r)}</code></a>' for r in requirements)
    yield f"<dt>requirements</dt><dd>{links}</dd>"
    if isinstance(vector, CkptVector):
        yield from _checkpoint(vector)
    elif vector is not None:
        yield from _file(vector, corpus)
        if vector.expected is not None:
            yield from _content(vector)
    # Implementations that said the same thing share one line (most failures repeat across readers).
    said: dict[tuple[Verdict, str, str], list[str]] = {}
    for name in names:
        result = table[name].get(vector_id)
        if result is not None and (result.verdict is not Verdict.PASS or result.flagged) and result.detail:
            said.setdefault((result.verdict, result.flagged or "", _cut(result.detail)), []).append(name)
    notes = []
    for (verdict, flag, detail), who in said.items():
        mark = f" ({FLAG_MARK} {escape(flag)})" if flag else ""
        readers = ", ".join(f"<code>{escape(n)}</code>" for n in who)
        notes.append(
            f'<li>{readers}: <span class="{CODES[verdict]}">{escape(verdict.value)}</span>{mark}: '
            f"{escape(detail, quote=False)}</li>"
        )
    if notes:
        yield f"<dt>what the implementations said</dt><dd><ul>{''.join(notes)}</ul></dd>"
    yield "</dl></div>"


def _file(vector: Vector, corpus: Corpus | None) -> Iterator[str]:
    where = f"<code>{escape(vector.file)}</code>, " if vector.file else ""
    if vector.synth is not None:
        params = json.dumps(vector.synth.get("params"), sort_keys=True)
        recipe = escape(str(vector.synth.get("recipe")))
        where = f"made by recipe <code>{recipe}</code> <code>{escape(_cut(params))}</code>, "
    yield f"<dt>file</dt><dd>{where}{vector.size} bytes, SHA-256 <code>{escape(vector.sha256)}</code></dd>"
    if corpus is None or vector.file is None or vector.size > HEX_LIMIT:
        return
    try:
        data = (corpus.root / vector.file).read_bytes()
    except OSError:
        return  # a corpus installed without its files: the page still says what the file is
    if not data:
        yield "<dt>bytes</dt><dd>none: the file is empty</dd>"
    elif len(data) == vector.size:
        yield f'<dt>bytes</dt><dd><pre class="hex">{escape(hexdump(data), quote=False)}</pre></dd>'


def _checkpoint(vector: CkptVector) -> Iterator[str]:
    """A checkpoint vector's files and links, and the tensors a conforming loader returns."""
    items = [
        f"<li><code>{escape(f['path'])}</code> {f['size']} bytes"
        + (" (names the canary: its path is filled in per run)" if f.get("template") else "")
        + "</li>"
        for f in vector.files
    ]
    items += [f"<li><code>{escape(e['path'])}</code>: {escape(_entry(e))}</li>" for e in vector.entries]
    yield f"<dt>directory</dt><dd><code>{escape(vector.directory)}</code><ul>{''.join(items)}</ul></dd>"
    if vector.expected is not None:
        count = len(vector.expected)
        yield f"<dt>expected content</dt><dd>{count} tensor{'s' if count != 1 else ''}"
        yield "<table><tr><th>name</th><th>dtype</th><th>shape</th><th>from shard</th><th>SHA-256</th></tr>"
        for tensor in vector.expected[:TENSOR_LIMIT]:
            yield (
                f"<tr><td><code>{escape(_cut(json.dumps(tensor.name)))}</code></td><td>{escape(tensor.dtype)}</td>"
                f"<td>[{', '.join(map(str, tensor.shape))}]</td><td><code>{escape(tensor.shard)}</code></td>"
                f'<td><code class="h">{escape(tensor.sha256)}</code></td></tr>'
            )
        yield "</table></dd>"


def _entry(entry: dict[str, object]) -> str:
    """What the runner makes for an entry git cannot hold (a link, a FIFO, a directory)."""
    kind = str(entry.get("kind", "entry"))
    target = entry.get("target")
    return f"{kind} to {target}" if target is not None else kind


def _content(vector: Vector) -> Iterator[str]:
    assert vector.expected is not None
    tensors = vector.expected.tensors
    yield f"<dt>expected content</dt><dd>{len(tensors)} tensor{'s' if len(tensors) != 1 else ''}"
    if tensors:
        yield "<table><tr><th>name</th><th>dtype</th><th>shape</th><th>bytes</th><th>SHA-256</th></tr>"
        for tensor in tensors[:TENSOR_LIMIT]:
            yield (
                f"<tr><td><code>{escape(_cut(json.dumps(tensor.name)))}</code></td><td>{escape(tensor.dtype)}</td>"
                f"<td>[{', '.join(map(str, tensor.shape))}]</td><td>{tensor.nbytes}</td>"
                f'<td><code class="h">{escape(tensor.sha256 or "")}</code></td></tr>'
            )
        yield "</table>"
        if len(tensors) > TENSOR_LIMIT:
            yield f"and {len(tensors) - TENSOR_LIMIT} more"
    metadata = vector.expected.metadata
    if metadata is None:
        yield "; no metadata</dd>"
    else:
        text = json.dumps(metadata, ensure_ascii=False, indent=None)
        yield f'; metadata ({len(metadata)} keys):<pre class="meta-json">{escape(_cut(text, 1000))}</pre></dd>'


def hexdump(data: bytes) -> str:
    """Sixteen bytes a line: offset, bytes in hex (a gap after eight), and those that are printable
    ASCII as text (others as ``.``)."""
    lines = []
    for start in range(0, len(data), 16):
        chunk = data[start : start + 16]
        hexes = " ".join(f"{b:02x}" for b in chunk[:8]) + "  " + " ".join(f"{b:02x}" for b in chunk[8:])
        text = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)
        lines.append(f"{start:04x}  {hexes:<48}  |{text}|")
    return "\n".join(lines)


def _flagged(results: Results) -> list[str]:
    """Rejections through an internal error, one row per implementation and error: each vector's
    own message is in its details."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for result in flagged(results):
        grouped.setdefault((result.implementation, result.flagged or ""), []).append(result.vector)
    if not grouped:
        return []
    out = [
        '<h2 id="flagged">Rejections through unexpected errors</h2>',
        "<p>These count as rejections, but came from an internal error, not the documented one "
        f"(marked {FLAG_MARK} in the matrix).</p>",
        "<table><tr><th>implementation</th><th>error</th><th>vectors</th></tr>",
    ]
    for (name, error), ids in grouped.items():
        links = ", ".join(f'<a href="#{escape(v)}"><code>{escape(v)}</code></a>' for v in ids)
        out.append(f"<tr><td><code>{escape(name)}</code></td><td>{escape(error)}</td><td>{len(ids)}: {links}</td></tr>")
    out.append("</table>")
    return out


def _labels(results: Results) -> list[tuple[str, str]]:
    """Column labels: the selection, or for a long one (a program's command line) the first word of
    the implementation's name; a label two columns share gets its column number."""
    labels = []
    for name, description in results.implementations.items():
        short = name if len(name) <= LABEL_LIMIT else name.removeprefix(CHECKPOINT_PREFIX)
        if len(short) > LABEL_LIMIT:
            short = description.implementation.split(" ")[0]
        labels.append((name, short[:LABEL_LIMIT] or name[:LABEL_LIMIT]))
    seen = Counter(label for _, label in labels)
    return [(name, f"{label} ({i + 1})" if seen[label] > 1 else label) for i, (name, label) in enumerate(labels)]


def _row(table: dict[str, dict[str, Result]], names: list[str], vector_id: str) -> list[Result | None]:
    return [table[name].get(vector_id) for name in names]


def _cell(result: Result | None) -> str:
    """A matrix cell: its class is the verdict's code (the script reads it), then ``fl`` if flagged."""
    if result is None:
        return "<td></td>"
    mark = " fl" if result.flagged else ""
    return f'<td class="{CODES[result.verdict]}{mark}">{escape(SYMBOLS[result.verdict])}</td>'


def _order(index: dict[str, Requirement]) -> Callable[[str], tuple[int, str]]:
    """Sort key: requirements in spec order, unknown ones (a group name, without the corpus) last."""
    positions = {rid: i for i, rid in enumerate(index)}
    return lambda rid: (positions.get(rid, len(positions)), rid)


def _filter_hash(**state: str) -> str:
    """A filtered view's URL hash, as the page's script reads it."""
    return urlencode(state)


def _cut(text: str, limit: int = TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _inline_code(text: str) -> str:
    """Escaped text with the spec's `code` spans as <code>."""
    return _CODE.sub(lambda match: f"<code>{match.group(1)}</code>", escape(text))
