"""Standalone reproduction scripts: the runner writes one per failing property, and it works.

For five broken implementations (a numeric discrepancy, a shape one, an error-contract one,
a PackedSequence one and a constructor that accepts what nn.RNN rejects), the runner is run
on the property that catches each (the runs at once, to keep the time down), then the
script it wrote is run with ``python -I``, from a directory outside the repository and
without ``PYTHONPATH``: it must fail, naming the discrepancy, against the broken class, pass
against torch's own class, and import nothing from the suite.
"""

import ast
import json
import os
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from ci_share import in_this_share

from rnn_conformance.harness.target_calls import observing, watch_module
from rnn_conformance.numerics.families import FAMILIES
from rnn_conformance.repro import CallRecorder, _exit_code, reproduction
from rnn_conformance.repro.replay import largest_bound, role_of
from rnn_conformance.repro.scripts import render_call
from rnn_conformance.running.session import subject_for

# Every test reads the one module-scoped `runs`: CI runs the module in one environment.
pytestmark = in_this_share(0)

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


@dataclass(frozen=True)
class Case:
    """A broken implementation, the property (``-k``) that fails, what its script prints."""

    kind: str
    family: str
    target: str
    keyword: str
    script: str
    printed: str


CASES = [
    Case(
        "numeric",
        "lstm",
        "broken_lstms:InputForgetSwappedLSTM",
        "test_output_and_h_n_match_reference",
        "test_output_and_h_n_match_reference.py",
        "c_n differs from nn.LSTM's",
    ),
    Case(
        "shape",
        "rnn",
        "broken_rnns:HiddenStateBatchFirstRNN",
        "test_output_and_h_n_shapes",
        "test_output_and_h_n_shapes.py",
        "h_n has shape",
    ),
    Case(
        "error contract",
        "rnn",
        "broken_rnns:LenientHxRNN",
        "test_invalid_calls_raise_like_nn_rnn and 2-D",
        "test_invalid_calls_raise_like_nn_rnn.py",
        "nn.RNN raises RuntimeError",
    ),
    Case(
        "packed",
        "rnn",
        "broken_rnns:Float32PackedHnRNN",
        "test_packed_sequences_run_as_if_alone",
        "test_packed_sequences_run_as_if_alone.py",
        "h_n has dtype torch.float32 (not torch.float64)",
    ),
    # A parametrised property without a Hypothesis record: its constructions.
    Case(
        "constructor error",
        "rnn",
        "broken_rnns:AcceptsZeroLayersRNN",
        "test_bad_constructor_arguments_raise_like_nn_rnn and num_layers",
        "test_bad_constructor_arguments_raise_like_nn_rnn.py",
        "returned an instance of AcceptsZeroLayersRNN; nn.RNN raises ValueError",
    ),
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Each case's report directory and runner result, the runs started together."""
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    started = {}
    for case in CASES:
        out = tmp_path_factory.mktemp(case.kind.replace(" ", "_"))
        command = [
            sys.executable,
            "-m",
            "rnn_conformance",
            "--family",
            case.family,
            "--impl",
            case.target,
            "--profile",
            "ci",  # derandomized, no example database: the same minimal example every run
            "--report-dir",
            str(out),
            "--",
            "-k",
            case.keyword,
        ]
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        started[case.kind] = (out, process)
    finished = {}
    for kind, (out, process) in started.items():
        printed, _ = process.communicate(timeout=600)
        finished[kind] = (out, process.returncode, printed)
    return finished


def _python_isolated(script, *args, cwd):
    # -I: no PYTHONPATH, no user site, and the current directory is not on sys.path.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, "-I", str(script), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def _imported_modules(source):
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add((node.module or "").split(".")[0])
    return names


@pytest.mark.parametrize("case", CASES, ids=[case.kind for case in CASES])
def test_the_script_reproduces_against_the_broken_class_and_passes_against_torch(
    case, runs, tmp_path
):
    out, code, printed = runs[case.kind]
    assert code == 1, printed[-3000:]
    report = json.loads((out / "report.json").read_text())
    (failure,) = [r["failure"] for r in report["results"] if r["failure"]]
    assert failure["repro"] == f"repro/{case.script}", failure.get("repro_note")
    assert failure["repro_command"] == f"python repro/{case.script} [module:attr]"
    assert "repro_source" not in failure  # the script is a file, not a JSON string
    markdown = (out / "report.md").read_text()
    assert f"Standalone reproduction: repro/{case.script} (`python repro/{case.script}" in markdown
    assert f"standalone reproductions (1, torch only, to attach to a bug report): {out}" in printed

    script = out / "repro" / case.script
    source = script.read_text()
    assert _imported_modules(source) <= {"importlib", "inspect", "sys", "torch", "numpy"}
    assert "import rnn_conformance" not in source
    assert "from rnn_conformance" not in source
    assert f'DEFAULT_TARGET = "{case.target}"' in source
    assert f'TARGET_PATH = "{TESTS}"' in source  # where python -I finds broken_*.py

    broken = _python_isolated(script, cwd=tmp_path)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert case.printed in broken.stdout, broken.stdout
    torch_class = FAMILIES[case.family].module_target
    fixed = _python_isolated(script, torch_class, cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert f"{torch_class} agrees with" in fixed.stdout


def _recorded_context(module, *args, prop="test_demo", subject=None):
    watch_module("demo:RNN", module, {"input_size": 1, "hidden_size": 2, "num_layers": 1})
    with observing(CallRecorder()) as recorder:
        module(*args)

    # A property's arguments: its subject (which names the device) and what it drew.
    return SimpleNamespace(
        property=prop,
        calls=recorder.calls,
        dropped=recorder.dropped,
        arguments={"subject": subject or subject_for("rnn"), "case": "<the case>"},
        message="the property's message",
    )


class SameForwardRNN(torch.nn.RNN):
    """Computes exactly what nn.RNN does: no single call shows a discrepancy."""


class ShiftedRNN(torch.nn.RNN):
    """Adds 0.5 to the output: any call shows it."""

    def forward(self, input, hx=None):
        output, h_n = super().forward(input, hx)
        return output + 0.5, h_n


def test_no_script_where_no_call_differs_from_torch_and_the_note_says_why():
    # A failure whose claim is not one call's results (gradients, say): no script.
    context = _recorded_context(SameForwardRNN(1, 2), torch.zeros(3, 1, 1))
    for call in context.calls:
        call.spec = f"{__name__}:SameForwardRNN"
    made = reproduction(context)
    assert made.source == ""
    assert "none of the 1 recorded calls" in made.note
    assert made.tried == 1


def test_a_call_that_differs_gets_a_script_and_no_calls_get_a_note():
    context = _recorded_context(ShiftedRNN(1, 2), torch.zeros(3, 1, 1))
    for call in context.calls:
        call.spec = f"{__name__}:ShiftedRNN"
    made = reproduction(context)
    assert made.note == ""
    assert made.source.startswith("# Standalone reproduction of an rnn-conformance failure")
    assert "\n#   the property's message\n" in made.source
    assert f'DEFAULT_TARGET = "{__name__}:ShiftedRNN"' in made.source
    context.calls = []
    assert "made no call of the target" in reproduction(context).note


def test_torch_s_own_class_is_checked_against_the_reference_s_values(monkeypatch):
    # The target is nn.LSTM itself, so nn.LSTM cannot be the oracle: the script embeds the
    # float64 reference's results. A torch bug (c_n off by 1e-3) fails it; without it passes.
    module = torch.nn.LSTM(2, 3)
    watch_module("torch.nn:LSTM", module, {"input_size": 2, "hidden_size": 3, "num_layers": 1})
    with observing(CallRecorder()) as recorder:
        module(torch.ones(2, 1, 2))
    context = SimpleNamespace(
        property="test_demo",
        calls=recorder.calls,
        dropped=0,
        arguments={"subject": subject_for("lstm")},
        message="",
    )
    forward = torch.nn.LSTM.forward

    def off_by_a_little(self, input, hx=None):
        output, (h_n, c_n) = forward(self, input, hx)
        return output, (h_n, c_n + 1e-3)

    monkeypatch.setattr(torch.nn.LSTM, "forward", off_by_a_little)
    made = reproduction(context)
    assert made.source, made.note
    assert 'ORACLE_NAME = "the float64 reference"' in made.source
    assert "ORACLE = " not in made.source  # torch's class is not its own oracle
    assert _exit_code(made.source, "torch.nn:LSTM")[0] == 1
    assert "c_n differs from the float64 reference's" in _exit_code(made.source, "torch.nn:LSTM")[1]
    monkeypatch.setattr(torch.nn.LSTM, "forward", forward)
    assert _exit_code(made.source, "torch.nn:LSTM") == (
        0,
        "torch.nn:LSTM agrees with the float64 reference on this call\n",
    )


class _TF32:
    """A TF32 policy that widens float32 on CUDA, as ``--allow-tf32`` does."""

    allowed = True

    def widens(self, device):
        return device.startswith("cuda")


def test_the_script_runs_on_the_subjects_device_within_its_tolerance():
    # The properties take no device argument: the script's device, and whether TF32
    # widens its tolerance, are the subject's. Recorded on the CPU, rendered as on CUDA.
    context = _recorded_context(ShiftedRNN(1, 2), torch.zeros(3, 1, 1))
    (call,) = context.calls
    call.spec = f"{__name__}:ShiftedRNN"
    on_cpu = largest_bound(context, call, role_of(context, call))
    source = render_call(context, call, "module", on_cpu)
    assert "\n# test_demo on cpu.\n" in source
    assert 'DEVICE = "cpu"' in source
    cuda = replace(subject_for("rnn", device="cuda:1"), tf32=_TF32())
    context.arguments["subject"] = cuda
    on_cuda = largest_bound(context, call, role_of(context, call))
    source = render_call(context, call, "module", on_cuda)
    assert "\n# test_demo on cuda:1.\n" in source
    assert 'DEVICE = "cuda:1"' in source
    assert on_cuda > on_cpu  # float32 judged at TF32 matmul precision there
