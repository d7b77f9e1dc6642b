"""Benchmark the suite: wall time per profile and worker count, per-property throughput,
and the NumPy reference against torch (float32, CPU) forward and backward, per family.

    python benchmarks/run_benchmarks.py                  # everything (about 20 minutes)
    python benchmarks/run_benchmarks.py --profiles default --families lstm  # quicker
    python benchmarks/run_benchmarks.py --skip-suite     # reference vs torch only
    python benchmarks/run_benchmarks.py --every-family-only  # one session vs one per family
    python benchmarks/run_benchmarks.py --transforms-only --families gru  # a row per transform

Prints Markdown tables and writes them as JSON (default benchmarks/results.json).
Timings are wall-clock on this machine; ratios are measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import torch

from rnn_conformance.harness.target import resolve
from rnn_conformance.numerics.backprop import gradients_from_trace
from rnn_conformance.numerics.config import RNNConfig
from rnn_conformance.numerics.families import FAMILIES
from rnn_conformance.numerics.reference import forward_trace
from rnn_conformance.numerics.tolerances import Precision, forward_error_bounds

SIZES = {
    "small": dict(steps=8, batch=4, input_size=8, hidden=8, layers=1, bidirectional=False),
    "medium": dict(steps=64, batch=16, input_size=64, hidden=64, layers=2, bidirectional=True),
    "large": dict(steps=256, batch=32, input_size=256, hidden=256, layers=1, bidirectional=False),
}
TARGETS = {
    "suite_default_n2_s": 60.0,
    "every_family_speedup_default_n2": 1.5,
    "forward_ratio_medium": 2.0,
    "backward_ratio_medium": 3.0,
    "xdist_speedup_default": 1.6,
}


def _best_of(fn, repeats):
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _time_size(family: str, name: str, s: dict, repeats: int) -> dict:
    """Time torch and the reference, forward and forward+backward, at one size.

    Also the tolerance policy's forward bounds, which every reference comparison pays for.
    """
    config = RNNConfig(
        s["input_size"],
        s["hidden"],
        num_layers=s["layers"],
        bidirectional=s["bidirectional"],
        family=family,
    )
    module = resolve(config.family.module_target)(**config.constructor_kwargs()).eval()
    params = {k: v.detach().double().numpy() for k, v in module.named_parameters()}
    x = np.random.default_rng(0).uniform(-1, 1, (s["steps"], s["batch"], s["input_size"]))
    x_t = torch.tensor(x, dtype=torch.float32)

    def seeds(results):
        return [torch.ones_like(t) for t in results]

    def torch_forward():
        with torch.no_grad():
            module(x_t)

    def torch_backward():
        out, h_n = module(x_t.clone().requires_grad_())
        results = [out, *(h_n if isinstance(h_n, tuple) else (h_n,))]
        torch.autograd.backward(results, seeds(results))

    def reference_forward():
        forward_trace(config, x, params)

    def reference_backward():
        out, h_n, trace = forward_trace(config, x, params)
        ones = tuple(np.ones_like(h) for h in h_n) if isinstance(h_n, tuple) else np.ones_like(h_n)
        gradients_from_trace(trace, np.ones_like(out), ones)

    def reference_bounds():
        _, _, trace = forward_trace(config, x, params)
        forward_error_bounds(trace, Precision.of("float32"))

    functions = (torch_forward, torch_backward, reference_forward, reference_backward)
    for fn in (*functions, reference_bounds):
        fn()  # warm-up
    times = {fn.__name__: _best_of(fn, repeats) for fn in functions}
    times["reference_bounds"] = _best_of(reference_bounds, max(1, repeats // 2))
    return {
        "family": family,
        "size": name,
        **s,
        **{k + "_ms": round(v * 1e3, 3) for k, v in times.items()},
        "forward_ratio": round(times["reference_forward"] / times["torch_forward"], 2),
        "backward_ratio": round(times["reference_backward"] / times["torch_backward"], 2),
    }


def reference_versus_torch(repeats: int = 5) -> list[dict]:
    """Forward and forward+backward times of the reference and of torch float32, per family."""
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    return [
        _time_size(family, name, s, repeats) for family in FAMILIES for name, s in SIZES.items()
    ]


_PASSING = re.compile(r"(\d+) passing(?: examples)?\b")
_HEADER = re.compile(r"^(\S+::\S+):$")


def run_suite(family: str, profile: str, workers: int) -> dict:
    """Wall time of all properties of ``family`` under ``profile`` with ``workers`` (0 = no
    xdist)."""
    with tempfile.TemporaryDirectory() as tmp:
        junit = Path(tmp) / "junit.xml"
        command = [
            sys.executable,
            "-m",
            "pytest",
            "--pyargs",
            "rnn_conformance.properties",
            "-p",
            "no:cacheprovider",
            f"--hypothesis-profile={profile}",
            f"--rnn-family={family}",
            "--hypothesis-show-statistics",
            f"--junitxml={junit}",
            "-q",
        ]
        if workers:
            command += ["-n", str(workers)]
        env = {k: v for k, v in os.environ.items() if k != "CI"}
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - start
        per_test = {}
        for case in ET.parse(junit).getroot().iter("testcase"):
            test = f"{case.get('name')}"
            per_test[test] = per_test.get(test, 0.0) + float(case.get("time", 0))
    examples, current = {}, None
    for line in done.stdout.splitlines():
        header = _HEADER.match(line.strip())
        if header:
            current = header.group(1).split("::")[-1]  # name[params], as in the junit names
        match = _PASSING.search(line)
        if match and current is not None:
            examples[current] = examples.get(current, 0) + int(match.group(1))
    return {
        "family": family,
        "profile": profile,
        "workers": workers,
        "wall_s": round(wall, 2),
        "exit_code": done.returncode,
        "per_test_s": per_test,
        "examples": examples,
    }


def _runner(arguments: list[str]) -> tuple[float, int, dict]:
    """Wall time, exit code and verdict counts of one ``rnn-conformance`` run."""
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "rnn_conformance", "--report-dir", tmp, *arguments]
        env = {k: v for k, v in os.environ.items() if k != "CI"}
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - start
        try:
            summary = json.loads((Path(tmp) / "report.json").read_text())["summary"]
        except (OSError, ValueError, KeyError):
            summary = {}
    return round(wall, 2), done.returncode, summary


def every_family(profile: str, workers: int, seed: int = 0) -> dict:
    """``--family all`` as one session against one ``rnn-conformance`` process per family.

    The second is what ``--family all`` did before subjects: the same runs, one after the
    other, each paying pytest's and torch's start-up and its own worker start. Same
    profile, seed and worker count for both, measured back to back in this run.
    """
    common = ["--profile", profile, "--seed", str(seed), "-n", str(workers)]
    one_session = _runner(["--family", "all", *common])
    per_family = {family: _runner(["--family", family, *common]) for family in FAMILIES}
    separate = round(sum(wall for wall, _, _ in per_family.values()), 2)
    return {
        "profile": profile,
        "workers": workers,
        "seed": seed,
        "one_session_s": one_session[0],
        "one_session_exit_code": one_session[1],
        "one_session_summary": one_session[2],
        "one_process_per_family_s": separate,
        "per_family": {
            family: {"wall_s": wall, "exit_code": code, "summary": summary}
            for family, (wall, code, summary) in per_family.items()
        },
        "speedup": round(separate / one_session[0], 2) if one_session[0] else None,
    }


def every_transform(family: str, profile: str, workers: int, seed: int = 0) -> list[dict]:
    """One ``rnn-conformance`` run per transform of ``family``: wall time and throughput.

    The same profile, seed and worker count for each, back to back. Properties per minute
    counts every verdict (passed, failed, skipped) against the run's wall time, start-up
    included: what a user waits for.
    """
    from rnn_conformance.transforms import ALL_TRANSFORMS

    rows = []
    for transform in ALL_TRANSFORMS:
        common = ["--profile", profile, "--seed", str(seed), "-n", str(workers)]
        wall, code, summary = _runner(["--family", family, "--transform", transform, *common])
        verdicts = sum(summary.get(k, 0) for k in ("passed", "failed", "xfailed", "skipped"))
        rows.append(
            {
                "family": family,
                "transform": transform,
                "profile": profile,
                "wall_s": wall,
                "exit_code": code,
                "summary": summary,
                "properties_per_minute": round(60 * verdicts / wall, 1) if wall else None,
            }
        )
    return rows


def _table(headers, rows):
    lines = ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _transforms_only(args: argparse.Namespace) -> None:
    rows = [
        row
        for family in args.families.split(",")
        for profile in args.profiles.split(",")
        for row in every_transform(family, profile, 2)
    ]
    print("## rnn-conformance --transform: a run per transform (-n 2)\n")
    print(
        _table(
            ["family", "transform", "profile", "wall s", "properties per minute", "verdicts"],
            [
                [
                    r["family"],
                    r["transform"],
                    r["profile"],
                    r["wall_s"],
                    r["properties_per_minute"],
                    ", ".join(f"{n} {k}" for k, n in r["summary"].items() if n),
                ]
                for r in rows
            ],
        )
    )
    output = Path(args.output)
    earlier = json.loads(output.read_text()) if output.exists() else {}
    output.write_text(json.dumps({**earlier, "every_transform": rows}, indent=2) + "\n")
    print(f"\nwrote {args.output}")


def main() -> None:
    """Run the benchmarks, print the tables, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", default="dev,default,ci")
    parser.add_argument("--workers", default="0,2")
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--skip-suite", action="store_true")
    parser.add_argument(
        "--every-family-only",
        action="store_true",
        help="only time --family all: one session against one process per family",
    )
    parser.add_argument(
        "--transforms-only",
        action="store_true",
        help="only time each transform (eager, compile, export) on each of --families",
    )
    parser.add_argument("--output", default=str(Path(__file__).with_name("results.json")))
    args = parser.parse_args()
    if args.transforms_only:
        _transforms_only(args)
        return

    results: dict = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, torch {torch.__version__}",
        "targets": TARGETS,
    }
    runs = [every_family(profile, 2) for profile in args.profiles.split(",")]
    results["every_family"] = runs
    print("## rnn-conformance --family all: one session vs one process per family (-n 2)\n")
    print(
        _table(
            ["profile", "one process per family s", "one session s", "speed-up", "verdicts"],
            [
                [
                    r["profile"],
                    r["one_process_per_family_s"],
                    r["one_session_s"],
                    r["speedup"],
                    ", ".join(f"{n} {k}" for k, n in r["one_session_summary"].items() if n),
                ]
                for r in runs
            ],
        )
    )
    if args.every_family_only:
        # The other sections of an earlier full run stay as they were measured.
        output = Path(args.output)
        earlier = json.loads(output.read_text()) if output.exists() else {}
        output.write_text(json.dumps({**earlier, **results}, indent=2) + "\n")
        print(f"\nwrote {args.output}")
        return
    comparison = reference_versus_torch()
    results["reference_vs_torch"] = comparison
    print("\n## NumPy reference vs torch float32 (CPU), best of 5\n")
    print(
        _table(
            [
                "family",
                "size",
                "torch fwd ms",
                "ref fwd ms",
                "fwd ratio",
                "torch fwd+bwd ms",
                "ref fwd+bwd ms",
                "bwd ratio",
                "f32 bounds ms",
            ],
            [
                [
                    r["family"],
                    r["size"],
                    r["torch_forward_ms"],
                    r["reference_forward_ms"],
                    r["forward_ratio"],
                    r["torch_backward_ms"],
                    r["reference_backward_ms"],
                    r["backward_ratio"],
                    r["reference_bounds_ms"],
                ]
                for r in comparison
            ],
        )
    )
    if not args.skip_suite:
        families = args.families.split(",")
        runs = [
            run_suite(family, profile, int(workers))
            for family in families
            for profile in args.profiles.split(",")
            for workers in args.workers.split(",")
        ]
        results["suite"] = runs
        print("\n## Suite wall time (all properties)\n")
        walls = {(r["family"], r["profile"], r["workers"]): r["wall_s"] for r in runs}
        rows = []
        for family in families:
            for profile in args.profiles.split(","):
                serial = walls.get((family, profile, 0))
                parallel = walls.get((family, profile, 2))
                speedup = round(serial / parallel, 2) if serial and parallel else ""
                rows.append([family, profile, serial, parallel, speedup])
        print(_table(["family", "profile", "-n 0 s", "-n 2 s", "speed-up"], rows))
        serial_default = next(
            (r for r in runs if r["workers"] == 0 and r["profile"] == "default"), runs[0]
        )
        total = sum(serial_default["per_test_s"].values()) or 1.0
        per_property = sorted(serial_default["per_test_s"].items(), key=lambda kv: -kv[1])
        print(
            f"\n## Per property ({serial_default['family']}, {serial_default['profile']} "
            "profile, -n 0)\n"
        )
        print(
            _table(
                ["property", "s", "share", "examples", "examples/s"],
                [
                    [
                        name,
                        round(seconds, 2),
                        f"{100 * seconds / total:.1f}%",
                        serial_default["examples"].get(name, ""),
                        round(serial_default["examples"].get(name, 0) / seconds, 1)
                        if seconds
                        else "",
                    ]
                    for name, seconds in per_property
                ],
            )
        )
    Path(args.output).write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
