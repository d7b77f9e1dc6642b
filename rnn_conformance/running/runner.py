"""The ``rnn-conformance`` command: run the shipped suite against a target and report.

Usage::

    rnn-conformance                                   # torch.nn.RNN on the CPU
    rnn-conformance --impl mypkg.rnn:MyRNN --device cuda --profile ci -n 2
    rnn-conformance --impl mypkg.rnn:MyRNN --unsupported autograd --report-dir out
    rnn-conformance --family rnn --xfails known-failures.txt
    rnn-conformance --family all                      # torch's nn.RNN, nn.LSTM and nn.GRU
    rnn-conformance --family lstm,gru -n 2            # two families, one session
    rnn-conformance -- -k gradients -x                # anything after -- goes to pytest

A bad setting is a usage error (exit 4) that names the option as typed here and writes
no report. It runs the properties in-process with pytest (plus pytest-xdist with ``-n``),
prints pytest's progress, then a conformance matrix (one row per property, one column per
subject, a family on a device such as ``lstm-cpu``; pass, FAIL, xfail (a known failure of
the ``--xfails`` file) or skipped) with the
full skip and known-failure reasons, and writes ``report.json`` and ``report.md`` to
``--report-dir`` with the same run facts as the console header and, for each failure, the
message, the minimal example, where the target raised and the command that reruns it.
Ctrl-C stops the run and still writes a partial report that says so. The exit code is
pytest's: 0 only if nothing failed.
"""

from __future__ import annotations

import argparse
import os
import random
import shlex
import sys
import time
from collections.abc import Sequence
from typing import Any

from rnn_conformance.constants import (
    ALL_FAMILIES,
    DEFAULT_FAMILY,
    INTERRUPTED,
    PREFLIGHT_FAILED,
    PROFILE_NAMES,
    USAGE_ERROR,
    default_profile,
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # A bad command line is a usage error, with pytest's exit code for one.
        self.print_usage(sys.stderr)
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message}\n")

    def format_help(self) -> str:
        # The families are listed only for --help: the registry imports NumPy, which a
        # run should not load before pytest starts.
        if self.epilog and _FAMILIES in self.epilog:
            self.epilog = self.epilog.replace(_FAMILIES, families_help())
        return super().format_help()


_FAMILIES = "{recurrent families}"


