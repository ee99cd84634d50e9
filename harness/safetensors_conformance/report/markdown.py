"""The Markdown matrix: implementations across, vectors down, grouped by requirement."""

from __future__ import annotations

from ..corpus import Corpus
from ..runner.results import Results
from .model import LEGEND, SYMBOLS, sections, totals


def render(results: Results, corpus: Corpus | None) -> str:
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
            title += f" ({section.spec.level}) — {section.spec.section}"
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
            shown = ", ".join(f"`{v}`" for v in row.vectors[:6]) + (
                f" and {len(row.vectors) - 6} more" if len(row.vectors) > 6 else ""
            )
            lines.append(f"| {shown} | {cells} |")
        lines.append("")
    return "\n".join(lines)
