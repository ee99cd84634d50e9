"""The HTML matrix: one self-contained page (no scripts, no external files).

Implementations across, vectors down, grouped by the requirement they test. Vectors on which every
implementation got the same verdicts share one row, folded; requirements without a failure are
folded too, so the page opens on the disagreements.
"""

from __future__ import annotations

import re
from html import escape

from ..corpus import Corpus
from ..runner.results import Result, Results
from ..runner.verdicts import Verdict
from .model import LEGEND, SYMBOLS, flagged, sections, totals
from .spec_html import DEFAULT_SPEC_URL, requirement_url

_CODE = re.compile(r"`([^`]+)`")
_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em; color: #1d2430; }
h1 { font-size: 1.5em; margin-bottom: .2em; }
.meta { color: #5b6574; margin-bottom: 1.5em; }
table { border-collapse: collapse; margin: .5em 0 1em; }
th, td { border: 1px solid #d6dbe3; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f3f5f8; font-weight: 600; }
td.v { text-align: center; min-width: 3.2em; font-weight: 600; }
.pass { background: #dff3e4; } .acceptable { background: #e8f1fb; } .fail { background: #fbe0e0; color: #8a1c1c; }
.broken { background: #f4d4f4; color: #6c1a6c; } .skip { background: #f1f1f1; color: #777; }
details.section { border: 1px solid #d6dbe3; border-radius: 6px; margin: .6em 0; padding: .3em .8em; }
details.section > summary { cursor: pointer; font-weight: 600; }
.count { color: #5b6574; font-weight: normal; }
code { font-size: .92em; }
ul.detail { margin: .2em 0; padding-left: 1.2em; color: #444; font-size: .92em; }
.legend span { display: inline-block; margin-right: 1em; }
"""


def _css_class(verdict: Verdict | None) -> str:
    if verdict is None:
        return ""
    if verdict is Verdict.PASS:
        return "pass"
    if verdict.ok:
        return "acceptable"
    if verdict is Verdict.SKIP_UNSUPPORTED:
        return "skip"
    if verdict in (Verdict.CRASH, Verdict.TIMEOUT, Verdict.MEMORY_LIMIT):
        return "broken"
    return "fail"


def render(results: Results, corpus: Corpus | None, spec_url: str = DEFAULT_SPEC_URL) -> str:
    names = list(results.implementations)
    table = results.by_implementation()
    counts = totals(results)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>safetensors conformance results</title>',
        f"<style>{_STYLE}</style></head><body>",
        "<h1>safetensors conformance results</h1>",
        f'<div class="meta">corpus {escape(str(results.run.get("corpus_version")))} · spec '
        f"{escape(str(results.run.get('spec_version')))} · safetensors-conformance "
        f"{escape(str(results.run.get('tool_version')))} · {len(results.results)} results</div>",
        "<table><tr><th>implementation</th><th>version</th>"
        + "".join(f'<th class="{_css_class(v)}" title="{escape(LEGEND[v])}">{escape(SYMBOLS[v])}</th>' for v in SYMBOLS)
        + "</tr>",
    ]
    for name, description in results.implementations.items():
        label = f"<code>{escape(name)}</code><br><small>{escape(description.implementation)}</small>"
        if not description.available:
            reason = escape(description.reason or "")
            out.append(f'<tr><td>{label}</td><td colspan="{len(SYMBOLS) + 1}">unavailable: {reason}</td></tr>')
            continue
        cells = "".join(f'<td class="v">{counts[name][v] or ""}</td>' for v in SYMBOLS)
        out.append(f"<tr><td>{label}</td><td>{escape(description.version)}</td>{cells}</tr>")
    out.append("</table>")
    out.append(
        '<p class="legend">'
        + "".join(
            f'<span class="{_css_class(v)}">{escape(SYMBOLS[v])} {escape(text)}</span>' for v, text in LEGEND.items()
        )
        + "</p>"
    )
    for section in sections(results, corpus):
        failing = sum(len(row.vectors) for row in section.rows if any(v is not None and v.failed for v in row.pattern))
        heading = f"<code>{escape(section.requirement)}</code>"
        if section.spec is not None:
            spec = section.spec
            link = requirement_url(spec_url, spec.anchor)
            heading = f'<a href="{escape(link)}">{heading}</a> {escape(spec.level)} · {escape(spec.section)}'
        note = f"{section.vectors} vectors" + (f", {failing} with failures" if failing else "")
        opened = " open" if failing else ""
        out.append(f'<details class="section"{opened}><summary>{heading} <span class="count">— {note}</span></summary>')
        if section.spec is not None:
            out.append(f"<p>{_inline_code(section.spec.statement)}</p>")
        out.append(
            "<table><tr><th>vectors</th>" + "".join(f"<th><code>{escape(n)}</code></th>" for n in names) + "</tr>"
        )
        for row in section.rows:
            cells = "".join(_cell(v) for v in row.pattern)
            out.append(f"<tr><td>{_vector_cell(row.vectors, names, table)}</td>{cells}</tr>")
        out.append("</table></details>")
    unexpected = flagged(results)
    if unexpected:
        out.append('<h2 id="flagged">Rejections through unexpected errors</h2>')
        out.append("<p>These count as rejections, but came from an internal error, not the documented one.</p>")
        out.append("<table><tr><th>implementation</th><th>vector</th><th>error</th></tr>")
        out += [
            f"<tr><td><code>{escape(r.implementation)}</code></td><td><code>{escape(r.vector)}</code></td>"
            f"<td>{escape(r.flagged or '')}: {escape((r.detail or '')[:300])}</td></tr>"
            for r in unexpected
        ]
        out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out)


def _vector_cell(vectors: tuple[str, ...], names: list[str], table: dict[str, dict[str, Result]]) -> str:
    items = []
    for vector in vectors:
        notes = []
        for name in names:
            result = table[name].get(vector)
            if result is not None and result.detail and not result.verdict.ok:
                notes.append(f"<li><code>{escape(name)}</code>: {escape(result.detail[:300])}</li>")
        text = f"<code>{escape(vector)}</code>"
        items.append(text + (f'<ul class="detail">{"".join(notes)}</ul>' if notes else ""))
    if len(items) == 1:
        return items[0]
    summary = f"{len(items)} vectors: <code>{escape(vectors[0])}</code>, …"
    return f"<details><summary>{summary}</summary>{'<br>'.join(items)}</details>"


def _inline_code(text: str) -> str:
    """Escaped text with the spec's `code` spans as <code>."""
    return _CODE.sub(lambda match: f"<code>{match.group(1)}</code>", escape(text))


def _cell(verdict: Verdict | None) -> str:
    if verdict is None:
        return '<td class="v" title="not run"></td>'
    return f'<td class="v {_css_class(verdict)}" title="{escape(verdict.value)}">{escape(SYMBOLS[verdict])}</td>'
