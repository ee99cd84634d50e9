"""A Markdown summary of a ``validate --json`` report, for a CI job summary (the GitHub Action).

    python -m safetensors_conformance.report.validate_summary REPORT.json [--status N] [--stderr FILE]
        [--summary FILE] [--annotations] [--spec-url URL]

One row per file or checkpoint (PASS, FAIL or ERROR, its kind, its primary requirement, counts),
the inputs that do not conform first; then, for each of those, its first findings with file,
offset, JSON pointer and requirement. The Markdown goes to ``--summary`` (appended, as
``$GITHUB_STEP_SUMMARY`` expects) or to standard output. ``--annotations`` also prints GitHub
workflow commands that mark each finding on its file. When ``validate`` printed no report (exit
status 2 on a usage error), the summary says so and quotes ``--stderr``.

Paths, names and messages come from the files checked, so every one is escaped: no file can add a
link, an image, a table cell or a workflow command to the summary.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final, NamedTuple, TextIO

from ..spec import lookup
from ..textout import terminal

#: Rows of the table; the rest are counted (a job summary holds at most 1 MiB).
MAX_ROWS: Final = 200
#: Inputs whose findings are listed, and findings listed for each.
MAX_DETAILED: Final = 25
MAX_FINDINGS: Final = 5
#: Workflow annotations printed in all (GitHub shows ten errors and ten warnings per step).
MAX_ANNOTATIONS: Final = 50

#: ASCII punctuation that Markdown (or GitHub's math, ``$``) gives a meaning to inside a line.
_MARKDOWN: Final = re.compile(r"([\\`*_{}\[\]<>|~&!#$])")


class Finding(NamedTuple):
    kind: str  # "error" or "warning"
    requirement: str
    message: str
    file: str  # the file checked, or the file of a checkpoint the finding is in
    offset: int | None
    pointer: str | None
    flag: str | None


class Entry(NamedTuple):
    """One entry of the report, as far as the summary uses it."""

    path: str
    verdict: str  # PASS, FAIL or ERROR
    kind: str
    primary: str | None
    error: str | None
    findings: tuple[Finding, ...]
    unreported: int


def markdown(text: str) -> str:
    """Text from a file, shown as itself: controls escaped, Markdown punctuation made literal."""
    return _MARKDOWN.sub(r"\\\1", terminal(text))


def parse(entries: object) -> list[Entry]:
    """The entries of a ``validate --json`` report; :class:`ValueError` for anything else."""
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ValueError("not a validate --json report (a JSON array of objects)")
    parsed = []
    for entry in entries:
        path = str(entry.get("path"))
        valid = entry.get("valid")
        checkpoint = entry.get("checkpoint")
        kind = "file"
        if isinstance(checkpoint, dict):
            shards = checkpoint.get("shards")
            count = len(shards) if isinstance(shards, list) else 0
            kind = f"checkpoint, {count} shard{'' if count == 1 else 's'}"
        findings = []
        for key, finding_kind in (("violations", "error"), ("warnings", "warning")):
            for item in entry.get(key) or ():
                if not isinstance(item, dict):
                    continue
                offset = item.get("offset")
                findings.append(
                    Finding(
                        finding_kind,
                        str(item.get("requirement")),
                        str(item.get("message")),
                        str(item["file"]) if isinstance(item.get("file"), str) else path,
                        offset if isinstance(offset, int) else None,
                        item.get("pointer") if isinstance(item.get("pointer"), str) else None,
                        item.get("flag") if isinstance(item.get("flag"), str) else None,
                    )
                )
        unreported = sum(n for n in (entry.get("unreported_violations"), entry.get("unreported_warnings")) if n)
        parsed.append(
            Entry(
                path=path,
                verdict="PASS" if valid is True else "FAIL" if valid is False else "ERROR",
                kind=kind if valid is not None else "",
                primary=entry.get("primary") if isinstance(entry.get("primary"), str) else None,
                error=None if valid is not None else str(entry.get("error")),
                findings=tuple(findings),
                unreported=unreported if isinstance(unreported, int) else 0,
            )
        )
    return parsed


def requirement_link(requirement: str, spec_url: str | None) -> str:
    """The ID in bold, linked to its section of the spec when ``spec_url`` (the spec/ folder) is known."""
    known = lookup(requirement)
    shown = f"**{markdown(requirement)}**"
    if spec_url is None or known is None:
        return shown
    return f"[{shown}]({spec_url.rstrip('/')}/{known.document}#{known.anchor})"


_ICONS: Final = {"PASS": "✅", "FAIL": "❌", "ERROR": "⚠️"}
_ORDER: Final = {"ERROR": 0, "FAIL": 1, "PASS": 2}


def render(entries: Sequence[Entry], *, status: int | None = None, spec_url: str | None = None) -> str:
    passing = sum(1 for e in entries if e.verdict == "PASS")
    failing = [e for e in sorted(entries, key=lambda e: _ORDER[e.verdict]) if e.verdict != "PASS"]
    icon = "✅" if not failing else "❌"
    lines = [f"### {icon} safetensors conformance: {passing} of {len(entries)} conform", ""]
    if status is not None and status != 0 and not failing:
        lines += [f"validate exited with status {status}.", ""]
    lines += ["| Result | Path | Kind | Primary requirement | Findings |", "|---|---|---|---|---:|"]
    ordered = sorted(entries, key=lambda e: _ORDER[e.verdict])
    for entry in ordered[:MAX_ROWS]:
        primary = requirement_link(entry.primary, spec_url) if entry.primary else ""
        if entry.error is not None:
            primary = markdown(entry.error)
        count = len(entry.findings) + entry.unreported
        lines.append(
            f"| {_ICONS[entry.verdict]} {entry.verdict} | {markdown(entry.path)} | {entry.kind} | {primary} | {count} |"
        )
    if len(ordered) > MAX_ROWS:
        lines.append(f"| | … and {len(ordered) - MAX_ROWS} more (see the JSON report) | | | |")
    for entry in failing[:MAX_DETAILED]:
        if entry.error is not None:
            continue
        lines += ["", f"#### {_ICONS[entry.verdict]} {markdown(entry.path)}", ""]
        for finding in entry.findings[:MAX_FINDINGS]:
            lines.append(f"- {finding.kind} {requirement_link(finding.requirement, spec_url)} {_where(finding)}")
        more = len(entry.findings) + entry.unreported - MAX_FINDINGS
        if more > 0:
            lines.append(f"- … and {more} more (see the JSON report)")
    if len(failing) > MAX_DETAILED:
        lines += ["", f"… and {len(failing) - MAX_DETAILED} more that do not conform (see the JSON report)"]
    if any(e.findings for e in entries):
        lines += ["", "`safetensors-conformance cite ID` prints a requirement's text."]
    return "\n".join(lines) + "\n"


def _where(finding: Finding) -> str:
    where = [f"in {markdown(finding.file)}"]
    if finding.offset is not None:
        where.append(f"at offset {finding.offset}")
    if finding.pointer is not None:
        where.append(f"pointer {markdown(finding.pointer) or 'the root'}")
    flag = f" (flag {markdown(finding.flag)})" if finding.flag is not None else ""
    return f"{', '.join(where)}: {markdown(finding.message)}{flag}"


def render_unreadable(problem: str, status: int | None, stderr: str) -> str:
    """The summary when validate printed no report."""
    lines = ["### ⚠️ safetensors conformance: no report", ""]
    shown = f" (exit status {status})" if status is not None else ""
    lines.append(f"validate printed no report{shown}: {markdown(problem)}")
    if stderr.strip():
        lines += ["", "```text", *(terminal(line).replace("```", "'''") for line in stderr.splitlines()[-20:]), "```"]
    return "\n".join(lines) + "\n"


# --- Annotations ----------------------------------------------------------------------------------


def _command_data(text: str) -> str:
    return terminal(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _command_property(text: str) -> str:
    return _command_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_commands(entries: Sequence[Entry]) -> list[str]:
    """GitHub workflow commands: one per finding (an error or a warning on its file), then per error."""
    commands = []
    for entry in entries:
        if entry.error is not None:
            commands.append(f"::error file={_command_property(entry.path)}::{_command_data(entry.error)}")
            continue
        for finding in entry.findings[:MAX_FINDINGS]:
            file = finding.file if finding.file == entry.path else f"{entry.path.rstrip('/')}/{finding.file}"
            where = f" at {finding.pointer}" if finding.pointer else ""
            commands.append(
                f"::{finding.kind} file={_command_property(file)},title={_command_property(finding.requirement)}"
                f"::{_command_data(finding.message + where)}"
            )
    return commands[:MAX_ANNOTATIONS]


# --- Command line ---------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    parser = argparse.ArgumentParser(
        prog="python -m safetensors_conformance.report.validate_summary",
        description="Render a validate --json report as a Markdown job summary.",
    )
    parser.add_argument("report", type=Path, metavar="REPORT", help="the output of validate --json")
    parser.add_argument("--status", type=int, help="validate's exit status")
    parser.add_argument("--stderr", type=Path, metavar="FILE", help="validate's error output, quoted if no report")
    parser.add_argument("--summary", type=Path, metavar="FILE", help="append the Markdown here (default: stdout)")
    parser.add_argument("--annotations", action="store_true", help="print GitHub workflow commands, one per finding")
    parser.add_argument("--spec-url", metavar="URL", help="the spec/ folder online: requirement IDs link there")
    args = parser.parse_args(argv)
    entries: list[Entry] = []
    try:
        entries = parse(json.loads(args.report.read_text(encoding="utf-8")))
        text = render(entries, status=args.status, spec_url=args.spec_url)
    except (OSError, ValueError) as error:
        stderr = ""
        if args.stderr is not None:
            stderr = args.stderr.read_text(encoding="utf-8", errors="replace") if args.stderr.exists() else ""
        text = render_unreadable(str(error), args.status, stderr)
    if args.summary is None:
        out.write(text)
    else:
        with args.summary.open("a", encoding="utf-8") as summary:
            summary.write(text)
    if args.annotations:
        for command in workflow_commands(entries):
            out.write(command + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
