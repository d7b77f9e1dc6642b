"""Transforms: each proves it ran, keeps one artefact per configuration, and is caught broken."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from broken_transforms import FallsBackToEager
from ci_share import in_this_share
from torch._dynamo.utils import counters
from torch.nn.utils.rnn import pack_sequence

from rnn_conformance.harness.target import Target, TargetContractError
from rnn_conformance.numerics.families import family_named
from rnn_conformance.running.options import collect
from rnn_conformance.running.session import UsageProblem, resolve
from rnn_conformance.transforms import declared_limits, transform_named
from rnn_conformance.transforms.compiled import DYNAMO_SETTINGS

ROOT = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent


def _module(family: str, transform, **kwargs):
    kind = family_named(family)
    spec = {"rnn": "torch.nn:RNN", "lstm": "torch.nn:LSTM", "gru": "torch.nn:GRU"}[family]
    target = Target.from_spec(spec, kind).transformed(transform, cell=False)
    arguments = {"input_size": 3, "hidden_size": 4, **kwargs}
    return target, target.build_with(arguments, device="cpu", dtype=torch.float32).eval()


def test_a_transform_that_falls_back_to_eager_fails_every_call():
    target, module = _module("gru", FallsBackToEager())
    with pytest.raises(TargetContractError, match="ran no transformed code"):
        target.forward(module, torch.randn(5, 2, 3))


def test_compile_proves_each_call_and_keeps_one_graph_per_configuration():
    transform = transform_named("compile")
    target, module = _module("lstm", transform, num_layers=2)
    for length, batch in ((5, 2), (7, 3), (2, 1)):
        target.forward(module, torch.randn(length, batch, 3))
    _, other_weights = _module("lstm", transform, num_layers=2)
    target.forward(other_weights, torch.randn(4, 2, 3))
    assert transform.calls == 4
    # Lengths, batch sizes and weights share the graphs compiled for the configuration
    # (dynamic=True compiles a static first call, then one dynamic graph).
    assert transform.graphs <= 2


def test_compile_runs_the_module_inside_one_captured_graph():
    # A configuration no other test compiles, so this call must trace a fresh graph.
    target, module = _module(
        "rnn", transform_named("compile"), hidden_size=11, num_layers=2, bidirectional=True
    )
    x = torch.randn(4, 2, 3)
    counters.clear()
    output, h_n = target.forward(module, x)
    # Torch's own counters, independent of the transform's counting backend.
    assert counters["stats"]["unique_graphs"] >= 1, "Dynamo captured no graph: nn.RNN ran eagerly"
    assert not counters["graph_break"], dict(counters["graph_break"])
    expected, expected_h_n = torch.nn.RNN.forward(module, x)
    torch.testing.assert_close(output, expected)
    torch.testing.assert_close(h_n, expected_h_n)


def test_compile_still_compiles_after_an_invalid_call():
    transform = transform_named("compile")
    target, module = _module("rnn", transform, input_size=2, hidden_size=3)
    with pytest.raises(
        TargetContractError, match=re.escape("input.size(-1) must be equal to input_size")
    ):
        target.forward(module, torch.randn(4, 1, 5))
    target, module = _module("rnn", transform, input_size=2, hidden_size=13, num_layers=3)
    counters.clear()
    target.forward(module, torch.randn(4, 1, 2))
    assert counters["stats"]["unique_graphs"] >= 1, (
        "after one invalid call Dynamo stopped compiling nn.RNN (pytorch/pytorch#144820)"
    )


def test_compile_declares_packed_sequences_because_they_are_not_compiled():
    # If a later torch compiles this path, this fails: drop the declaration then.
    transform = transform_named("compile")
    assert "packed_sequences" in transform.declared(cell=False)
    target, module = _module("rnn", transform, input_size=2, hidden_size=3)
    packed = pack_sequence([torch.randn(3, 2), torch.randn(2, 2)])
    with pytest.raises(TargetContractError, match="ran no transformed code"):
        target.forward(module, packed)


def test_compile_that_leaves_the_recurrence_eager_is_not_a_pass(monkeypatch):
    # Without allow_rnn Dynamo breaks the graph at nn.GRU and runs it eagerly.
    monkeypatch.setitem(DYNAMO_SETTINGS, "allow_rnn", False)
    target, module = _module("gru", transform_named("compile"), hidden_size=7)
    with pytest.raises(TargetContractError, match="ran no transformed code"):
        target.forward(module, torch.randn(5, 2, 3))


def test_export_keeps_one_artefact_for_every_batch_size():
    transform = transform_named("export")
    target, module = _module("gru", transform)
    for batch in (2, 1, 0, 5):
        output, _ = target.forward(module, torch.randn(2, batch, 3))
        assert output.shape == (2, batch, 4)
    assert transform.exports == 1
    assert transform.calls == 4


def test_torch_2_13_export_specialises_the_time_axis_and_says_so():
    # torch.export cannot keep nn.GRU's time axis dynamic (its constraint check says the
    # code specialised it): the transform keeps one artefact per length, so the other
    # properties still check it, and reports the axis with the exporter's words.
    transform = transform_named("export")
    target, module = _module("gru", transform)
    for length in (2, 5, 2):
        output, _ = target.forward(module, x := torch.randn(length, 2, 3))
        torch.testing.assert_close(output, torch.nn.GRU.forward(module, x)[0])
    assert transform.exports == 2
    assert "Constraints violated (seq)" in transform.specialised(module)["time"]


def test_torch_2_13_export_accepts_a_3d_hx_with_unbatched_input_which_eager_rejects():
    # The finding of issue 20, pinned: eager nn.RNN raises; the exported artefact returns
    # a (2, 4, 4) output for a (2, 3) input.
    target, module = _module("rnn", transform_named("export"))
    target.forward(module, torch.randn(2, 3), torch.randn(1, 4))
    with pytest.raises(RuntimeError, match="hx should also be 2-D"):
        torch.nn.RNN.forward(module, torch.randn(2, 3), torch.randn(1, 4, 4))
    output, _ = target.forward(module, torch.randn(2, 3), torch.randn(1, 4, 4))
    assert output.shape == (2, 4, 4)


def test_export_declares_packed_sequences_and_training_dropout_with_reasons():
    transform = transform_named("export")
    assert transform.declared(cell=False) == {"packed_sequences", "training_dropout"}
    assert all(gap.reason and gap.source for gap in transform.gaps)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("compile:fast", "unknown torch.compile backend 'fast'"),
        ("jit", "unknown transform 'jit'"),
        ("nowhere.at_all:Thing", "cannot import transform 'nowhere.at_all:Thing'"),
        (" , ", "no transform given"),
    ],
)
def test_a_bad_transform_is_a_usage_error_naming_it(value, message):
    with pytest.raises(UsageProblem, match=message) as caught:
        resolve(collect({"transform": value}, style="runner", environ={}))
    assert str(caught.value).startswith("--transform: ")


def test_transforms_multiply_the_subjects_and_name_them():
    facts = resolve(
        collect(
            {"family": "rnn,gru", "transform": "eager,compile,export"}, style="runner", environ={}
        )
    )
    assert [subject.id for subject in facts.subjects] == [
        "rnn-cpu",
        "rnn-compile-eager-cpu",
        "rnn-export-cpu",
        "gru-cpu",
        "gru-compile-eager-cpu",
        "gru-export-cpu",
    ]
    header = facts.describe()["transforms"]
    assert "export (declared limits: packed_sequences:" in header


def _run(tmp_path, *arguments):
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])),
    }
    command = [sys.executable, "-m", "rnn_conformance", "--report-dir", str(tmp_path), *arguments]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=900)
    report = json.loads((tmp_path / "report.json").read_text())
    return done, {result["property"]: result for result in report["results"]}


def test_a_transform_that_moves_grus_reset_is_caught_by_the_reference(tmp_path):
    done, results = _run(
        tmp_path,
        "--family",
        "gru",
        "--transform",
        "broken_transforms:ResetBeforeLinearGRU",
        "--profile",
        "ci",
        "--",
        "-k",
        "test_output_and_h_n_match_reference",
    )
    assert done.returncode == 1, done.stdout[-2000:]
    failed = results["test_output_and_h_n_match_reference"]
    assert failed["outcome"] == "failed"
    assert "differs from the float64 reference" in failed["failure"]["message"]


def test_a_transform_that_specialises_the_length_is_caught(tmp_path):
    done, results = _run(
        tmp_path,
        "--family",
        "lstm",
        "--transform",
        "broken_transforms:SpecialisesLength",
        "--profile",
        "ci",
        "--",
        "-k",
        "test_chunked_evaluation_equals_whole_sequence",
    )
    assert done.returncode == 1, done.stdout[-2000:]
    failed = results["test_chunked_evaluation_equals_whole_sequence"]
    assert failed["outcome"] == "failed"
    assert "returned output with shape" in failed["failure"]["message"]


@in_this_share(1)
def test_torch_modules_pass_a_subset_of_the_properties_compiled(tmp_path):
    done, results = _run(
        tmp_path,
        "--family",
        "rnn",
        "--transform",
        "compile",
        "--profile",
        "dev",
        "--",
        "-k",
        "reference or shapes or layout or packed",
    )
    assert done.returncode == 0, done.stdout[-3000:]
    packed = results["test_packed_sequences_run_as_if_alone"]
    assert packed["outcome"] == "skipped"
    assert "compile:eager declares unsupported capability: packed_sequences" in packed["reason"]


def test_docs_list_exactly_the_declared_limits():
    text = (ROOT / "docs" / "transforms.md").read_text()
    table = text.split("<!-- transform-limits:start -->\n")[1].split(
        "<!-- transform-limits:end -->"
    )[0]
    rows = [
        f"| `{name}` | {'cell' if cell else 'module'} | `{gap.capability}` | {gap.reason} "
        f"| {gap.source} |"
        for name, gap, cell in declared_limits()
    ]
    expected = (
        "| transform | target | capability | why | documented in |\n"
        "| --- | --- | --- | --- | --- |\n"
    )
    assert table == expected + "\n".join(rows) + "\n", "docs/transforms.md's limits table is stale"


@pytest.mark.parametrize(
    "script", sorted(path.name for path in (ROOT / "examples" / "findings").glob("*.py"))
)
def test_each_finding_reproduces_standalone(script):
    # torch only, no rnn_conformance: as filed upstream. Exit code 1 once torch fixes it.
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "findings" / script)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "REPRODUCED" in done.stdout, done.stdout


def test_the_export_time_axis_finding_is_a_known_failure_in_the_findings_file(tmp_path):
    # The findings file lists what torch 2.13's export fails for torch's own modules; its
    # time-axis entry is pinned here (strictly: a torch that fixes it fails this run).
    known = ROOT / "examples" / "findings" / "export-known-failures.txt"
    done, results = _run(
        tmp_path, "--family", "gru", "--transform", "export", "--profile", "ci",
        "--xfails", str(known), "--", "-k", "artefact",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    outcomes = {name: result["outcome"] for name, result in results.items()}
    assert outcomes["test_one_artefact_serves_every_length_and_batch"] == "xfailed"


def test_the_artefact_property_catches_a_transform_that_specialises_the_length(tmp_path):
    done, results = _run(
        tmp_path, "--family", "gru", "--transform", "broken_transforms:SpecialisesLength",
        "--profile", "ci", "--", "-k", "test_one_artefact_serves_every_length_and_batch",
    )  # fmt: skip
    assert done.returncode == 1, done.stdout[-2000:]
    failed = results["test_one_artefact_serves_every_length_and_batch"]
    assert failed["outcome"] == "failed"
    assert re.search(r"output \(\d+, \d+, \d+\) for input", failed["failure"]["message"])
