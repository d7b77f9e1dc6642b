"""rnn-conformance: a property-based conformance suite for PyTorch-compatible RNNs.

The public modules, each with one concern and an ``__all__``:

* :mod:`rnn_conformance.families`: the recurrent families (nn.RNN, ...), one module each,
  and their registry: the seam where a family plugs in;
* :mod:`rnn_conformance.config`, :mod:`rnn_conformance.cases` and
  :mod:`rnn_conformance.strategies`: configurations, cases and the Hypothesis strategies
  that draw them, usable in your own tests; :mod:`rnn_conformance.known_cases`: pinned cases;
* :mod:`rnn_conformance.reference` and :mod:`rnn_conformance.backprop`: the NumPy float64
  reference forward and backward passes, written once over the families' cell steps in
  :mod:`rnn_conformance.arithmetic`; :mod:`rnn_conformance.layouts`,
  :mod:`rnn_conformance.parameters` and :mod:`rnn_conformance.dtypes`: layouts and state
  tuples, parameter names, the dtype table;
* :mod:`rnn_conformance.tolerances`: the error bounds and the comparison;
* :mod:`rnn_conformance.devices`: device selection and the TF32 policy;
* :mod:`rnn_conformance.harness`: running a case on a target (``case_tensors``,
  ``run_target``);
* :mod:`rnn_conformance.runner`: the ``rnn-conformance`` command.

Importing this package imports nothing heavy: the pytest plugin loads it in every session.

PYTEST_DONT_REWRITE: this module has no assertions, and the runner imports it before it
starts pytest, which would otherwise warn on every run that it cannot rewrite it.
"""

__all__: list[str] = []
