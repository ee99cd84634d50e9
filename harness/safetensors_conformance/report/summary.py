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
from ..spec import Requirement, load_all
from .model import citations_of, failures, flagged


def plural(count: int, noun: str) -> str:
    """``1 file``, ``2 files``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _section(requirement: Requirement) -> str:
    """A section of the spec, the checkpoint part's named as such (both have a "Writers")."""
    return f"checkpoint {requirement.section}" if requirement.id.startswith("CKPT-") else requirement.section


def _group(citations: dict[str, tuple[str, ...]], vector_id: str) -> str:
    """Where a vector that cites no requirement of the spec is counted: its group (``ckpt/valid``)."""
    cited = citations.get(vector_id, ())
    return cited[0] if cited else "other"


def print_summary(
    results: Results,
    corpus: Corpus | None,
    out: TextIO,
    *,
    known: Callable[[str, str], str | None] | None = None,
) -> None:
    """The per-section table, then every failure by name (known ones too, grouped), then every
    rejection through an unexpected error."""
    console = Console(file=out, highlight=False, soft_wrap=True)
    index = load_all()
    citations = citations_of(corpus)
    names = list(results.implementations)
    cells: dict[str, dict[str, Counter[str]]] = {}
    for result in results.results:
        # A vector counts once in every section whose requirements it cites.
        cited = [index[r] for r in citations.get(result.vector, ()) if r in index]
        for section in dict.fromkeys(_section(r) for r in cited) or [_group(citations, result.vector)]:
            counts = cells.setdefault(section, {}).setdefault(result.implementation, Counter())
            counts["ok" if result.verdict.ok else "failed" if result.verdict.failed else "skipped"] += 1
    order = list(dict.fromkeys(_section(r) for r in index.values()))
    table = Table(title="verdicts per requirement section: passed, failed, skipped")
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
            parts = [f"{counts['ok']} passed"]
            if counts["failed"]:
                parts.append(f"[red]{counts['failed']} failed[/red]")
            if counts["skipped"]:
                parts.append(f"[dim]{counts['skipped']} skipped[/dim]")
            row.append(", ".join(parts) if counts else "")
        table.add_row(*row)
    console.print(table)
    for name, description in results.implementations.items():
        if not description.available:
            console.print(f"[yellow]{name}[/yellow] is unavailable here: {description.reason}")
    found = failures(results)
    expected = [r for r in found if known is not None and known(r.implementation, r.vector)]
    found = [r for r in found if r not in expected]
    if expected:
        console.print(
            Text(f"{plural(len(expected), 'known failure')} (listed in the known-failures file):", style="yellow")
        )
        by_implementation: dict[str, list[str]] = {}
        for result in expected:
            by_implementation.setdefault(result.implementation, []).append(result.vector)
        for name, vectors in by_implementation.items():
            console.print(Text(f"  {name}: {', '.join(vectors)}"))
    for result in found:
        line = Text(result.verdict.value, style="red")
        line.append(f" {result.implementation} {result.vector}")
        if result.flagged:
            line.append(f" [{result.flagged}]", style="yellow")
        line.append(f": {result.detail or ''}")
        console.print(line)
    unexpected = [r for r in flagged(results) if not r.verdict.failed]
    if unexpected:
        console.print(Text(f"{plural(len(unexpected), 'rejection')} through an unexpected error (they count):"))
        for result in unexpected:
            console.print(Text(f"  {result.implementation} {result.vector}: {result.flagged}", style="yellow"))
