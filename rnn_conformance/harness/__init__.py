"""Running one :class:`~rnn_conformance.generation.cases.RNNCase` on the target and the reference.

This package is the only part of the property layer that turns NumPy cases into tensors
and back; property bodies call :func:`run_target` and :func:`run_reference` and then state
their claim. One module per concern:

* :mod:`~rnn_conformance.harness.subject`: the subject (family, targets and their
  declarations, device), and gating;
* :mod:`~rnn_conformance.harness.tensors`: cases to tensors (dtype, device, memory layout);
* :mod:`~rnn_conformance.harness.calls`: calling the target, with the basic contract
  (types, dtype, device, shapes) checked on every call;
* :mod:`~rnn_conformance.harness.expected`: the reference's results and bounds, and
  comparisons with them;
* :mod:`~rnn_conformance.harness.gradients`: autograd against the hand-written backward;
* :mod:`~rnn_conformance.harness.cells`: the cell target;
* :mod:`~rnn_conformance.harness.axes`: naming and slicing axes and layers.
"""

from rnn_conformance.harness.axes import (
    batch_axis,
    hidden_axes,
    layer_params,
    output_at_step,
    output_axes,
    time_axis,
)
from rnn_conformance.harness.calls import TargetRun, build_module, check_result, run_target
from rnn_conformance.harness.cells import build_cell, cell_params, run_cell_target
from rnn_conformance.harness.expected import (
    Expected,
    assert_runs_agree,
    compare_with_reference,
    precision_for,
    reference_trace,
    run_reference,
)
from rnn_conformance.harness.gradients import reference_gradients, run_target_gradients
from rnn_conformance.harness.subject import (
    Subject,
    missing_capabilities,
    observe,
    observe_config,
)
from rnn_conformance.harness.tensors import TORCH_DTYPES, case_tensors, to_tensor, to_tensors

__all__ = [
    "TORCH_DTYPES",
    "Expected",
    "Subject",
    "TargetRun",
    "assert_runs_agree",
    "batch_axis",
    "build_cell",
    "build_module",
    "case_tensors",
    "cell_params",
    "check_result",
    "compare_with_reference",
    "hidden_axes",
    "layer_params",
    "missing_capabilities",
    "observe",
    "observe_config",
    "output_at_step",
    "output_axes",
    "precision_for",
    "reference_gradients",
    "reference_trace",
    "run_cell_target",
    "run_reference",
    "run_target",
    "run_target_gradients",
    "time_axis",
    "to_tensor",
    "to_tensors",
]
