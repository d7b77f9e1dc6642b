"""The ``rnn-conformance`` command: run the shipped suite against a target and report.

Usage::

    rnn-conformance                                   # torch.nn.RNN on the CPU
    rnn-conformance --impl mypkg.rnn:MyRNN --device cuda --profile ci -n 2
    rnn-conformance --impl mypkg.rnn:MyRNN --unsupported autograd --report-dir out
    rnn-conformance -- -k gradients -x                # anything after -- goes to pytest

It runs the properties in-process with pytest (plus pytest-xdist with ``-n``), prints
pytest's progress, then a conformance matrix (one row per property, one column per
device; pass, FAIL or skipped with its reason), and writes ``report.json`` and
``report.md`` to ``--report-dir`` with the run's facts and, for each failure, the
message, the minimal falsifying example and the command that reruns it. The exit code
is pytest's: 0 only if nothing failed.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shlex
import sys
from collections.abc import Sequence
from importlib import metadata

import pytest

from rnn_conformance.report import (
    ReportCollector,
    RunInfo,
    conformance_matrix,
    summary_counts,
    write_reports,
)
from rnn_conformance.target import DEFAULT_CELL_TARGET, DEFAULT_TARGET

PROFILES = ("dev", "default", "ci", "thorough")


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface of ``rnn-conformance``."""
    parser = argparse.ArgumentParser(
        prog="rnn-conformance",
        description="Check an RNN implementation against torch.nn.RNN's semantics.",
        epilog="Arguments after '--' are passed to pytest unchanged.",
    )
    parser.add_argument("--impl", default=None, help=f"module:attr (default {DEFAULT_TARGET})")
    parser.add_argument(
        "--cell-impl", default=None, help=f"module:attr (default {DEFAULT_CELL_TARGET})"
    )
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:N, all or a comma list")
    parser.add_argument(
        "--profile",
        choices=PROFILES,
        default=None,
        help="Hypothesis profile (default: ci when CI is set, else default)",
    )
    parser.add_argument("--seed", type=int, default=None, help="Hypothesis seed (default random)")
    parser.add_argument("--unsupported", default="", help="capabilities the target lacks")
    parser.add_argument("--skips", default=None, help="file of property ids to skip")
    parser.add_argument("--allow-tf32", action="store_true", help="allow TF32 on CUDA")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per property")
    parser.add_argument(
        "--report-dir", default="rnn-conformance-report", help="where report.json/.md go"
    )
    parser.add_argument("-n", dest="workers", default=None, help="pytest-xdist workers")
    return parser


def _profile(args: argparse.Namespace) -> str:
    if args.profile:
        return args.profile
    return "ci" if os.environ.get("CI", "").lower() in ("1", "true") else "default"


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("rnn-conformance", "torch", "numpy", "hypothesis", "pytest"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def pytest_arguments(args: argparse.Namespace, seed: int) -> tuple[list[str], list[str]]:
    """The pytest arguments for a run, and the prefix that reruns one of its properties."""
    options = ["-p", "no:cacheprovider", f"--hypothesis-profile={_profile(args)}"]
    options.append(f"--hypothesis-seed={seed}")
    for flag, value in (
        ("--rnn-impl", args.impl),
        ("--rnn-cell-impl", args.cell_impl),
        ("--device", args.device),
        ("--rnn-unsupported", args.unsupported or None),
        ("--rnn-skips", args.skips),
        ("--rnn-timeout", None if args.timeout is None else f"{args.timeout:g}"),
    ):
        if value is not None:
            options.append(f"{flag}={value}")
    if args.allow_tf32:
        options.append("--allow-tf32")
    rerun = [sys.executable, "-m", "pytest", *options]
    run = [*options, "--pyargs", "rnn_conformance.properties", "-rfEs"]
    if args.workers is not None:
        run += ["-n", str(args.workers)]
    return run, rerun


def _importable_from_cwd() -> None:
    """Make packages in the current directory importable, as ``python -m`` would.

    So ``--impl mypkg.rnn:MyRNN`` works here and in pytest-xdist workers (which inherit
    PYTHONPATH).
    """
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if cwd not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([cwd, *paths])


def main(argv: Sequence[str] | None = None) -> int:
    """Run the suite; print the matrix; write the reports; return pytest's exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        split = argv.index("--")
        argv, extra = argv[:split], argv[split + 1 :]
    args = build_parser().parse_args(argv)
    _importable_from_cwd()
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    run, rerun = pytest_arguments(args, seed)
    collector = ReportCollector(rerun)
    exit_code = int(pytest.main([*run, *extra], plugins=[collector]))
    results = list(collector.results.values())
    info = RunInfo(
        target=args.impl or os.environ.get("RNN_CONFORMANCE_IMPL") or DEFAULT_TARGET,
        cell_target=args.cell_impl or DEFAULT_CELL_TARGET,
        devices=sorted({r.device for r in results}) or [args.device or "cpu"],
        profile=_profile(args),
        seed=seed,
        unsupported=sorted(filter(None, args.unsupported.split(","))),
        versions=_versions(),
        command=shlex.join(["rnn-conformance", *argv, *(["--", *extra] if extra else [])]),
        exit_code=exit_code,
    )
    if results:
        counts = summary_counts(results)
        print("\nrnn-conformance matrix\n")
        print(conformance_matrix(results))
        print(
            f"\n{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped"
        )
    out = write_reports(args.report_dir, info, results)
    print(f"reports: {out / 'report.json'}, {out / 'report.md'}")
    return exit_code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