def families_help() -> str:
    """The recurrent families ``--family`` selects, with their default targets."""
    from rnn_conformance.numerics.families import FAMILIES

    lines = [
        f"  {family.name:8} {family.title}: --impl {family.module_target}, "
        f"--cell-impl {family.cell_target}" + (" (default)" if name == DEFAULT_FAMILY else "")
        for name, family in FAMILIES.items()
    ]
    every = f"  {ALL_FAMILIES:8} every family above, one session (a comma list selects several)"
    return "recurrent families (--family):\n" + "\n".join([*lines, every])


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface of ``rnn-conformance``."""
    from rnn_conformance.generation.capabilities import CAPABILITIES
    from rnn_conformance.running.options import OPTIONS

    capabilities = "\n".join(f"  {name:18} {text}" for name, text in CAPABILITIES.items())
    parser = _Parser(
        prog="rnn-conformance",
        description="Check an RNN implementation against torch.nn.RNN's semantics.",
        epilog=f"{_FAMILIES}\n\ncapabilities a target may declare unsupported:\n"
        f"{capabilities}\n\nArguments after '--' are passed to pytest unchanged.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for option in OPTIONS.values():
        parser.add_argument(option.runner_name, **option.parser_arguments())
    parser.add_argument(
        "--profile",
        choices=PROFILE_NAMES,
        default=None,
        help="Hypothesis profile: dev 10 examples, default 100, ci 100 derandomized, "
        "thorough 1000 (default: ci when $CI is set, else default)",
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="Hypothesis seed (default: a random one, reported)"
    )
    parser.add_argument(
        "--report-dir",
        default="rnn-conformance-report",
        help="where report.json and report.md go (default: rnn-conformance-report)",
    )
    parser.add_argument(
        "-n",
        dest="workers",
        default=None,
        help="pytest-xdist workers (default 1; 0 means 1: the properties always run in a "
        "worker process, so that a target that crashes its process fails the property it "
        "was running and the run goes on)",
    )
    return parser


def _profile(args: argparse.Namespace) -> str:
    return args.profile or default_profile()


def pytest_arguments(args: argparse.Namespace, seed: int) -> tuple[list[str], list[str]]:
    """The pytest arguments for a run, and the prefix that reruns one of its properties."""
    from rnn_conformance.running.options import OPTIONS

    options = ["-p", "no:cacheprovider", f"--hypothesis-profile={_profile(args)}"]
    options.append(f"--hypothesis-seed={seed}")
    for key, option in OPTIONS.items():
        value = getattr(args, key)
        if value is None:
            continue
        options.append(option.pytest_name if option.flag else f"{option.pytest_name}={value}")
    rerun = [sys.executable, "-m", "pytest", *options]
    run = [*options, "--pyargs", "rnn_conformance.properties", "-rfE"]
    run += ["-n", isolated_workers(args.workers)]
    return run, rerun


def isolated_workers(workers: str | None) -> str:
    """The ``-n`` the runner passes to pytest-xdist: at least one worker, never 0.

    A target that segfaults kills its process; in a worker that is one failed property
    (:mod:`rnn_conformance.running.run_guards`), in the runner's own process the end of the run.

    >>> isolated_workers(None), isolated_workers("0"), isolated_workers("2")
    ('1', '1', '2')
    """
    if workers is None or str(workers).strip() == "0":
        return "1"
    return str(workers)


# Variables of the suite's own machinery, not settings: a rerun must not inherit them.
_INTERNAL_VARIABLES = (
    "RNN_CONFORMANCE_SPELLING",
    "RNN_CONFORMANCE_FLIGHT_DIR",
    "RNN_CONFORMANCE_REPRO_SCRIPTS",
)


def rerun_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The variables a printed rerun command needs: ``PYTHONPATH`` and the suite's settings.

    >>> rerun_environment({"PYTHONPATH": "/src", "RNN_CONFORMANCE_IMPL": "m:R", "HOME": "/"})
    {'PYTHONPATH': '/src', 'RNN_CONFORMANCE_IMPL': 'm:R'}
    """
    environ = dict(os.environ if environ is None else environ)
    return {
        name: value
        for name, value in sorted(environ.items())
        if (name == "PYTHONPATH" or name.startswith("RNN_CONFORMANCE_"))
        and name not in _INTERNAL_VARIABLES
    }


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
    import pytest

    from rnn_conformance.running.options import SPELLING_ENV
    from rnn_conformance.running.report import (
        ReportCollector,
        RunInfo,
        conformance_matrix,
        known_failures,
        label_transform_findings,
        skip_reasons,
        summary_line,
        write_reports,
    )

    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        split = argv.index("--")
        argv, extra = argv[:split], argv[split + 1 :]
    parser = build_parser()
    args = parser.parse_args(argv)
    _importable_from_cwd()
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    # pytest resolves the settings (a bad one is its usage error, exit 4) and names the
    # options as typed here; xdist workers inherit this. Nothing heavy is imported before
    # pytest starts, so that pytest can still rewrite the assertions of what it imports.
    os.environ[SPELLING_ENV] = "runner"
    # The workers make a standalone script of each failure, which write_reports writes.
    os.environ["RNN_CONFORMANCE_REPRO_SCRIPTS"] = "1"  # rnn_conformance.running.failures'
    run, rerun = pytest_arguments(args, seed)
    collector = ReportCollector(rerun, environment=rerun_environment(), directory=os.getcwd())
    started = time.monotonic()
    exit_code = int(pytest.main([*run, *extra], plugins=[collector]))
    wall_time = time.monotonic() - started
    facts = collector.facts
    if exit_code == PREFLIGHT_FAILED:
        print(
            f"rnn-conformance: stopped by the preflight (exit code {PREFLIGHT_FAILED}): no "
            "property ran and no report was written",
            file=sys.stderr,
        )
        return exit_code
    if exit_code == USAGE_ERROR or facts is None:
        return exit_code  # pytest printed the problem; there is nothing to report
    from rnn_conformance.running.session import versions

    results = list(collector.results.values())
    subjects = [_subject_facts(subject) for subject in facts.subjects]
    label_transform_findings(results, subjects)
    info = RunInfo(
        facts=facts.describe(profile=_profile(args), seed=seed),
        target=", ".join(s.target.spec for s in facts.subjects_on(facts.devices[0])),
        devices=facts.devices,
        profile=_profile(args),
        seed=seed,
        subjects=subjects,
        versions=versions(),
        command=shlex.join(["rnn-conformance", *argv, *(["--", *extra] if extra else [])]),
        exit_code=exit_code,
        interrupted=exit_code == INTERRUPTED,
        wall_time_s=round(wall_time, 3),
        families=[family.name for family in facts.families],
        warnings=list(collector.warnings),
    )
    if results:
        print("\nrnn-conformance matrix\n")
        print(conformance_matrix(results, [s["id"] for s in subjects], facts.devices))
        skipped = skip_reasons(results)
        if skipped:
            print("\nskipped:\n" + "\n".join(f"  {line}" for line in skipped))
        known = known_failures(results)
        if known:
            print("\nknown failures (xfailed):\n" + "\n".join(f"  {line}" for line in known))
    print(f"\n{summary_line(info, results)}")
    out = write_reports(args.report_dir, info, results)
    print(f"reports: {out / 'report.json'}, {out / 'report.md'}")
    scripts = [r.failure.repro for r in results if r.failure is not None and r.failure.repro]
    if scripts:
        print(
            f"standalone reproductions ({len(scripts)}, torch only, to attach to a bug "
            f"report): {out / 'repro'}/"
        )
    return exit_code


def _subject_facts(subject: Any) -> dict[str, Any]:
    """A subject as the report states it: its id, family, device, targets, declarations."""
    return {
        "id": subject.id,
        "family": subject.family.name,
        "device": subject.device,
        "transform": subject.transform,
        "target": subject.target.spec,
        "cell_target": subject.cell_target.spec,
        "unsupported": sorted(subject.unsupported),
        "cell_unsupported": sorted(subject.cell_unsupported),
        "activation_error": subject.activation_error,
        "cell_activation_error": subject.cell_activation_error,
    }


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
