"""``rnn-conformance --family all``: torch's own modules of every family, one run each.

Each family runs in its own ``rnn-conformance`` process (a family is chosen once per
pytest session: the properties read it when they are imported), with the same settings
and seed, and writes its reports to ``<report-dir>/<family>/``. Their output streams
through as it comes, one matrix per family. Then a summary table of the families is
printed and written to ``<report-dir>/report.json`` and ``report.md``.

The exit code is the first non-zero exit code in family order (0 when every family
passed); an interrupted family (Ctrl-C) stops the runs.

>>> print(summary_table([FamilyRun("rnn", "nn.RNN", 0, {"passed": 66, "failed": 0}, "out/rnn")]))
| family | exit code | verdicts | report |
| --- | --- | --- | --- |
| rnn (nn.RNN) | 0 | 66 passed, 0 failed | out/rnn/report.md |
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["ALL", "FamilyRun", "family_arguments", "run_every_family", "summary_table"]

ALL = "all"
"""The ``--family`` value that checks every registered family."""

INTERRUPTED = 2  # pytest.ExitCode.INTERRUPTED


@dataclass(frozen=True)
class FamilyRun:
    """How one family's run ended."""

    family: str
    title: str
    exit_code: int
    summary: dict[str, int]
    report_dir: str


def family_arguments(args: argparse.Namespace, family: str, report_dir: Path) -> list[str]:
    """The ``rnn-conformance`` arguments of one family's run: ``args`` with that family."""
    from rnn_conformance.options import OPTIONS

    argv = ["--family", family, "--report-dir", str(report_dir)]
    for key, option in OPTIONS.items():
        value = getattr(args, key)
        if key == "family" or value is None:
            continue
        argv += [option.runner_name] if option.flag else [f"{option.runner_name}={value}"]
    for name in ("profile", "seed"):
        if getattr(args, name) is not None:
            argv.append(f"--{name}={getattr(args, name)}")
    if args.workers is not None:
        argv += ["-n", str(args.workers)]
    return argv


def _summary(report_dir: Path) -> dict[str, int]:
    try:
        return dict(json.loads((report_dir / "report.json").read_text())["summary"])
    except (OSError, ValueError, KeyError):
        return {}  # a usage error or a crash writes no report


def _verdicts(summary: dict[str, int]) -> str:
    if not summary:
        return "no report"
    shown = [(outcome, n) for outcome, n in summary.items() if n or outcome in ("passed", "failed")]
    return ", ".join(f"{n} {outcome}" for outcome, n in shown)


def summary_table(runs: list[FamilyRun]) -> str:
    """One Markdown row per family: its exit code, verdict counts and report."""
    rows = ["| family | exit code | verdicts | report |", "| --- | --- | --- | --- |"]
    rows += [
        f"| {run.family} ({run.title}) | {run.exit_code} | {_verdicts(run.summary)} | "
        f"{run.report_dir}/report.md |"
        for run in runs
    ]
    return "\n".join(rows)


def run_every_family(args: argparse.Namespace, extra: list[str], seed: int) -> int:
    """Run every registered family with ``args``; print and write the summary."""
    from rnn_conformance.families import FAMILIES

    args.seed = seed  # the same examples for every family, and reported once
    out = Path(args.report_dir)
    runs = []
    for family in FAMILIES.values():
        report_dir = out / family.name
        print(f"\n=== rnn-conformance --family {family.name} ({family.title})", flush=True)
        argv = family_arguments(args, family.name, report_dir)
        command = [sys.executable, "-m", "rnn_conformance", *argv]
        if extra:
            command += ["--", *extra]
        exit_code = subprocess.run(command, check=False).returncode
        runs.append(
            FamilyRun(family.name, family.title, exit_code, _summary(report_dir), str(report_dir))
        )
        if exit_code == INTERRUPTED:
            break
    table = summary_table(runs)
    print(f"\nrnn-conformance: every family (seed {seed})\n\n{table}")
    exit_code = next((run.exit_code for run in runs if run.exit_code), 0)
    out.mkdir(parents=True, exist_ok=True)
    payload = {"seed": seed, "exit_code": exit_code, "families": [asdict(run) for run in runs]}
    (out / "report.json").write_text(json.dumps(payload, indent=2) + "\n")
    (out / "report.md").write_text(
        f"# RNN conformance: every family\n\n- seed: {seed}\n- exit code: {exit_code}\n\n{table}\n"
    )
    print(f"reports: {out / 'report.json'}, {out / 'report.md'}")
    return exit_code
