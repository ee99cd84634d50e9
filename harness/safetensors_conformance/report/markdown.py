"""The Markdown matrix: implementations across, vectors down, grouped by requirement."""

from __future__ import annotations

from ..corpus import Corpus
from ..runner.results import Results
from ..runner.verdicts import Verdict
from .model import LEGEND, SYMBOLS, flagged, sections, totals
from .spec_html import DEFAULT_SPEC_URL, requirement_url

#: Rows on which every implementation agrees and none fails show this many vectors, then a count.
FOLD_AFTER = 6


def render(results: Results, corpus: Corpus | None, spec_url: str = DEFAULT_SPEC_URL) -> str:
    names = list(results.implementations)
    lines = [
        "# safetensors conformance results",
        "",
        f"Corpus {results.run.get('corpus_version')} · spec {results.run.get('spec_version')} · "
        f"safetensors-conformance {results.run.get('tool_version')}",
        "",
        "| implementation | version | " + " | ".join(f"{SYMBOLS[v]} {v.value}" for v in SYMBOLS) + " |",
        "|---|---|" + "---:|" * len(SYMBOLS),
    ]
    counts = totals(results)
    for name, description in results.implementations.items():
        if not description.available:
            lines.append(f"| `{name}` | unavailable: {description.reason} |" + " |" * len(SYMBOLS))
            continue
        lines.append(
            f"| `{name}` | {description.version} | " + " | ".join(str(counts[name][v] or "") for v in SYMBOLS) + " |"
        )
    lines += ["", "Legend: " + "; ".join(f"{SYMBOLS[v]} {text}" for v, text in LEGEND.items()) + ".", ""]
    for section in sections(results, corpus):
        title = f"## {section.requirement}"
        if section.spec is not None:
            link = requirement_url(spec_url, section.spec)
            title = f"## [{section.requirement}]({link}) ({section.spec.level}) — {section.spec.section}"
        lines += [
            title,
            "",
            f"{section.vectors} vectors.",
            "",
            "| vectors | " + " | ".join(f"`{n}`" for n in names) + " |",
            "|---|" + "---|" * len(names),
        ]
        for row in section.rows:
            cells = " | ".join(SYMBOLS[v] if v is not None else " " for v in row.pattern)
            # Rows where anyone fails name every vector; agreeing rows are folded.
            failing = any(v is not None and not v.ok and v is not Verdict.SKIP_UNSUPPORTED for v in row.pattern)
            limit = len(row.vectors) if failing else FOLD_AFTER
            shown = ", ".join(f"`{v}`" for v in row.vectors[:limit]) + (
                f" and {len(row.vectors) - limit} more" if len(row.vectors) > limit else ""
            )
            lines.append(f"| {shown} | {cells} |")
        lines.append("")
    unexpected = flagged(results)
    if unexpected:
        lines += [
            "## Rejections through unexpected errors",
            "",
            "These count as rejections, but came from an internal error, not the implementation's documented one.",
            "",
            "| implementation | vector | error |",
            "|---|---|---|",
        ]
        lines += [f"| `{r.implementation}` | `{r.vector}` | {_cell_text(r.flagged or '')} |" for r in unexpected]
        lines.append("")
    return "\n".join(lines)


def _cell_text(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
