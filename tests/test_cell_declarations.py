"""The cell properties judge the cell target by the cell's own declarations."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent
CELL_PROPERTIES = "test_rnn_cell_matches_reference or test_cell_steps_reproduce_one_layer_rnn"


def _run_cell_properties(cell, *options):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(ROOT)])}
    env.pop("CI", None)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "0", "-q"]
    command += ["--pyargs", "rnn_conformance.properties", "--hypothesis-profile=ci"]
    command += ["--rnn-cell-impl", f"broken_targets_extra:{cell}", "-k", CELL_PROPERTIES]
    return subprocess.run(
        [*command, *options],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
    )


@pytest.mark.parametrize("cell", ["NoFloat64Cell", "ApproximateTanhCell"])
def test_cell_that_declares_its_gaps_passes_the_cell_properties(cell):
    result = _run_cell_properties(cell)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "2 passed" in result.stdout


def test_approximate_cell_fails_without_its_declaration():
    # The declaration is what makes ApproximateTanhCell pass: the error is real.
    result = _run_cell_properties("ApproximateTanhCell", "--rnn-cell-activation-error=0")
    assert result.returncode == 1, result.stdout[-3000:]
    assert "the cell target broken_targets_extra:ApproximateTanhCell differs" in result.stdout
