"""The ``fuzz`` command: a coverage-guided campaign, its progress, and its triaged findings.

``--impl reference`` fuzzes the reference's robustness; any other selection fuzzes that
implementation against the reference. Exit status: 0 when the time is up with no finding, 1 with
findings saved (``OUT/findings/``), 2 on usage errors (atheris missing, an implementation that
cannot start here). Only :func:`add_fuzz_arguments` is imported to build the parser.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, TextIO

from .options import SHARED, positive_number, whole_number

if TYPE_CHECKING:  # the parser is built for every command, validate too: pathlib only to fuzz
    from pathlib import Path

    from .fuzzing.campaign import Snapshot

#: The options `run` has that mean the same here.
_SHARED_HERE = ("policy", "vector_timeout", "memory_limit")
MIB = 1 << 20


def add_fuzz_arguments(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    fuzzing = commands.add_parser(
        "fuzz",
        help="fuzz the reference, or an implementation against it",
        description="Coverage-guided fuzzing with atheris (libFuzzer) and a structure-aware mutator. "
        "--impl reference checks the reference reader's robustness; any other selection runs that "
        "implementation isolated and compares it with the reference. Findings are minimized, run "
        "through every adapter and grouped, one per distinct divergence, into OUT/findings/. Exit "
        "status: 0 when the time is up with no finding, 1 with findings saved, 2 on usage errors.",
    )
    fuzzing.add_argument(
        "--impl", required=True, metavar="SELECTION", help="reference, or an implementation as for `run --impl`"
    )
    fuzzing.add_argument(
        "--time", type=positive_number, default=60.0, metavar="SECONDS", help="fuzzing time (default: 60)"
    )
    fuzzing.add_argument("--jobs", type=whole_number(1), default=1, help="fuzzing processes (default: 1)")
    fuzzing.add_argument(
        "--out", default="fuzz-results", metavar="DIR", help="corpus, findings, summary (default: %(default)s)"
    )
    fuzzing.add_argument("--seed", type=whole_number(0), help="libFuzzer's -seed for job 0 (default: random)")
    fuzzing.add_argument(
        "--max-len", type=whole_number(8), default=64 * 1024, metavar="BYTES", help="longest input (default: 65536)"
    )
    fuzzing.add_argument(
        "--triage-impl",
        action="append",
        default=[],
        metavar="SELECTION",
        help="run findings through these adapters, besides --impl (repeatable; default: every registered adapter)",
    )
    fuzzing.add_argument("--no-triage", action="store_true", help="keep raw findings, do not minimize or group them")
    fuzzing.add_argument(
        "--libfuzzer",
        action="append",
        default=[],
        metavar="OPTION",
        help="pass an option to libFuzzer, as --libfuzzer=-use_value_profile=1 (repeatable)",
    )
    fuzzing.add_argument(
        "--no-coverage",
        action="store_true",
        help="throughput mode: no coverage feedback (about 50x the executions); mutates the seeds and the "
        "corpus in OUT, so run it after a coverage-guided campaign in the same folder",
    )
    fuzzing.add_argument("--quiet", action="store_true", help="no progress display")
    for option in SHARED:
        if option.dest in _SHARED_HERE:
            fuzzing.add_argument(option.flag, dest=option.dest, **option.settings)


class FuzzUsageError(Exception):
    pass


def run_fuzz(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .adapters.registry import SelectionError

    try:
        return _fuzz(args, out, err)
    except (FuzzUsageError, SelectionError, OSError) as error:
        print(f"safetensors-conformance: error: {error}", file=err)
        return 2


def _fuzz(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    import importlib.util
    import json
    from pathlib import Path

    from .adapters.registry import parse, registered
    from .fuzzing.campaign import Campaign, CampaignError, Plan
    from .fuzzing.triage import CampaignInfo, triage
    from .runner.run import Settings
    from .runner_cli import RunUsageError, parse_policies

    if importlib.util.find_spec("atheris") is None:
        raise FuzzUsageError("fuzzing needs atheris: pip install 'safetensors-conformance[dev]' (or atheris)")
    parse(args.impl)
    for selection in args.triage_impl:
        parse(selection)
    try:
        policies = parse_policies(args.policy, [args.impl])
    except RunUsageError as error:
        raise FuzzUsageError(str(error)) from None
    bad = [value for value in args.libfuzzer if not value.startswith("-")]
    if bad:
        raise FuzzUsageError(f"--libfuzzer takes libFuzzer options such as -use_value_profile=1, not {bad[0]!r}")
    target = "reference" if args.impl == "reference" else "differential"
    memory = args.memory_limit * MIB if args.memory_limit else None
    flat = {**policies.get("*", {}), **policies.get(args.impl, {})}
    plan = Plan(
        target=target,
        impl=None if target == "reference" else args.impl,
        out=Path(args.out),
        seconds=args.time,
        jobs=args.jobs,
        seed=args.seed,
        max_len=args.max_len,
        timeout=args.vector_timeout,
        memory_limit=memory,
        policies=dict(flat),
        extra=tuple(args.libfuzzer),
        coverage=not args.no_coverage,
    )
    campaign = Campaign(plan)
    display = None if args.quiet else _Display(err, args.impl)
    try:
        summary = campaign.run(display)
    except CampaignError as error:
        raise FuzzUsageError(str(error)) from None
    except KeyboardInterrupt:
        print(f"interrupted: the corpus so far is in {plan.out / 'corpus'}", file=err)
        return 130
    finally:
        if display is not None:
            display.close()
    findings: list[dict[str, Any]] = []
    if summary.raw and not args.no_triage:
        settings = Settings(timeout=args.vector_timeout, memory_limit=memory, policies=policies)
        chosen = args.triage_impl or list(registered())
        selections = sorted({*chosen, *([plan.impl] if plan.impl else [])})
        groups = triage(
            summary.raw,
            target=target,
            impl=plan.impl,
            settings=settings,
            selections=selections,
            campaign=CampaignInfo(summary.started, summary.seed, summary.executions),
            out=plan.out,
            notice=lambda text: print(text, file=err),
        )
        findings = [group.summary() for group in groups]
    elif summary.raw:
        findings = [{"file": str(path.relative_to(plan.out))} for path in summary.raw]
    document = summary.to_json(findings)
    (plan.out / "summary.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    _print_summary(document, plan.out, out)
    return 1 if findings else 0


class _Display:
    """One line on standard error, redrawn as the campaign runs."""

    def __init__(self, err: TextIO, label: str) -> None:
        from rich.console import Console
        from rich.live import Live

        self.label = label
        self.live = Live(console=Console(file=err), transient=True, refresh_per_second=4)
        self.started = False

    def __call__(self, snapshot: Snapshot) -> None:
        from rich.text import Text

        if not self.started:
            self.live.start()
            self.started = True
        line = (
            f"fuzz {self.label}  {snapshot.elapsed:5.0f}/{snapshot.seconds:.0f} s  "
            f"{snapshot.executions:,} executions ({snapshot.exec_per_second:,.0f}/s)  "
            f"cov {snapshot.coverage:,}  ft {snapshot.features:,}  corpus {snapshot.corpus:,}  "
            f"findings {snapshot.findings}"
        )
        self.live.update(Text(line, style="red" if snapshot.findings else ""))

    def close(self) -> None:
        if self.started:
            self.live.stop()


def _print_summary(document: dict[str, Any], folder: Path, out: TextIO) -> None:
    print(
        f"{document['target']}{'' if document['impl'] is None else ' ' + document['impl']}: "
        f"{document['executions']:,} executions in {document['elapsed']:.0f} s "
        f"({document['exec_per_second']:,.0f}/s), "
        + (
            f"coverage {document['coverage']:,}, features {document['features']:,}, "
            if document["coverage_feedback"]
            else "no coverage feedback, "
        )
        + f"corpus {document['corpus']:,}",
        file=out,
    )
    findings = document["findings"]
    if not findings:
        print("no findings", file=out)
    for finding in findings:
        outcomes = ", ".join(f"{name}: {verdict}" for name, verdict in finding.get("outcomes", {}).items())
        print(f"finding {folder / finding['file']}  {outcomes}", file=out)
    print(f"summary: {folder / 'summary.json'}", file=out)
