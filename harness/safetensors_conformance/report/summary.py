"""The terminal summary of a run: verdicts per requirement section, one column per implementation."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..corpus import Corpus
from ..runner.results import Results
from ..spec import load_index
from .model import failures


def print_summary(
    results: Results,
    corpus: Corpus | None,
    out: TextIO,
    *,
    show_failures: int = 25,
    known: Callable[[str, str], str | None] | None = None,
) -> None:
    console = Console(file=out, highlight=False, soft_wrap=True)
    index = load_index()
    citation = {v.id: v.requirements[0] for v in corpus.vectors} if corpus is not None else {}
    names = list(results.implementations)
    cells: dict[str, dict[str, Counter[str]]] = {}
    for result in results.results:
        requirement = index.get(citation.get(result.vector, ""))
        section = requirement.section if requirement is not None else "other"
        counts = cells.setdefault(section, {}).setdefault(result.implementation, Counter())
        counts["ok" if result.verdict.ok else "failed" if result.verdict.failed else "skipped"] += 1
    order = list(dict.fromkeys(r.section for r in index.values()))
    table = Table(title="verdicts per requirement section (ok / failed / skipped)")
    table.add_column("section")
    for name in names:
        description = results.implementations[name]
        table.add_column(
            f"{name}\n{description.version}" if description.available else f"{name}\nunavailable", justify="right"
        )
    for section in sorted(cells, key=lambda s: order.index(s) if s in order else len(order)):
        row = [section]
        for name in names:
            counts = cells[section].get(name, Counter())
            text = f"{counts['ok']}"
            if counts["failed"]:
                text += f" / [red]{counts['failed']}[/red]"
            if counts["skipped"]:
                text += f" / [dim]{counts['skipped']} skipped[/dim]"
            row.append(text if counts else "")
        table.add_row(*row)
    console.print(table)
    for name, description in results.implementations.items():
        if not description.available:
            console.print(f"[yellow]{name}[/yellow] is unavailable here: {description.reason}")
    found = failures(results)
    expected = [r for r in found if known is not None and known(r.implementation, r.vector)]
    found = [r for r in found if r not in expected]
    if expected:
        console.print(Text(f"{len(expected)} known failures (listed in the known-failures file)", style="yellow"))
    for result in found[:show_failures]:
        line = Text(result.verdict.value, style="red")
        line.append(f" {result.implementation} {result.vector}")
        if result.flagged:
            line.append(f" [{result.flagged}]", style="yellow")
        line.append(f": {result.detail or ''}")
        console.print(line)
    if len(found) > show_failures:
        console.print(f"... and {len(found) - show_failures} more failures (see the reports)")
